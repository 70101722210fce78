// Lookup keys shared by the certificate sources (see certificate_source.h).
#include "directory/certificate_source.h"

#include "base/ascii.h"

namespace ssm::directory {

std::string address_key(const EmailAddress& address)
{
    // Local parts are compared case-insensitively in practice (EmailAddress::same_as), and
    // certificate rfc822Names are lower-cased by pki::facts, so keys are all lower case.
    return ascii_lowercase(address.str());
}

}  // namespace ssm::directory
