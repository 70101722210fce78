// X.509 certificates for the S/MIME gateway: a move-only owner of a GnuTLS certificate, the
// facts the policy and the CMS codecs need (addresses, key type, usages, validity, identifiers),
// and SharedCertificate, the two together as immutable data that threads may share.
// SECURITY: certificates come from mail, directories and administrators' folders; every parse is
// bounded and a certificate that GnuTLS cannot read is simply absent (nullopt), never trusted.
#pragma once
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gnutls/x509.h>

#include "base/bytes.h"
#include "base/gnutls_handles.h"

namespace ssm::pki {

// A start-up problem with a file or folder named in the configuration (a corrupt certificate,
// an unreadable CRL). The message names the file; callers report it and refuse to start/reload.
class LoadError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Largest certificate or certificate file we read; real ones are a few KiB.
inline constexpr std::size_t max_certificate_size = 64 * 1024;
inline constexpr std::size_t max_pem_file_size = 4 * 1024 * 1024;

class Certificate {
public:
    // One DER certificate; nullopt when GnuTLS cannot read it (or it is oversized).
    static std::optional<Certificate> parse_der(ByteView der);
    // Every CERTIFICATE block of a PEM text (other blocks such as keys are ignored). nullopt
    // when there is no certificate or any certificate block is corrupt: a half-read bundle
    // would silently lose certificates.
    static std::optional<std::vector<Certificate>> from_pem(std::string_view pem);
    // A file holding PEM (one or many certificates) or one DER certificate. Throws LoadError
    // naming the file when it cannot be read or holds no readable certificate.
    static std::vector<Certificate> load_file(const std::filesystem::path& file);

    // A second independent owner (through DER), for handing to another thread.
    Certificate clone() const;
    // The certificate as received (GnuTLS keeps the original encoding).
    Bytes der() const;
    gnutls_x509_crt_t get() const noexcept { return m_crt.get(); }
    // True when `issuer`'s subject name is this certificate's issuer name (no signature check;
    // base/certificate_issuer.h).
    bool issued_by(const Certificate& issuer) const noexcept;

private:
    explicit Certificate(GnutlsCrt c) noexcept : m_crt(std::move(c)) {}
    GnutlsCrt m_crt;
};

enum class KeyType {
    Rsa,      // rsaEncryption: key transport (PKCS#1 v1.5, OAEP) and signing
    RsaPss,   // id-RSASSA-PSS key: signing only
    EcP256,   // id-ecPublicKey on secp256r1: ECDH and ECDSA
    EcP384,
    EcP521,
    Ed25519,  // signing only
    X25519,   // key agreement only (RFC 8410)
    Other,    // DSA, GOST, Ed448, X448, other curves: not used by the gateway
};

std::string_view key_type_name(KeyType t);  // "RSA", "EC P-256", "X25519", ...

// keyUsage bits (RFC 5280 §4.2.1.3).
struct KeyUsage {
    bool digital_signature = false;
    bool non_repudiation = false;
    bool key_encipherment = false;
    bool data_encipherment = false;
    bool key_agreement = false;
    bool key_cert_sign = false;
    bool crl_sign = false;
    bool encipher_only = false;
    bool decipher_only = false;
};

inline constexpr std::string_view oid_email_protection = "1.3.6.1.5.5.7.3.4";
inline constexpr std::string_view oid_any_extended_key_usage = "2.5.29.37.0";

struct CertificateFacts {
    // rfc822Name and SmtpUTF8Mailbox (RFC 9598) subjectAltNames as lookup keys (ASCII letters
    // lower-cased, domain in A-labels: certificate_address_key); the subject DN's emailAddress
    // only when the certificate names no address at all (legacy certificates).
    std::vector<std::string> email_addresses;
    KeyType key_type = KeyType::Other;
    unsigned key_bits = 0;  // modulus bits for RSA, curve bits for EC/EdDSA/X25519
    std::time_t not_before = 0;
    std::time_t not_after = 0;
    bool is_ca = false;  // basicConstraints cA = TRUE
    bool self_signed = false;
    std::optional<KeyUsage> key_usage;  // nullopt: no keyUsage extension (any use allowed)
    // Dotted OIDs of extendedKeyUsage; nullopt: no extension (any purpose allowed).
    std::optional<std::vector<std::string>> extended_key_usage;
    // IssuerAndSerialNumber pieces for CMS: the issuer Name as DER, and the contents octets of
    // the serialNumber INTEGER exactly as in the certificate.
    Bytes issuer_der;
    Bytes serial;
    Bytes subject_der;  // the subject Name as DER (an issuer_der of the certificates it issues)
    std::optional<Bytes> subject_key_identifier;  // contents of the SKI extension
    Bytes sha256_fingerprint;                     // over the whole DER certificate
    std::string subject;                          // RFC 4514 text, for messages only

