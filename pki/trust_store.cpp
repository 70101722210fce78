// Trust store loading and certificate path validation over a GnuTLS trust list (see
// trust_store.h). Folders are administrator input (strict: errors name the file); the validated
// certificates are untrusted and only ever passed to GnuTLS and compared by name.
#include "pki/trust_store.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <utility>

#include <gnutls/gnutls.h>

#include "base/bounded_file.h"
#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/joined.h"
#include "base/log.h"
#include "base/sha256.h"

namespace ssm::pki {

namespace {

namespace fs = std::filesystem;

// Owns one CRL.
class Crl {
public:
    explicit Crl(gnutls_x509_crl_t c) noexcept : m_crl(c) {}
    Crl(Crl&& o) noexcept : m_crl(std::exchange(o.m_crl, nullptr)) {}
    Crl& operator=(Crl&&) = delete;
    Crl(const Crl&) = delete;
    ~Crl()
    {
        if (m_crl) gnutls_x509_crl_deinit(m_crl);
    }
    gnutls_x509_crl_t get() const noexcept { return m_crl; }
    // Gives the CRL up (to a trust list that now owns it).
    gnutls_x509_crl_t release() noexcept { return std::exchange(m_crl, nullptr); }

private:
    gnutls_x509_crl_t m_crl = nullptr;
};

// A CRL file, at most [pki] max_crl_size octets (the limit of fetched CRLs too).
std::string read_crl_file(const fs::path& file, std::size_t max_size)
{
    FileReadRefusal refusal;
    auto text = read_bounded_file(file.string(), max_size, refusal);
    if (!text)
        throw LoadError("cannot read CRL file " + file.string() + ": " + refusal.why +
                        (refusal.too_large ? " ([pki] max_crl_size)" : ""));
    return std::move(*text);
}

// SHA-256 of `data`, in hex. A load reports every problem as a LoadError (ssmctl and reload
// name it as a start-up problem), so base's Error is translated here.
std::string sha256_hex(ByteView data)
{
    try {
        return to_hex(sha256(data));
    } catch (const Error& e) {
        throw LoadError(e.what());
    }
}

// The CRLs of a file's content `text` (PEM blocks or one DER CRL).
std::vector<Crl> parse_crls(const fs::path& file, const std::string& text)
{
    const gnutls_datum_t d = datum_view(as_bytes(text));
    std::vector<Crl> out;
    if (text.find("-----BEGIN") != std::string::npos) {
        gnutls_x509_crl_t* list = nullptr;
        unsigned n = 0;
        if (gnutls_x509_crl_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0) < 0 || n == 0)
            throw LoadError("CRL file " + file.string() + " holds no CRL or a corrupt PEM CRL block");
        for (unsigned i = 0; i < n; ++i) out.emplace_back(list[i]);
        gnutls_free(list);
        return out;
    }
    gnutls_x509_crl_t c = nullptr;
    if (gnutls_x509_crl_init(&c) < 0) throw LoadError("out of memory reading " + file.string());
    Crl owner(c);
    if (gnutls_x509_crl_import(c, &d, GNUTLS_X509_FMT_DER) < 0)
        throw LoadError("CRL file " + file.string() + " is neither PEM nor a DER CRL");
    out.push_back(std::move(owner));
    return out;
}

// `files`, when given, gets each certificate's file name (for [[pki.anchor]] bindings).
std::vector<Certificate> load_folder(const fs::path& folder, std::string_view key,
                                     std::vector<std::string>* files = nullptr)
{
    std::vector<Certificate> out;
    if (folder.empty()) return out;
    std::error_code ec;
    if (!fs::exists(folder, ec)) {
        log::warning("pki_folder_missing", {{"key", std::string(key)}, {"path", folder.string()}});
        return out;
    }
    for (const auto& file : certificate_files(folder, key))
        for (auto& c : Certificate::load_file(file)) {
            out.push_back(std::move(c));
            if (files) files->push_back(file.filename().string());
        }
    return out;
}

}  // namespace

