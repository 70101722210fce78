// The trust store: trust anchors, intermediate CA certificates and CRLs loaded from the [pki]
// folders, and validation of an end-entity certificate against them for a purpose.
// SECURITY: the folders are administrator-provided (a corrupt file is a start-up error); the
// certificates validated come from mail and directories and are fully untrusted.
//
// Path building tries every candidate issuer (pki/path_builder.h): anchors, the intermediates
// folder and the certificates that came with the message; each complete path is validated by
// GnuTLS (signatures, purpose, algorithms), by our own checks of what GnuTLS 3.7 lacks or gets
// wrong (validity at the caller's `now`, pki/ca_constraints.h: basicConstraints, keyUsage
// keyCertSign, pathLen; critical extensions; pki/name_constraints.h: every form of name
// constraint, in place of GnuTLS's, see pki/signer_constraints.h), then the required policies
// (pki/policies.h),
// then revocation; the first path that passes everything wins, otherwise the failing path with
// the fewest problems is reported. Revocation per certificate below the anchor: loaded CRL
// files that are current, of valid signers (RFC 5280 §6.3.3 (f), crl_signer_valid), and
// together cover it for all reasons settle it (pki/crl_set.h: indirect CRLs, distribution
// points, onlySomeReasons, delta CRLs); otherwise OCSP (AIA), then CRL distribution points and
// their delta CRLs under the same rules (pki/revocation.h), each cached until nextUpdate, all
// within one time budget per validation or per message (ValidationOptions::revocation_budget);
// no answer is a note (soft-fail) or Problem::RevocationUnknown (hard-fail).
// A validation for a mail address (ValidationOptions::address) also needs the path's anchor to
// vouch for the address's domain (pki/anchor_scope.h): a path ending at an anchor bound to
// other domains fails, and the search goes on, so a bridge or cross-certificate path to an
// anchor that does vouch for it is still found.
#pragma once
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/repeat_filter.h"
#include "pki/anchor_scope.h"
#include "pki/certificate.h"
#include "pki/crl_set.h"
#include "pki/http_fetcher.h"
#include "pki/path_builder.h"
#include "pki/revocation.h"

namespace ssm::pki {

// [pki] revocation.
enum class Revocation {
    Off,       // neither CRLs nor OCSP are consulted (a revoked certificate passes)
    SoftFail,  // a certificate revoked by a loaded CRL, OCSP or a fetched CRL fails; no answer
               // at all is accepted with a note in ValidationResult::notes
    HardFail,  // ... and every certificate of the path below the anchor needs a current answer
               // (loaded CRL within nextUpdate, OCSP or fetched CRL), else RevocationUnknown
};

class TrustStore;

struct TrustStoreConfig {
    std::filesystem::path trust_anchors;  // [pki] trust_anchors: PEM/DER roots
    std::filesystem::path intermediates;  // [pki] intermediates: CA and cross-certificates
    std::filesystem::path crls;           // [pki] crls: PEM/DER CRLs (empty path: none)
    Revocation revocation = Revocation::SoftFail;
    OnlineRevocationConfig online{};  // OCSP and CRL distribution points (both on by default)
    PathLimits path_limits{};
    // How revocation data is fetched; null: libcurl (CurlFetcher).
    std::shared_ptr<const HttpFetcher> fetcher{};
    // [[pki.anchor]] and [pki] unscoped_anchors: the domains each anchor vouches for.
    AnchorScopes scopes{};
    // The store this one replaces (a reload), or null. Its fetched CRLs and OCSP answers are
    // taken over when their revocation_cache_key is the same (the [pki] revocation settings,
    // anchors, intermediates and loaded CRLs they were verified with); otherwise they are not.
    std::shared_ptr<const TrustStore> replaces{};
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
    RevocationUnknown,  // hard-fail: no current CRL or OCSP answer for a certificate of the path
    Policy,          // none of the required certificate policies holds along the path
    AnchorScope,     // the path's trust anchor does not vouch for the address's domain
    Other,           // anything else GnuTLS reports (kept in the reason text)
};

struct ValidationResult {
    std::vector<Problem> problems;   // empty: the certificate is valid for the purpose
    std::vector<std::string> reasons;  // one human-readable line per problem, same order
    // Facts worth logging that are not problems: revocation answers and their source, soft-fail
    // "status unknown", a path search cut short by its limits.
    std::vector<std::string> notes;
    unsigned gnutls_status = 0;      // raw gnutls_certificate_status_t bits, for logs
    std::size_t path_length = 0;     // certificates in the path, anchor included
    // The path checked (DER, the end entity first, the anchor last) when one reached an anchor:
    // for a valid result the path that passed, for callers that read its CA certificates
    // (RFC 5913 clearance constraints). Empty when no path reached an anchor.
    std::vector<Bytes> path;

