// The mail addresses a certificate's subjectAltName names: rfc822Name (IA5String) and the
// SmtpUTF8Mailbox otherName (RFC 9598, a UTF8String for addresses with a non-ASCII local
// part), as lookup keys (certificate_address_key): one reader for pki/ and hsm/ facts.
// SECURITY: certificates are untrusted; reads are bounded and a name that is not one plain
// addr-spec is dropped, never repaired.
#pragma once
#include <string>
#include <vector>

#include <gnutls/x509.h>

namespace ssm {

inline constexpr const char* oid_smtp_utf8_mailbox = "1.3.6.1.5.5.7.8.9";  // id-on-SmtpUTF8Mailbox

struct CertificateMailboxes {
    std::vector<std::string> keys;  // distinct, in the order of the extension
    // The extension holds an address name at all (or a name too long to read, which may be
    // one): the subject DN's emailAddress is then no fallback (see pki::facts).
    bool named_any = false;
};

CertificateMailboxes san_mailboxes(gnutls_x509_crt_t crt);

}  // namespace ssm
