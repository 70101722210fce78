// Certificates carried in a PKCS#7 SignedData bundle ("certs-only", RFC 4523's
// userSMIMECertificate, `openssl crl2pkcs7` output): the LDAP source and `ssmctl cert import`
// read them the same way. Input is untrusted; only the certificate list is read (signatures,
// if any, are not looked at) and every certificate is still checked where it is used.
#pragma once
#include <cstddef>
#include <limits>
#include <optional>
#include <vector>

#include "base/bytes.h"

namespace ssm::pki {

enum class BundleEncoding { Der, Pem };

// The DER certificates of the bundle, at most `max`; nullopt when it does not parse.
std::optional<std::vector<Bytes>> pkcs7_certificates(ByteView data, BundleEncoding encoding = BundleEncoding::Der,
                                                     std::size_t max = std::numeric_limits<std::size_t>::max());

}  // namespace ssm::pki
