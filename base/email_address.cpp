// Address and domain parsing for envelope and header values (untrusted input).
#include "base/email_address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <new>

#include <gnutls/gnutls.h>
#include <idn2.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "base/ascii.h"
#include "base/c_free.h"
#include "base/gnutls_datum.h"
#include "base/utf8.h"

namespace ssm {

namespace {

// Letters, digits, '-' and '_'. RFC 5321 §4.1.2 (sub-domain = Let-dig [Ldh-str]) has no '_',
// but DNS names may hold any octet (RFC 2181 §11), domains with '_' in a label exist, and MTAs
// deliver to them (Postfix's valid_hostname() accepts '_'): refusing them at RCPT would bounce
// mail the MTA delivers. Nothing here reads '_' specially: a domain is an opaque lower-cased
// string to rules, look-ups (LDAP filters are escaped), certificate names (pki/name_match.cpp
// reads '_' alike) and DNS queries.
bool is_label_char(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// RFC 6531 §3.3 UTF8-non-ascii: well-formed UTF-8 whose code points are not C1 controls
// (U+0080..U+009F, encoded C2 80..C2 9F); C0 controls and DEL are ASCII and checked apart.
bool is_utf8_text(std::string_view s)
{
    if (!valid_utf8(s)) return false;
    for (std::size_t i = 0; i + 1 < s.size(); ++i)
        if (static_cast<unsigned char>(s[i]) == 0xc2 && static_cast<unsigned char>(s[i + 1]) <= 0x9f)
            return false;
    return true;
}

bool has_non_ascii(std::string_view s)
{
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// A domain with U-labels as its A-label form (IDNA2008 with the UTS #46 mapping, through
// GnuTLS and libidn2): the one form domains compare, match and key in. nullopt when the
// text is no valid UTF-8 or IDNA refuses it (disallowed code points, bidi rules, ...).
std::optional<std::string> to_a_labels(std::string_view text, std::string& why)
{
    if (!is_utf8_text(text)) return why = "not valid UTF-8", std::nullopt;
    if (text.size() > 1024) return why = "too long", std::nullopt;
    GnutlsDatum out;
    if (const int rc = gnutls_idna_map(text.data(), static_cast<unsigned>(text.size()), &out.d, 0);
        rc < 0 || out.d.data == nullptr)
        return why = std::string("IDNA refuses it (") + gnutls_strerror(rc) + ")", std::nullopt;
    std::string a(reinterpret_cast<const char*>(out.d.data), out.d.size);
    if (has_non_ascii(a)) return why = "IDNA left non-ASCII characters in it", std::nullopt;
    return a;
}

// Owner of the buffers libidn2 hands out (libunistring's: base/c_free.h).
struct Idn2Free {
    void operator()(uint8_t* p) const noexcept { idn2_free(p); }
};

// Every "xn--" label of an ASCII domain (lower-cased) is an A-label: Punycode that decodes to
// a U-label valid under IDNA2008 (with the UTS #46 non-transitional rules GnuTLS applies to
// U-labels) and encodes back to the same text (RFC 5890 §2.3.2.1, RFC 5891 §5.4). libidn2
// checks all of it when handed the A-label. Without this "xn--zz.example" (no Punycode) or
// "xn--a.example" (decodes to the C1 control U+0080) would be domains of ours, and two
// spellings that no resolver treats alike could name one.
// `why` names the label and libidn2's reason.
bool a_labels_valid(std::string_view ascii, std::string& why)
{
    std::size_t start = 0;
    while (start <= ascii.size()) {
        const std::size_t end = std::min(ascii.find('.', start), ascii.size());
        const std::string label(ascii.substr(start, end - start));
        if (label.size() >= 4 && label.compare(0, 4, "xn--") == 0) {
            uint8_t* looked_up = nullptr;
            const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(label.c_str()), &looked_up, IDN2_NONTRANSITIONAL);
            const std::unique_ptr<uint8_t, Idn2Free> owned(looked_up);
            if (rc != IDN2_OK) return why = "'" + label + "' is no A-label (libidn2: " + idn2_strerror(rc) + ")", false;
            if (!owned || label != reinterpret_cast<const char*>(owned.get()))
                return why = "'" + label + "' is no A-label (it does not encode back to itself)", false;
        }
        start = end + 1;
    }
    return true;
}

// `text` (valid UTF-8) in Unicode NFC, through libunistring.
std::optional<std::string> nfc(std::string_view text)
{
    std::size_t len = 0;
    const std::unique_ptr<uint8_t, CFree> out(
        u8_normalize(UNINORM_NFC, reinterpret_cast<const uint8_t*>(text.data()), text.size(), nullptr, &len));
    if (!out) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(out.get()), len);
}

// A local part (valid UTF-8, NFC) in lower case, the form mailboxes are keyed and compared in:
// ASCII letters as ascii_lowercase does, every other letter by Unicode's full lower-case
// mapping without language tailoring (libunistring u8_tolower: "JÖRG" is "jörg", "ΟΔΟΣ" is
// "οδος"), the result in NFC. Lower-casing, not case folding: "STRASSE" and "straße" stay two
// mailboxes, as they are two words.
std::string lowercase_local_part(std::string_view local)
{
    if (!has_non_ascii(local)) return ascii_lowercase(local);
    std::size_t len = 0;
    const std::unique_ptr<uint8_t, CFree> out(
        u8_tolower(reinterpret_cast<const uint8_t*>(local.data()), local.size(), "", UNINORM_NFC, nullptr, &len));
    if (!out) throw std::bad_alloc();  // the text is valid UTF-8: only memory can fail
    return std::string(reinterpret_cast<const char*>(out.get()), len);
}

// Unicode NFC of a UTF-8 local part (RFC 6532 §3.1 and RFC 5198: NFC SHOULD be used; RFC 9598
// §3 keeps even a BOM out of SmtpUTF8Mailbox "particularly for comparison"), so that "jürgen"
// written with U+00FC and with u + U+0308 is one mailbox, in the envelope, in header fields, in
// configuration and in certificates alike: senders do not all write NFC (input methods and
// macOS file names give the decomposed form) and refusing what is deliverable helps nobody.
// A code point that NFC replaces on its own (a singleton or excluded decomposition: KELVIN
// SIGN -> 'K', GREEK QUESTION MARK -> ';', ANGSTROM SIGN, CJK compatibility ideographs) is no
// spelling of a composed character but another character, which a mail system comparing
// octets delivers elsewhere: normalised, "\u212Aate" would become kate's key and a certificate
// for it would encrypt kate's mail to its holder. Such a local part is refused (nullopt).
// ASCII text is its own NFC and is returned as it is.
std::optional<std::string> nfc_local_part(std::string_view local)
{
    if (!has_non_ascii(local)) return std::string(local);
    const auto* p = reinterpret_cast<const uint8_t*>(local.data());
    const uint8_t* const end = p + local.size();
    while (p < end) {
        ucs4_t cp = 0;
        const int n = u8_mbtouc(&cp, p, static_cast<std::size_t>(end - p));
        if (n <= 0) return std::nullopt;
        ucs4_t decomposition[UC_DECOMPOSITION_MAX_LENGTH];
        if (cp >= 0x80 && uc_canonical_decomposition(cp, decomposition) > 0) {
            const std::string_view alone(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
            if (nfc(alone) != alone) return std::nullopt;
        }
        p += n;
    }
    auto out = nfc(local);
    if (!out) return std::nullopt;
    // "J" + U+030C stays as it is in NFC (there is no capital J with caron), but lower-cased it
    // composes to U+01F0: refused, as it was when keys folded ASCII letters only (the key,
    // EmailAddress::key, is NFC either way).
    if (const std::string lower = ascii_lowercase(*out); lower != *out && nfc(lower) != lower) return std::nullopt;
    // A local part with other letters than ASCII must keep them in its key: lower-cased to
    // ASCII alone it would be an ASCII mailbox's key, the one its certificate is found by
    // (KELVIN SIGN lower-cases to 'k'; NFC refused it above already, this holds whatever
    // a later Unicode version adds).
    if (!has_non_ascii(lowercase_local_part(*out))) return std::nullopt;
    return out;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// RFC 5322 §3.2.3 dot-atom-text: atext runs separated by single dots.
bool is_dot_atom(std::string_view s)
{
    static constexpr std::string_view kAtextSpecials = "!#$%&'*+-/=?^_`{|}~";
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    char prev = 0;
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '.') {
            if (prev == '.') return false;
        } else if (!(std::isalnum(u) || u >= 0x80 || kAtextSpecials.find(c) != std::string_view::npos)) {
            return false;
        }
        prev = c;
    }
    return true;
}

// Whether `local` is a local part EmailAddress::parse takes without quotes: not empty, not
// opening with '@' (the rest of a route), and no '"' or '\' (they belong to a quoted string
// alone), space, control, '<', '>' or ','. Wider than a Dot-string: empty atoms (a..b, .a, a.)
// and '(', ')', '[', ']', ':', ';', '@' within are taken, as MTAs deliver to them. Non-ASCII
// octets are checked apart (is_utf8_text).
bool is_bare_local_part(std::string_view local)
{
    if (local.empty() || local.front() == '@') return false;
    for (const char c : local) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == ',') return false;
    }
    return true;
}

