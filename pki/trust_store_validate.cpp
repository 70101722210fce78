// TrustStore::validate: path building over every candidate, GnuTLS checks of each complete path,
// required policies and revocation (see trust_store.h). The certificates validated are
// untrusted; their names only reach reasons through printable(), which bounds and sanitises them.
#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>

#include <gnutls/gnutls.h>

#include "base/gnutls_datum.h"
#include "base/log.h"
#include "pki/ca_constraints.h"
#include "pki/certificate_signature.h"
#include "pki/name_constraints.h"
#include "pki/policies.h"
#include "pki/signer_constraints.h"
#include "pki/trust_store.h"

namespace ssm::pki {

namespace {

void add_problem(ValidationResult& r, Problem p, std::string reason)
{
    r.problems.push_back(p);
    r.reasons.push_back(std::move(reason));
}

std::string who(const Certificate& c, bool end_entity)
{
    if (end_entity) return "certificate";
    return "CA certificate '" + printable(facts(c).subject) + "'";
}

void check_times(ValidationResult& r, const Certificate& c, bool end_entity, std::time_t now)
{
    const std::time_t nb = gnutls_x509_crt_get_activation_time(c.get());
    const std::time_t na = gnutls_x509_crt_get_expiration_time(c.get());
    if (na == static_cast<std::time_t>(-1) || nb == static_cast<std::time_t>(-1)) {
        add_problem(r, Problem::Other, who(c, end_entity) + " has unreadable validity dates");
        return;
    }
    if (now > na) add_problem(r, Problem::Expired, who(c, end_entity) + " expired " + format_time(na));
    if (now < nb)
        add_problem(r, Problem::NotYetValid, who(c, end_entity) + " not valid before " + format_time(nb));
}

// Maps GnuTLS status bits to problems. Revocation data that is merely stale or dated in the
// future is not a failure here (soft-fail; see the header's limits).
void map_status(ValidationResult& r, unsigned status)
{
    struct Bit {
        unsigned bit;
        Problem problem;
        const char* text;
    };
    static constexpr std::array<Bit, 13> bits{{
        {GNUTLS_CERT_SIGNER_NOT_FOUND, Problem::NoTrustedPath, "untrusted: no path to a trust anchor"},
        {GNUTLS_CERT_REVOKED, Problem::Revoked, "revoked (listed in a loaded CRL)"},
        {GNUTLS_CERT_SIGNATURE_FAILURE, Problem::BadSignature, "bad signature in the certificate path"},
        // Not raised: GnuTLS's CA check is off (GNUTLS_VERIFY_DISABLE_CA_SIGN), check_ca_constraints
        // does it; kept should that ever change.
        {GNUTLS_CERT_SIGNER_NOT_CA, Problem::IssuerNotCa, "issuer is not a CA"},
        {GNUTLS_CERT_PURPOSE_MISMATCH, Problem::WrongPurpose, "wrong purpose: emailProtection not allowed"},
        {GNUTLS_CERT_INSECURE_ALGORITHM, Problem::WeakAlgorithm, "signed with an insecure algorithm"},
        {GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, Problem::Constraints, "issuer constraints violated"},
        {GNUTLS_CERT_EXPIRED, Problem::Expired, "a certificate of the path has expired"},
        {GNUTLS_CERT_NOT_ACTIVATED, Problem::NotYetValid, "a certificate of the path is not yet valid"},
        {GNUTLS_CERT_UNEXPECTED_OWNER, Problem::Other, "unexpected owner"},
        {GNUTLS_CERT_MISSING_OCSP_STATUS, Problem::Other, "missing OCSP status"},
        {GNUTLS_CERT_INVALID_OCSP_STATUS, Problem::Other, "invalid OCSP status"},
        // Not raised: check_path asks GnuTLS to let unknown critical extensions pass and
        // checks them itself (check_critical_extensions); kept should that ever change.
        {GNUTLS_CERT_UNKNOWN_CRIT_EXTENSIONS, Problem::Other,
         "a certificate of the path has a critical extension that is not processed"},
    }};
    unsigned known = 0;
    for (const auto& b : bits) {
        known |= b.bit;
        if (status & b.bit) add_problem(r, b.problem, b.text);
    }
    const unsigned soft = GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED | GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE;
    const unsigned rest = status & ~(known | soft | GNUTLS_CERT_INVALID);
    if (rest != 0 || ((status & GNUTLS_CERT_INVALID) && (status & (known | soft)) == 0 && r.valid()))
    {
        std::array<char, 16> hex{};
        std::snprintf(hex.data(), hex.size(), "%x", status);
        add_problem(r, Problem::Other, std::string("rejected by GnuTLS (status 0x") + hex.data() + ")");
    }
}

std::string issuer_name(const Certificate& c)
{
    gnutls_datum_t name{nullptr, 0};
    std::string text;
    if (gnutls_x509_crt_get_issuer_dn3(c.get(), &name, 0) >= 0 && name.data)
        text = printable(std::string_view(reinterpret_cast<const char*>(name.data), name.size));
    gnutls_free(name.data);
    return text;
}

}  // namespace

bool ValidationResult::has(Problem p) const
{
    return std::find(problems.begin(), problems.end(), p) != problems.end();
}

std::string ValidationResult::describe() const
{
    if (reasons.empty()) return "valid";
    std::string out;
    for (const auto& r : reasons) {
        if (!out.empty()) out += "; ";
        out += r;
    }
    return out;
}

RevocationAnswer TrustStore::loaded_crl_status(const Certificate& cert, std::span<const Certificate* const> above,
                                               const Certificate& anchor, std::time_t now,
                                               const ValidationOptions& options, bool gnutls_applied_crls) const
{
    RevocationAnswer a;
    // GnuTLS applies the plain CRLs only to a path it accepted (verify-high.c goes to its
    // cleanup before the CRL checks when the status is not 0), and only those whose issuer Name
    // is the certificate's byte for byte; the others are applied here (plain_crl_lists).
    const auto issuer = read_issuer_name(cert);
    if (std::any_of(m_crls.begin(), m_crls.end(),
                    [&](const LoadedCrl& c) { return plain_crl_lists(c, cert, issuer, gnutls_applied_crls); })) {
        a.status = RevocationStatus::Revoked;
        a.detail = "listed in a loaded CRL, or not checkable against it";
        return a;
    }
    // GnuTLS applied the plain CRLs; the entries of the others are applied here
    // (pki/crl_set.h). Then current CRLs that cover it for all reasons settle its status.
    if (auto why = crls_revoke(m_crls, cert, now)) {
        a.status = RevocationStatus::Revoked;
        a.detail = *why;
        return a;
    }
    std::string signer_why;  // CRLs that would have settled it but whose signer may not speak
    const auto signer_valid = [&](const LoadedCrl& c) {
        std::string why;
        if (c.signer && crl_signer_valid(*c.signer, above, anchor, now, options, why)) return true;
        signer_why += "; " + why;
        return false;
    };
    if (crls_settle(m_crls, cert, issuer, now, signer_valid)) {
        a.status = RevocationStatus::Good;
        a.source = "a loaded CRL";
        return a;
    }
    a.detail = "no current CRL from '" + issuer_name(cert) + "'" + signer_why;
    return a;
}

void TrustStore::check_revocation(ValidationResult& r, const std::vector<const Certificate*>& chain,
                                  const Certificate& anchor, std::time_t now, const ValidationOptions& options,
                                  bool gnutls_applied_crls) const
{
    const Revocation mode = options.revocation.value_or(m_revocation);
    if (mode == Revocation::Off) return;
    for (std::size_t i = 0; i < chain.size(); ++i) {
        const Certificate& cert = *chain[i];
        const Certificate& issuer = i + 1 < chain.size() ? *chain[i + 1] : anchor;
        if (same_certificate(cert, anchor)) continue;  // an anchor is trusted as such
        const auto above = std::span(chain).subspan(i + 1);
        const RevocationAnswer loaded = loaded_crl_status(cert, above, anchor, now, options, gnutls_applied_crls);
        if (loaded.status == RevocationStatus::Revoked) {
            add_problem(r, Problem::Revoked, who(cert, i == 0) + " revoked (" + loaded.detail + ")");
            continue;
        }
        if (loaded.status == RevocationStatus::Good) continue;
        std::string detail = loaded.detail;
        if (options.online_revocation && m_checker) {
            const CrlSigners signers = crl_signers(above, anchor, now, options);
            RevocationContext context;
            context.signers = &signers;
            // A delegated OCSP responder is issued by `issuer` too: its CRLs are the same.
            context.loaded_crls = [&](const Certificate& responder) {
                return loaded_crl_status(responder, above, anchor, now, options, false);
            };
            context.budget = options.revocation_budget.get();
            const RevocationAnswer a = m_checker->check(cert, issuer, now, context);
            if (a.status == RevocationStatus::Revoked) {
                add_problem(r, Problem::Revoked, who(cert, i == 0) + " revoked (" + a.source + ": " + a.detail + ")");
                continue;
            }
            if (a.status == RevocationStatus::Good) {
                r.notes.push_back("revocation: " + who(cert, i == 0) + " good by " + a.source +
                                  (a.from_cache ? " (cached)" : ""));
                continue;
            }
            detail += " and " + a.detail;
            if (a.detail.find(kBudgetSpent) != std::string::npos)
                log::warning("pki_revocation_budget_spent",
                             {{"for", !options.logged_for.empty() ? options.logged_for
                                                                  : options.address.value_or("")},
                              {"certificate", printable(facts(cert).subject)},
                              {"budget_ms", std::to_string(options.revocation_budget
                                                               ? options.revocation_budget->total().count()
                                                               : 0)},
                              {"revocation", mode == Revocation::HardFail ? "hard-fail" : "soft-fail"}});
        }
        if (mode == Revocation::HardFail) {
            add_problem(r, Problem::RevocationUnknown, "revocation status unknown: " + detail);
            continue;
        }
        r.notes.push_back("revocation status of " + who(cert, i == 0) + " unknown (soft-fail): " + detail);
        // Accepted without an answer: the administrator who chose soft-fail still wants to see
        // which certificates passed unchecked, and why (a responder down for days, a CRL
        // over max_crl_size), rather than find out from a revoked partner certificate.
        const CertificateFacts f = facts(cert);
        if (m_revocation_unknown_logged.should_log(std::string(f.sha256_fingerprint.begin(), f.sha256_fingerprint.end())))
            log::notice("pki_revocation_unknown",
                        {{"for", !options.logged_for.empty() ? options.logged_for : options.address.value_or("")},
                         {"certificate", printable(f.subject)},
                         {"revocation", "soft-fail"},
                         {"detail", detail}});
    }
}

namespace {

// Critical extensions (RFC 5280 §4.2: a certificate with a critical extension that is not
// processed must be refused). GnuTLS 3.7 refuses what it does not know, which includes
// policyMappings and policyConstraints that policies.cpp processes; so check_path lets GnuTLS
// pass unknown ones (GNUTLS_VERIFY_IGNORE_UNKNOWN_CRIT_EXTENSIONS) and this applies GnuTLS's
// list (lib/x509/supported_exts.gperf of 3.7) plus ours. The anchor's extensions are not
// processed (RFC 5280 §6.1), as GnuTLS does not either.
std::optional<std::string> check_critical_extensions(const std::vector<const Certificate*>& chain,
                                                     const Certificate& anchor)
{
    static constexpr std::array<std::string_view, 16> processed{
        "2.5.29.14", "2.5.29.15", "2.5.29.17", "2.5.29.18", "2.5.29.19", "2.5.29.30", "2.5.29.31",
        "2.5.29.32", "2.5.29.35", "2.5.29.37", "2.5.29.54", "1.3.6.1.5.5.7.1.1", "1.3.6.1.5.5.7.1.14",
        "1.3.6.1.5.5.7.1.24",
        "2.5.29.33",  // policyMappings: policies.cpp
        "2.5.29.36",  // policyConstraints: policies.cpp
    };
    for (const Certificate* c : chain) {
        if (same_certificate(*c, anchor)) continue;
        for (unsigned i = 0; i < 64; ++i) {
            char oid[128];
            std::size_t size = sizeof oid;
            unsigned critical = 0;
            const int rc = gnutls_x509_crt_get_extension_info(c->get(), i, oid, &size, &critical);
            if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
            if (rc < 0) return "unreadable extensions";
            if (critical && std::find(processed.begin(), processed.end(), std::string_view(oid)) == processed.end())
                return "critical extension " + printable(oid) + " is not processed";
        }
    }
    return std::nullopt;
}

// The path's certificates with its trust anchor last (a chain may end in the anchor itself).
std::vector<const Certificate*> with_anchor(const std::vector<const Certificate*>& chain, const Certificate* anchor)
{
    std::vector<const Certificate*> path = chain;
    if (anchor && (chain.empty() || !same_certificate(*chain.back(), *anchor))) path.push_back(anchor);
    return path;
}

// Why GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE may mean more than name constraints for our path
// (see pki/signer_constraints.h); nullopt when our own checks cover everything else it can mean.
std::optional<std::string> signer_constraints_beyond_names(const std::vector<const Certificate*>& chain,
                                                           const Certificate& anchor)
{
    const std::vector<const Certificate*> path = with_anchor(chain, &anchor);
    for (std::size_t i = 0; i + 1 < path.size(); ++i)
        if (!signature_verifies(*path[i], *path[i + 1]))
            return who(*path[i], i == 0) + " has a signature its issuer's key does not verify as it allows";
    return tls_features_hold(path);
}

// A trust list holding one certificate, for gnutls_status_through_cuts.
struct TrustList {
    gnutls_x509_trust_list_t list = nullptr;
    explicit TrustList(const Certificate& anchor)
    {
        if (gnutls_x509_trust_list_init(&list, 0) < 0) {
            list = nullptr;
            return;
        }
        const Bytes der = anchor.der();
        const gnutls_datum_t d = datum_view(der);
        if (gnutls_x509_trust_list_add_trust_mem(list, &d, nullptr, GNUTLS_X509_FMT_DER, 0, 0) != 1) {
            gnutls_x509_trust_list_deinit(list, 1);
            list = nullptr;
        }
    }
    ~TrustList()
    {
        if (list) gnutls_x509_trust_list_deinit(list, 1);
    }
    TrustList(const TrustList&) = delete;
    TrustList& operator=(const TrustList&) = delete;
};

// GnuTLS's status for a path with links only signed_beyond_gnutls verifies (RSASSA-PSS that
// GnuTLS 3.7.9 refuses, names it compares byte for byte that are equal as RFC 5280 §7.1 compares
// them: pki/certificate_signature.h). GnuTLS stops at the first such link from the top
// (verify.c _gnutls_verify_crt_status: "goto cleanup"; for names, its chain ends there: no
// issuer found) and checks nothing below it: not the signatures, not the CAs' key purposes. So the path is cut at each such link and GnuTLS
// verifies every part on its own: the top part against the store's trust list as before, each
// part below against a trust list holding only the certificate its cut link signs (GnuTLS takes
// it as trusted; its signature is the cut link, which signed_by checks for every link in
// check_path). What GnuTLS checks across a cut is done here: the key purpose of the CAs on both
// sides of it (for a CA, GnuTLS's _gnutls_check_key_purpose(cert, purpose, 1): no
// extendedKeyUsage, or one naming the purpose; anyExtendedKeyUsage does not count), and the TLS
// features that accumulate down the path (reported as GnuTLS does, with its signer-constraints
// bit, which check_path then sets aside only if our own checks hold). Name constraints, times,
// the CA checks, algorithms and CRLs are check_path's own for the whole path already.
// `path` ends in the anchor; `cuts` are link indexes (path[c] signed by path[c + 1]), ascending.
unsigned gnutls_status_through_cuts(gnutls_x509_trust_list_t store_list, const std::vector<const Certificate*>& path,
                                    const std::vector<std::size_t>& cuts, unsigned flags,
                                    gnutls_typed_vdata_st* purpose_data)
{
    unsigned status = 0;
    const auto verify_part = [&](gnutls_x509_trust_list_t list, std::size_t from, std::size_t to) {
        std::vector<gnutls_x509_crt_t> crts;
        for (std::size_t i = from; i <= to; ++i) crts.push_back(path[i]->get());
        unsigned part_status = 0;
        if (!list || gnutls_x509_trust_list_verify_crt2(list, crts.data(), static_cast<unsigned>(crts.size()),
                                                        purpose_data, purpose_data ? 1 : 0, flags, &part_status,
                                                        nullptr) < 0)
            part_status = GNUTLS_CERT_INVALID;
        status |= part_status;
    };
    const std::size_t anchor_index = path.size() - 1;
    std::size_t from = 0;
    for (const std::size_t cut : cuts) {
        const TrustList below(*path[cut]);
        verify_part(below.list, from, cut);
        from = cut + 1;
    }
    if (from < anchor_index) verify_part(store_list, from, anchor_index - 1);
    if (purpose_data) {
        const auto ca_allows_purpose = [](const Certificate& ca) {
            const auto& eku = facts(ca).extended_key_usage;
            return !eku || std::find(eku->begin(), eku->end(), oid_email_protection) != eku->end();
        };
        for (const std::size_t cut : cuts)
            for (const std::size_t i : {cut, cut + 1})
                if (i > 0 && i < anchor_index && !ca_allows_purpose(*path[i]))
                    status |= GNUTLS_CERT_PURPOSE_MISMATCH | GNUTLS_CERT_INVALID;
    }
    if (tls_features_hold(path)) status |= GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE | GNUTLS_CERT_INVALID;
    return status;
}

}  // namespace

ValidationResult TrustStore::check_path(const std::vector<const Certificate*>& chain, const Certificate* anchor,
                                        std::time_t now, Purpose purpose, const ValidationOptions& options) const
{
    ValidationResult r;
    r.path_length = chain.size() + (anchor ? 1 : 0);
    // GnuTLS would check times against the wall clock; `now` is the caller's, so time checks
    // are done here for every certificate of the path and disabled in GnuTLS.
    for (std::size_t i = 0; i < chain.size(); ++i) check_times(r, *chain[i], i == 0, now);
    if (anchor) check_times(r, *anchor, false, now);

    // A CA whose name constraints GnuTLS cannot read is refused before GnuTLS reads them: it
    // would leave the certificates below unchecked, and leak memory doing so (signer_constraints.h).
    if (auto why = gnutls_cannot_read_name_constraints(with_anchor(chain, anchor))) {
        add_problem(r, Problem::Constraints, "name constraints: " + *why);
        return r;
    }
    std::vector<gnutls_x509_crt_t> crts;
    crts.reserve(chain.size());
    for (const auto* c : chain) crts.push_back(c->get());
    gnutls_typed_vdata_st purpose_data{GNUTLS_DT_KEY_PURPOSE_OID,
                                       reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_EMAIL_PROTECTION)),
                                       0};
    const bool with_purpose = purpose == Purpose::EmailProtection;
    // Two of GnuTLS's checks are done below instead: critical extensions (check_critical_extensions:
    // GnuTLS refuses policyMappings and policyConstraints, which policies.cpp processes) and the
    // CA checks (check_ca_constraints: GnuTLS counts self-issued CAs against pathLenConstraint).
    unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS |
                     GNUTLS_VERIFY_IGNORE_UNKNOWN_CRIT_EXTENSIONS | GNUTLS_VERIFY_DISABLE_CA_SIGN;
    if (options.revocation.value_or(m_revocation) == Revocation::Off) flags |= GNUTLS_VERIFY_DISABLE_CRL_CHECKS;
    unsigned status = 0;
    const int rc = gnutls_x509_trust_list_verify_crt2(m_list, crts.data(), static_cast<unsigned>(crts.size()),
                                                      with_purpose ? &purpose_data : nullptr, with_purpose ? 1 : 0,
                                                      flags, &status, nullptr);
    r.gnutls_status = status;
    // Only a status of 0 lets GnuTLS go on to its CRL checks (which add the bits below, never
    // GNUTLS_CERT_INVALID alone: that is a path it refused, see below).
    const unsigned crl_bits = GNUTLS_CERT_INVALID | GNUTLS_CERT_REVOKED | GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
                              GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE;
    const bool gnutls_applied_crls = rc >= 0 && (status & ~crl_bits) == 0 && status != GNUTLS_CERT_INVALID;
    if (rc < 0) {
        add_problem(r, Problem::Other, std::string("verification error: ") + gnutls_strerror(rc));
        return r;
    }
    // A signature GnuTLS refused may be an RSASSA-PSS link it cannot verify, and an issuer it did
    // not find a link whose names are equal only as RFC 5280 §7.1 compares them
    // (signed_beyond_gnutls); then GnuTLS verifies the path in parts cut at those links. The
    // CRLs are applied below (gnutls_applied_crls stays false). An issuer key GnuTLS does not
    // import (an id-RSASSA-PSS key with MGF1 over another hash) gives GNUTLS_CERT_INVALID alone
    // (verify.c MARK_INVALID(0)).
    if (((status & (GNUTLS_CERT_SIGNATURE_FAILURE | GNUTLS_CERT_SIGNER_NOT_FOUND)) || status == GNUTLS_CERT_INVALID) &&
        anchor) {
        const std::vector<const Certificate*> path = with_anchor(chain, anchor);
        std::vector<std::size_t> cuts;
        for (std::size_t i = 0; i + 1 < path.size(); ++i)
            if (signed_beyond_gnutls(*path[i], *path[i + 1])) cuts.push_back(i);
        if (!cuts.empty()) {
            status = gnutls_status_through_cuts(m_list, path, cuts, flags, with_purpose ? &purpose_data : nullptr);
            r.gnutls_status = status;
            r.notes.push_back(std::to_string(cuts.size()) +
                              " link(s) of the path verified apart from GnuTLS (an RSASSA-PSS signature it refuses, "
                              "or names equal only as RFC 5280 §7.1 compares them)");
        }
    }
    // GnuTLS 3.7.9 sets GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, under these flags, for name
    // constraints (and refuses every excluded directoryName or URI subtree), TLS features and
    // signature parameters that do not suit the issuer's key: pki/signer_constraints.h lists what
    // was read where. Names are decided by check_name_constraints below, for every form and every
    // certificate; the bit (and the GNUTLS_CERT_INVALID that comes with it) is set aside only when
    // our own path passes the other checks behind it. Any other bit still counts.
    if ((status & GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE) && anchor) {
        if (auto why = signer_constraints_beyond_names(chain, *anchor))
            r.notes.push_back("issuer constraints: " + *why);
        else
            status &= ~(GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE | GNUTLS_CERT_INVALID);
    }
    map_status(r, status);
    if (!anchor) {
        // GnuTLS compares names more loosely than path building; without a path of ours the
        // certificate is not accepted either way.
        if (!r.has(Problem::NoTrustedPath)) add_problem(r, Problem::NoTrustedPath, "untrusted: no path to a trust anchor found");
        return r;
    }
    const std::vector<const Certificate*> path_with_anchor = with_anchor(chain, anchor);
    r.path.reserve(path_with_anchor.size());
    for (const auto* c : path_with_anchor) r.path.push_back(c->der());
    if (auto why = check_critical_extensions(chain, *anchor)) add_problem(r, Problem::Other, "a certificate of the path: " + *why);
    for (std::size_t i = 0; i < chain.size(); ++i) {
        if (same_certificate(*chain[i], *anchor)) break;  // the anchor ends the path
        const Certificate& issuer = i + 1 < chain.size() ? *chain[i + 1] : *anchor;
        // GnuTLS verifies the signatures of the path it picks itself, which need not be ours:
        // among anchors of the same name it takes its own (verify.c find_issuer), and it cuts a
        // chain at a certificate with a trusted certificate's name and key
        // (_gnutls_verify_crt_status), leaving that certificate's signature unchecked. Our checks
        // of the path's CAs and anchor only mean something for a path whose every link verifies.
        if (!signed_by(*chain[i], issuer)) {
            add_problem(r, Problem::BadSignature,
                        who(*chain[i], i == 0) + " is not signed by the key of the next certificate of the path");
            break;
        }
    }
    // GnuTLS reports an insecure signature algorithm (GNUTLS_CERT_INSECURE_ALGORITHM) except on a
    // certificate that names itself as its issuer (verify.c is_issuer(cert, cert), meant for
    // self-signed roots); below the anchor every signature counts.
    for (const Certificate* c : chain) {
        if (same_certificate(*c, *anchor) || r.has(Problem::WeakAlgorithm)) break;
        const int algo = gnutls_x509_crt_get_signature_algorithm(c->get());
        if (algo > 0 && gnutls_sign_is_secure2(static_cast<gnutls_sign_algorithm_t>(algo),
                                               GNUTLS_SIGN_FLAG_SECURE_FOR_CERTS) == 0)
            add_problem(r, Problem::WeakAlgorithm,
                        who(*c, c == chain.front()) + " is signed with an insecure algorithm");
    }
    if (auto v = check_ca_constraints(chain, *anchor)) {
        const bool is_anchor = same_certificate(*v->issuer, *anchor);
        add_problem(r, v->problem,
                    (is_anchor ? "trust anchor '" + printable(facts(*anchor).subject) + "'" : who(*v->issuer, false)) +
                        " " + v->rule);
    }
    // The costlier checks of the path's extensions only for a path whose signatures GnuTLS
    // accepted: certificates anyone can make (names copied from our anchors) get no further.
    if (r.has(Problem::BadSignature) || r.has(Problem::NoTrustedPath)) return r;
    // [[pki.anchor]]: for an address, a path is only as good as its anchor's word for that
    // address's domain. A failing path is one more problem, so validate() tries the next path.
    if (options.address)
        if (auto why = anchor_scope_problem(domains_of(*anchor), *options.address))
            add_problem(r, Problem::AnchorScope, *why + " at trust anchor '" + printable(facts(*anchor).subject) + "'");
    if (auto why = check_policies(chain, options.required_policies)) add_problem(r, Problem::Policy, *why);
    // The anchor's constraints bind the path too: an administrator who anchors a partner's
    // constrained CA means them (GnuTLS 3.7.9 applies an anchor's constraints as well).
    if (auto v = check_name_constraints(path_with_anchor))
        add_problem(r, Problem::Constraints,
                    "name constraints: " + who(*path_with_anchor[v->certificate], v->certificate == 0) + " " + v->rule +
                        " of " + who(*path_with_anchor[v->ca], false));
    // Network only for a path that is otherwise good: a broken path needs no revocation answer.
    if (r.valid()) check_revocation(r, chain, *anchor, now, options, gnutls_applied_crls);
    return r;
}

