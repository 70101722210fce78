// The mail addresses a certificate's subjectAltName names: rfc822Name (IA5String) and the
// SmtpUTF8Mailbox otherName (RFC 9598, a UTF8String for addresses with a non-ASCII local
// part), as lookup keys (certificate_address_key): one reader for pki/ and hsm/ facts.
// SECURITY: certificates are untrusted; reads are bounded and a name that is not one plain
// addr-spec is dropped, never repaired: a SmtpUTF8Mailbox whose domain is in U-labels too
// (RFC 9598 §3 wants A-labels; logged as certificate_address_refused, once per certificate
// and process).
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

// The subject DN's emailAddress attributes (PKCS #9, legacy) as lookup keys, distinct, in order;
// values that are no plain ASCII addr-spec dropped. At most 16 read.
std::vector<std::string> subject_email_keys(gnutls_x509_crt_t crt);

// The addresses a certificate is for, the one rule for pki/ and hsm/ facts: its SAN's
// rfc822Name and SmtpUTF8Mailbox keys (RFC 8550 §3: the subjectAltName is where addresses
// go), and the subject DN's emailAddress only when the SAN names no address at all (legacy
// certificates, still common). A SAN that names an address the reader drops (a display name,
// a bogus A-label) leaves none: the DN's emailAddress, which that CA may not have checked,
// does not stand in for it.
std::vector<std::string> certificate_mailbox_keys(gnutls_x509_crt_t crt);

}  // namespace ssm
