// Certificate parsing and facts through GnuTLS (see certificate.h). Input is untrusted: names are
// copied only as plain addr-specs and bounded (base/certificate_mailboxes.h); a malformed extension is read as the most
// restrictive value (present with nothing allowed), never as "absent".
#include "base/ascii.h"
#include "base/bounded_file.h"
#include "base/certificate_issuer.h"
#include "base/certificate_key.h"
#include "base/certificate_mailboxes.h"
#include "base/email_address.h"
#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/name_compare.h"
#include "base/rsa_pss_params.h"
#include "base/sha256.h"
#include "base/utc_time.h"
#include "pki/certificate.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <iterator>
#include <utility>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

namespace ssm::pki {

namespace {

void read_key_type(const Certificate& cert, CertificateFacts& f)
{
    gnutls_x509_crt_t crt = cert.get();
    unsigned bits = 0;
    int pk = gnutls_x509_crt_get_pk_algorithm(crt, &bits);
    if (pk < 0) {
        // GnuTLS 3.7.9 refuses an id-RSASSA-PSS key whose parameters name MGF1 over another hash
        // than theirs (GNUTLS_E_CONSTRAINT_ERROR; RFC 4055 §3.1 allows it, and smime/cms
        // verifies its signatures): the algorithm and modulus are read from the DER
        // (base/certificate_key.h, which hsm/ reads token certificates with too).
        const Bytes der = cert.der();
        const auto key = certificate_key(der);
        if (key && key->algorithm == kOidRsassaPss) {
            pk = GNUTLS_PK_RSA_PSS;
            bits = key->rsa_modulus_bits;
        }
    }
    f.key_bits = bits;
    switch (pk) {
    case GNUTLS_PK_RSA: f.key_type = KeyType::Rsa; break;
    case GNUTLS_PK_RSA_PSS: f.key_type = KeyType::RsaPss; break;
    case GNUTLS_PK_EDDSA_ED25519: f.key_type = KeyType::Ed25519; break;
    case GNUTLS_PK_ECDH_X25519: f.key_type = KeyType::X25519; break;
    case GNUTLS_PK_ECDSA: {
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        GnutlsDatum x, y;
        if (gnutls_x509_crt_get_pk_ecc_raw(crt, &curve, &x.d, &y.d) < 0) break;
        if (curve == GNUTLS_ECC_CURVE_SECP256R1) f.key_type = KeyType::EcP256;
        if (curve == GNUTLS_ECC_CURVE_SECP384R1) f.key_type = KeyType::EcP384;
        if (curve == GNUTLS_ECC_CURVE_SECP521R1) f.key_type = KeyType::EcP521;
        break;
    }
    default: break;
    }
}

std::optional<KeyUsage> read_key_usage(gnutls_x509_crt_t crt)
{
    unsigned usage = 0;
    int rc = gnutls_x509_crt_get_key_usage(crt, &usage, nullptr);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) return std::nullopt;
    KeyUsage ku;
    if (rc < 0) return ku;  // malformed: present, allowing nothing
    ku.digital_signature = usage & GNUTLS_KEY_DIGITAL_SIGNATURE;
    ku.non_repudiation = usage & GNUTLS_KEY_NON_REPUDIATION;
    ku.key_encipherment = usage & GNUTLS_KEY_KEY_ENCIPHERMENT;
    ku.data_encipherment = usage & GNUTLS_KEY_DATA_ENCIPHERMENT;
    ku.key_agreement = usage & GNUTLS_KEY_KEY_AGREEMENT;
    ku.key_cert_sign = usage & GNUTLS_KEY_KEY_CERT_SIGN;
    ku.crl_sign = usage & GNUTLS_KEY_CRL_SIGN;
    ku.encipher_only = usage & GNUTLS_KEY_ENCIPHER_ONLY;
    ku.decipher_only = usage & GNUTLS_KEY_DECIPHER_ONLY;
    return ku;
}

std::optional<std::vector<std::string>> read_extended_key_usage(gnutls_x509_crt_t crt)
{
    std::vector<std::string> oids;
    for (unsigned i = 0; i < 64; ++i) {
        std::array<char, 128> buf{};
        size_t size = buf.size();
        int rc = gnutls_x509_crt_get_key_purpose_oid(crt, i, buf.data(), &size, nullptr);
        if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
            if (i == 0) return std::nullopt;
            break;
        }
        if (rc < 0) return std::vector<std::string>{};  // malformed: present, allowing nothing
        oids.emplace_back(buf.data(), strnlen(buf.data(), buf.size()));
    }
    return oids;
}

// Reads a variable-size field through a GnuTLS "buffer + size" getter.
template <typename Getter>
std::optional<Bytes> read_sized(Getter get, std::size_t initial = 64)
{
    Bytes buf(initial);
    size_t size = buf.size();
    int rc = get(buf.data(), &size);
    if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER && size <= max_certificate_size) {
        buf.resize(size);
        rc = get(buf.data(), &size);
    }
    if (rc < 0) return std::nullopt;
    buf.resize(size);
    return buf;
}

}  // namespace

