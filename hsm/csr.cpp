// CSR signing with a token key (see csr.h). GnuTLS builds and encodes the request; the token
// only signs the DigestInfo (RSA, CKM_RSA_PKCS) or the hash (ECDSA, CKM_ECDSA: r||s becomes
// a DER Ecdsa-Sig-Value here). Callbacks never let an exception out into GnuTLS.
#include "hsm/csr.h"

#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <memory>

#include "base/error.h"
#include "base/gnutls_datum.h"
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

int sign_hash(gnutls_privkey_t, gnutls_sign_algorithm_t algo, void* userdata, unsigned,
              const gnutls_datum_t* hash, gnutls_datum_t* signature) noexcept
{
    auto* k = static_cast<TokenKey*>(userdata);
    const bool rsa = k->pk == GNUTLS_PK_RSA;
    if (rsa ? algo != GNUTLS_SIGN_RSA_RAW : gnutls_sign_get_pk_algorithm(algo) != GNUTLS_PK_ECDSA)
        return GNUTLS_E_UNSUPPORTED_SIGNATURE_ALGORITHM;
    CK_MECHANISM mech{rsa ? CKM_RSA_PKCS : CKM_ECDSA, nullptr, 0};
    CK_RV rv = k->functions->C_SignInit(k->session, &mech, k->key);
    unsigned char out[1024];  // RSA-8192 or an ECDSA r||s fit
    CK_ULONG out_len = sizeof out;
    if (rv == CKR_OK) rv = k->functions->C_Sign(k->session, hash->data, hash->size, out, &out_len);
    k->last_rv = rv;
    if (rv != CKR_OK) return GNUTLS_E_PK_SIGN_FAILED;
    if (rsa) {
        signature->data = static_cast<unsigned char*>(gnutls_malloc(out_len));
        if (!signature->data) return GNUTLS_E_MEMORY_ERROR;
        std::copy(out, out + out_len, signature->data);
        signature->size = out_len;
        return 0;
    }
    if (out_len == 0 || out_len % 2 != 0) return GNUTLS_E_PK_SIGN_FAILED;
    const gnutls_datum_t r{out, static_cast<unsigned>(out_len / 2)};
    const gnutls_datum_t s{out + out_len / 2, static_cast<unsigned>(out_len / 2)};
    return gnutls_encode_rs_value(signature, &r, &s);
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
struct PrivkeyDeleter {
    void operator()(gnutls_privkey_st* k) const noexcept { gnutls_privkey_deinit(k); }
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
                           (req.rsa ? GNUTLS_KEY_KEY_ENCIPHERMENT : GNUTLS_KEY_KEY_AGREEMENT);
    check(gnutls_x509_crq_set_key_usage(crq.get(), usage), "CSR key usage");
    check(gnutls_x509_crq_set_key_purpose_oid(crq.get(), GNUTLS_KP_EMAIL_PROTECTION, 0),
          "CSR extended key usage");

    TokenKey k{token.functions(), token.session(), key, req.rsa ? GNUTLS_PK_RSA : GNUTLS_PK_ECDSA,
               req.bits};
    gnutls_privkey_t raw_key = nullptr;
    if (gnutls_privkey_init(&raw_key) < 0) throw Error(Failure::Temporary, "out of memory");
    std::unique_ptr<gnutls_privkey_st, PrivkeyDeleter> signer(raw_key);
    check(gnutls_privkey_import_ext4(signer.get(), &k, nullptr, sign_hash, nullptr, nullptr,
                                     key_info, 0),
          "token key for GnuTLS");
    const gnutls_digest_algorithm_t digest = !req.rsa && req.bits > 256 ? GNUTLS_DIG_SHA384
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
