// Trust store loading and certificate path validation over a GnuTLS trust list (see
// trust_store.h). Folders are administrator input (strict: errors name the file); the validated
// certificates are untrusted and only ever passed to GnuTLS and compared by name.
#include "pki/trust_store.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <utility>

#include <gnutls/gnutls.h>

#include "base/log.h"

namespace ssm::pki {

namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_path_depth = 8;  // intermediates between end entity and anchor

gnutls_datum_t datum(ByteView b)
{
    return {const_cast<unsigned char*>(b.data()), static_cast<unsigned>(b.size())};
}

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

private:
    gnutls_x509_crl_t m_crl = nullptr;
};

std::string read_whole(const fs::path& file)
{
    std::ifstream in(file, std::ios::binary);
    if (!in) throw LoadError("cannot read " + file.string());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw LoadError("cannot read " + file.string());
    if (text.size() > max_pem_file_size) throw LoadError(file.string() + " is larger than 4 MiB");
    return text;
}

std::vector<Crl> parse_crls(const fs::path& file)
{
    const std::string text = read_whole(file);
    const gnutls_datum_t d = datum(as_bytes(text));
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

std::vector<Certificate> load_folder(const fs::path& folder, std::string_view key)
{
    std::vector<Certificate> out;
    if (folder.empty()) return out;
    std::error_code ec;
    if (!fs::exists(folder, ec)) {
        log::warning("pki_folder_missing", {{"key", std::string(key)}, {"path", folder.string()}});
        return out;
    }
    for (const auto& file : certificate_files(folder, key))
        for (auto& c : Certificate::load_file(file)) out.push_back(std::move(c));
    return out;
}

void add_problem(ValidationResult& r, Problem p, std::string reason)
{
    r.problems.push_back(p);
    r.reasons.push_back(std::move(reason));
}

// Names are untrusted text: printable ASCII only, bounded (log lines sanitise again).
std::string printable(std::string_view text)
{
    std::string out(text.substr(0, 120));
    for (char& ch : out)
        if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) > 0x7e) ch = '?';
    return out;
}

std::string who(const Certificate& c, bool end_entity)
{
    if (end_entity) return "certificate";
    return "CA certificate '" + printable(facts(c).subject) + "'";
}

