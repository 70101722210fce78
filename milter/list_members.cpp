// Resolving a list's members (see list_members.h).
#include "milter/list_members.h"

#include <algorithm>

#include "base/error.h"

namespace ssm::milter {

ListMembers resolve_members(const MailList& list, const directory::GroupMemberDirectory* groups)
{
    ListMembers out;
    auto add = [&](const EmailAddress& a, ListMember::Origin origin) {
        if (a.same_as(list.address)) return false;
        for (const auto& m : out.members)
            if (m.address.same_as(a)) return false;
        out.members.push_back({a, origin});
        return true;
    };
    for (const auto& m : list.members) add(m, ListMember::Origin::Config);
    if (!list.members_group.empty()) {
        // The loader refuses members_group without [directory.groups]; a caller without the
        // directory must not expand to the configured members only.
        if (!groups)
            throw Error(Failure::DirectoryUnavailable,
                        "mail list " + list.address.str() + ": no group directory for " + list.members_group);
        const directory::GroupExpansion g = groups->members(list.members_group);
        out.group_found = g.found;
        out.group_without_mail = g.without_mail;
        out.too_deep = g.too_deep;
        out.too_many = g.truncated && !g.too_deep;
        for (const auto& a : g.addresses)
            if (add(a, ListMember::Origin::Group)) ++out.from_group;
    }
    if (out.members.size() > MailList::kMaxMembers) out.too_many = true;
    return out;
}

const char* origin_name(ListMember::Origin origin)
{
    return origin == ListMember::Origin::Group ? "group" : "config";
}

std::vector<EnvelopeGroup> group_by_cipher(const std::vector<MemberEnvelope>& members)
{
    std::vector<EnvelopeGroup> groups;
    for (const auto& m : members) {
        auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& x) { return x.cipher == m.cipher; });
        if (g == groups.end()) g = groups.insert(groups.end(), EnvelopeGroup{m.cipher, {}, {}});
        g->members.push_back(m.member);
        // Members of one domain encrypted to its gateway's certificate: one RecipientInfo.
        const bool known = std::any_of(g->certificates.begin(), g->certificates.end(),
                                       [&](const auto& c) { return c.first->der == m.certificate->der; });
        if (!known) g->certificates.emplace_back(m.certificate, m.identifier);
    }
    return groups;
}

}  // namespace ssm::milter
