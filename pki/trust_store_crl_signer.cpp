// RFC 5280 §6.3.3 (f) for a CRL signer that is not a certificate of the path being validated (an
// indirect CRL issuer, or a CA's separate CRL-signing certificate): it is validated like any
// certificate — a path to the same anchor, validity, revocation status in the caller's mode —
// before its CRL may settle a status. Its status may rest on CRLs of yet other signers, so the
// nesting is bounded, and a loop (a signer whose status rests on its own CRL, directly or
// through others) ends at the signer already being validated.
#include <algorithm>
#include <optional>

#include <gnutls/gnutls.h>

#include "base/name_compare.h"
#include "pki/trust_store.h"

namespace ssm::pki {

namespace {

constexpr std::size_t kMaxCrlSignerDepth = 3;  // signers validated inside one another

// The signers being validated on this thread, outermost first. Per thread rather than a
// parameter: the nesting runs through check_path and check_revocation, whose other callers need
// no such state, and one validation runs entirely on the thread that asked for it.
thread_local std::vector<Bytes> t_signers_in_validation;

class SignerInValidation {
public:
    explicit SignerInValidation(Bytes der) { t_signers_in_validation.push_back(std::move(der)); }
    ~SignerInValidation() { t_signers_in_validation.pop_back(); }
    SignerInValidation(const SignerInValidation&) = delete;
    SignerInValidation& operator=(const SignerInValidation&) = delete;
};

// Same subject and key: a CRL's signature is the key's, so a CA's other certificate for the same
// key (a cross-certificate, a re-issue), which load_crls may have found first, is the path's CA.
bool same_key_and_name(const Certificate& a, const Certificate& b)
{
    return a.get() == b.get() || IndexedCertificate::of(a).identity == IndexedCertificate::of(b).identity;
}

}  // namespace

bool TrustStore::crl_signer_valid(const Certificate& signer, std::span<const Certificate* const> above,
                                  const Certificate& anchor, std::time_t now, const ValidationOptions& options,
                                  std::string& why) const
{
    // The certificates above it in the path are validated with the path (their revocation
    // included); the certificate itself is not among them: it cannot vouch for itself.
    // Pointers first: the store's certificates are the path's as a rule, and hashing costs.
    if (&signer == &anchor || std::find(above.begin(), above.end(), &signer) != above.end() ||
        same_key_and_name(signer, anchor) ||
        std::any_of(above.begin(), above.end(), [&](const Certificate* c) { return same_key_and_name(*c, signer); }))
        return true;
    // RFC 5280 §4.2.1.3: a key that signs CRLs has cRLSign when keyUsage is present.
    unsigned usage = 0;
    const int rc = gnutls_x509_crt_get_key_usage(signer.get(), &usage, nullptr);
    if (rc != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE && (rc < 0 || !(usage & GNUTLS_KEY_CRL_SIGN))) {
        why = "its CRL signer lacks cRLSign";
        return false;
    }
    const Bytes der = signer.der();
    // A signer whose validation is under way further out (its status rests on its own CRL,
    // directly or through other signers' CRLs): that validation decides about it, and the loop
    // ends here. RFC 5280 does not forbid a CRL issuer's CRL covering its own certificate, and
    // PKITS 4.14.30 expects it to count; a CRL that lists its signer still revokes it
    // (crls_revoke does not ask about signers).
    if (std::find(t_signers_in_validation.begin(), t_signers_in_validation.end(), der) !=
        t_signers_in_validation.end())
        return true;
    if (t_signers_in_validation.size() >= kMaxCrlSignerDepth) {
        why = "its CRL signer's status rests on CRL signers nested too deeply";
        return false;
    }
    // §6.3.3 (f): the signer's path ends at the anchor of the certificate's path.
    const auto same_anchor =
        std::find_if(m_anchor_index.begin(), m_anchor_index.end(), [&](const IndexedCertificate& a) {
            return a.cert == &anchor || same_certificate(*a.cert, anchor);
        });
    if (same_anchor == m_anchor_index.end()) {
        why = "its CRL signer cannot be validated (the path's anchor is not the store's)";
        return false;
    }
    const SignerInValidation in_validation(der);
    ValidationOptions signer_options = options;
    signer_options.required_policies.clear();  // the certificate's policies do not bind its CRL signer
    signer_options.address.reset();  // nor does the mail address: the signer speaks for the anchor's CA
    std::optional<ValidationResult> best;
    build_paths(signer, std::span(&*same_anchor, 1), m_intermediate_index, m_path_limits,
                [&](const std::vector<const Certificate*>& signer_chain, const Certificate& signer_anchor) {
                    ValidationResult r = check_path(signer_chain, &signer_anchor, now, Purpose::Any, signer_options);
                    const bool ok = r.valid();
                    if (ok || !best || r.problems.size() < best->problems.size()) best = std::move(r);
                    return ok;
                });
    if (best && best->valid()) return true;
    why = "its CRL signer is not valid (" + (best ? best->describe() : std::string("no path to the anchor")) + ")";
    return false;
}

CrlSigners TrustStore::crl_signers(std::span<const Certificate* const> above, const Certificate& anchor,
                                   std::time_t now, const ValidationOptions& options) const
{
    CrlSigners signers;
    // The indexes hold each certificate's subject as names compare (read once, at load): a CRL
    // issuer spelt otherwise than its signer's subject (RFC 5280 §7.1) still finds it.
    signers.named = [this](ByteView name) {
        std::vector<const Certificate*> out;
        const std::string key = comparable_name(name);
        const auto add_named = [&](const IndexedCertificate& ic) {
            if (ic.subject_key == key) out.push_back(ic.cert);
        };
        for (const auto& a : m_anchor_index) add_named(a);
        for (const auto& i : m_intermediate_index) add_named(i);
        return out;
    };
    // The span and the anchor outlive the check they are made for (check_revocation's).
    signers.valid = [this, above, &anchor, now, &options](const Certificate& signer, std::string& why) {
        return crl_signer_valid(signer, above, anchor, now, options, why);
    };
    return signers;
}

}  // namespace ssm::pki