TrustStore::TrustStore(const TrustStoreConfig& paths) : m_path_limits(paths.path_limits), m_revocation(paths.revocation)
{
    if (gnutls_x509_trust_list_init(&m_list, 0) < 0) throw LoadError("cannot create a GnuTLS trust list");
    try {
        std::vector<std::string> files;
        add_anchors(load_folder(paths.trust_anchors, "[pki] trust_anchors", &files));
        bind_anchors(paths.scopes, files);
        m_intermediates = load_folder(paths.intermediates, "[pki] intermediates");
        if (!paths.crls.empty()) load_crls(paths.crls, paths.online.limits.max_bytes);
        finish_setup(paths.online, paths.fetcher, paths.replaces.get());
    } catch (...) {
        gnutls_x509_trust_list_deinit(m_list, 1);
        throw;
    }
    log::info("pki_trust_store_loaded", {{"anchors", std::to_string(m_anchor_count)},
                                         {"intermediates", std::to_string(m_intermediates.size())},
                                         {"crls", std::to_string(m_crl_count)}});
}

TrustStore::TrustStore(std::vector<Certificate> anchors, std::vector<Certificate> intermediates,
                       Revocation revocation, OnlineRevocationConfig online,
                       std::shared_ptr<const HttpFetcher> fetcher, const AnchorScopes& scopes)
    : m_revocation(revocation)
{
    if (gnutls_x509_trust_list_init(&m_list, 0) < 0) throw LoadError("cannot create a GnuTLS trust list");
    try {
        add_anchors(std::move(anchors));
        bind_anchors(scopes, {});
        m_intermediates = std::move(intermediates);
        finish_setup(online, std::move(fetcher), nullptr);
    } catch (...) {
        gnutls_x509_trust_list_deinit(m_list, 1);
        throw;
    }
}

std::string TrustStore::make_revocation_cache_key(const OnlineRevocationConfig& online) const
{
    // What a cached answer was checked with or against: the mode and the [pki] fetch settings
    // (a failed URL is not asked again for a while, judged by the old timeouts), the anchors
    // and intermediates (signers of indirect CRLs, issuers of OCSP responders: by fingerprint)
    // and the loaded CRLs (a delegated responder's status: by content). Not the time budget:
    // it bounds the time spent, not what an answer says.
    std::string identity = "revocation-cache-1\n";
    identity += std::to_string(static_cast<int>(m_revocation)) + " " + std::to_string(online.ocsp) + " " +
                std::to_string(online.crl_distribution_points) + " " +
                std::to_string(online.limits.connect_timeout.count()) + " " +
                std::to_string(online.limits.timeout.count()) + " " + std::to_string(online.limits.max_bytes) + " " +
                std::to_string(online.ocsp_nonce) + " " + std::to_string(online.clock_skew) + " " +
                std::to_string(online.cache_without_next_update) + " " +
                std::to_string(online.max_age_without_next_update) + " " +
                std::to_string(online.failure_retry_after) + " " + std::to_string(online.max_cache_entries) + "\n";
    for (const auto& a : m_anchor_index) identity += "anchor " + to_hex(a.fingerprint) + "\n";
    for (const auto& i : m_intermediate_index) identity += "intermediate " + to_hex(i.fingerprint) + "\n";
    identity += m_loaded_crls_identity;
    return sha256_hex(as_bytes(identity));
}