// The content of `local` when it is one RFC 5321 §4.1.2 Quoted-string (DQUOTE *(qtext /
// quoted-pair) DQUOTE, nothing before or after), quoted-pairs replaced by their character;
// nullopt otherwise.
std::optional<std::string> quoted_string_content(std::string_view local)
{
    if (local.size() < 2 || local.front() != '"' || local.back() != '"') return std::nullopt;
    std::string content;
    for (std::size_t i = 1; i + 1 < local.size(); ++i) {
        if (local[i] == '\\') {
            if (i + 2 >= local.size()) return std::nullopt;  // the escape would eat the quote
            ++i;
        } else if (local[i] == '"') {
            return std::nullopt;  // not one quoted string
        }
        content += local[i];
    }
    return content;
}

// The one spelling of a local part: a quoted string whose content needs no quoting is the
// same mailbox as that content (RFC 5321 §4.1.2: "a quoted string ... equivalent"), and MTAs
// deliver it so (Postfix internalises "dave"@x to dave@x). Quoting that is needed stays, written
// one way: a quoted-pair stands for its character, so "john\ smith" and "john smith" (or
// "dave\@x" and "dave@x") are one mailbox and get one spelling, with only '"' and '\' escaped.
std::string canonical_local_part(std::string_view local)
{
    const auto content = quoted_string_content(local);
    if (!content) return std::string(local);
    if (is_dot_atom(*content)) return *content;
    std::string out = "\"";
    for (const char c : *content) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + '"';
}

