// `ssmctl clearance` (see ssmctl_clearance.h). The lookup goes through the very object the
// milter asks (Certificates::clearances()), so what it prints is what the gateway decides on.
#include "tools/ssmctl_clearance.h"

#include <cstdlib>

#include "base/error.h"
#include "base/joined.h"
#include "base/log.h"
#include "milter/certificates.h"
#include "policy/labels.h"
#include "smime/cms/clearance.h"
#include "tools/ssmctl_exit.h"

namespace ssm::tools {
namespace {

int lookup(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    const auto address = args.size() == 2 ? EmailAddress::parse(args[1]) : std::nullopt;
    if (!address) {
        err << "usage: ssmctl clearance lookup ADDR\n";
        return kExitUsage;
    }
    if (config.clearance_attribute.empty()) {
        err << "ssmctl: " << config.path << ": no [labels] clearance_attribute: clearances come from [[clearance]] only\n";
        return kExitConfig;
    }
    policy::DirectoryClearances found;
    const int asked = asking_directory(err, [&] {
        found = milter::Certificates::load(config, nullptr)->clearances()->clearances(*address);
        return kExitFound;
    });
    if (asked != kExitFound) return asked;
    const std::string shown = log::sanitise(address->str());
    for (const auto& v : found.values) {
        const policy::Clearance c = policy::clearance_from(v);
        std::vector<std::string> classes;
        for (const int n : c.classifications) classes.push_back(std::to_string(n));
        out << "clearance address=" << shown << " policy=" << c.policy_id << " classes=" << joined(classes, "-")
            << (v.class_list_default ? " classlist=default" : "") << " categories=" << joined(c.categories, "-")
            << " syntax=" << (v.syntax == smime::cms::ClearanceValue::Syntax::Rfc3281 ? "rfc3281" : "rfc5755") << "\n";
    }
    if (found.unreadable > 0) out << "unreadable address=" << shown << " values=" << found.unreadable << "\n";
    if (found.values.empty()) {
        out << "none address=" << shown << "\n";
        return kExitNone;
    }
    return 0;
}

int encode(const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    smime::cms::ClearanceValue c;
    bool classes = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const bool has_value = i + 1 < args.size();
        if (args[i] == "--policy" && has_value) {
            c.policy_id = args[++i];
        } else if (args[i] == "--class" && has_value) {
            char* end = nullptr;
            const long n = std::strtol(args[++i].c_str(), &end, 10);
            if (!end || *end || args[i].empty() || n < 0 || n > smime::cms::classification::kMax) {
                err << "ssmctl: --class must be 0..256, not '" << args[i] << "'\n";
                return kExitUsage;
            }
            c.classes.push_back(int(n));
            classes = true;
        } else if (args[i] == "--category" && has_value) {
            auto cat = policy::parse_category_text(args[++i]);
            if (!cat) {
                err << "ssmctl: --category must be TYPE-OID:HEX, not '" << args[i] << "'\n";
                return kExitUsage;
            }
            c.categories.push_back(std::move(*cat));
        } else {
            err << "usage: ssmctl clearance encode --policy OID [--class N]... [--category TYPE-OID:HEX]...\n";
            return kExitUsage;
        }
    }
    if (!classes) c.classes = {smime::cms::classification::kUnclassified};
    try {
        const Bytes der = smime::cms::encode_clearance(c);
        out.write(reinterpret_cast<const char*>(der.data()), std::streamsize(der.size()));
    } catch (const Error& e) {
        err << "ssmctl: " << e.what() << "\n";
        return kExitUsage;
    }
    return 0;
}

}  // namespace

int clearance_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err)
{
    if (!args.empty() && args[0] == "lookup") return lookup(config, args, out, err);
    if (!args.empty() && args[0] == "encode") return encode(args, out, err);
    err << "usage: ssmctl clearance lookup ADDR\n"
           "       ssmctl clearance encode --policy OID [--class N]... [--category TYPE-OID:HEX]...\n";
    return kExitUsage;
}

}  // namespace ssm::tools
