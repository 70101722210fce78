// Lookup keys shared by the certificate sources (see certificate_source.h).
#include "directory/certificate_source.h"

#include "base/ascii.h"
#include "base/sha256.h"

namespace ssm::directory {

std::string address_key(const EmailAddress& address)
{
    // The key certificates' addresses are stored under (certificate_address_key).
    return address.key();
}

std::string settings_cache_key(const std::string& name, const std::string& kind,
                               const std::vector<std::string>& parts)
{
    std::string identity = kind;
    for (const auto& v : parts) identity += "\n" + std::to_string(v.size()) + ":" + v;
    const Sha256Digest digest = sha256(as_bytes(identity));
    return name + "#" + to_hex(ByteView(digest.data(), 8));
}

}  // namespace ssm::directory
