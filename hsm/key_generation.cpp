// In-token key generation and its CSR (see key_generation.h). Options are checked before the
// token is touched; the generated pair is destroyed when the CSR cannot be made.
#include "hsm/key_generation.h"

#include <algorithm>

#include "base/email_address.h"
#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "base/log.h"
#include "hsm/csr.h"
#include "hsm/pkcs11_library.h"

namespace ssm::hsm {

namespace {

[[noreturn]] void refuse_generation(const std::string& what)
{
    throw Error(Failure::PolicyViolation, what);
}

}  // namespace

const char* key_spec_names()
{
    return "rsa-2048, rsa-3072, rsa-4096, ec-p256, ec-p384, ec-p521, ed25519";
}

std::optional<KeySpec> parse_key_spec(const std::string& name)
{
    if (name == "rsa-2048") return KeySpec{name, KeyKind::Rsa, 2048, nullptr};
    if (name == "rsa-3072") return KeySpec{name, KeyKind::Rsa, 3072, nullptr};
    if (name == "rsa-4096") return KeySpec{name, KeyKind::Rsa, 4096, nullptr};
    if (name == "ec-p256") return KeySpec{name, KeyKind::Ecdsa, 256, "1.2.840.10045.3.1.7"};
    if (name == "ec-p384") return KeySpec{name, KeyKind::Ecdsa, 384, "1.3.132.0.34"};
    if (name == "ec-p521") return KeySpec{name, KeyKind::Ecdsa, 521, "1.3.132.0.35"};
    // Signing only (RFC 8419): an Ed25519 key cannot decrypt, and X25519 key agreement in a
    // token is not offered by the PKCS#11 modules of Debian 12 (TOOLCHAIN.md).
    if (name == "ed25519") return KeySpec{name, KeyKind::Ed25519, 256, "1.3.101.112"};
    return std::nullopt;
}

GeneratedKey generate_key(TokenWriter& token, const KeySpec& spec, const std::string& subject,
                          const std::vector<std::string>& emails, const std::string& label_option)
{
    if (subject.empty()) refuse_generation("--subject is required (e.g. \"CN=Alice Example,O=Acme\")");
    std::vector<std::string> addresses;
    for (const auto& e : emails) {
        auto a = EmailAddress::parse(e);
        if (!a) refuse_generation("not an e-mail address: '" + log::sanitise(e) + "'");
        addresses.push_back(a->str());
    }
    GeneratedKey g;
    g.label = !label_option.empty() ? label_option
              : !addresses.empty()  ? addresses.front()
                                    : subject;
    const auto objects = token.objects();
    for (const auto& o : objects)
        if (o.object_class != CKO_CERTIFICATE && o.label == g.label)
            refuse_generation("a key labelled '" + log::sanitise(g.label) + "' is already on the token (id=" +
                   to_hex(o.id) + "): choose another --label");
    g.id = token.fresh_id({});

    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    CK_ULONG bits = spec.bits;
    const Bytes exponent{0x01, 0x00, 0x01};
    const bool rsa = spec.kind == KeyKind::Rsa;
    const Bytes params = rsa ? Bytes{} : oid_der(spec.curve_oid);
    std::vector<CK_ATTRIBUTE> pub = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &no, sizeof no},
        {CKA_VERIFY, &yes, sizeof yes},
        {CKA_ID, g.id.data(), g.id.size()},
        {CKA_LABEL, g.label.data(), g.label.size()},
    };
    std::vector<CK_ATTRIBUTE> priv = {
        {CKA_TOKEN, &yes, sizeof yes},
        {CKA_PRIVATE, &yes, sizeof yes},
        {CKA_SENSITIVE, &yes, sizeof yes},
        {CKA_EXTRACTABLE, &no, sizeof no},
        {CKA_SIGN, &yes, sizeof yes},
        {CKA_UNWRAP, &no, sizeof no},  // SoftHSM defaults it to true: S/MIME never needs it
        {CKA_SIGN_RECOVER, &no, sizeof no},
        {CKA_ID, g.id.data(), g.id.size()},
        {CKA_LABEL, g.label.data(), g.label.size()},
    };
    CK_MECHANISM mech{CKM_RSA_PKCS_KEY_PAIR_GEN, nullptr, 0};
    if (rsa) {
        pub.push_back({CKA_MODULUS_BITS, &bits, sizeof bits});
        pub.push_back({CKA_PUBLIC_EXPONENT, const_cast<std::uint8_t*>(exponent.data()),
                       exponent.size()});
        pub.push_back({CKA_ENCRYPT, &yes, sizeof yes});
        priv.push_back({CKA_DECRYPT, &yes, sizeof yes});
    } else {
        const bool ecdh = spec.kind == KeyKind::Ecdsa;  // an Ed25519 key only signs
        mech.mechanism = ecdh ? CKM_EC_KEY_PAIR_GEN : CKM_EC_EDWARDS_KEY_PAIR_GEN;
        pub.push_back({CKA_EC_PARAMS, const_cast<std::uint8_t*>(params.data()), params.size()});
        priv.push_back({CKA_DERIVE, ecdh ? &yes : &no, sizeof yes});
        priv.push_back({CKA_DECRYPT, &no, sizeof no});  // SoftHSM defaults it to true
    }
    auto f = token.functions();
    CK_OBJECT_HANDLE pub_h = CK_INVALID_HANDLE, priv_h = CK_INVALID_HANDLE;
    Transaction tx(token);
    const CK_RV rv = f->C_GenerateKeyPair(token.session(), &mech, pub.data(), pub.size(),
                                          priv.data(), priv.size(), &pub_h, &priv_h);
    if (rv != CKR_OK)
        throw Error(Failure::HsmUnavailable, "token '" + token.token().label +
                                                 "' cannot generate a " + spec.name +
                                                 " key pair: " + rv_name(rv));
    tx.adopt(priv_h);
    tx.adopt(pub_h);

    auto public_key = new_gnutls_pubkey();
    int rc;
    if (rsa) {
        const Bytes n = token.attribute(pub_h, CKA_MODULUS);
        const Bytes e = token.attribute(pub_h, CKA_PUBLIC_EXPONENT);
        const gnutls_datum_t dn = datum_view(n), de = datum_view(e);
        rc = gnutls_pubkey_import_rsa_raw(public_key.get(), &dn, &de);
    } else if (spec.kind == KeyKind::Ecdsa) {
        const Bytes point = token.attribute(pub_h, CKA_EC_POINT);
        const gnutls_datum_t dp = datum_view(params), dq = datum_view(point);
        rc = gnutls_pubkey_import_ecc_x962(public_key.get(), &dp, &dq);
    } else {
        // CKA_EC_POINT of an Edwards key: the 32 key octets, DER OCTET STRING-wrapped as
        // PKCS#11 3.0 says (SoftHSM does so); a module that gives them bare is accepted too.
        Bytes point = token.attribute(pub_h, CKA_EC_POINT);
        if (point.size() == 34 && point[0] == 0x04 && point[1] == 32) point.erase(point.begin(), point.begin() + 2);
        if (point.size() != 32)
            throw Error(Failure::HsmUnavailable, "the token gave an Ed25519 public key of " +
                                                     std::to_string(point.size()) + " octets");
        const gnutls_datum_t x = datum_view(point);
        rc = gnutls_pubkey_import_ecc_raw(public_key.get(), GNUTLS_ECC_CURVE_ED25519, &x, nullptr);
    }
    if (rc < 0)
        throw Error(Failure::HsmUnavailable, std::string("cannot read the generated public key: ") +
                                                 gnutls_strerror(rc));
    g.csr_pem = make_csr(token, priv_h, public_key.get(),
                         CsrRequest{subject, addresses, spec.kind, spec.bits});
    tx.commit();
    return g;
}

}  // namespace ssm::hsm
