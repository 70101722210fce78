// Matching rule conditions against one recipient of one message. Header values and the
// AUTH user are untrusted text: they are only compared, never interpreted.
#include "policy/match.h"

#include <cctype>
#include <exception>

#include "base/ascii.h"
#include "base/error.h"
#include "base/mailbox_list.h"
#include "smime/mime/encoded_words.h"

namespace ssm::policy {

namespace {

// Unfolded (CR and LF removed, each run of white space one space) and trimmed.
std::string normalise_value(std::string_view v)
{
    std::string out;
    bool space = false;
    for (char c : v) {
        if (is_folding_space(c)) {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

// Iterative glob with backtracking to the last '*': linear in practice, no recursion on
// attacker-sized values.
bool glob_match(std::string_view pattern, std::string_view text)
{
    std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || ascii_lower(pattern[p]) == ascii_lower(text[t]))) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

bool valid_field_name(std::string_view n)
{
    if (n.empty()) return false;
    for (char c : n)
        if (c <= 32 || c >= 127 || c == ':') return false;
    return true;
}

}  // namespace

std::optional<HeaderPattern> HeaderPattern::parse(std::string_view text)
{
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view name = text.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (!valid_field_name(name)) return std::nullopt;
    HeaderPattern p;
    p.m_text = std::string(text);
    p.m_name = std::string(name);
    p.m_glob = normalise_value(text.substr(colon + 1));
    if (p.m_glob.empty()) return std::nullopt;
    return p;
}

bool HeaderPattern::matches(const std::vector<smime::mime::HeaderField>& headers) const
{
    for (const auto& h : headers) {
        if (!iequals(h.name, m_name)) continue;
        if (glob_match(m_glob, normalise_value(h.value))) return true;
        // As for the Subject tag: a value a client wrote in RFC 2047 encoded-words.
        if (const auto decoded = smime::mime::decode_encoded_words(h.value);
            decoded.had_encoded_words && glob_match(m_glob, normalise_value(decoded.text)))
            return true;
    }
    return false;
}

namespace {

// Where the tag is in `text` (ASCII case-insensitive), or npos.
std::size_t find_tag(std::string_view text, std::string_view tag)
{
    if (tag.empty() || tag.size() > text.size()) return std::string_view::npos;
    for (std::size_t i = 0; i + tag.size() <= text.size(); ++i)
        if (iequals(text.substr(i, tag.size()), tag)) return i;
    return std::string_view::npos;
}

// `text` without the tag at `at`, the white space around it tidied.
std::string cut_tag(std::string_view text, std::size_t at, std::size_t size)
{
    std::string before(text.substr(0, at));
    std::string_view after = text.substr(at + size);
    while (!before.empty() && (before.back() == ' ' || before.back() == '\t')) before.pop_back();
    while (!after.empty() && (after.front() == ' ' || after.front() == '\t')) after.remove_prefix(1);
    if (!before.empty() && !after.empty()) before += ' ';
    return before + std::string(after);
}

}  // namespace

bool has_tag(std::string_view subject, std::string_view tag)
{
    if (find_tag(subject, tag) != std::string_view::npos) return true;
    const auto decoded = smime::mime::decode_encoded_words(subject);
    return decoded.had_encoded_words && find_tag(decoded.text, tag) != std::string_view::npos;
}

std::string strip_tag(std::string_view subject, std::string_view tag)
{
    if (const std::size_t at = find_tag(subject, tag); at != std::string_view::npos)
        return cut_tag(subject, at, tag.size());
    const auto decoded = smime::mime::decode_encoded_words(subject);
    const std::size_t at = decoded.had_encoded_words ? find_tag(decoded.text, tag) : std::string_view::npos;
    if (at == std::string_view::npos) return std::string(subject);
    return smime::mime::encode_unstructured(cut_tag(decoded.text, at, tag.size()));
}

const smime::mime::HeaderField* subject_field(const std::vector<smime::mime::HeaderField>& headers)
{
    for (const auto& h : headers)
        if (iequals(h.name, "Subject")) return &h;
    return nullptr;
}

namespace {

bool address_matches(const std::vector<AddressList>& lists, const std::vector<std::string>& groups,
                     const std::optional<EmailAddress>& addr, const GroupMembership* directory,
                     const AddressExtensions& extensions)
{
    if (lists.empty() && groups.empty()) return true;
    for (const auto& l : lists)
        if (l.matches(addr)) return true;
    if (groups.empty() || !addr) return false;  // the null sender is in no group
    if (!directory)
        throw Error(Failure::DirectoryUnavailable,
                    "a rule names a directory group but no group directory is configured");
    // The directory lists ceo@, not ceo+x@, which reaches the same mailbox: the full address
    // first, then the address without extension (Postfix's order). A "yes" for any form in any
    // group decides. A question the directory cannot answer (down, or a "no" beside search
    // references it does not follow) does not end the search: ceo+x@ has no entry under an
    // Active Directory domain root, ceo@ does and is a member. Only when nothing said "yes" is
    // it rethrown: a "no" beside an unanswered question is no answer (the mail waits, 451),
    // since the unanswered one might have been the "yes".
    const std::optional<EmailAddress> base = extensions.base_of(*addr);
    std::exception_ptr unanswered;
    auto member = [&](const EmailAddress& a, const std::string& g) {
        try {
            return directory->is_member(a, g);
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            if (!unanswered) unanswered = std::current_exception();
            return false;
        }
    };
    for (const auto& g : groups)
        if (member(*addr, g) || (base && member(*base, g))) return true;
    if (unanswered) std::rethrow_exception(unanswered);
    return false;
}

// At most this many From authors are asked about in directory groups (a From field is the
// sender's to write: one message must not cost a remote lookup per mailbox it lists).
constexpr std::size_t kMaxGroupAuthors = 16;

// The sender conditions. Inbound, the sender is also whoever the From field names: the reader
// sees From, and the envelope sender is the attacker's free choice as much as From is, so a rule
// written for a partner's addresses (require_signature) must not be escaped by an envelope
// sender from another domain under a partner's From (a forged partner message passed
// unchallenged). Either matching is enough: a forger can already choose either to match a rule.
// Outbound the envelope sender alone counts: the MTA ties it to the login, From is free text.
// A group question the directory cannot answer (down, or a "no" beside references it does not
// follow) does not end the check, as in address_matches: an author asked after it may be a
// member, and a "yes" decides. Only when nothing matched is the first failure rethrown (the
// mail waits, 451). Asking on is cheap against a hanging directory: while all its servers are
// marked down its searches fail at once (directory/ldap_connection.h), so the whole check costs
// about one timeout, not one per author and address form.
bool sender_matches(const Conditions& c, const MessageContext& msg, const GroupMembership* groups)
{
    std::exception_ptr unanswered;
    auto matches = [&](const std::vector<AddressList>& lists, const std::optional<EmailAddress>& a) {
        try {
            return address_matches(lists, c.from_group, a, groups, c.extensions);
        } catch (const Error& e) {
            if (e.failure() != Failure::DirectoryUnavailable) throw;
            if (!unanswered) unanswered = std::current_exception();
            return false;
        }
    };
    if (matches(c.from, msg.from)) return true;
    if (msg.direction == Direction::Inbound && msg.headers) {
        std::size_t asked = 0;
        for (const auto* field : smime::mime::fields_named(*msg.headers, "From"))
            for (const auto& author : parse_mailbox_list(field->value).addresses) {
                const std::optional<EmailAddress> a(author);
                for (const auto& l : c.from)
                    if (l.matches(a)) return true;
                if (!c.from_group.empty() && asked++ < kMaxGroupAuthors && matches({}, a)) return true;
            }
    }
    if (unanswered) std::rethrow_exception(unanswered);
    return false;
}

}  // namespace

MatchResult match(const Conditions& c, const MessageContext& msg, const EmailAddress& rcpt,
                  const GroupMembership* groups)
{
    MatchResult no;
    if (c.direction && *c.direction != msg.direction) return no;
    if (c.authenticated && *c.authenticated == msg.auth_user.empty()) return no;
    if (!c.authenticated_as.empty()) {
        // Exact: SASL login names are case-sensitive (Cyrus SASL, Dovecot) unless the SASL
        // server folds them, and then {auth_authen} already arrives folded. Ignoring case
        // would let a rule for "alice" also match "ALICE", which may be another account.
        bool found = false;
        for (const auto& u : c.authenticated_as) found = found || u == msg.auth_user;
        if (msg.auth_user.empty() || !found) return no;
    }
    if (!c.client.empty()) {
        if (!msg.client) return no;
        bool inside = false;
        for (const auto& n : c.client)
            inside = inside || n->contains(reinterpret_cast<const sockaddr*>(&*msg.client));
        if (!inside) return no;
    }
    // Header conditions before the (possibly remote) group lookups.
    std::string trigger;
    if (c.uses_headers()) {
        if (!msg.headers) return no;
        if (!c.subject_tag.empty()) {
            const auto* subject = subject_field(*msg.headers);
            if (!subject || !has_tag(subject->value, c.subject_tag)) return no;
            trigger = "Subject tag " + c.subject_tag;
        }
        if (!c.header.empty()) {
            const HeaderPattern* hit = nullptr;
            for (const auto& h : c.header)
                if (!hit && h.matches(*msg.headers)) hit = &h;
            if (!hit) return no;
            trigger += (trigger.empty() ? "" : ", ") + hit->text();
        }
    }
    if (!sender_matches(c, msg, groups)) return no;
    if (!address_matches(c.to, c.to_group, std::optional<EmailAddress>(rcpt), groups, c.extensions)) return no;
    return MatchResult{true, trigger};
}

}  // namespace ssm::policy