std::optional<Certificate> Certificate::parse_der(ByteView der)
{
    if (der.empty() || der.size() > max_certificate_size) return std::nullopt;
    auto crt = import_gnutls_crt(der);
    if (!crt) return std::nullopt;
    return Certificate(std::move(crt));
}

std::optional<std::vector<Certificate>> Certificate::from_pem(std::string_view pem)
{
    if (pem.empty() || pem.size() > max_pem_file_size) return std::nullopt;
    gnutls_x509_crt_t* list = nullptr;
    unsigned n = 0;
    const gnutls_datum_t d = datum_view(as_bytes(pem));
    if (gnutls_x509_crt_list_import2(&list, &n, &d, GNUTLS_X509_FMT_PEM, 0) < 0) return std::nullopt;
    std::vector<Certificate> out;
    out.reserve(n);
    for (unsigned i = 0; i < n; ++i) out.push_back(Certificate(GnutlsCrt(list[i])));  // owners from here on
    gnutls_free(list);
    if (out.empty()) return std::nullopt;
    return out;
}

std::vector<Certificate> Certificate::load_file(const std::filesystem::path& file)
{
    std::string why;
    const auto read = read_bounded_file(file.string(), max_pem_file_size, why);
    if (!read) throw LoadError("cannot read certificate file " + file.string() + ": " + why);
    const std::string& text = *read;
    if (text.find("-----BEGIN") != std::string::npos) {
        if (auto certs = from_pem(text)) return std::move(*certs);
        throw LoadError("certificate file " + file.string() +
                        " holds no certificate or a corrupt PEM certificate block");
    }
    if (auto cert = parse_der(as_bytes(text))) {
        std::vector<Certificate> one;
        one.push_back(std::move(*cert));
        return one;
    }
    throw LoadError("certificate file " + file.string() + " is neither PEM nor a DER certificate");
}

Bytes Certificate::der() const
{
    GnutlsDatum d;
    if (gnutls_x509_crt_export2(m_crt.get(), GNUTLS_X509_FMT_DER, &d.d) < 0) return {};
    return d.bytes();
}

Certificate Certificate::clone() const
{
    auto c = parse_der(der());
    if (!c) throw std::logic_error("a parsed certificate did not parse again");
    return std::move(*c);
}

bool Certificate::issued_by(const Certificate& issuer) const noexcept
{
    return names_as_issuer(m_crt.get(), issuer.m_crt.get());
}

std::optional<SharedCertificate> SharedCertificate::parse_der(ByteView der)
{
    auto cert = Certificate::parse_der(der);
    if (!cert) return std::nullopt;
    return SharedCertificate(*cert);
}

SharedCertificate::SharedCertificate(const Certificate& cert)
    : m_data(std::make_shared<const Data>(Data{cert.der(), pki::facts(cert)}))
{
}

Certificate SharedCertificate::parse() const
{
    auto c = Certificate::parse_der(m_data->der);
    if (!c) throw std::logic_error("a parsed certificate did not parse again");
    return std::move(*c);
}

std::size_t SharedCertificate::memory_size() const noexcept
{
    const CertificateFacts& f = m_data->facts;
    std::size_t n = sizeof(Data) + 64 + m_data->der.capacity() + f.issuer_der.capacity() + f.serial.capacity() + f.subject_der.capacity() +
                    f.sha256_fingerprint.capacity() + f.subject.capacity();
    for (const auto& a : f.email_addresses) n += sizeof(a) + a.capacity();
    if (f.extended_key_usage)
        for (const auto& o : *f.extended_key_usage) n += sizeof(o) + o.capacity();
    if (f.subject_key_identifier) n += f.subject_key_identifier->capacity();
    return n;
}

std::string_view key_type_name(KeyType t)
{
    switch (t) {
    case KeyType::Rsa: return "RSA";
    case KeyType::RsaPss: return "RSA-PSS";
    case KeyType::EcP256: return "EC P-256";
    case KeyType::EcP384: return "EC P-384";
    case KeyType::EcP521: return "EC P-521";
    case KeyType::Ed25519: return "Ed25519";
    case KeyType::X25519: return "X25519";
    case KeyType::Other: break;
    }
    return "other";
}

bool CertificateFacts::has_address(std::string_view lower_case_address) const
{
    return std::find(email_addresses.begin(), email_addresses.end(), lower_case_address) !=
           email_addresses.end();
}

bool CertificateFacts::allows_email_protection() const
{
    if (!extended_key_usage) return true;
    for (const auto& oid : *extended_key_usage)
        if (oid == oid_email_protection || oid == oid_any_extended_key_usage) return true;
    return false;
}

