// Group membership over LDAP: two searches per (address, group) — the address's entries,
// then the group filtered on those DNs — with every value escaped (RFC 4515).
#include "directory/ldap_groups.h"
#include "base/ascii.h"
#include "directory/ldap_group_members.h"

#include <cctype>

namespace ssm::directory {

LdapGroups::LdapGroups(GroupDirectorySettings settings)
    : m_settings(std::move(settings)), m_client(std::make_unique<ldap::Client>(m_settings.client))
{
}

bool LdapGroups::is_member(const EmailAddress& address, const std::string& group) const
{
    const auto key = std::make_pair(ascii_lowercase(address.str()), group);
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(m_mutex);
        if (auto it = m_cache.find(key); it != m_cache.end() && it->second.second > now)
            return it->second.first;
    }
    const bool member = ask(address, group);
    if (m_settings.cache_ttl.count() > 0) {
        std::lock_guard lock(m_mutex);
        if (m_cache.size() > 10000) m_cache.clear();  // bounded: addresses are untrusted
        m_cache[key] = {member, now + m_settings.cache_ttl};
    }
    return member;
}

bool LdapGroups::ask(const EmailAddress& address, const std::string& group) const
{
    ldap::SearchRequest people;
    people.base = m_settings.user_base;
    people.filter = ldap::make_filter(m_settings.user_filter, address.str());
    people.attributes = {"1.1"};  // the DNs only
    const auto found = m_client->search(people);
    if (found.entries.empty()) return false;

    std::string any;
    for (const auto& e : found.entries) {
        const std::string dn = ldap::escape_filter_value(e.dn);
        any += "(member=" + dn + ")(uniqueMember=" + dn + ")";
    }
    ldap::SearchRequest groups;
    groups.attributes = {"1.1"};
    if (is_group_dn(group)) {
        groups.base = group;
        groups.scope = ldap::Scope::Base;
        groups.filter = "(|" + any + ")";
    } else {
        groups.base = m_settings.group_base;
        groups.filter = "(&(cn=" + ldap::escape_filter_value(group) + ")(|" + any + "))";
    }
    return !m_client->search(groups).entries.empty();
}

}  // namespace ssm::directory