    bool valid() const { return problems.empty(); }
    bool has(Problem p) const;
    std::string describe() const;  // reasons joined with "; ", or "valid"
};

// Per-validation choices (per partner or per caller); defaults keep the store's behaviour.
struct ValidationOptions {
    // Dotted OIDs; empty: no policy requirement. Any one of them must hold (see policies.h).
    std::vector<std::string> required_policies;
    // Overrides the store's [pki] revocation for this validation (e.g. a partner's hard-fail).
    std::optional<Revocation> revocation;
    // false: loaded CRL files only, no OCSP/HTTP (for callers that must not wait on the network).
    bool online_revocation = true;
    // The mail address the certificate is being tied to (a signer matched to a From address, a
    // recipient to encrypt to): the path's anchor must vouch for its domain (anchor_scope.h).
    // nullopt: no address, anchor bindings do not apply (e.g. our own token's certificates).
    std::optional<std::string> address;
    // Whom the validation is made for (a recipient, a signer, a list member), named in its log
    // lines when `address` is not set or is not theirs; empty: `address` is named.
    std::string logged_for;
    // The message's time for online revocation checks, shared by every validation made for it
    // (pki/revocation_budget.h); null: this validation gets one of [pki] revocation_time_budget.
    std::shared_ptr<const RevocationBudget> revocation_budget;
};

class TrustStore {
public:
    // Loads every *.pem/*.crt/*.cer/*.der file of the anchor and intermediate folders and every
    // *.pem/*.crl/*.der file of the CRL folder. A missing folder is an empty set (logged as a
    // warning); an unreadable or corrupt file throws LoadError naming it, as does a CRL whose
    // signature does not verify with a loaded anchor or intermediate.
    // A binding (config.scopes) that names no loaded anchor throws AnchorScopeError.
    explicit TrustStore(const TrustStoreConfig& config);
    // For tests and tools: certificates already in memory, no CRLs; bindings name anchors by
    // fingerprint (there are no files).
    TrustStore(std::vector<Certificate> anchors, std::vector<Certificate> intermediates,
               Revocation revocation = Revocation::SoftFail, OnlineRevocationConfig online = {},
               std::shared_ptr<const HttpFetcher> fetcher = nullptr, const AnchorScopes& scopes = {});
    ~TrustStore();
    TrustStore(const TrustStore&) = delete;
    TrustStore& operator=(const TrustStore&) = delete;

    // Thread-safe (the store is immutable after construction; the revocation caches lock
    // internally). `extra_intermediates` are CA certificates that came with the end entity (e.g.
    // in a signed message); they are path candidates only, never anchors. May block on OCSP/CRL
    // fetches (bounded by the configured timeouts) unless options.online_revocation is false.
    ValidationResult validate(const Certificate& ee, std::span<const Certificate> extra_intermediates,
                              std::time_t now, Purpose purpose, const ValidationOptions& options = {}) const;

    // The online checker (for cache statistics); null when revocation is off.
    const RevocationChecker* revocation_checker() const { return m_checker.get(); }
    // What the online checker's cached answers depend on, as a digest (empty: no checker).
    const std::string& revocation_cache_key() const { return m_revocation_cache_key; }

    std::size_t anchor_count() const { return m_anchor_count; }
    std::size_t intermediate_count() const { return m_intermediates.size(); }
    std::size_t crl_count() const { return m_crl_count; }

