// The members of a directory group, for mail lists whose members come from LDAP (PRODUCT §4.3),
// on the shared LDAP client (ldap_connection.h): the group (a DN, or a cn under the group
// base, named as from_group/to_group name groups) is read for its member (groupOfNames) and
// uniqueMember (groupOfUniqueNames) values, then each member DN is read (base scope) for its
// mail attribute. A member that is itself a group (groupOfNames, groupOfUniqueNames) is
// expanded in its place, to kMaxGroupNesting levels, each group once (loops end there); a
// group nested deeper makes the expansion incomplete (truncated), never silently shorter.
// Dynamic groups (memberURL) are not read. Expansions are cached for a short time.
// SECURITY: group names come from configuration (a cn is escaped into the filter, RFC 4515);
// everything the server answers is untrusted: member DNs are checked as RFC 4514 DNs before
// they are used as a search base, mail values must parse as addresses, and both are bounded.
#pragma once
#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/email_address.h"
#include "directory/ldap_connection.h"

namespace ssm::directory {

// One group's members as the directory lists them.
struct GroupExpansion {
    bool found = false;                   // some entry answered for the group
    std::vector<EmailAddress> addresses;  // each once, in the order of the group's values
    std::size_t without_mail = 0;         // member DNs skipped: no entry, no usable mail, bad DN
    bool truncated = false;               // more member values than max_members, a group
                                          // entry larger than the client's max_pdu_bytes, or
                                          // nesting deeper than kMaxGroupNesting: incomplete
    bool too_deep = false;                // truncated by the nesting
};

// What a list expansion asks; LdapGroupMembers is the real one (tests answer themselves).
class GroupMemberDirectory {
public:
    virtual ~GroupMemberDirectory() = default;
    // Throws ssm::Error(Failure::DirectoryUnavailable) when no server answers.
    virtual GroupExpansion members(const std::string& group) const = 0;
};

// Levels of groups below the configured one that are expanded (AD and OpenLDAP
// deployments rarely nest more than three or four).
inline constexpr int kMaxGroupNesting = 8;

struct GroupMembersSettings {
    ldap::Client::Settings client;       // its limits are set by LdapGroupMembers
    std::string group_base;              // where groups named without a DN are (by cn)
    std::chrono::seconds cache_ttl{300};  // 0: ask every time
    std::size_t max_members = 1000;      // member values read from the group entries
    bool nested = true;                  // false: a member that is a group is skipped
    ldap::References search_references = ldap::References::Fail;  // "no such group" beside them
};

class LdapGroupMembers final : public GroupMemberDirectory {
public:
    explicit LdapGroupMembers(GroupMembersSettings settings);
    GroupExpansion members(const std::string& group) const override;
    std::uint64_t searches_sent() const { return m_client->searches_sent(); }

private:
    struct Walk;
    GroupExpansion ask(const std::string& group) const;
    bool member_dns(const std::vector<ldap::Entry>& entries, const std::string& server, Walk& walk,
                    std::vector<std::string>& dns) const;
    void too_large(Walk& walk, const std::string& server, const std::string& why) const;
    std::string entry_limit() const;  // "N bytes (max_entry_bytes)", for the log
    bool expand(const std::vector<std::string>& dns, int depth, Walk& walk) const;

    GroupMembersSettings m_settings;
    std::unique_ptr<ldap::Client> m_client;
    mutable std::mutex m_mutex;
    // group -> (expansion, expiry); guarded by m_mutex. Group names come from configuration,
    // so the map stays small.
    mutable std::map<std::string, std::pair<GroupExpansion, std::chrono::steady_clock::time_point>> m_cache;
};

// A group written as a DN ("cn=team,ou=groups,...") rather than a bare cn: the rule shared
// with LdapGroups (from_group/to_group).
bool is_group_dn(std::string_view group);

// A member value as a DN to read: a uniqueMember's optional "#'0101'B" UID (RFC 4517
// NameAndOptionalUID) removed; empty when the rest is not a valid RFC 4514 DN.
std::string member_dn(std::string_view value);

}  // namespace ssm::directory
