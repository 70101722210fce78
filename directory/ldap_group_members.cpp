// Group members over LDAP: one search for the group entry (its member and uniqueMember values),
// then one base-scope read per member DN for its mail, or, when the member is itself a group,
// for its own members. Why not one search for all members:
// LDAP has no standard filter on an entry's DN, and a base read names exactly the entry the
// group lists, wherever it is in the tree.
#include "directory/ldap_group_members.h"

#include <algorithm>
#include <optional>
#include <set>

#include "base/ascii.h"
#include "base/log.h"

namespace ssm::directory {

namespace {

// A mail value from the server as an address: one addr-spec, nothing our parser would also
// accept around it (a display name, angle brackets, a source route, blanks it trims). A quoted
// local part is an addr-spec too: a directory stores "a\\b"@x or "a b"@x quotes and all (the
// local part cannot be written without them), and such a member was once skipped as having
// no mail. Inside the value the parser's own rules hold: a space or '"' outside one quoted
// string that is the whole local part is refused there.
std::optional<EmailAddress> mail_address(const Bytes& value)
{
    const std::string text(value.begin(), value.end());
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    if (text.empty() || text.find_first_of("<>") != std::string::npos || text.front() == '@' ||
        blank(text.front()) || blank(text.back()))
        return std::nullopt;
    return EmailAddress::parse(text);
}

bool contains(const std::vector<EmailAddress>& addresses, const EmailAddress& a)
{
    return std::any_of(addresses.begin(), addresses.end(), [&](const EmailAddress& x) { return x.same_as(a); });
}

}  // namespace

bool is_group_dn(std::string_view group)
{
    return group.find('=') != std::string_view::npos;
}

std::string member_dn(std::string_view value)
{
    // NameAndOptionalUID: DN [ "#" "'" *("0"/"1") "'B" ]. A '#' inside a DN value needs no
    // escape, so only a suffix of exactly this form is taken for the UID.
    if (value.size() >= 4 && value.substr(value.size() - 2) == "'B") {
        const auto hash = value.rfind("#'");
        if (hash != std::string_view::npos && hash + 2 <= value.size() - 2) {
            const auto bits = value.substr(hash + 2, value.size() - 2 - (hash + 2));
            if (bits.find_first_not_of("01") == std::string_view::npos) value = value.substr(0, hash);
        }
    }
    return ldap::is_valid_dn(value) ? std::string(value) : std::string();
}

std::string LdapGroupMembers::entry_limit() const
{
    return std::to_string(m_settings.client.limits.max_pdu_bytes) + " bytes (max_entry_bytes)";
}

LdapGroupMembers::LdapGroupMembers(GroupMembersSettings settings) : m_settings(std::move(settings))
{
    // One answer holds a whole group: every member value must fit (one more than the maximum
    // tells an oversized group from a full one). DNs and addresses are short.
    auto client = m_settings.client;
    client.limits.max_values = std::max<std::size_t>(client.limits.max_values, m_settings.max_members + 1);
    client.limits.max_value_bytes = 4096;
    m_client = std::make_unique<ldap::Client>(std::move(client));
}

GroupExpansion LdapGroupMembers::members(const std::string& group) const
{
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_cache.find(group); it != m_cache.end() && it->second.second > now) return it->second.first;
    }
    GroupExpansion found = ask(group);
    if (m_settings.cache_ttl.count() > 0) {
        std::lock_guard lock(m_mutex);
        m_cache[group] = {found, now + m_settings.cache_ttl};
    }
    return found;
}

// One expansion in progress: what has been found and what bounds it.
struct LdapGroupMembers::Walk {
    const std::string& group;        // the configured name, for the log
    GroupExpansion out;
    std::size_t values = 0;          // member values read, over every group
    std::set<std::string> seen;      // lower-case DNs of the entries (groups, people) already read
};

namespace {

// groupOfNames or groupOfUniqueNames (or a subclass a server reports with them).
bool is_group_entry(const ldap::Entry& entry)
{
    for (const Bytes* v : entry.values("objectClass")) {
        const std::string oc = ascii_lowercase(std::string_view(reinterpret_cast<const char*>(v->data()), v->size()));
        if (oc == "groupofnames" || oc == "groupofuniquenames") return true;
    }
    return !entry.values("member").empty() || !entry.values("uniqueMember").empty();
}

}  // namespace

// The expansion cannot be complete: the group is too large for a list (the list refuses it).
void LdapGroupMembers::too_large(Walk& walk, const std::string& server, const std::string& why) const
{
    walk.out.truncated = true;
    log::warning("group-too-large", {{"group", walk.group}, {"server", server}, {"reason", why}});
}