    // The CRLs read from the [pki] crls folder, for operations (their nextUpdate).
    struct CrlFile {
        std::string file;
        std::string issuer;       // RFC 4514 string
        std::time_t next_update;  // -1 when the CRL has none
    };
    const std::vector<CrlFile>& crl_files() const { return m_crl_files; }

private:
    void add_anchors(std::vector<Certificate> anchors);
    // Resolves the bindings into m_anchor_domains; `files`: each anchor's file name (empty for
    // anchors given in memory).
    void bind_anchors(const AnchorScopes& scopes, const std::vector<std::string>& files);
    const AnchorDomains& domains_of(const Certificate& anchor) const;
    void load_crls(const std::filesystem::path& folder, std::size_t max_crl_size);
    // `replaces`: the store of the previous configuration, whose caches are taken over when
    // the keys match; null: new caches.
    void finish_setup(const OnlineRevocationConfig& online, std::shared_ptr<const HttpFetcher> fetcher,
                      const TrustStore* replaces);
    std::string make_revocation_cache_key(const OnlineRevocationConfig& online) const;
    ValidationResult check_path(const std::vector<const Certificate*>& chain, const Certificate* anchor,
                                std::time_t now, Purpose purpose, const ValidationOptions& options) const;
    // `gnutls_applied_crls`: whether GnuTLS's verification reached its CRL checks (it skips them
    // for a path it refused, e.g. one whose signer-constraints bit check_path set aside); when
    // not, the CRLs given to GnuTLS (LoadedCrl::given_to_gnutls) are applied here.
    void check_revocation(ValidationResult& r, const std::vector<const Certificate*>& chain,
                          const Certificate& anchor, std::time_t now, const ValidationOptions& options,
                          bool gnutls_applied_crls) const;
    // RFC 5280 §6.3.3 (f): whether `signer`, which signed a CRL for a certificate of a path, may
    // speak for it: the key and name of a certificate `above` it in the path (validated with
    // it) or of the anchor, or a certificate with cRLSign whose own path to the same `anchor`,
    // validity and revocation status hold (the same revocation mode; nesting bounded, loops
    // ended: pki/trust_store_crl_signer.cpp). `why` gets the reason when not.
    bool crl_signer_valid(const Certificate& signer, std::span<const Certificate* const> above,
                          const Certificate& anchor, std::time_t now, const ValidationOptions& options,
                          std::string& why) const;
    // For online checks of a certificate of a path (`above` and `anchor` as above): the store's
    // certificates that may sign its indirect CRLs, validated by crl_signer_valid.
    CrlSigners crl_signers(std::span<const Certificate* const> above, const Certificate& anchor, std::time_t now,
                           const ValidationOptions& options) const;
    // What the loaded CRLs say of `cert` (issued by the certificate `above` starts with, or the
    // anchor): Revoked, Good when they settle it, else Unknown with the reason in detail.
    // `gnutls_applied_crls`: GnuTLS already applied its plain CRLs to `cert` (as for a path).
    RevocationAnswer loaded_crl_status(const Certificate& cert, std::span<const Certificate* const> above,
                                       const Certificate& anchor, std::time_t now, const ValidationOptions& options,
                                       bool gnutls_applied_crls) const;

    gnutls_x509_trust_list_t m_list = nullptr;  // owns the anchors and the CRLs added to it
    std::vector<Certificate> m_anchors;          // copies, for path ends and validity checks
    std::vector<AnchorDomains> m_anchor_domains;  // per m_anchors: what it vouches for
    std::vector<Certificate> m_intermediates;
    std::vector<LoadedCrl> m_crls;  // every CRL loaded, also those not given to GnuTLS
    std::vector<CrlFile> m_crl_files;
    std::vector<IndexedCertificate> m_anchor_index;        // over m_anchors (never resized after)
    std::vector<IndexedCertificate> m_intermediate_index;  // over m_intermediates
    PathLimits m_path_limits;
    // pki_revocation_unknown is logged once an hour per certificate (base/repeat_filter.h),
    // not with every message the certificate comes with.
    mutable RepeatFilter m_revocation_unknown_logged{4096, std::chrono::hours(1)};
    std::unique_ptr<const RevocationChecker> m_checker;
    std::string m_revocation_cache_key;   // see revocation_cache_key()
    std::string m_loaded_crls_identity;   // each loaded CRL file's name and content digest
    std::chrono::milliseconds m_time_budget{20000};  // [pki] revocation_time_budget
    Revocation m_revocation = Revocation::SoftFail;
    std::size_t m_anchor_count = 0;
    std::size_t m_crl_count = 0;
};

}  // namespace ssm::pki