// A local part (as canonical_local_part writes it) as key() and same_as compare it: without
// its quotes when parse takes the content bare too. "a..b"@x and a..b@x are one mailbox:
// Postfix internalises both to a..b (quoting it again on output), and a rule, list entry or
// certificate written in one spelling must match the other. str() keeps the quotes: the
// spelling received is the one sent back to the MTA (recipients removed or added), and bare
// it is no RFC 5321 syntax, which a strict MTA may refuse. The content holds no '"' or '\'
// then, so no escape stands between the quotes.
std::string_view compared_local_part(std::string_view local)
{
    if (local.size() >= 2 && local.front() == '"' && local.back() == '"')
        if (const auto content = local.substr(1, local.size() - 2); is_bare_local_part(content)) return content;
    return local;
}

}  // namespace

namespace {

// Domain::parse's checks; `why` says which one refused (for Domain::refusal).
std::optional<std::string> domain_name(std::string_view text, std::string& why)
{
    // One trailing dot, the root, is dropped ("partner.example." is partner.example). So is one
    // trailing IDNA full stop (U+3002, U+FF0E, U+FF61): UTS #46 maps each to '.', and what a
    // person typed on a CJK keyboard is the same domain. Only one of either: "x.example.。" has
    // an empty label, as "x.example.." has.
    bool root_dropped = false;
    if (!text.empty() && text.back() == '.') {
        text.remove_suffix(1);
        root_dropped = true;
    }
    std::optional<std::string> a_labels;
    if (has_non_ascii(text)) {
        if (!(a_labels = to_a_labels(text, why))) return std::nullopt;
        text = *a_labels;  // checked as LDH below like any ASCII domain
        if (!root_dropped && !text.empty() && text.back() == '.') text.remove_suffix(1);
    }
    if (text.empty()) return why = "it is empty", std::nullopt;
    if (text.size() > 253) return why = "it is longer than 253 characters", std::nullopt;
    std::size_t label_len = 0;
    char prev = '.';
    for (char c : text) {
        // A label neither starts nor ends with a hyphen (RFC 1123).
        if ((c == '.' && prev == '-') || (c == '-' && prev == '.'))
            return why = "a label starts or ends with a hyphen", std::nullopt;
        prev = c;
        if (c == '.') {
            if (label_len == 0) return why = "it has an empty label", std::nullopt;
            label_len = 0;
        } else if (is_label_char(c)) {
            if (++label_len > 63) return why = "a label is longer than 63 characters", std::nullopt;
        } else {
            return why = "'" + with_unprintable_replaced(std::string_view(&c, 1)) + "' is not a letter, digit or hyphen", std::nullopt;
        }
    }
    if (label_len == 0) return why = "it has an empty label", std::nullopt;
    if (prev == '-') return why = "a label starts or ends with a hyphen", std::nullopt;
    std::string name = ascii_lowercase(text);
    if (!a_labels_valid(name, why)) return std::nullopt;
    return name;
}

}  // namespace

