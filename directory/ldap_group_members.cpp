// Group members over LDAP: one search for the group entry (its member and uniqueMember values),
// then one base-scope read per member DN for its mail. Why not one search for all members:
// LDAP has no standard filter on an entry's DN, and a base read names exactly the entry the
// group lists, wherever it is in the tree.
#include "directory/ldap_group_members.h"

#include <algorithm>
#include <optional>

#include "base/log.h"

namespace ssm::directory {

namespace {

// A mail value from the server as an address: one plain addr-spec, nothing our parser would
// also accept around it (display names, angle brackets).
std::optional<EmailAddress> mail_address(const Bytes& value)
{
    const std::string text(value.begin(), value.end());
    if (text.find_first_of("<> \t\"") != std::string::npos) return std::nullopt;
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
        request.filter = "(cn=" + ldap::escape_filter_value(group) + ")";
    }
    const auto answer = m_client->search(request);

    GroupExpansion out;
    out.found = !answer.entries.empty();
    std::vector<std::string> dns;
    std::size_t values = 0;
    for (const auto& entry : answer.entries) {
        for (const char* attribute : {"member", "uniqueMember"}) {
            for (const Bytes* v : entry.values(attribute)) {
                if (++values > m_settings.max_members) {
                    out.truncated = true;
                    break;
                }
                const std::string dn = member_dn(std::string_view(reinterpret_cast<const char*>(v->data()), v->size()));
                if (dn.empty()) {
                    ++out.without_mail;
                    log::warning("group-member-unreadable", {{"group", group}, {"server", answer.server},
                                                             {"reason", "not a DN"},
                                                             {"value", std::string(v->begin(), v->end())}});
                    continue;
                }
                if (std::find(dns.begin(), dns.end(), dn) == dns.end()) dns.push_back(dn);
            }
        }
    }
    if (out.truncated) {
        log::warning("group-too-large", {{"group", group}, {"server", answer.server},
                                         {"max_members", std::to_string(m_settings.max_members)}});
        return out;
    }

    for (const auto& dn : dns) {
        ldap::SearchRequest person;
        person.base = dn;
        person.scope = ldap::Scope::Base;
        person.filter = "(objectClass=*)";
        person.attributes = {"mail"};
        const auto who = m_client->search(person);
        // The first value that is an address: a person with several mail values gets the list
        // once, at the address the directory lists first.
        std::optional<EmailAddress> mail;
        for (const auto& entry : who.entries)
            for (const Bytes* v : entry.values("mail"))
                if (!mail) mail = mail_address(*v);
        if (!mail) {
            ++out.without_mail;
            log::notice("group-member-without-mail", {{"group", group}, {"member", dn}, {"server", who.server},
                                                      {"reason", who.entries.empty() ? "no such entry" : "no usable mail"}});
            continue;
        }
        if (!contains(out.addresses, *mail)) out.addresses.push_back(std::move(*mail));
    }
    return out;
}

}  // namespace ssm::directory
