// The members one expansion of a [[mail_list]] delivers to (PRODUCT §4.3): the configured
// members, then those of its members_group as the directory lists them now; the union, each
// address once, never the list itself, at most MailList::kMaxMembers. Shared by the list
// expansion and `ssmctl list members`.
// SECURITY: the group's addresses come from the directory (parsed there as addresses); they
// only ever become recipients of what the list itself would send.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "directory/ldap_group_members.h"
#include "milter/config.h"

namespace ssm::milter {

struct ListMember {
    enum class Origin { Config, Group };
    EmailAddress address;
    Origin origin;
};

struct ListMembers {
    std::vector<ListMember> members;  // configured ones first, in their order
    std::size_t from_group = 0;       // members that only the group named
    std::size_t group_without_mail = 0;  // group members skipped (no entry, no usable mail)
    bool group_found = true;          // false: the directory has no such group
    bool too_many = false;            // more than MailList::kMaxMembers: not to be expanded
    bool too_deep = false;            // the group nests groups deeper than kMaxGroupNesting
};

// Throws ssm::Error(Failure::DirectoryUnavailable) when the group cannot be read (also when
// the list has a members_group and `groups` is null: no [directory.groups] to read it from).
ListMembers resolve_members(const MailList& list, const directory::GroupMemberDirectory* groups);

const char* origin_name(ListMember::Origin origin);

}  // namespace ssm::milter
