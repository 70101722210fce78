// The members one expansion of a [[mail_list]] delivers to (PRODUCT §4.3): the configured
// members, then those of its members_group as the directory lists them now; the union, each
// address once, never the list itself, at most MailList::kMaxMembers. Shared by the list
// expansion and `ssmctl list members`. Also how encrypted list mail is divided among them:
// one envelope per content cipher, as outbound mail to each member alone would be encrypted.
// SECURITY: the group's addresses come from the directory (parsed there as addresses); they
// only ever become recipients of what the list itself would send.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "directory/certificate_choice.h"
#include "directory/ldap_group_members.h"
#include "milter/config.h"
#include "policy/cipher_choice.h"

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

// One member's part in encrypted list mail, as outbound mail to that member alone would have
// it: the certificate its rule encrypts to (its own, its domain's confidentiality authority's
// for encrypt_to = "domain", a named address's), how the RecipientInfo names it, and the
// cipher its rule and that certificate's SMIMECapabilities give (policy::choose_cipher for
// that one certificate, the rule's minimum_cipher applied).
struct MemberEnvelope {
    std::string member;
    const directory::RecipientCertificate* certificate = nullptr;
    policy::RecipientIdentifier identifier = policy::RecipientIdentifier::Default;
    policy::Cipher cipher = policy::Cipher::Aes256Cbc;
};

// The members that share one envelope (one cipher): their addresses in member order, and
// each distinct certificate once (the first member's identifier names it).
struct EnvelopeGroup {
    policy::Cipher cipher = policy::Cipher::Aes256Cbc;
    std::vector<std::string> members;
    std::vector<std::pair<const directory::RecipientCertificate*, policy::RecipientIdentifier>> certificates;
};

// The members by cipher, groups in the order of their first member.
std::vector<EnvelopeGroup> group_by_cipher(const std::vector<MemberEnvelope>& members);

}  // namespace ssm::milter
