// Directory group membership for the policy's from_group/to_group conditions, on the shared
// LDAP client (ldap_connection.h): the address's entries are found with a filter such as
// (mail=%s), then the group (a DN, or a cn under the group base) is asked whether it lists
// one of them as member or uniqueMember (groupOfNames, groupOfUniqueNames; static groups).
// Nested groups: when the group does not list them, the groups under group_base that list
// them are asked the same, one level up at a time (kMaxGroupNesting levels, each group once).
// Answers are cached for a short time. "Not a member" from searches that met search
// references (part of the tree on a server not asked) is no answer: DirectoryUnavailable, as
// for an unreachable server (the policy cannot tell whether a rule applies: the mail waits),
// unless search_references is Ignore.
// SECURITY: addresses are untrusted envelope values and are escaped into filters (RFC 4515);
// group names come from configuration; the server's answers are only counted, never parsed.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "directory/ldap_connection.h"
#include "policy/match.h"

namespace ssm::directory {

struct GroupDirectorySettings {
    ldap::Client::Settings client;
    std::string user_base;                 // where the people are
    std::string user_filter = "(mail=%s)";  // %s: the escaped address
    std::string group_base;                // where groups named without a DN are (by cn)
    bool nested = true;                    // also a member of a group that is a member
    std::chrono::seconds cache_ttl{300};   // 0: ask every time
    ldap::References search_references = ldap::References::Fail;  // "not a member" beside them
};

class LdapGroups final : public policy::GroupMembership {
public:
    explicit LdapGroups(GroupDirectorySettings settings);
    // Throws ssm::Error(Failure::DirectoryUnavailable) when no server answers.
    bool is_member(const EmailAddress& address, const std::string& group) const override;
    std::uint64_t searches_sent() const { return m_client->searches_sent(); }

private:
    bool ask(const EmailAddress& address, const std::string& group) const;
    // Adds the search references met to `references`.
    bool lists_any(const std::string& group, const std::vector<std::string>& dns, std::size_t& references) const;

    GroupDirectorySettings m_settings;
    std::unique_ptr<ldap::Client> m_client;
    mutable std::mutex m_mutex;
    // (lower-case address, group) -> (member, expiry); guarded by m_mutex.
    mutable std::map<std::pair<std::string, std::string>,
                     std::pair<bool, std::chrono::steady_clock::time_point>> m_cache;
};

}  // namespace ssm::directory
