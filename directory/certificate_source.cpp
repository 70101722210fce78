// Lookup keys shared by the certificate sources (see certificate_source.h).
#include "directory/certificate_source.h"

#include <algorithm>
#include <cctype>

namespace ssm::directory {

std::string address_key(const EmailAddress& address)
{
    // Local parts are compared case-insensitively in practice (EmailAddress::same_as), and
    // certificate rfc822Names are lower-cased by pki::facts, so keys are all lower case.
    std::string key = address.str();
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return key;
}

}  // namespace ssm::directory
