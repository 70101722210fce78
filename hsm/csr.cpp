// CSR signing with a token key (see csr.h). GnuTLS builds and encodes the request; the token
// only signs the DigestInfo (RSA, CKM_RSA_PKCS) or the hash (ECDSA, CKM_ECDSA: r||s becomes
// a DER Ecdsa-Sig-Value here). Callbacks never let an exception out into GnuTLS.
#include "hsm/csr.h"

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <memory>

#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "hsm/ecdsa_signature.h"
#include "hsm/pkcs11_library.h"

namespace ssm::hsm {

namespace {

struct TokenKey {
    CK_FUNCTION_LIST_PTR functions;
    CK_SESSION_HANDLE session;
    CK_OBJECT_HANDLE key;
    gnutls_pk_algorithm_t pk;
    unsigned bits;
    CK_RV last_rv = CKR_OK;
};

// One C_Sign on our session; the output in `out`, its length returned (0: the token refused).
CK_ULONG token_sign(TokenKey& k, CK_MECHANISM_TYPE mechanism, const gnutls_datum_t& input,
                    unsigned char (&out)[1024])
{
    CK_MECHANISM mech{mechanism, nullptr, 0};
    CK_RV rv = k.functions->C_SignInit(k.session, &mech, k.key);
    CK_ULONG out_len = sizeof out;  // RSA-8192, an ECDSA r||s or an EdDSA signature fit
    if (rv == CKR_OK) rv = k.functions->C_Sign(k.session, input.data, input.size, out, &out_len);
    k.last_rv = rv;
    return rv == CKR_OK ? out_len : 0;
}

int copy_signature(const unsigned char* data, CK_ULONG size, gnutls_datum_t* signature) noexcept
{
    signature->data = static_cast<unsigned char*>(gnutls_malloc(size));
    if (!signature->data) return GNUTLS_E_MEMORY_ERROR;
    std::copy(data, data + size, signature->data);
    signature->size = static_cast<unsigned>(size);
    return 0;
}

int sign_hash(gnutls_privkey_t, gnutls_sign_algorithm_t algo, void* userdata, unsigned,
              const gnutls_datum_t* hash, gnutls_datum_t* signature) noexcept
{
    auto* k = static_cast<TokenKey*>(userdata);
    const bool rsa = k->pk == GNUTLS_PK_RSA;
    if (rsa ? algo != GNUTLS_SIGN_RSA_RAW : gnutls_sign_get_pk_algorithm(algo) != GNUTLS_PK_ECDSA)
        return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
    unsigned char out[1024];
    const CK_ULONG out_len = token_sign(*k, rsa ? CKM_RSA_PKCS : CKM_ECDSA, *hash, out);
    if (out_len == 0) return GNUTLS_E_PK_SIGN_FAILED;
    if (rsa) return copy_signature(out, out_len, signature);
    return ecdsa_sig_value_from_raw(ByteView(out, out_len), signature);
}

// EdDSA signs the message itself, not a hash (RFC 8032): GnuTLS calls this one for Ed25519.
int sign_data(gnutls_privkey_t, gnutls_sign_algorithm_t algo, void* userdata, unsigned,
              const gnutls_datum_t* data, gnutls_datum_t* signature) noexcept
{
    auto* k = static_cast<TokenKey*>(userdata);
    if (k->pk != GNUTLS_PK_EDDSA_ED25519 || algo != GNUTLS_SIGN_EDDSA_ED25519)
        return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
    unsigned char out[1024];
    const CK_ULONG out_len = token_sign(*k, CKM_EDDSA, *data, out);
    if (out_len != 64) return GNUTLS_E_PK_SIGN_FAILED;
    return copy_signature(out, out_len, signature);
}

int key_info(gnutls_privkey_t, unsigned flags, void* userdata) noexcept
{
    auto* k = static_cast<TokenKey*>(userdata);
    if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO) return k->pk;
    if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS) return static_cast<int>(k->bits);
    if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO) {
        const auto algo = static_cast<gnutls_sign_algorithm_t>(GNUTLS_FLAGS_TO_SIGN_ALGO(flags));
        return gnutls_sign_get_pk_algorithm(algo) == k->pk ? 1 : 0;  // not RSA-PSS
    }
    if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO) return 0;
    return GNUTLS_E_UNIMPLEMENTED_FEATURE;
}