void TrustStore::finish_setup(const OnlineRevocationConfig& online, std::shared_ptr<const HttpFetcher> fetcher,
                              const TrustStore* replaces)
{
    // The indexes point into the vectors, which do not change after this.
    for (const auto& a : m_anchors) m_anchor_index.push_back(IndexedCertificate::of(a));
    for (const auto& i : m_intermediates) {
        IndexedCertificate ic = IndexedCertificate::of(i);
        const bool is_anchor = std::any_of(m_anchor_index.begin(), m_anchor_index.end(),
                                           [&](const IndexedCertificate& a) { return a.fingerprint == ic.fingerprint; });
        if (!is_anchor) m_intermediate_index.push_back(std::move(ic));
    }
    m_time_budget = online.time_budget;
    // Made even when the store's mode is Off: a partner's options may ask for revocation.
    if (online.ocsp || online.crl_distribution_points) {
        if (!fetcher) fetcher = std::make_shared<const CurlFetcher>();
        m_revocation_cache_key = make_revocation_cache_key(online);
        // A reload that changed nothing the answers depend on keeps what was fetched.
        RevocationCaches caches;
        if (replaces && replaces->m_checker) {
            const RevocationCaches before = replaces->m_checker->caches();
            const bool same = replaces->m_revocation_cache_key == m_revocation_cache_key;
            if (same) caches = before;
            log::info("pki_revocation_caches", {{"action", same ? "kept" : "dropped"},
                                                {"crls", std::to_string(before.crls->crls.size())},
                                                {"ocsp_answers", std::to_string(before.ocsp->answers.size())}});
        }
        m_checker = std::make_unique<const RevocationChecker>(std::move(fetcher), online, caches);
    }
}

TrustStore::~TrustStore()
{
    gnutls_x509_trust_list_deinit(m_list, 1);  // 1: also the anchors and CRLs it owns
}

void TrustStore::add_anchors(std::vector<Certificate> anchors)
{
    for (auto& a : anchors) {
        // The list gets its own parsed copy through DER, so ownership stays simple.
        const Bytes der = a.der();
        const gnutls_datum_t d = datum_view(der);
        int n = gnutls_x509_trust_list_add_trust_mem(m_list, &d, nullptr, GNUTLS_X509_FMT_DER,
                                                     GNUTLS_TL_NO_DUPLICATES, 0);
        if (n < 0) throw LoadError(std::string("cannot add a trust anchor: ") + gnutls_strerror(n));
        m_anchor_count += static_cast<std::size_t>(n);
        m_anchors.push_back(std::move(a));
    }
}

void TrustStore::bind_anchors(const AnchorScopes& scopes, const std::vector<std::string>& files)
{
    const bool unscoped_any = scopes.unscoped == UnscopedAnchors::AnyDomain;
    m_anchor_domains.assign(m_anchors.size(),
                            unscoped_any ? AnchorDomains{} : AnchorDomains{std::vector<std::string>{}});
    std::vector<bool> bound(m_anchors.size(), false);
    std::vector<Bytes> fingerprints;
    for (const auto& a : m_anchors) fingerprints.push_back(facts(a).sha256_fingerprint);
    for (std::size_t i = 0; i < scopes.anchors.size(); ++i) {
        const AnchorScope& s = scopes.anchors[i];
        const auto fingerprint = parse_sha256_fingerprint(s.certificate);
        // The certificates named: by file or fingerprint. One certificate in two files is one
        // anchor, so every copy of a named certificate is bound (the stricter reading).
        std::vector<Bytes> named;
        for (std::size_t j = 0; j < m_anchors.size(); ++j)
            if ((j < files.size() && files[j] == s.certificate) || (fingerprint && *fingerprint == fingerprints[j]))
                named.push_back(fingerprints[j]);
        if (named.empty())
            throw AnchorScopeError(i, "certificate '" + printable(s.certificate) +
                                          "' is no loaded trust anchor (neither a file in [pki] trust_anchors "
                                          "nor the SHA-256 fingerprint of one)");
        for (std::size_t j = 0; j < m_anchors.size(); ++j) {
            if (std::find(named.begin(), named.end(), fingerprints[j]) == named.end()) continue;
            // Several bindings of one anchor add up; a binding replaces "every domain".
            if (!bound[j]) m_anchor_domains[j] = std::vector<std::string>{};
            bound[j] = true;
            m_anchor_domains[j]->insert(m_anchor_domains[j]->end(), s.domains.begin(), s.domains.end());
        }
    }
    for (std::size_t j = 0; j < m_anchors.size(); ++j) {
        if (!m_anchor_domains[j]) continue;
        log::info("pki_anchor_bound", {{"anchor", printable(facts(m_anchors[j]).subject)},
                                       {"domains", joined(*m_anchor_domains[j], "none")}});
    }
}