CertificateFacts facts(const Certificate& cert)
{
    gnutls_x509_crt_t crt = cert.get();
    CertificateFacts f;
    // The one rule for pki/ and hsm/ (base/certificate_mailboxes.h): the SAN's addresses, the
    // subject DN's emailAddress only when the SAN names no address at all.
    f.email_addresses = certificate_mailbox_keys(crt);
    read_key_type(cert, f);
    f.not_before = gnutls_x509_crt_get_activation_time(crt);
    f.not_after = gnutls_x509_crt_get_expiration_time(crt);
    unsigned ca = 0;
    f.is_ca = gnutls_x509_crt_get_basic_constraints(crt, nullptr, &ca, nullptr) >= 0 && ca != 0;
    f.self_signed = cert.issued_by(cert);
    f.key_usage = read_key_usage(crt);
    f.extended_key_usage = read_extended_key_usage(crt);

    GnutlsDatum issuer;
    if (gnutls_x509_crt_get_raw_issuer_dn(crt, &issuer.d) >= 0) f.issuer_der = issuer.bytes();
    GnutlsDatum subject_name;
    if (gnutls_x509_crt_get_raw_dn(crt, &subject_name.d) >= 0) f.subject_der = subject_name.bytes();
    f.serial = read_sized([&](void* b, size_t* s) { return gnutls_x509_crt_get_serial(crt, b, s); })
                   .value_or(Bytes{});
    f.subject_key_identifier = read_sized([&](void* b, size_t* s) {
        return gnutls_x509_crt_get_subject_key_id(crt, b, s, nullptr);
    });
    // Over the DER as received (GnuTLS 3.7 accepts only DER certificates, so this equals
    // gnutls_x509_crt_get_fingerprint, which re-encodes the whole certificate first: ~10 µs
    // against ~1 µs here).
    // Facts are read whole or not at all, so a failed hash leaves the fingerprint empty (no
    // anchor pin matches an empty fingerprint) rather than throwing.
    if (GnutlsDatum d; gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &d.d) >= 0) {
        try {
            const Sha256Digest digest = sha256(d.view());
            f.sha256_fingerprint.assign(digest.begin(), digest.end());
        } catch (const Error&) {
            f.sha256_fingerprint.clear();
        }
    }
    GnutlsDatum dn;
    if (gnutls_x509_crt_get_dn3(crt, &dn.d, 0) >= 0 && dn.d.data)
        f.subject.assign(reinterpret_cast<const char*>(dn.d.data), std::min<std::size_t>(dn.d.size, 1024));
    return f;
}

std::vector<std::filesystem::path> certificate_files(const std::filesystem::path& folder,
                                                     std::string_view what)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(folder, ec) && !ec) return {};
    if (!fs::is_directory(folder, ec))
        throw LoadError(std::string(what) + ": " + folder.string() + " is not a readable folder");
    std::vector<fs::path> out;
    fs::directory_iterator it(folder, ec);
    if (ec) throw LoadError(std::string(what) + ": cannot read folder " + folder.string() + ": " + ec.message());
    for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) throw LoadError(std::string(what) + ": cannot read folder " + folder.string());
        const std::string ext = ascii_lowercase(it->path().extension().string());
        if (ext != ".pem" && ext != ".crt" && ext != ".cer" && ext != ".der") continue;
        if (!it->is_regular_file(ec)) continue;
        out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string format_time(std::time_t t)
{
    return iso8601_utc(t);
}

std::optional<Bytes> extension_value(const Certificate& cert, const char* oid)
{
    GnutlsDatum ext;
    unsigned critical = 0;
    if (gnutls_x509_crt_get_extension_by_oid2(cert.get(), oid, 0, &ext.d, &critical) < 0) return std::nullopt;
    return ext.bytes();
}

bool is_self_issued(const Certificate& cert)
{
    GnutlsDatum issuer, subject;
    return gnutls_x509_crt_get_raw_issuer_dn(cert.get(), &issuer.d) >= 0 &&
           gnutls_x509_crt_get_raw_dn(cert.get(), &subject.d) >= 0 &&
           same_name(issuer.view(), subject.view());
}

std::string key_id_hex(const Certificate& c)
{
    std::array<unsigned char, 64> id{};
    std::size_t n = id.size();
    if (gnutls_x509_crt_get_key_id(c.get(), 0, id.data(), &n) >= 0) return to_hex(ByteView(id.data(), n));
    // GnuTLS refuses some keys (an id-RSASSA-PSS key with MGF1 over another hash than its own)
    // and gives no id; "" would put every such issuer in one OCSP and revocation cache slot.
    // Its id with flags 0 is SHA-1 over the DER SubjectPublicKeyInfo (lib/x509 _gnutls_get_key_id,
    // re-encoded from the key, which for the keys it reads is the certificate's own encoding):
    // the same hash over the SubjectPublicKeyInfo as the certificate carries it.
    const Bytes der = c.der();
    const auto key = certificate_key(der);
    if (!key || gnutls_hash_fast(GNUTLS_DIG_SHA1, key->spki.data(), key->spki.size(), id.data()) < 0) return {};
    return to_hex(ByteView(id.data(), gnutls_hash_get_len(GNUTLS_DIG_SHA1)));
}

std::string printable(std::string_view text)
{
    std::string out = with_unprintable_replaced(text.substr(0, 120));
    if (text.size() > out.size()) out += "...";  // cut: say so, the name is not what it looks like
    return out;
}

}  // namespace ssm::pki
