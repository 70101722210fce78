// Depth-first certification path building with backtracking (see path_builder.h). Inputs are
// untrusted certificates; this file only compares names and identifiers and checks signatures
// to order candidates. Acceptance is the visitor's (GnuTLS) decision.
#include "pki/path_builder.h"

#include "base/gnutls_datum.h"
#include "base/name_compare.h"
#include "pki/certificate_signature.h"

#include <algorithm>
#include <array>

#include <gnutls/gnutls.h>

namespace ssm::pki {

namespace {

std::optional<Bytes> read_id(int (*get)(gnutls_x509_crt_t, void*, std::size_t*, unsigned*), gnutls_x509_crt_t c)
{
    std::array<unsigned char, 128> buf{};
    std::size_t n = buf.size();
    unsigned critical = 0;
    if (get(c, buf.data(), &n, &critical) < 0 || n == 0) return std::nullopt;
    return Bytes(buf.data(), buf.data() + n);
}

struct Candidate {
    const IndexedCertificate* ic;
    bool anchor;
    bool verifies;
};

class Search {
public:
    Search(std::span<const IndexedCertificate> anchors, std::span<const IndexedCertificate> intermediates,
           const PathLimits& limits, const PathVisitor& visit)
        : m_anchors(anchors), m_intermediates(intermediates), m_limits(limits), m_visit(visit)
    {
    }

    BuildOutcome run(const IndexedCertificate& ee)
    {
        m_chain.push_back(&ee);
        step();
        return std::move(m_out);
    }

private:
    static bool may_issue(const IndexedCertificate& child, const IndexedCertificate& parent)
    {
        if (child.issuer_key != parent.subject_key) return false;
        return !(child.aki && parent.ski && *child.aki != *parent.ski);
    }

    std::vector<Candidate> candidates(const IndexedCertificate& child) const
    {
        std::vector<Candidate> out;
        for (const auto& a : m_anchors)
            if (may_issue(child, a)) out.push_back({&a, true, signed_by(*child.cert, *a.cert)});
        for (const auto& i : m_intermediates) {
            if (!may_issue(child, i)) continue;
            // A CA already on the path (same name and key, whichever certificate) is a loop.
            const bool loop = std::any_of(m_chain.begin(), m_chain.end(),
                                          [&](const IndexedCertificate* c) { return c->identity == i.identity; });
            if (!loop) out.push_back({&i, false, signed_by(*child.cert, *i.cert)});
        }
        // Stable: keeps anchors before intermediates and the list order within each group.
        std::stable_sort(out.begin(), out.end(),
                         [](const Candidate& x, const Candidate& y) { return x.verifies && !y.verifies; });
        return out;
    }

    // Returns true to stop the whole search (accepted, or out of budget).
    bool step()
    {
        const IndexedCertificate& last = *m_chain.back();
        const auto cands = candidates(last);
        m_work += cands.size();
        if (m_work > m_limits.max_work) {
            m_out.exhausted = true;
            return true;
        }
        bool extended = false;
        for (const auto& c : cands) {
            if (c.anchor) {
                extended = true;
                ++m_out.complete_paths;
                std::vector<const Certificate*> chain;
                for (const auto* ic : m_chain) chain.push_back(ic->cert);
                if (m_visit(chain, *c.ic->cert)) {
                    m_out.accepted = true;
                    return true;
                }
                if (m_out.complete_paths >= m_limits.max_paths) {
                    m_out.exhausted = true;
                    return true;
                }
                continue;
            }
            if (m_chain.size() > m_limits.max_intermediates) {  // ee + max intermediates
                m_out.depth_limited = true;
                continue;
            }
            extended = true;
            m_chain.push_back(c.ic);
            const bool stop = step();
            m_chain.pop_back();
            if (stop) return true;
        }
        if (!extended && m_chain.size() > m_out.deepest.size()) {
            m_out.deepest.clear();
            for (const auto* ic : m_chain) m_out.deepest.push_back(ic->cert);
        }
        return false;
    }

    std::span<const IndexedCertificate> m_anchors;
    std::span<const IndexedCertificate> m_intermediates;
    const PathLimits& m_limits;
    const PathVisitor& m_visit;
    std::vector<const IndexedCertificate*> m_chain;
    std::size_t m_work = 0;
    BuildOutcome m_out;
};

}  // namespace

IndexedCertificate IndexedCertificate::of(const Certificate& c)
{
    IndexedCertificate ic;
    ic.cert = &c;
    GnutlsDatum subject, issuer;  // a Name that does not read keys as the empty one
    ic.subject_key = comparable_name(gnutls_x509_crt_get_raw_dn(c.get(), &subject.d) >= 0 ? subject.view() : ByteView());
    ic.issuer_key = comparable_name(gnutls_x509_crt_get_raw_issuer_dn(c.get(), &issuer.d) >= 0 ? issuer.view() : ByteView());
    ic.ski = read_id(
        [](gnutls_x509_crt_t crt, void* buf, std::size_t* n, unsigned* crit) {
            return gnutls_x509_crt_get_subject_key_id(crt, buf, n, crit);
        },
        c.get());
    ic.aki = read_id(
        [](gnutls_x509_crt_t crt, void* buf, std::size_t* n, unsigned* crit) {
            return gnutls_x509_crt_get_authority_key_id(crt, buf, n, crit);
        },
        c.get());
    std::array<unsigned char, 64> buf{};
    std::size_t n = buf.size();
    ic.identity.assign(ic.subject_key.begin(), ic.subject_key.end());
    if (gnutls_x509_crt_get_key_id(c.get(), 0, buf.data(), &n) >= 0) ic.identity.insert(ic.identity.end(), buf.data(), buf.data() + n);
    n = buf.size();
    if (gnutls_x509_crt_get_fingerprint(c.get(), GNUTLS_DIG_SHA256, buf.data(), &n) >= 0)
        ic.fingerprint.assign(buf.data(), buf.data() + n);
    return ic;
}

BuildOutcome build_paths(const Certificate& ee, std::span<const IndexedCertificate> anchors,
                         std::span<const IndexedCertificate> intermediates, const PathLimits& limits,
                         const PathVisitor& visit)
{
    const IndexedCertificate start = IndexedCertificate::of(ee);
    Search search(anchors, intermediates, limits, visit);
    BuildOutcome out = search.run(start);
    if (out.deepest.empty() && !out.accepted && out.complete_paths == 0) out.deepest.push_back(&ee);
    return out;
}

}  // namespace ssm::pki
