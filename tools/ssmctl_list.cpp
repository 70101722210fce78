// `ssmctl list` (see ssmctl_list.h). The members are resolved through the very objects the
// milter uses (Certificates::group_members(), resolve_members), so what it prints is what an
// expansion would deliver to, before certificates are chosen.
#include "tools/ssmctl_list.h"

#include "base/error.h"
#include "base/log.h"
#include "milter/certificates.h"
#include "milter/list_members.h"
#include "tools/ssmctl_exit.h"

namespace ssm::tools {
namespace {


int members(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    const auto address = args.size() == 2 ? EmailAddress::parse(args[1]) : std::nullopt;
    if (!address) {
        err << "usage: ssmctl list members ADDRESS\n";
        return kExitUsage;
    }
    const milter::MailList* list = config.mail_list(*address);
    if (!list) {
        err << "ssmctl: " << config.path << ": no [[mail_list]] for " << address->str() << "\n";
        return kExitConfig;
    }
    milter::ListMembers resolved;
    const int asked = asking_directory(err, [&] {
        resolved = milter::resolve_members(*list, milter::Certificates::load(config, nullptr)->group_members());
        return kExitFound;
    });
    if (asked != kExitFound) return asked;
    // Addresses as log fields are written (escaped, quoted when they hold a space): a quoted
    // local part ("a b"@x) would otherwise break the key=value line.
    const std::string name = log::sanitise(list->address.str());
    for (const auto& m : resolved.members) {
        out << "member list=" << name << " address=" << log::sanitise(m.address.str()) << " from=" << milter::origin_name(m.origin);
        if (m.origin == milter::ListMember::Origin::Group) out << " group=" << list->members_group;
        out << "\n";
    }
    out << "total list=" << name << " members=" << resolved.members.size() << " from_group=" << resolved.from_group;
    if (!list->members_group.empty())
        out << " group_without_mail=" << resolved.group_without_mail << " group_found=" << (resolved.group_found ? "yes" : "no");
    if (resolved.too_many) out << " too_many=yes max=" << milter::MailList::kMaxMembers;
    if (resolved.too_deep) out << " too_deep=yes max_depth=" << directory::kMaxGroupNesting;
    out << "\n";
    return resolved.members.empty() || resolved.too_many || resolved.too_deep ? kExitNone : kExitFound;
}

}  // namespace

int list_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err)
{
    if (!args.empty() && args[0] == "members") return members(config, args, out, err);
    err << "usage: ssmctl list members ADDRESS\n";
    return kExitUsage;
}

}  // namespace ssm::tools