    bool has_address(std::string_view lower_case_address) const;
    // emailProtection or anyExtendedKeyUsage listed, or no extendedKeyUsage extension.
    bool allows_email_protection() const;
};

CertificateFacts facts(const Certificate& cert);

// Issuer and subject names are the same, compared as encoded (RFC 5280 §3.3, §6.1: a CA's
// self-issued certificate, such as a key rollover's, is exempt from some path rules).
bool is_self_issued(const Certificate& cert);

// The same certificate: the same object, or the same DER.
inline bool same_certificate(const Certificate& a, const Certificate& b)
{
    return a.get() == b.get() || a.der() == b.der();
}

// The DER value of the certificate's extension `oid` (dotted); nullopt when it has none.
std::optional<Bytes> extension_value(const Certificate& cert, const char* oid);

// A certificate as immutable data: its DER and its facts, read once when it is made. It holds
// no GnuTLS object (GnuTLS does not promise that one gnutls_x509_crt_t may be read by several
// threads at once), so one instance, and every copy of it (copies share the data), may be read
// by any number of threads. Where GnuTLS itself is needed (chain validation) parse() makes a
// new Certificate for that one use. Never empty: there is no default or moved-from state.
class SharedCertificate {
public:
    // One DER certificate: parsed, its facts read, the GnuTLS object dropped. nullopt as for
    // Certificate::parse_der.
    static std::optional<SharedCertificate> parse_der(ByteView der);
    // The DER and facts of an already parsed certificate.
    explicit SharedCertificate(const Certificate& cert);

    SharedCertificate(const SharedCertificate&) = default;
    SharedCertificate& operator=(const SharedCertificate&) = default;
    // No move operations: a move copies, so a moved-from object still holds its certificate.

    const Bytes& der() const noexcept { return m_data->der; }
    const CertificateFacts& facts() const noexcept { return m_data->facts; }
    // A new, independent GnuTLS owner of the certificate (a parse, some 20 µs).
    Certificate parse() const;
    // Approximate heap bytes held by the data (DER and facts), for caches that bound memory.
    std::size_t memory_size() const noexcept;
    // Whether two handles share one data block (not whether the certificates are equal).
    bool same_data(const SharedCertificate& o) const noexcept { return m_data == o.m_data; }

private:
    struct Data {
        Bytes der;
        CertificateFacts facts;
    };
    explicit SharedCertificate(std::shared_ptr<const Data> d) noexcept : m_data(std::move(d)) {}
    std::shared_ptr<const Data> m_data;
};

// The facts of a shared certificate (a copy; for code written against facts(Certificate)).
inline CertificateFacts facts(const SharedCertificate& cert)
{
    return cert.facts();
}

// The certificate files of a configured folder (*.pem, *.crt, *.cer, *.der; not recursive),
// sorted by name. A missing folder is an empty list (the caller warns); a path that is not a
// readable folder throws LoadError naming it and `what` (the configuration key).
std::vector<std::filesystem::path> certificate_files(const std::filesystem::path& folder,
                                                     std::string_view what);

// Untrusted text (names from certificates) for reasons: printable ASCII only, other octets as
// '?', cut at 120 characters with "..." (log lines sanitise again).
std::string printable(std::string_view text);

// GnuTLS's key identifier of the certificate's public key (SHA-1 of its DER SubjectPublicKeyInfo)
// in hex, for cache keys; for a key GnuTLS refuses, the same hash computed here, so that it is
// empty only when the certificate's key does not read at all.
std::string key_id_hex(const Certificate& c);

// "2026-11-30T05:24:14Z": how times appear in reasons and logs.
std::string format_time(std::time_t t);

}  // namespace ssm::pki