// The member DNs of these group entries, each once, in the order the entries list them;
// false (walk.out.truncated) when the values exceed max_members.
bool LdapGroupMembers::member_dns(const std::vector<ldap::Entry>& entries, const std::string& server, Walk& walk,
                                  std::vector<std::string>& dns) const
{
    for (const auto& entry : entries) {
        for (const char* attribute : {"member", "uniqueMember"}) {
            for (const Bytes* v : entry.values(attribute)) {
                if (++walk.values > m_settings.max_members) {
                    too_large(walk, server, "more than " + std::to_string(m_settings.max_members) + " member values");
                    return false;
                }
                const std::string dn = member_dn(std::string_view(reinterpret_cast<const char*>(v->data()), v->size()));
                if (dn.empty()) {
                    ++walk.out.without_mail;
                    log::warning("group-member-unreadable", {{"group", walk.group}, {"server", server},
                                                             {"reason", "not a DN"},
                                                             {"value", std::string(v->begin(), v->end())}});
                    continue;
                }
                if (std::find(dns.begin(), dns.end(), dn) == dns.end()) dns.push_back(dn);
            }
        }
    }
    return true;
}

// Reads each member entry: a person gives its mail; a group nested in this one is expanded
// in its place (depth first, so the order stays the directory's), each group once, to
// kMaxGroupNesting levels. Returns false when the expansion cannot be complete.
bool LdapGroupMembers::expand(const std::vector<std::string>& dns, int depth, Walk& walk) const
{
    for (const auto& dn : dns) {
        const std::string key = ascii_lowercase(dn);
        if (!walk.seen.insert(key).second)
            continue;  // listed twice, or a loop back to a group on the way here: already counted
        ldap::SearchRequest read;
        read.base = dn;
        read.scope = ldap::Scope::Base;
        read.filter = "(objectClass=*)";
        read.attributes = {"mail", "objectClass", "member", "uniqueMember"};
        // Of these attributes only a group's member values make an entry that large.
        read.entry_too_large_is_answer = true;
        const auto who = m_client->search(read);
        if (who.entry_too_large && !m_settings.nested) {  // a group, skipped like any other here
            ++walk.out.without_mail;
            log::notice("group-member-without-mail", {{"group", walk.group}, {"member", dn}, {"server", who.server},
                                                      {"reason", "entry larger than " + entry_limit()}});
            continue;
        }
        if (who.entry_too_large) {
            too_large(walk, who.server, "entry " + dn + " larger than " + entry_limit());
            return false;
        }
        if (m_settings.nested && !who.entries.empty() && is_group_entry(who.entries.front())) {
            if (depth > kMaxGroupNesting) {
                // Fail closed: members below this level would silently miss the list's mail.
                walk.out.truncated = walk.out.too_deep = true;
                log::warning("group-nesting-too-deep", {{"group", walk.group}, {"member", dn}, {"server", who.server},
                                                        {"max_depth", std::to_string(kMaxGroupNesting)}});
                return false;
            }
            std::vector<std::string> nested;
            if (!member_dns(who.entries, who.server, walk, nested)) return false;
            if (!expand(nested, depth + 1, walk)) return false;
            continue;
        }
        // The first value that is an address: a person with several mail values gets the list
        // once, at the address the directory lists first.
        std::optional<EmailAddress> mail;
        for (const auto& entry : who.entries)
            for (const Bytes* v : entry.values("mail"))
                if (!mail) mail = mail_address(*v);
        if (!mail) {
            ++walk.out.without_mail;
            log::notice("group-member-without-mail", {{"group", walk.group}, {"member", dn}, {"server", who.server},
                                                      {"reason", who.entries.empty() ? "no such entry" : "no usable mail"}});
            continue;
        }
        if (!contains(walk.out.addresses, *mail)) walk.out.addresses.push_back(std::move(*mail));
    }
    return true;
}

GroupExpansion LdapGroupMembers::ask(const std::string& group) const
{
    ldap::SearchRequest request;
    request.attributes = {"member", "uniqueMember"};
    if (is_group_dn(group)) {
        request.base = group;
        request.scope = ldap::Scope::Base;
        request.filter = "(objectClass=*)";
    } else {
        request.base = m_settings.group_base;
        request.absent_base_is_failure = true;  // configured: not there is no answer, not "no group"
        request.filter = "(cn=" + ldap::escape_filter_value(group) + ")";
    }
    // A group entry larger than one LDAP message may be (tens of thousands of members) comes
    // back the same at every retry: the group too large for a list, as for max_members.
    request.entry_too_large_is_answer = true;
    const auto answer = m_client->search(request);
    if (answer.entry_too_large) {
        Walk walk{group, {}, 0, {}};
        walk.out.found = true;
        too_large(walk, answer.server, "group entry larger than " + entry_limit());
        return std::move(walk.out);
    }
    // A group not found where part of group_base is on a server referred to (not asked) may be
    // there: "no such group" would leave the list without its members. Fail closed, unless
    // search_references is Ignore. (Member entries are read by DN, base scope: one below a
    // referral object is a referral result, a failure already.)
    if (answer.entries.empty()) ldap::refuse_unseen(answer.references, "group " + group, m_settings.search_references);

    Walk walk{group, {}, 0, {}};
    walk.out.found = !answer.entries.empty();
    for (const auto& entry : answer.entries) walk.seen.insert(ascii_lowercase(entry.dn));  // a loop back to the top
    std::vector<std::string> dns;
    if (member_dns(answer.entries, answer.server, walk, dns)) expand(dns, 1, walk);
    return std::move(walk.out);
}

}  // namespace ssm::directory
