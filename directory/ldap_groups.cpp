// Group membership over LDAP: two searches per (address, group) — the address's entries,
// then the group filtered on those DNs — and, for nested groups, two more per level up
// (the groups listing the DNs so far, then the group filtered on those), with every value
// escaped (RFC 4515).
#include "directory/ldap_groups.h"
#include "base/ascii.h"
#include "directory/ldap_group_members.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <vector>

#include "base/log.h"

namespace ssm::directory {

namespace {

// Groups asked at once one level up: bounds the filter's length (the answer is bounded by the
// client's limits too).
constexpr std::size_t kMaxGroupsPerLevel = 256;

// A search cut short by the size limit fails (ldap_connection.h: a partial answer may miss
// the group that makes the member), and the default limit (16 entries) is below what a person
// in many groups needs one level up: room for every group a level may hold, and one more so
// that ask() still sees a level that is too wide (group-nesting-too-wide, as before); an
// answer wider still fails.
ldap::Client::Settings client_settings(ldap::Client::Settings client)
{
    client.limits.max_entries = std::max(client.limits.max_entries, static_cast<int>(kMaxGroupsPerLevel) + 1);
    return client;
}

}  // namespace

LdapGroups::LdapGroups(GroupDirectorySettings settings)
    : m_settings(std::move(settings)), m_client(std::make_unique<ldap::Client>(client_settings(m_settings.client)))
{
}

bool LdapGroups::is_member(const EmailAddress& address, const std::string& group) const
{
    const auto key = std::make_pair(address.key(), group);
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

namespace {

// (|(member=DN)(uniqueMember=DN)...) with every DN escaped.
std::string listing_any(const std::vector<std::string>& dns)
{
    std::string any;
    for (const auto& dn : dns) {
        const std::string v = ldap::escape_filter_value(dn);
        any += "(member=" + v + ")(uniqueMember=" + v + ")";
    }
    return "(|" + any + ")";
}

}  // namespace

// Whether the group lists one of these DNs.
bool LdapGroups::lists_any(const std::string& group, const std::vector<std::string>& dns,
                           std::size_t& references) const
{
    ldap::SearchRequest groups;
    groups.attributes = {"1.1"};
    if (is_group_dn(group)) {
        groups.base = group;
        groups.scope = ldap::Scope::Base;
        groups.filter = listing_any(dns);
    } else {
        groups.base = m_settings.group_base;
        groups.absent_base_is_failure = true;  // configured: not there is no answer, not "no"
        groups.filter = "(&(cn=" + ldap::escape_filter_value(group) + ")" + listing_any(dns) + ")";
    }
    const auto answer = m_client->search(groups);
    references += answer.references;
    return !answer.entries.empty();
}

bool LdapGroups::ask(const EmailAddress& address, const std::string& group) const
{
    ldap::SearchRequest people;
    people.base = m_settings.user_base;
    people.filter = ldap::make_filter(m_settings.user_filter, address.directory_form());
    people.attributes = {"1.1"};  // the DNs only
    // A user_base that is not there (a typo, a restore) cannot say "not a member": a to_group
    // rule that requires encryption would silently not apply.
    people.absent_base_is_failure = true;
    const auto found = m_client->search(people);
    // Every "no" below is checked against the references met on the way: the person's entry,
    // the group, or a group between them may be on the server referred to. Fail closed unless
    // configured otherwise (search_references): a to_group rule requiring encryption must not
    // silently not apply (nor a from_group rule requiring a signature), so the policy gets no
    // answer and the mail waits (451).
    std::size_t references = found.references;
    const std::string what = "membership of " + address.str() + " in group " + group;
    auto no = [&] {
        ldap::refuse_unseen(references, what, m_settings.search_references);
        return false;
    };
    if (found.entries.empty()) return no();

    std::vector<std::string> level;  // the entries whose groups are asked next
    std::set<std::string> seen;      // lower-case DNs already asked about
    for (const auto& e : found.entries)
        if (seen.insert(ascii_lowercase(e.dn)).second) level.push_back(e.dn);
    for (int depth = 0;; ++depth) {
        if (lists_any(group, level, references)) return true;
        if (!m_settings.nested || m_settings.group_base.empty() || depth == kMaxGroupNesting) return no();
        // One level up: the groups that list one of them (a member of a group that is itself
        // a member of `group` is a member).
        ldap::SearchRequest up;
        up.base = m_settings.group_base;
        up.filter = listing_any(level);
        up.attributes = {"1.1"};
        up.absent_base_is_failure = true;
        level.clear();
        const auto parents = m_client->search(up);
        references += parents.references;
        for (const auto& e : parents.entries) {
            if (level.size() == kMaxGroupsPerLevel) {
                log::warning("group-nesting-too-wide", {{"group", group}, {"address", address.str()},
                                                        {"max_groups", std::to_string(kMaxGroupsPerLevel)}});
                break;
            }
            if (seen.insert(ascii_lowercase(e.dn)).second) level.push_back(e.dn);
        }
        if (level.empty()) return no();
    }
}

}  // namespace ssm::directory