std::optional<Domain> Domain::parse(std::string_view text)
{
    std::string why;
    auto name = domain_name(text, why);
    if (!name) return std::nullopt;
    return Domain(std::move(*name));
}

std::string Domain::refusal(std::string_view text)
{
    std::string why;
    return domain_name(text, why) ? std::string() : why;
}

bool Domain::is_or_under(const Domain& parent) const
{
    if (m_name == parent.m_name) return true;
    return m_name.size() > parent.m_name.size() &&
           m_name.compare(m_name.size() - parent.m_name.size(), parent.m_name.size(),
                          parent.m_name) == 0 &&
           m_name[m_name.size() - parent.m_name.size() - 1] == '.';
}

std::optional<EmailAddress> EmailAddress::parse(std::string_view text)
{
    text = trim(text);
    // "Display Name <addr>" or "<addr>": take what is inside the last angle brackets.
    const auto open = text.rfind('<');
    if (open != std::string_view::npos) {
        const auto close = text.find('>', open);
        if (close == std::string_view::npos) return std::nullopt;
        text = trim(text.substr(open + 1, close - open - 1));
    }
    // RFC 5321 §4.1.4, §C: a source route ("@relay1,@relay2:") is accepted and ignored, by
    // MTAs too: the mailbox is what follows it, and so are rules and certificate look-ups.
    if (!text.empty() && text.front() == '@')
        if (const auto colon = text.find(':'); colon != std::string_view::npos) text.remove_prefix(colon + 1);
    if (text.empty() || text.size() > 254) return std::nullopt;
    const auto at = text.rfind('@');
    if (at == std::string_view::npos || at == 0 || at > 64) return std::nullopt;
    const std::string_view local = text.substr(0, at);
    // What is left of a route written with colons ("@a:@b:x@y") is no mailbox: a local part
    // starting with '@' would read as a route again when its own spelling is parsed.
    if (local.front() == '@') return std::nullopt;
    // RFC 5321 §4.1.2 lets a Quoted-string hold spaces ("john smith"@example.org; qtextSMTP
    // and quoted-pairSMTP are %d32-126): allowed when the whole local part is one quoted
    // string. Elsewhere a space is the end of a display name without angle brackets, not an
    // address. What the rest of the code does with such a local part is safe: it is text in
    // log fields (quoted and escaped), LMDB keys, LDAP filters (escaped) and SMTP commands
    // (str() keeps the quotes); certificate_address_key refuses spaces, so a certificate is
    // never found for it and a rule that needs one refuses it as any recipient without one.
    const bool quoted = quoted_string_content(local).has_value();
    // RFC 5321 §4.1.2: Local-part = Dot-string / Quoted-string, so a '"' belongs only to one
    // quoted string that is the whole local part. Stray or unbalanced quotes ("@x, a"b@x,
    // "a"b@x, a"b"@x) are neither: read by one MTA as a quoted string and by another as
    // atext, the same text would name two mailboxes, and canonical_local_part could not give
    // it one spelling. Refused as any address not understood (553 5.1.3 at RCPT). The RFC
    // 5322 obs-local-part ("a"."b") is no envelope syntax either. What stays lenient is a
    // dot-string with empty atoms (a..b@x, .a@x, a.@x: Japanese carriers issued such
    // addresses, and MTAs deliver to them).
    // Nor is there a '\' in atext: a backslash is a quoted-pairSMTP, inside a Quoted-string
    // only. Bare (a\b@x) one MTA reads it as an escape (ab) and another as the character, the
    // same ambiguity as a stray '"': refused as well, escapes inside quotes kept.
    // is_bare_local_part holds these rules, for compared_local_part too.
    // Inside quotes, space and the specials are text; controls are not (qtextSMTP and
    // quoted-pairSMTP are printable), and '<', '>' and ',' are refused there as outside.
    if (!quoted) {
        if (!is_bare_local_part(local)) return std::nullopt;
    } else if (std::any_of(local.begin(), local.end(), [](char c) {
                   const auto u = static_cast<unsigned char>(c);
                   return u < 0x20 || u == 0x7f || c == '<' || c == '>' || c == ',';
               })) {
        return std::nullopt;
    }
    // RFC 6531 §3.3: octets above 127 are UTF8-non-ascii in atext and qtext, nothing else.
    if (has_non_ascii(local) && !is_utf8_text(local)) return std::nullopt;
    auto domain = Domain::parse(text.substr(at + 1));
    if (!domain) return std::nullopt;
    // NFC of the spelling kept, after needless quotes and their escapes went: an escape can
    // stand between a letter and its mark (a quoted "ju\<U+0308>rgen"), which NFC of the
    // quoted text leaves apart and unquoting joins.
    auto canonical_local = nfc_local_part(canonical_local_part(local));
    if (!canonical_local) return std::nullopt;
    // The limit holds for the spelling we keep too: A-labels are longer than the U-labels
    // they stand for, and a value whose own spelling does not parse is no value of ours.
    // So does it for the key (EmailAddress::key), kept as text and parsed again (a signing
    // identity): lower-casing can lengthen a local part (İ is i + U+0307).
    const std::size_t local_size = std::max(canonical_local->size(), lowercase_local_part(*canonical_local).size());
    if (local_size > 64 || local_size + 1 + domain->str().size() > 254) return std::nullopt;
    return EmailAddress(std::move(*canonical_local), std::move(*domain));
}

