// Certification path building (RFC 4158): from an end entity towards any trust anchor, trying
// every candidate issuer depth-first with backtracking, so that bridge CAs and cross-certificates
// in both directions are found even where the first fitting issuer leads nowhere.
// SECURITY: candidates are untrusted (they may come with the message); building only proposes
// paths ordered by plausibility. Every proposed path is validated by the caller (GnuTLS). Loops
// and work are bounded, so a hostile mesh of cross-certificates cannot stall a worker.
#pragma once
#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pki/certificate.h"

namespace ssm::pki {

// A certificate with the keys path building compares, computed once.
struct IndexedCertificate {
    const Certificate* cert = nullptr;
    // The subject and issuer Names as RFC 5280 §7.1 compares them (base/name_compare.h
    // comparable_name): equal but for string type, case, NFKC form and insignificant spaces.
    std::string subject_key;
    std::string issuer_key;
    std::optional<Bytes> ski;     // subjectKeyIdentifier
    std::optional<Bytes> aki;     // authorityKeyIdentifier keyIdentifier
    Bytes identity;               // subject_key + SHA-1 of the public key: a CA "node"
    Bytes fingerprint;            // SHA-256 of the DER: one certificate

    static IndexedCertificate of(const Certificate& c);
};

struct PathLimits {
    std::size_t max_intermediates = 8;  // certificates between end entity and anchor
    std::size_t max_work = 2000;        // issuer candidates examined in one validation
    std::size_t max_paths = 32;         // complete paths handed to the validator
};

struct BuildOutcome {
    bool accepted = false;                     // the validator accepted a path
    std::size_t complete_paths = 0;            // paths ending at an anchor that were tried
    bool exhausted = false;                    // a work or path limit stopped the search
    bool depth_limited = false;                // an issuer was not followed: max_intermediates
    std::vector<const Certificate*> deepest;   // longest chain that reached no anchor (ee first)
};

// Called for each complete path: `chain` is the end entity then intermediates, `anchor` the
// anchor that issued the last one (it may be the end entity itself). Return true to stop.
using PathVisitor = std::function<bool(const std::vector<const Certificate*>& chain, const Certificate& anchor)>;

// Candidates for an issuer: same subject Name as the certificate's issuer Name (subject_key) and,
// when both carry them, equal AKI/SKI. Order at each step: anchors whose key verifies the signature, then
// intermediates whose key verifies it (`extra` before the store's, each in list order), then the
// same without a verifying signature (so that a broken signature is still reported as such).
// A CA (subject and key) appears at most once per path.
BuildOutcome build_paths(const Certificate& ee, std::span<const IndexedCertificate> anchors,
                         std::span<const IndexedCertificate> intermediates, const PathLimits& limits,
                         const PathVisitor& visit);

}  // namespace ssm::pki