const AnchorDomains& TrustStore::domains_of(const Certificate& anchor) const
{
    static const AnchorDomains none{std::vector<std::string>{}};
    for (std::size_t j = 0; j < m_anchors.size(); ++j)
        if (&m_anchors[j] == &anchor) return m_anchor_domains[j];
    for (std::size_t j = 0; j < m_anchors.size(); ++j)
        if (same_certificate(m_anchors[j], anchor)) return m_anchor_domains[j];
    return none;  // not one of ours: vouches for nothing
}

void TrustStore::load_crls(const fs::path& folder, std::size_t max_crl_size)
{
    std::error_code ec;
    if (!fs::exists(folder, ec)) {
        log::warning("pki_folder_missing", {{"key", "[pki] crls"}, {"path", folder.string()}});
        return;
    }
    if (!fs::is_directory(folder, ec)) throw LoadError("[pki] crls: " + folder.string() + " is not a folder");
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(folder)) {
        std::string ext = e.path().extension().string();
        if ((ext == ".pem" || ext == ".crl" || ext == ".der") && e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<Crl> verified_crls;               // per m_crls entry added here
    std::vector<const Certificate*> signers;      // per m_crls entry added here
    const std::size_t first_crl = m_crls.size();
    for (const auto& file : files) {
        const std::string text = read_crl_file(file, max_crl_size);
        m_loaded_crls_identity += file.filename().string() + "=" + sha256_hex(as_bytes(text)) + "\n";
        for (Crl& crl : parse_crls(file, text)) {
            // GnuTLS verifies CRLs only against anchors; ours may come from an intermediate,
            // so the issuer is found and the signature checked here first. Every certificate
            // of that name is tried: a CA that rolled its key over, or signs CRLs with a key
            // of its own (RFC 5280 §6.3.3), has several, and the first by name may not be the
            // one that signed (PKITS 4.4.19, 4.5.3-8).
            bool named = false, verified = false;
            const Certificate* signer = nullptr;
            const auto try_issuer = [&](const Certificate& candidate) {
                if (verified || !crl_issuer_is(crl.get(), candidate)) return;
                named = true;
                verified = crl_signed_by(crl.get(), candidate);
                if (verified) signer = &candidate;
            };
            for (const auto& a : m_anchors) try_issuer(a);
            for (const auto& i : m_intermediates) try_issuer(i);
            // A CRL nobody here can vouch for is no revocation data: it is left out with a
            // warning, not made a configuration error — a CRL dropped in for another CA, or a
            // forged one, must not stop the gateway (PKITS 4.4.7). Hard-fail still refuses
            // certificates whose issuer then has no current CRL.
            if (!named || !verified) {
                log::warning("pki_crl_ignored", {{"file", file.string()},
                                                 {"reason", !named ? "its issuer is not a loaded anchor or intermediate"
                                                                   : "its signature does not verify with its issuer"}});
                continue;
            }
            gnutls_datum_t issuer_dn{nullptr, 0};
            if (gnutls_x509_crl_get_raw_issuer_dn(crl.get(), &issuer_dn) < 0)
                throw LoadError("CRL file " + file.string() + ": unreadable issuer name");
            LoadedCrl loaded;
            loaded.set_issuer(ByteView(issuer_dn.data, issuer_dn.size));
            gnutls_free(issuer_dn.data);
            loaded.next_update = gnutls_x509_crl_get_next_update(crl.get());
            loaded.scope = crl_scope_of(crl.get());
            loaded.signer = signer;
            if (auto entries = read_crl_entries(crl.get())) {
                loaded.entries = std::move(*entries);
            } else {
                loaded.entries_readable = false;
                if (loaded.scope.complete) {
                    loaded.scope.complete = false;
                    loaded.scope.partial_why = "unreadable CRL entries";
                }
            }
            if (!loaded.scope.complete)
                log::notice("pki_crl_partial", {{"file", file.string()}, {"reason", loaded.scope.partial_why}});
            else if (!loaded.entries.unusable.empty())
                log::notice("pki_crl_partial", {{"file", file.string()}, {"reason", loaded.entries.unusable}});
            const std::time_t next_update = loaded.next_update;
            m_crls.push_back(std::move(loaded));
            signers.push_back(signer);
            gnutls_datum_t issuer_text{nullptr, 0};
            std::string issuer_name;
            if (gnutls_x509_crl_get_issuer_dn3(crl.get(), &issuer_text, 0) >= 0)
                issuer_name.assign(reinterpret_cast<const char*>(issuer_text.data), issuer_text.size);
            gnutls_free(issuer_text.data);
            m_crl_files.push_back({file.string(), issuer_name, next_update});
            // Still loaded (it revokes what it lists), but certificates of this issuer now
            // have no current revocation data: soft-fail notes it, hard-fail refuses them.
            if (next_update != -1 && next_update < std::time(nullptr))
                log::warning("pki_crl_outdated", {{"file", file.string()}, {"issuer", issuer_name},
                                                  {"next_update", format_time(next_update)}});
            verified_crls.push_back(std::move(crl));
            ++m_crl_count;
        }
    }
    // Whose entries GnuTLS applies and whose we do (pki/crl_set.h): the CRLs of indirect CRL
    // issuers and of issuers with delta CRLs are kept from GnuTLS, which would count every
    // entry as a revocation by the CRL's issuer, removeFromCRL included.
    choose_entry_owners(m_crls);
    for (std::size_t k = 0; k < verified_crls.size(); ++k) {
        if (m_crls[first_crl + k].entries_ours) continue;  // freed with verified_crls
        // Every other CRL is kept. gnutls_x509_trust_list_add_trust_mem passes
        // GNUTLS_TL_NO_DUPLICATES, which keeps one CRL per issuer name (the newest):
        // revocations on the issuer's other CRLs (CRLs split by distribution point or reason)
        // were dropped and revoked certificates accepted (PKITS 4.14.15, 4.15.3). No
        // GNUTLS_TL_VERIFY_CRL: the signature was checked above, and GnuTLS's own check also
        // refuses a CRL past its nextUpdate, which would make an outdated CRL file a
        // configuration error instead of what it is: still revoking what it lists, no current
        // revocation data (crls_settle). On success the list owns the CRL (freed by
        // gnutls_x509_trust_list_deinit(.., 1)).
        gnutls_x509_crl_t handle = verified_crls[k].get();
        if (gnutls_x509_trust_list_add_crls(m_list, &handle, 1, 0, 0) <= 0)
            throw LoadError("CRL file " + m_crl_files[first_crl + k].file + ": rejected by GnuTLS");
        m_crls[first_crl + k].given_to_gnutls = verified_crls[k].release();  // owned by the list from here on
    }
    // RFC 5280 §6.3.3 (f): a CRL speaks only as far as its signer may. A signer that is itself
    // on a loaded CRL (a separate CRL-signing key, revoked) leaves its CRLs listing what they
    // list, but settling no certificate's status (PKITS 4.4.21).
    const std::time_t now = std::time(nullptr);
    for (std::size_t k = 0; k < signers.size(); ++k) {
        const Certificate* signer = signers[k];
        if (!signer || std::any_of(m_anchors.begin(), m_anchors.end(),
                                   [&](const Certificate& a) { return &a == signer; }))
            continue;
        const auto issuer = read_issuer_name(*signer);
        for (const LoadedCrl& c : m_crls)
            if (plain_crl_lists(c, *signer, issuer, false)) m_crls[first_crl + k].signer_revoked = true;
        if (crls_revoke(m_crls, *signer, now)) m_crls[first_crl + k].signer_revoked = true;
        if (m_crls[first_crl + k].signer_revoked)
            log::warning("pki_crl_signer_revoked", {{"issuer", m_crl_files[first_crl + k].issuer}});
    }
}

}  // namespace ssm::pki