bool signature_verifies(const Certificate& subject, const Certificate& issuer)
{
    gnutls_x509_crt_t ca = issuer.get();
    unsigned status = 0;
    return gnutls_x509_crt_verify(subject.get(), &ca, 1,
                                  GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS,
                                  &status) >= 0 &&
           !(status & GNUTLS_CERT_SIGNATURE_FAILURE);
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
    static constexpr std::array<Bit, 12> bits{{
        {GNUTLS_CERT_SIGNER_NOT_FOUND, Problem::NoTrustedPath, "untrusted: no path to a trust anchor"},
        {GNUTLS_CERT_REVOKED, Problem::Revoked, "revoked (listed in a loaded CRL)"},
        {GNUTLS_CERT_SIGNATURE_FAILURE, Problem::BadSignature, "bad signature in the certificate path"},
        {GNUTLS_CERT_SIGNER_NOT_CA, Problem::IssuerNotCa, "issuer is not a CA"},
        {GNUTLS_CERT_PURPOSE_MISMATCH, Problem::WrongPurpose, "wrong purpose: emailProtection not allowed"},
        {GNUTLS_CERT_INSECURE_ALGORITHM, Problem::WeakAlgorithm, "signed with an insecure algorithm"},
        {GNUTLS_CERT_SIGNER_CONSTRAINTS_FAILURE, Problem::Constraints, "issuer constraints violated"},
        {GNUTLS_CERT_EXPIRED, Problem::Expired, "a certificate of the path has expired"},
        {GNUTLS_CERT_NOT_ACTIVATED, Problem::NotYetValid, "a certificate of the path is not yet valid"},
        {GNUTLS_CERT_UNEXPECTED_OWNER, Problem::Other, "unexpected owner"},
        {GNUTLS_CERT_MISSING_OCSP_STATUS, Problem::Other, "missing OCSP status"},
        {GNUTLS_CERT_INVALID_OCSP_STATUS, Problem::Other, "invalid OCSP status"},
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

TrustStore::TrustStore(const TrustStoreConfig& paths) : m_revocation(paths.revocation)
{
    if (gnutls_x509_trust_list_init(&m_list, 0) < 0) throw LoadError("cannot create a GnuTLS trust list");
    try {
        add_anchors(load_folder(paths.trust_anchors, "[pki] trust_anchors"));
        m_intermediates = load_folder(paths.intermediates, "[pki] intermediates");
        if (!paths.crls.empty()) load_crls(paths.crls);
    } catch (...) {
        gnutls_x509_trust_list_deinit(m_list, 1);
        throw;
    }
    log::info("pki_trust_store_loaded", {{"anchors", std::to_string(m_anchor_count)},
                                         {"intermediates", std::to_string(m_intermediates.size())},
                                         {"crls", std::to_string(m_crl_count)}});
}

TrustStore::TrustStore(std::vector<Certificate> anchors, std::vector<Certificate> intermediates,
                       Revocation revocation)
    : m_revocation(revocation)
{
    if (gnutls_x509_trust_list_init(&m_list, 0) < 0) throw LoadError("cannot create a GnuTLS trust list");
    try {
        add_anchors(std::move(anchors));
    } catch (...) {
        gnutls_x509_trust_list_deinit(m_list, 1);
        throw;
    }
    m_intermediates = std::move(intermediates);
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
        const gnutls_datum_t d = datum(der);
        int n = gnutls_x509_trust_list_add_trust_mem(m_list, &d, nullptr, GNUTLS_X509_FMT_DER,
                                                     GNUTLS_TL_NO_DUPLICATES, 0);
        if (n < 0) throw LoadError(std::string("cannot add a trust anchor: ") + gnutls_strerror(n));
        m_anchor_count += static_cast<std::size_t>(n);
        m_anchors.push_back(std::move(a));
    }
}

void TrustStore::load_crls(const fs::path& folder)
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
    for (const auto& file : files) {
        for (const Crl& crl : parse_crls(file)) {
            // GnuTLS verifies CRLs only against anchors; ours may come from an intermediate,
            // so the issuer is found and the signature checked here first.
            const Certificate* issuer = nullptr;
            bool by_anchor = false;
            for (const auto& a : m_anchors)
                if (!issuer && gnutls_x509_crl_check_issuer(crl.get(), a.get())) issuer = &a, by_anchor = true;
            for (const auto& i : m_intermediates)
                if (!issuer && gnutls_x509_crl_check_issuer(crl.get(), i.get())) issuer = &i;
            if (!issuer)
                throw LoadError("CRL file " + file.string() + ": its issuer is not a loaded anchor or intermediate");
            gnutls_x509_crt_t ca = issuer->get();
            unsigned status = 0;
            // Times are not checked: an outdated CRL still revokes what it lists.
            const unsigned time_bits = GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED |
                                       GNUTLS_CERT_REVOCATION_DATA_SUPERSEDED |
                                       GNUTLS_CERT_REVOCATION_DATA_ISSUED_IN_FUTURE;
            const int rc = gnutls_x509_crl_verify(crl.get(), &ca, 1, GNUTLS_VERIFY_DISABLE_TIME_CHECKS, &status);
            if (rc < 0 || (status & ~(time_bits | GNUTLS_CERT_INVALID)) != 0 ||
                ((status & GNUTLS_CERT_INVALID) && !(status & time_bits)))
                throw LoadError("CRL file " + file.string() + ": signature does not verify with its issuer");
            gnutls_datum_t issuer_dn{nullptr, 0};
            if (gnutls_x509_crl_get_raw_issuer_dn(crl.get(), &issuer_dn) < 0)
                throw LoadError("CRL file " + file.string() + ": unreadable issuer name");
            m_crls.push_back({Bytes(issuer_dn.data, issuer_dn.data + issuer_dn.size),
                              gnutls_x509_crl_get_next_update(crl.get())});
            gnutls_free(issuer_dn.data);
            gnutls_datum_t der{nullptr, 0};
            if (gnutls_x509_crl_export2(crl.get(), GNUTLS_X509_FMT_DER, &der) < 0)
                throw LoadError("CRL file " + file.string() + ": cannot re-encode");
            int n = gnutls_x509_trust_list_add_trust_mem(m_list, nullptr, &der, GNUTLS_X509_FMT_DER,
                                                         by_anchor ? GNUTLS_TL_VERIFY_CRL : 0, 0);
            gnutls_free(der.data);
            if (n <= 0) throw LoadError("CRL file " + file.string() + ": rejected by GnuTLS");
            ++m_crl_count;
        }
    }
}

void TrustStore::check_crls_present(ValidationResult& r, const std::vector<const Certificate*>& path,
                                    std::time_t now) const
{
    for (const Certificate* c : path) {
        gnutls_datum_t dn{nullptr, 0};
        if (gnutls_x509_crt_get_raw_issuer_dn(c->get(), &dn) < 0) {
            add_problem(r, Problem::RevocationUnknown, "revocation status unknown: unreadable issuer name");
            continue;
        }
        const Bytes issuer(dn.data, dn.data + dn.size);
        gnutls_free(dn.data);
        const bool current = std::any_of(m_crls.begin(), m_crls.end(), [&](const CrlInfo& crl) {
            return crl.issuer_der == issuer && (crl.next_update == static_cast<std::time_t>(-1) || crl.next_update >= now);
        });
        if (current) continue;
        gnutls_datum_t name{nullptr, 0};
        std::string text;
        if (gnutls_x509_crt_get_issuer_dn3(c->get(), &name, 0) >= 0 && name.data)
            text = printable(std::string_view(reinterpret_cast<const char*>(name.data), name.size));
        gnutls_free(name.data);
        add_problem(r, Problem::RevocationUnknown, "revocation status unknown: no current CRL from '" + text + "'");
    }
}

ValidationResult TrustStore::validate(const Certificate& ee, std::span<const Certificate> extra_intermediates,
                                      std::time_t now, Purpose purpose) const
{
    // Greedy path: end entity, then issuers by name until an anchor issues the last one.
    std::vector<const Certificate*> path{&ee};
    const Certificate* anchor = nullptr;
    while (path.size() <= max_path_depth) {
        const Certificate& last = *path.back();
        auto anchor_it = std::find_if(m_anchors.begin(), m_anchors.end(),
                                      [&](const Certificate& a) { return last.issued_by(a); });
        if (anchor_it != m_anchors.end()) {
            anchor = &*anchor_it;
            break;
        }
        if (last.issued_by(last)) break;  // self-issued and not under an anchor: dead end
        // Among issuers by name (extra ones first), one whose key verifies the signature wins,
        // so a re-keyed CA with the same name does not hide the right one; failing that, the
        // first by name, so that a bad signature is reported as such.
        const Certificate* next = nullptr;
        const Certificate* by_name = nullptr;
        auto consider = [&](const Certificate& c) {
            if (next || !last.issued_by(c) || std::find(path.begin(), path.end(), &c) != path.end()) return;
            if (!by_name) by_name = &c;
            if (signature_verifies(last, c)) next = &c;
        };
        for (const auto& c : extra_intermediates) consider(c);
        for (const auto& c : m_intermediates) consider(c);
        if (!next) next = by_name;
        if (!next) break;
        path.push_back(next);
    }

    ValidationResult r;
    r.path_length = path.size() + (anchor ? 1 : 0);
    // GnuTLS would check times against the wall clock; `now` is the caller's, so time checks
    // are done here for every certificate of the path and disabled in GnuTLS.
    for (std::size_t i = 0; i < path.size(); ++i) check_times(r, *path[i], i == 0, now);
    if (anchor) check_times(r, *anchor, false, now);

    std::vector<gnutls_x509_crt_t> chain;
    chain.reserve(path.size());
    for (const auto* c : path) chain.push_back(c->get());
    gnutls_typed_vdata_st purpose_data{GNUTLS_DT_KEY_PURPOSE_OID,
                                       reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_EMAIL_PROTECTION)),
                                       0};
    const bool with_purpose = purpose == Purpose::EmailProtection;
    unsigned flags = GNUTLS_VERIFY_DISABLE_TIME_CHECKS | GNUTLS_VERIFY_DISABLE_TRUSTED_TIME_CHECKS;
    if (m_revocation == Revocation::Off) flags |= GNUTLS_VERIFY_DISABLE_CRL_CHECKS;
    if (m_revocation == Revocation::HardFail) check_crls_present(r, path, now);
    unsigned status = 0;
    int rc = gnutls_x509_trust_list_verify_crt2(m_list, chain.data(), static_cast<unsigned>(chain.size()),
                                                with_purpose ? &purpose_data : nullptr, with_purpose ? 1 : 0,
                                                flags, &status, nullptr);
    r.gnutls_status = status;
    if (rc < 0) {
        add_problem(r, Problem::Other, std::string("verification error: ") + gnutls_strerror(rc));
        return r;
    }
    map_status(r, status);
    return r;
}

}  // namespace ssm::pki
