// The trust store: trust anchors, intermediate CA certificates and CRLs loaded from the [pki]
// folders, and validation of an end-entity certificate against them for a purpose.
// SECURITY: the folders are administrator-provided (a corrupt file is a start-up error); the
// certificates validated come from mail and directories and are fully untrusted.
//
// LIMITS of this version (a later issue replaces the internals behind the same interface):
// - path building is greedy: from the end entity, the first not-yet-used certificate (extra
//   intermediates first, then the store's) whose subject matches the issuer name and whose key
//   verifies the signature is taken, up to 8 levels, with no backtracking: bridge CAs and
//   cross-certificates where the first fitting issuer leads to a dead end are not explored;
// - revocation is by loaded CRL files only (no distribution points, no OCSP); see Revocation
//   for what "soft-fail" and "hard-fail" mean with CRL files alone; name constraints and
//   certificate policies are only what GnuTLS checks by itself (no per-partner policy OIDs).
#pragma once
#include <ctime>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace ssm::pki {

// [pki] revocation.
enum class Revocation {
    Off,       // CRLs are not consulted (a revoked certificate passes)
    SoftFail,  // a certificate listed in a loaded CRL fails; no CRL for its issuer is fine
    HardFail,  // ... and every certificate of the path below the anchor needs a loaded CRL from
               // its issuer whose nextUpdate has not passed, else Problem::RevocationUnknown
};

struct TrustStoreConfig {
    std::filesystem::path trust_anchors;  // [pki] trust_anchors: PEM/DER roots
    std::filesystem::path intermediates;  // [pki] intermediates: CA and cross-certificates
    std::filesystem::path crls;           // [pki] crls: PEM/DER CRLs (empty path: none)
    Revocation revocation = Revocation::SoftFail;
};

enum class Purpose {
    EmailProtection,  // S/MIME: extendedKeyUsage must allow id-kp-emailProtection (or be absent)
    Any,              // no key-purpose check (e.g. validating a CA certificate itself)
};

enum class Problem {
    Expired,         // a certificate of the path is past notAfter
    NotYetValid,     // ... or before notBefore
    NoTrustedPath,   // no chain to a loaded trust anchor
    Revoked,         // listed in a loaded CRL
    BadSignature,    // a signature in the path does not verify
    IssuerNotCa,     // an issuer of the path is not a CA (basicConstraints/keyCertSign)
    WrongPurpose,    // extendedKeyUsage does not allow the purpose
    WeakAlgorithm,   // signed with an algorithm GnuTLS considers insecure (MD5, SHA-1, ...)
    Constraints,     // path length, name constraints or other CA constraints violated
    RevocationUnknown,  // hard-fail: no current CRL from an issuer of the path
    Other,           // anything else GnuTLS reports (kept in the reason text)
};

struct ValidationResult {
    std::vector<Problem> problems;   // empty: the certificate is valid for the purpose
    std::vector<std::string> reasons;  // one human-readable line per problem, same order
    unsigned gnutls_status = 0;      // raw gnutls_certificate_status_t bits, for logs
    std::size_t path_length = 0;     // certificates in the path, anchor included

    bool valid() const { return problems.empty(); }
    bool has(Problem p) const;
    std::string describe() const;  // reasons joined with "; ", or "valid"
};

class TrustStore {
public:
    // Loads every *.pem/*.crt/*.cer/*.der file of the anchor and intermediate folders and every
    // *.pem/*.crl/*.der file of the CRL folder. A missing folder is an empty set (logged as a
    // warning); an unreadable or corrupt file throws LoadError naming it, as does a CRL whose
    // signature does not verify with a loaded anchor or intermediate.
    explicit TrustStore(const TrustStoreConfig& config);
    // For tests and tools: certificates already in memory, no CRLs.
    TrustStore(std::vector<Certificate> anchors, std::vector<Certificate> intermediates,
               Revocation revocation = Revocation::SoftFail);
    ~TrustStore();
    TrustStore(const TrustStore&) = delete;
    TrustStore& operator=(const TrustStore&) = delete;

    // Thread-safe (the store is immutable after construction). `extra_intermediates` are CA
    // certificates that came with the end entity (e.g. in a signed message); they are path
    // candidates only, never anchors.
    ValidationResult validate(const Certificate& ee, std::span<const Certificate> extra_intermediates,
                              std::time_t now, Purpose purpose) const;

    std::size_t anchor_count() const { return m_anchor_count; }
    std::size_t intermediate_count() const { return m_intermediates.size(); }
    std::size_t crl_count() const { return m_crl_count; }

private:
    void add_anchors(std::vector<Certificate> anchors);
    void load_crls(const std::filesystem::path& folder);
    void check_crls_present(ValidationResult& r, const std::vector<const Certificate*>& path,
                            std::time_t now) const;

    struct CrlInfo {
        Bytes issuer_der;         // raw issuer Name
        std::time_t next_update;  // -1 when the CRL has none
    };

    gnutls_x509_trust_list_t m_list = nullptr;  // owns the anchors and CRLs added to it
    std::vector<Certificate> m_anchors;          // copies, for path ends and validity checks
    std::vector<Certificate> m_intermediates;
    std::vector<CrlInfo> m_crls;
    Revocation m_revocation = Revocation::SoftFail;
    std::size_t m_anchor_count = 0;
    std::size_t m_crl_count = 0;
};

}  // namespace ssm::pki
