// What the key store needs to know about a certificate found on a token, read with GnuTLS:
// addresses, key type and size, validity, CA flag and issuer links. Certificates on the
// token are administrator-provided but still parsed defensively (bad DER is skipped).
#pragma once
#include <ctime>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gnutls/x509.h>

#include "base/bytes.h"
#include "base/gnutls_handles.h"
#include "smime/algorithms.h"

namespace ssm::hsm {

// Move-only owner of a gnutls_x509_crt_t.
class X509Cert {
public:
    static std::optional<X509Cert> parse_der(ByteView der);
    gnutls_x509_crt_t get() const noexcept { return m_crt.get(); }
    // True when issuer's subject is this certificate's issuer name (base/certificate_issuer.h).
    bool issued_by(const X509Cert& issuer) const noexcept;

private:
    explicit X509Cert(GnutlsCrt c) noexcept : m_crt(std::move(c)) {}
    GnutlsCrt m_crt;
};

struct CertFacts {
    // Keys (certificate_mailbox_keys): SAN rfc822Name and SmtpUTF8Mailbox; the DN's
    // emailAddress only when the SAN names no address at all
    std::vector<std::string> email_addresses;
    std::optional<smime::KeyType> key_type;    // nullopt: a key type we cannot sign with
    unsigned key_bits = 0;                     // modulus bits, or curve size
    // An id-RSASSA-PSS key (RFC 4055): key_type Rsa when GnuTLS reads it, nullopt when it
    // refuses it (MGF1 over another hash than the key's), key_bits the modulus's either way.
    bool rsa_pss = false;
    // Such a key's RSASSA-PSS-params bind it to one hash, MGF1 over a hash and a minimum salt
    // (RFC 4055 §3.1: a key with parameters MUST be used with them). rsa_pss_digest: that hash
    // when we can sign within them (MGF1 over the same hash, a salt no longer than the hash:
    // we sign with salt = hash length); nullopt for parameters absent (any hash) or refused.
    // rsa_pss_refusal: why we cannot sign within them (SHA-1, MGF1 over another hash, a longer
    // salt, parameters that do not read); empty when we can.
    std::optional<smime::DigestAlgorithm> rsa_pss_digest;
    std::string rsa_pss_refusal;
    std::time_t not_before = 0;
    std::time_t not_after = 0;
    Bytes serial;  // serialNumber octets as encoded (empty: unreadable or over 64 octets)
    bool is_ca = false;
    bool self_signed = false;
    bool digital_signature = true;  // keyUsage allows signing (or there is no keyUsage)
    bool key_encipherment = true;   // keyUsage allows RSA key transport (or there is none)
    bool key_agreement = true;      // keyUsage allows key agreement (or there is none)
    bool x25519 = false;            // an X25519 key (key_type stays nullopt: unsupported)
};

CertFacts cert_facts(const X509Cert& cert);

}  // namespace ssm::hsm