ValidationResult TrustStore::validate(const Certificate& ee, std::span<const Certificate> extra_intermediates,
                                      std::time_t now, Purpose purpose, const ValidationOptions& options) const
{
    // Candidates: the message's certificates first (they usually are the right ones), then the
    // store's; a certificate already in the store is not listed twice.
    std::vector<IndexedCertificate> candidates;
    candidates.reserve(extra_intermediates.size() + m_intermediate_index.size());
    auto known = [&](const IndexedCertificate& ic) {
        auto same = [&](const IndexedCertificate& o) { return o.fingerprint == ic.fingerprint; };
        return std::any_of(candidates.begin(), candidates.end(), same) ||
               std::any_of(m_anchor_index.begin(), m_anchor_index.end(), same);
    };
    for (const auto& c : extra_intermediates) {
        IndexedCertificate ic = IndexedCertificate::of(c);
        if (!known(ic)) candidates.push_back(std::move(ic));
    }
    for (const auto& ic : m_intermediate_index)
        if (!known(ic)) candidates.push_back(ic);

    // One time budget for the online revocation checks of this validation, unless the caller
    // shares the message's over all its validations.
    ValidationOptions budgeted;
    const ValidationOptions* opts = &options;
    if (!options.revocation_budget && m_checker && options.online_revocation) {
        budgeted = options;
        budgeted.revocation_budget = std::make_shared<const RevocationBudget>(m_time_budget);
        opts = &budgeted;
    }
    std::optional<ValidationResult> best;
    const BuildOutcome outcome =
        build_paths(ee, m_anchor_index, candidates, m_path_limits,
                    [&](const std::vector<const Certificate*>& chain, const Certificate& anchor) {
                        ValidationResult r = check_path(chain, &anchor, now, purpose, *opts);
                        const bool ok = r.valid();
                        if (ok || !best || r.problems.size() < best->problems.size()) best = std::move(r);
                        return ok;
                    });
    if (!best) best = check_path(outcome.deepest, nullptr, now, purpose, *opts);  // reports no path
    if (outcome.exhausted)
        best->notes.push_back("path search stopped at its limit after " + std::to_string(outcome.complete_paths) +
                              " complete paths");
    // A chain longer than the search follows is told apart from one that reaches no anchor
    // at all: the administrator's fix differs (the partner's hierarchy, not our anchors).
    if (outcome.depth_limited && !best->valid())
        for (std::size_t i = 0; i < best->problems.size(); ++i)
            if (best->problems[i] == Problem::NoTrustedPath)
                best->reasons[i] += " (issuers beyond " + std::to_string(m_path_limits.max_intermediates) +
                                    " intermediate certificates are not followed)";
    return std::move(*best);
}

}  // namespace ssm::pki