bool smtp_utf8_domain_not_a_labels(std::string_view value)
{
    const auto at = value.rfind('@');
    return at != std::string_view::npos && has_non_ascii(value.substr(at + 1));
}

bool EmailAddress::names_address_literal(std::string_view text)
{
    text = trim(text);
    if (const auto open = text.rfind('<'); open != std::string_view::npos) {
        const auto close = text.find('>', open);
        if (close == std::string_view::npos) return false;
        text = trim(text.substr(open + 1, close - open - 1));
    }
    if (!text.empty() && text.front() == '@')
        if (const auto colon = text.find(':'); colon != std::string_view::npos) text.remove_prefix(colon + 1);
    const auto at = text.rfind('@');
    if (at == std::string_view::npos || at == 0) return false;
    std::string_view literal = text.substr(at + 1);
    if (literal.size() < 3 || literal.front() != '[' || literal.back() != ']') return false;
    literal = literal.substr(1, literal.size() - 2);
    // IPv4-address-literal, or IPv6-address-literal ("IPv6:" is an ABNF string: any case).
    // A General-address-literal needs a tag IANA registered, and none is but IPv6.
    const bool v6 = literal.size() > 5 && iequals(literal.substr(0, 5), "IPv6:");
    if (v6) literal.remove_prefix(5);
    if (literal.empty() || literal.size() > 45) return false;
    const std::string ip(literal);
    std::array<unsigned char, 16> out{};
    if (inet_pton(v6 ? AF_INET6 : AF_INET, ip.c_str(), out.data()) != 1) return false;
    // The local part as parse reads it, at a stand-in domain: the literal is the only reason
    // parse refuses the text.
    return parse(std::string(text.substr(0, at)) + "@invalid").has_value();
}

std::string EmailAddress::domain_refusal(std::string_view text)
{
    if (parse(text)) return {};
    text = trim(text);
    if (const auto open = text.rfind('<'); open != std::string_view::npos) text = text.substr(open + 1);
    if (const auto close = text.find('>'); close != std::string_view::npos) text = text.substr(0, close);
    const auto at = text.rfind('@');
    if (at == std::string_view::npos) return {};
    const std::string why = Domain::refusal(trim(text.substr(at + 1)));
    return why.empty() ? why : "in its domain, " + why;
}

std::optional<std::string> certificate_address_key(std::string_view value, bool utf8)
{
    if (value.empty() || value.size() > 320 || value.front() == '@') return std::nullopt;
    if (utf8 && smtp_utf8_domain_not_a_labels(value)) return std::nullopt;
    for (const char c : value) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || (u >= 0x80 && !utf8)) return std::nullopt;
    }
    const auto a = EmailAddress::parse(value);
    if (!a) return std::nullopt;
    return a->key();
}

std::string address_comparison_key(std::string_view text)
{
    if (auto key = certificate_address_key(text, true)) return std::move(*key);
    return ascii_lowercase(text);
}

std::string EmailAddress::key() const
{
    return lowercase_local_part(compared_local_part(m_local)) + "@" + m_domain.str();
}

std::string EmailAddress::directory_form() const
{
    return std::string(compared_local_part(m_local)) + "@" + m_domain.str();
}

std::string EmailAddress::unquoted_local_part() const
{
    return quoted_string_content(m_local).value_or(m_local);
}

bool EmailAddress::same_as(const EmailAddress& o) const
{
    if (!(m_domain == o.m_domain)) return false;
    // Pattern lists compare every address with many: ASCII local parts without a copy.
    const std::string_view mine = compared_local_part(m_local), theirs = compared_local_part(o.m_local);
    if (!has_non_ascii(mine) && !has_non_ascii(theirs)) return iequals(mine, theirs);
    return lowercase_local_part(mine) == lowercase_local_part(theirs);
}

}  // namespace ssm
