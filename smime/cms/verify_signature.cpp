// Signature algorithm checks for SignedData verification; see verify_signature.h.
// Untrusted identifiers, keys and signatures: every failure becomes a reason string.
#include "base/gnutls_datum.h"
#include "smime/cms/verify_signature.h"

#include <gmp.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <nettle/bignum.h>
#include <nettle/rsa.h>

#include "base/certificate_key.h"
#include "base/error.h"
#include "base/gnutls_handles.h"
#include "base/mpz.h"
#include "base/rsa_pss.h"
#include "base/rsa_pss_params.h"
#include "smime/cms/digest.h"
#include "smime/cms/oids.h"

namespace ssm::smime::cms {
namespace {

// Legacy identifiers we recognise only to name or refuse them.
constexpr const char* kMd5 = "1.2.840.113549.2.5";
constexpr const char* kSha1WithRsa = "1.2.840.113549.1.1.5";
constexpr const char* kMd5WithRsa = "1.2.840.113549.1.1.4";
constexpr const char* kEcdsaSha1 = "1.2.840.10045.4.1";
constexpr const char* kDsa = "1.2.840.10040.4.1";
constexpr const char* kDsaSha1 = "1.2.840.10040.4.3";
constexpr const char* kDsaSha256 = "2.16.840.1.101.3.4.3.2";

std::string name_of(const std::string& oid)
{
    static const std::pair<const char*, const char*> names[] = {
        {kMd5, "md5"}, {kMd5WithRsa, "md5WithRSAEncryption"}, {kDsa, "dsa"},
        {kDsaSha1, "dsa-with-sha1"}, {kDsaSha256, "dsa-with-sha256"}};
    for (const auto& [o, n] : names)
        if (oid == o) return n;
    // Attacker-chosen text goes into logs and headers: an OID is digits and dots only.
    if (oid.size() > 64 || oid.find_first_not_of("0123456789.") != std::string::npos) return "(invalid OID)";
    return oid;
}

std::string unsupported(const std::string& oid) { return "unsupported algorithm " + name_of(oid); }

bool null_or_absent(const std::optional<Bytes>& params) { return !params || *params == der_null(); }

// RSASSA-PSS-params (RFC 4055 §3.1) with their DEFAULTs filled in, from a SignerInfo's
// signatureAlgorithm or an id-RSASSA-PSS key, read by base/rsa_pss_params.h (the reader pki/
// uses for certificate signatures). nullopt with `reason` when they are malformed or name a
// hash or mask we do not implement.
std::optional<RsaPssParams> read_pss_params(ByteView der, std::string& reason)
{
    RsaPssRefusal why;
    if (auto p = read_rsa_pss_params(der, why)) return p;
    switch (why.what) {
    case RsaPssRefusal::What::Hash: reason = "unsupported algorithm RSASSA-PSS hash " + name_of(why.oid); break;
    case RsaPssRefusal::What::Mask: reason = "unsupported algorithm RSASSA-PSS mask " + name_of(why.oid); break;
    case RsaPssRefusal::What::MaskHash:
        reason = "unsupported algorithm RSASSA-PSS with MGF1 over " + name_of(why.oid);
        break;
    case RsaPssRefusal::What::Malformed: reason = "malformed RSASSA-PSS parameters"; break;
    }
    return std::nullopt;
}

// The hash of a PSS signature's MGF1 (the message hash when the check names none).
gnutls_digest_algorithm_t pss_mask_of(const SignatureCheck& check, const VerifyDigest& d)
{
    return check.pss_mask_digest == GNUTLS_DIG_UNKNOWN ? d.gnutls : check.pss_mask_digest;
}

// An id-RSASSA-PSS key's parameters as the certificate states them (not as GnuTLS reads them:
// see outside_pss_restrictions), and for a key GnuTLS refused, its modulus and exponent.
struct PssKey {
    bool rsassa_pss = false;             // an id-RSASSA-PSS key (read here: GnuTLS may refuse it)
    std::optional<RsaPssParams> params;  // none: the key makes any RSASSA-PSS signature
    std::string unusable;                // why the key does not read ("" when it does)
    Bytes modulus, exponent;             // read only when asked (certificate_key.h: no sign octet)
};

// The key read by base/certificate_key.h, the reader pki/ and hsm/ use too. A certificate whose
// key does not read is not an id-RSASSA-PSS key (rsassa_pss false) and is unusable.
PssKey read_pss_key(ByteView cert_der, bool with_numbers)
{
    PssKey out;
    const auto key = certificate_key(cert_der);
    if (!key) {
        out.unusable = "signer certificate unusable: its RSASSA-PSS key does not read";
        return out;
    }
    out.rsassa_pss = key->algorithm == kOidRsassaPss;
    if (!out.rsassa_pss) {
        out.unusable = "signer certificate unusable: not an RSASSA-PSS key";
        return out;
    }
    if (!key->parameters.empty()) {
        std::string why;
        out.params = read_pss_params(key->parameters, why);
        if (!out.params) out.unusable = "signer certificate unusable: key parameters: " + why;
    }
    if (with_numbers) {
        if (key->rsa_modulus.empty()) {
            out.unusable = "signer certificate unusable: its RSASSA-PSS key does not read";
        } else {
            out.modulus.assign(key->rsa_modulus.begin(), key->rsa_modulus.end());
            out.exponent.assign(key->rsa_exponent.begin(), key->rsa_exponent.end());
        }
    }
    return out;
}

// RSA through nettle: GnuTLS 3.7.9 verifies PSS only with salt length = hash length, and
// OpenSSL signs with the maximum salt by default. Nettle's PSS takes MGF1 over the message
// hash only; another mask hash goes through base/rsa_pss.h. `modulus` and `exponent` are
// big-endian (empty: the key did not read).
std::string verify_rsa(ByteView modulus, ByteView exponent, const SignatureCheck& check, const VerifyDigest& d,
                       ByteView digest, ByteView signature)
{
    if (modulus.empty() || exponent.empty()) return "signer certificate unusable: RSA key";
    RsaPublicKey pub;
    nettle_mpz_set_str_256_u(pub.k.n, modulus.size(), modulus.data());
    nettle_mpz_set_str_256_u(pub.k.e, exponent.size(), exponent.data());
    if (!rsa_public_key_prepare(&pub.k)) return "signer certificate unusable: RSA key";
    // A signature longer than the modulus cannot be valid (and mpz would take any size).
    if (signature.size() > pub.k.size) return "bad signature";
    Mpz s;
    nettle_mpz_set_str_256_u(s.v, signature.size(), signature.data());

    int ok = 0;
    const gnutls_digest_algorithm_t mask = pss_mask_of(check, d);
    if (check.scheme == SignatureScheme::RsaPss && (d.weak() || mask != d.gnutls)) {
        // Nettle's PSS has no SHA-1 variant and takes MGF1 over the message hash only.
        ok = rsa_pss_verify_with_mask_hash(pub.k, s.v, d.gnutls, mask, check.pss_salt_length, digest);
    } else if (check.scheme == SignatureScheme::RsaPss) {
        switch (*d.sha2) {  // SHA-2: SHA-1 went to rsa_pss.h above
        case DigestAlgorithm::Sha256: ok = rsa_pss_sha256_verify_digest(&pub.k, check.pss_salt_length, digest.data(), s.v); break;
        case DigestAlgorithm::Sha384: ok = rsa_pss_sha384_verify_digest(&pub.k, check.pss_salt_length, digest.data(), s.v); break;
        case DigestAlgorithm::Sha512: ok = rsa_pss_sha512_verify_digest(&pub.k, check.pss_salt_length, digest.data(), s.v); break;
        }
    } else {
        GnutlsDatum info;
        const gnutls_datum_t h = datum_view(digest);
        if (gnutls_encode_ber_digest_info(d.gnutls, &h, &info.d) < 0)
            throw Error(Failure::Internal, "gnutls_encode_ber_digest_info");
        ok = rsa_pkcs1_verify(&pub.k, info.d.size, info.d.data, s.v);
    }
    return ok ? "" : "bad signature";
}

// RFC 4055 §3.3 (and RFC 8017 §A.2.3): an id-RSASSA-PSS key with parameters makes only
// signatures with that hash and mask hash, and a salt at least that long; a signature outside
// them fails whatever its mathematics (the rule: base/rsa_pss_params.h, which pki/ applies to
// issuer keys). "" when `check` keeps to them or the key states none.
// The parameters are read from the certificate (read_pss_key), not from GnuTLS: GnuTLS 3.7.9
// reads a key's maskGenAlgorithm only when present and takes an absent one (DER's encoding of
// the default, MGF1 over SHA-1) as MGF1 over the key's hash, so a SHA-256 key restricted to
// MGF1-SHA-1 refused its own signatures and passed MGF1-SHA-256 ones. (One that names another
// mask hash explicitly GnuTLS refuses to import at all: see SignerKey.)
std::string outside_pss_restrictions(const PssKey& key_params, const SignatureCheck& check, const VerifyDigest& d)
{
    if (!key_params.unusable.empty()) return key_params.unusable;
    if (!key_params.params) return "";  // no parameters: the key makes any RSASSA-PSS signature
    const RsaPssParams signature{d.gnutls, pss_mask_of(check, d), check.pss_salt_length};
    const std::string outside = outside_pss_key_parameters(*key_params.params, signature);
    return outside.empty() ? "" : "signature outside the signer key's RSASSA-PSS parameters: " + outside;
}

std::string gnutls_outcome(int rc)
{
    if (rc >= 0) return "";
    if (rc == GNUTLS_E_PK_SIG_VERIFY_FAILED) return "bad signature";
    return std::string("signature not verifiable: ") + gnutls_strerror(rc);
}

}  // namespace

std::optional<VerifyDigest> verify_digest_from_id(const AlgorithmId& id, std::string& reason)
{
    VerifyDigest d;
    if (id.oid == oid::kSha1) {
        d.gnutls = GNUTLS_DIG_SHA1;
    } else if (auto sha2 = digest_from_oid(id.oid)) {
        d.sha2 = *sha2;
        d.gnutls = gnutls_digest(*sha2);
    } else {
        reason = unsupported(id.oid);
        return std::nullopt;
    }
    if (!null_or_absent(id.parameters)) {
        reason = "malformed digest algorithm parameters";
        return std::nullopt;
    }
    return d;
}

void DigestSet::add(const std::string& oid, const VerifyDigest& d)
{
    for (const auto& e : m_entries)
        if (e.oid == oid) return;
    gnutls_hash_hd_t hd = nullptr;
    if (gnutls_hash_init(&hd, d.gnutls) < 0) throw Error(Failure::Temporary, "gnutls_hash_init");
    m_entries.push_back(Entry{oid, d.gnutls, Handle(hd)});
}

void DigestSet::write(ByteView data)
{
    for (auto& e : m_entries)
        if (gnutls_hash(e.handle.get(), data.data(), data.size()) < 0) throw Error(Failure::Internal, "gnutls_hash");
}

std::vector<std::pair<std::string, Bytes>> DigestSet::finish()
{
    std::vector<std::pair<std::string, Bytes>> out;
    for (auto& e : m_entries) {
        Bytes d(gnutls_hash_get_len(e.algorithm));
        gnutls_hash_output(e.handle.get(), d.data());
        out.emplace_back(e.oid, std::move(d));
    }
    m_entries.clear();
    return out;
}

Bytes verify_digest_of(const VerifyDigest& d, ByteView data)
{
    Bytes out(gnutls_hash_get_len(d.gnutls));
    if (gnutls_hash_fast(d.gnutls, data.data(), data.size(), out.data()) < 0)
        throw Error(Failure::Internal, "gnutls_hash_fast");
    return out;
}

std::optional<SignatureCheck> signature_check_from_id(const AlgorithmId& id, const VerifyDigest& digest,
                                                      std::string& reason)
{
    SignatureCheck c;
    // Algorithms that name a hash must name the SignerInfo's: the signature covers the
    // digest computed with digestAlgorithm (RFC 5652 §5.4).
    auto same_hash = [&](std::optional<DigestAlgorithm> h) {
        if (h == digest.sha2) return true;
        reason = "signature algorithm hash differs from digestAlgorithm";
        return false;
    };
    const std::string& o = id.oid;
    if (o == oid::kRsaEncryption) {
        c.scheme = SignatureScheme::RsaPkcs1v15;
    } else if (o == kSha1WithRsa || o == oid::kSha256WithRsa || o == oid::kSha384WithRsa ||
               o == oid::kSha512WithRsa) {
        c.scheme = SignatureScheme::RsaPkcs1v15;
        const std::optional<DigestAlgorithm> h =
            o == kSha1WithRsa            ? std::nullopt
            : o == oid::kSha256WithRsa ? std::optional(DigestAlgorithm::Sha256)
            : o == oid::kSha384WithRsa ? std::optional(DigestAlgorithm::Sha384)
                                       : std::optional(DigestAlgorithm::Sha512);
        if (!same_hash(h)) return std::nullopt;
    } else if (o == kEcdsaSha1 || o == oid::kEcdsaSha256 || o == oid::kEcdsaSha384 || o == oid::kEcdsaSha512) {
        c.scheme = SignatureScheme::Ecdsa;
        const std::optional<DigestAlgorithm> h =
            o == kEcdsaSha1            ? std::nullopt
            : o == oid::kEcdsaSha256 ? std::optional(DigestAlgorithm::Sha256)
            : o == oid::kEcdsaSha384 ? std::optional(DigestAlgorithm::Sha384)
                                     : std::optional(DigestAlgorithm::Sha512);
        if (!same_hash(h)) return std::nullopt;
    } else if (o == oid::kEcPublicKey) {
        c.scheme = SignatureScheme::Ecdsa;  // some signers name the key type; the hash is digestAlgorithm's
    } else if (o == oid::kEd25519) {
        c.scheme = SignatureScheme::Ed25519;
        if (id.parameters) {  // RFC 8419 §2.2: parameters MUST be absent
            reason = "malformed Ed25519 parameters";
            return std::nullopt;
        }
    } else if (o == oid::kRsassaPss) {
        c.scheme = SignatureScheme::RsaPss;
        if (!id.parameters) {
            reason = "RSASSA-PSS without parameters";
            return std::nullopt;
        }
        const auto p = read_pss_params(*id.parameters, reason);
        if (!p) return std::nullopt;
        // An SHA-1 hash is checked like any other, so that the signer then fails as every SHA-1
        // signer does (a weak digest, SignerVerification::weak_digest) rather than as
        // "unsupported".
        if (p->hash != digest.gnutls) {
            reason = "signature algorithm hash differs from digestAlgorithm";
            return std::nullopt;
        }
        c.pss_mask_digest = p->mask;
        c.pss_salt_length = p->salt;
    } else {
        reason = unsupported(o);
        return std::nullopt;
    }
    return c;
}

struct SignerKey::State {
    GnutlsPubkey key = new_gnutls_pubkey();
    int status = 0;  // GnuTLS's import of the certificate and its key
    int pk = GNUTLS_PK_UNKNOWN;
    unsigned bits = 0;
    Bytes modulus, exponent;  // RSA and RSASSA-PSS keys
    PssKey pss;               // RSASSA-PSS keys
    bool pss_refused = false;  // an id-RSASSA-PSS key GnuTLS refused, read here instead
};

SignerKey::SignerKey(ByteView cert_der) : m(std::make_unique<State>())
{
    State& k = *m;
    {
        const GnutlsCrt crt = new_gnutls_crt();
        const gnutls_datum_t d = datum_view(cert_der);
        k.status = gnutls_x509_crt_import(crt.get(), &d, GNUTLS_X509_FMT_DER);
        if (k.status >= 0) k.status = gnutls_pubkey_import_x509(k.key.get(), crt.get(), 0);
    }
    if (k.status >= 0) {
        k.pk = gnutls_pubkey_get_pk_algorithm(k.key.get(), &k.bits);
        if (k.pk == GNUTLS_PK_RSA || k.pk == GNUTLS_PK_RSA_PSS) {
            GnutlsDatum n, e;
            if (gnutls_pubkey_export_rsa_raw(k.key.get(), &n.d, &e.d) >= 0) {
                k.modulus = n.bytes();
                k.exponent = e.bytes();
            }
        }
        if (k.pk == GNUTLS_PK_RSA_PSS) k.pss = read_pss_key(cert_der, false);
    } else if (k.status == GNUTLS_E_CONSTRAINT_ERROR) {
        // GnuTLS 3.7.9 refuses an id-RSASSA-PSS key whose parameters name MGF1 over another hash
        // than theirs (RFC 4055 allows it). Its signatures need only the modulus, the exponent
        // and the parameters, all read from the certificate here (read_pss_key, through base/certificate_key.h).
        PssKey pss = read_pss_key(cert_der, true);
        if (pss.rsassa_pss) {
            k.pss_refused = true;
            k.pss = std::move(pss);
            k.modulus = k.pss.modulus;
            k.exponent = k.pss.exponent;
            k.bits = bit_length(k.modulus);
            k.pk = GNUTLS_PK_RSA_PSS;
        }
    }
}

SignerKey::~SignerKey() = default;
SignerKey::SignerKey(SignerKey&&) noexcept = default;
SignerKey& SignerKey::operator=(SignerKey&&) noexcept = default;

std::optional<std::string> SignerKey::weak() const
{
    constexpr unsigned kMinRsaBits = 2048;
    const State& k = *m;
    if ((k.status < 0 && !k.pss_refused) || (k.pk != GNUTLS_PK_RSA && k.pk != GNUTLS_PK_RSA_PSS) || k.bits == 0 ||
        k.bits >= kMinRsaBits)
        return std::nullopt;
    return "rsa" + std::to_string(k.bits);
}

std::string SignerKey::verify(const SignatureCheck& check, const VerifyDigest& d, ByteView data, ByteView digest,
                              ByteView signature) const
{
    const State& k = *m;
    if (k.status == GNUTLS_E_ECC_UNSUPPORTED_CURVE || k.status == GNUTLS_E_UNKNOWN_PK_ALGORITHM)
        // A key we cannot use (e.g. brainpoolP256r1: GnuTLS 3.7 has no Brainpool curves) says
        // nothing about the signature: "unsupported", not "unusable" (SignerVerification).
        return std::string("unsupported algorithm: signer key (") + gnutls_strerror(k.status) + ")";
    if (k.status < 0 && !k.pss_refused) return std::string("signer certificate unusable: ") + gnutls_strerror(k.status);
    const bool rsa = k.pk == GNUTLS_PK_RSA || k.pk == GNUTLS_PK_RSA_PSS;
    const gnutls_datum_t sig = datum_view(signature);
    switch (check.scheme) {
    case SignatureScheme::RsaPkcs1v15:
        if (k.pk != GNUTLS_PK_RSA) break;  // an RSA-PSS key must not make v1.5 signatures (RFC 4055 §1.2)
        return verify_rsa(k.modulus, k.exponent, check, d, digest, signature);
    case SignatureScheme::RsaPss:
        if (!rsa) break;
        if (k.pk == GNUTLS_PK_RSA_PSS)
            if (std::string outside = outside_pss_restrictions(k.pss, check, d); !outside.empty()) return outside;
        return verify_rsa(k.modulus, k.exponent, check, d, digest, signature);
    case SignatureScheme::Ecdsa: {
        if (k.pk != GNUTLS_PK_ECDSA) break;
        const gnutls_sign_algorithm_t algo = gnutls_pk_to_sign(GNUTLS_PK_ECDSA, d.gnutls);
        const gnutls_datum_t h = datum_view(digest);
        const unsigned flags = d.weak() ? GNUTLS_VERIFY_ALLOW_SIGN_WITH_SHA1 : 0;
        return gnutls_outcome(gnutls_pubkey_verify_hash2(k.key.get(), algo, flags, &h, &sig));
    }
    case SignatureScheme::Ed25519: {
        if (k.pk != GNUTLS_PK_EDDSA_ED25519) break;
        const gnutls_datum_t msg = datum_view(data);
        return gnutls_outcome(gnutls_pubkey_verify_data2(k.key.get(), GNUTLS_SIGN_EDDSA_ED25519, 0, &msg, &sig));
    }
    }
    return "signer key does not match the signature algorithm";
}

}  // namespace ssm::smime::cms