struct CrqDeleter {
    void operator()(gnutls_x509_crq_int* c) const noexcept { gnutls_x509_crq_deinit(c); }
};
void check(int rc, const std::string& what)
{
    if (rc < 0) throw Error(Failure::PolicyViolation, what + ": " + gnutls_strerror(rc));
}

}  // namespace

std::string make_csr(const TokenWriter& token, CK_OBJECT_HANDLE key, gnutls_pubkey_t public_key,
                     const CsrRequest& req)
{
    gnutls_x509_crq_t raw_crq = nullptr;
    if (gnutls_x509_crq_init(&raw_crq) < 0) throw Error(Failure::Temporary, "out of memory");
    std::unique_ptr<gnutls_x509_crq_int, CrqDeleter> crq(raw_crq);
    const char* bad = nullptr;
    const int dn_rc = gnutls_x509_crq_set_dn(crq.get(), req.subject.c_str(), &bad);
    if (dn_rc < 0)
        throw Error(Failure::PolicyViolation,
                    "cannot parse --subject '" + req.subject + "'" +
                        (bad ? std::string(" near '") + bad + "'" : std::string()) +
                        " (expected e.g. \"CN=Alice Example,O=Acme\")");
    check(gnutls_x509_crq_set_version(crq.get(), 1), "CSR version");
    check(gnutls_x509_crq_set_pubkey(crq.get(), public_key), "CSR public key");
    for (const auto& e : req.emails)
        check(gnutls_x509_crq_set_subject_alt_name(crq.get(), GNUTLS_SAN_RFC822NAME, e.data(),
                                                   e.size(), GNUTLS_FSAN_APPEND),
              "CSR e-mail address " + e);
    const unsigned usage = GNUTLS_KEY_DIGITAL_SIGNATURE |
                           (req.kind == KeyKind::Rsa     ? GNUTLS_KEY_KEY_ENCIPHERMENT
                            : req.kind == KeyKind::Ecdsa ? GNUTLS_KEY_KEY_AGREEMENT
                                                         : 0u);
    check(gnutls_x509_crq_set_key_usage(crq.get(), usage), "CSR key usage");
    check(gnutls_x509_crq_set_key_purpose_oid(crq.get(), GNUTLS_KP_EMAIL_PROTECTION, 0),
          "CSR extended key usage");

    const gnutls_pk_algorithm_t pk = req.kind == KeyKind::Rsa     ? GNUTLS_PK_RSA
                                     : req.kind == KeyKind::Ecdsa ? GNUTLS_PK_ECDSA
                                                                  : GNUTLS_PK_EDDSA_ED25519;
    TokenKey k{token.functions(), token.session(), key, pk, req.bits};
    gnutls_privkey_t raw_key = nullptr;
    if (gnutls_privkey_init(&raw_key) < 0) throw Error(Failure::Temporary, "out of memory");
    GnutlsPrivkey signer(raw_key);
    check(gnutls_privkey_import_ext4(signer.get(), &k, sign_data, sign_hash, nullptr, nullptr,
                                     key_info, 0),
          "token key for GnuTLS");
    // The digest of the CSR signature matches the curve's strength (RFC 5480 §4); Ed25519
    // has SHA-512 built in (GnuTLS wants it named).
    const gnutls_digest_algorithm_t digest = req.kind == KeyKind::Ed25519 ? GNUTLS_DIG_SHA512
                                             : req.kind == KeyKind::Ecdsa ? ecdsa_digest_for_curve_bits(req.bits)
                                                                          : GNUTLS_DIG_SHA256;
    const int rc = gnutls_x509_crq_privkey_sign(crq.get(), signer.get(), digest, 0);
    if (rc < 0)
        throw Error(Failure::HsmUnavailable,
                    std::string("the token did not sign the CSR: ") +
                        (k.last_rv != CKR_OK ? rv_name(k.last_rv) : gnutls_strerror(rc)));
    GnutlsDatum pem;
    check(gnutls_x509_crq_export2(crq.get(), GNUTLS_X509_FMT_PEM, &pem.d), "CSR encoding");
    return std::string(reinterpret_cast<const char*>(pem.d.data), pem.d.size);
}

}  // namespace ssm::hsm
