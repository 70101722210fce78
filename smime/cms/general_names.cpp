// GeneralNames reduced to rfc822Names (see general_names.h). Decoded nodes are attacker
// input: counts are bounded and every address checked before it is copied out.
#include "smime/cms/general_names.h"

#include <algorithm>

#include "base/error.h"

namespace ssm::smime::cms {

namespace {
constexpr std::size_t kMaxAddress = 320;  // RFC 5321 path length bounds, generously
}

void check_rfc822_name(const std::string& a, const char* where)
{
    if (a.empty() || a.size() > kMaxAddress)
        throw Error(Failure::MalformedMessage, std::string(where) + " address is empty or too long");
    if (!std::all_of(a.begin(), a.end(), [](char c) { return c > 0x20 && c < 0x7f; }))
        throw Error(Failure::MalformedMessage,
                    std::string(where) + " address has characters outside printable ASCII");
}

void write_general_names(Asn1Node& n, const std::string& field, const std::string& address)
{
    n.append(field);
    n.append(field + ".?LAST");
    n.write_text(field + ".?LAST.?LAST", "rfc822Name");
    n.write_text(field + ".?LAST.?LAST.rfc822Name", address);
}

std::vector<std::string> read_general_names(const Asn1Node& n, const std::string& field, std::size_t limit,
                                            const char* what, std::size_t& other)
{
    const int count = n.count(field);
    if (count < 0 || std::size_t(count) > limit)
        throw Error(Failure::MalformedMessage,
                    std::string(what) + " has more than " + std::to_string(limit) + " entries");
    std::vector<std::string> out;
    for (int i = 1; i <= count; ++i) {
        const std::string names = field + ".?" + std::to_string(i);
        const int k = n.count(names);
        bool found = false;
        for (int j = 1; j <= k && !found; ++j) {
            const std::string name = names + ".?" + std::to_string(j);
            if (n.read_text(name) != "rfc822Name") continue;
            std::string address = n.read_text(name + ".rfc822Name");
            check_rfc822_name(address, what);
            out.push_back(std::move(address));
            found = true;
        }
        if (!found) ++other;
    }
    return out;
}

}  // namespace ssm::smime::cms
