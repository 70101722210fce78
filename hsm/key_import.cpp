// PKCS#12 and certificate import (see key_import.h). Input files are parsed by GnuTLS as
// untrusted; private key material only passes through wiping buffers on its way to the token.
#include "hsm/key_import.h"

#include <gnutls/abstract.h>
#include <gnutls/pkcs12.h>
#include <gnutls/x509.h>

#include <algorithm>
#include <memory>

#include "base/error.h"
#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "base/log.h"
#include "hsm/cert_facts.h"

namespace ssm::hsm {

namespace {

[[noreturn]] void refuse_import(const std::string& what)
{
    throw Error(Failure::PolicyViolation, what);
}

// A GnuTLS-allocated datum holding key material: wiped before it is freed.
struct SecretDatum {
    gnutls_datum_t d{nullptr, 0};
    SecretDatum() = default;
    SecretDatum(const SecretDatum&) = delete;
    SecretDatum& operator=(const SecretDatum&) = delete;
    ~SecretDatum()
    {
        if (d.data) secure_wipe(d.data, d.size);
        gnutls_free(d.data);
    }
};

struct Pkcs12Deleter {
    void operator()(gnutls_pkcs12_int* p) const noexcept { gnutls_pkcs12_deinit(p); }
};
struct X509KeyDeleter {
    void operator()(gnutls_x509_privkey_int* k) const noexcept { gnutls_x509_privkey_deinit(k); }
};
// What gnutls_pkcs12_simple_parse hands out, owned.
struct Bundle {
    std::unique_ptr<gnutls_x509_privkey_int, X509KeyDeleter> key;
    std::vector<GnutlsCrt> chain;  // [0] belongs to the key
    std::vector<GnutlsCrt> extra;
};

Bytes crt_der(gnutls_x509_crt_t c)
{
    GnutlsDatum out;
    if (gnutls_x509_crt_export2(c, GNUTLS_X509_FMT_DER, &out.d) < 0)
        refuse_import("cannot re-encode a certificate of the file");
    return out.bytes();
}

Bundle parse_pkcs12(ByteView file, const SecureString& password)
{
    gnutls_pkcs12_t raw = nullptr;
    if (gnutls_pkcs12_init(&raw) < 0) throw Error(Failure::Temporary, "out of memory");
    std::unique_ptr<gnutls_pkcs12_int, Pkcs12Deleter> p12(raw);
    const gnutls_datum_t d = datum_view(file);
    const bool pem = as_chars(file).starts_with("-----BEGIN");
    int rc = gnutls_pkcs12_import(p12.get(), &d, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER, 0);
    if (rc < 0)
        refuse_import(std::string("not a readable PKCS#12 file (damaged or truncated?): ") +
               gnutls_strerror(rc));
    const char* pw = password.value().c_str();
    rc = gnutls_pkcs12_verify_mac(p12.get(), pw);
    if (rc == GNUTLS_E_MAC_VERIFY_FAILED) refuse_import("wrong PKCS#12 password (integrity check failed)");
    if (rc < 0 && rc != GNUTLS_E_ASN1_ELEMENT_NOT_FOUND && rc != GNUTLS_E_ASN1_VALUE_NOT_FOUND)
        refuse_import(std::string("cannot check the PKCS#12 integrity: ") + gnutls_strerror(rc));

    gnutls_x509_privkey_t key = nullptr;
    gnutls_x509_crt_t* chain = nullptr;
    unsigned chain_size = 0;
    gnutls_x509_crt_t* extra = nullptr;
    unsigned extra_size = 0;
    rc = gnutls_pkcs12_simple_parse(p12.get(), pw, &key, &chain, &chain_size, &extra, &extra_size,
                                    nullptr, GNUTLS_PKCS12_SP_INCLUDE_SELF_SIGNED);
    Bundle b;
    b.key.reset(key);
    for (unsigned i = 0; i < chain_size; ++i) b.chain.emplace_back(chain[i]);
    for (unsigned i = 0; i < extra_size; ++i) b.extra.emplace_back(extra[i]);
    gnutls_free(chain);
    gnutls_free(extra);
    if (rc == GNUTLS_E_DECRYPTION_FAILED || rc == GNUTLS_E_MAC_VERIFY_FAILED)
        refuse_import("wrong PKCS#12 password (cannot decrypt the contents)");
    if (rc < 0) refuse_import(std::string("cannot read the PKCS#12 contents: ") + gnutls_strerror(rc));
    if (!b.key) refuse_import("the PKCS#12 file holds no private key");
    if (b.chain.empty()) refuse_import("the PKCS#12 file holds no certificate for its private key");
    return b;
}

struct ImportedKey {
    gnutls_pk_algorithm_t pk;
    unsigned bits;
    std::string name;
};

ImportedKey key_kind(gnutls_x509_privkey_t key)
{
    unsigned bits = 0;
    const int pk = gnutls_x509_privkey_get_pk_algorithm2(key, &bits);
    if (pk == GNUTLS_PK_RSA) {
        if (bits < 2048) refuse_import("RSA-" + std::to_string(bits) + " keys are too weak (2048 bits or more)");
        return {GNUTLS_PK_RSA, bits, "rsa-" + std::to_string(bits)};
    }
    if (pk == GNUTLS_PK_ECDSA) {
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        SecretDatum x, y, k;
        if (gnutls_x509_privkey_export_ecc_raw(key, &curve, &x.d, &y.d, &k.d) < 0)
            refuse_import("cannot read the EC key");
        if (curve == GNUTLS_ECC_CURVE_SECP256R1) return {GNUTLS_PK_ECDSA, 256, "ec-p256"};
        if (curve == GNUTLS_ECC_CURVE_SECP384R1) return {GNUTLS_PK_ECDSA, 384, "ec-p384"};
        if (curve == GNUTLS_ECC_CURVE_SECP521R1) return {GNUTLS_PK_ECDSA, 521, "ec-p521"};
        refuse_import(std::string("unsupported EC curve ") + gnutls_ecc_curve_get_name(curve));
    }
    if (pk == GNUTLS_PK_EDDSA_ED25519) return {GNUTLS_PK_EDDSA_ED25519, 256, "ed25519"};
    refuse_import(std::string("unsupported key type ") +
           (pk > 0 ? gnutls_pk_get_name(static_cast<gnutls_pk_algorithm_t>(pk)) : "unknown"));
}

// Default label: the certificate's first e-mail address, else its CN.
std::string default_label(gnutls_x509_crt_t crt)
{
    const auto cert = X509Cert::parse_der(crt_der(crt));
    if (cert) {
        const CertFacts f = cert_facts(*cert);
        if (!f.email_addresses.empty()) return f.email_addresses.front();
    }
    char buf[256];
    size_t size = sizeof buf;
    if (gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) >= 0)
        return std::string(buf, size);
    return "imported key";
}

// Refuses when an object with this public key or this label is already on the token.
void check_unique(const std::vector<TokenObject>& objects, const Bytes& spki,
                  const std::string& label)
{
    for (const auto& o : objects) {
        if (!o.spki.empty() && o.spki == spki)
            refuse_import("this key is already on the token: " + object_kind(o.object_class) + " '" +
                   log::sanitise(o.label) + "' id=" + to_hex(o.id));
    }
    for (const auto& o : objects) {
        if (o.object_class != CKO_CERTIFICATE && o.label == label)
            refuse_import("a key labelled '" + log::sanitise(label) + "' is already on the token (id=" +
                   to_hex(o.id) + "): choose another --label");
    }
}

struct Attrs {  // keeps attribute values alive while a template points at them
    std::vector<CK_ATTRIBUTE> t;
    std::vector<std::unique_ptr<Bytes>> owned;
    CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
    void add(CK_ATTRIBUTE_TYPE type, const void* p, CK_ULONG n)
    {
        t.push_back({type, const_cast<void*>(p), n});
    }
    void flag(CK_ATTRIBUTE_TYPE type, bool v) { add(type, v ? &yes : &no, sizeof(CK_BBOOL)); }
    void bytes(CK_ATTRIBUTE_TYPE type, const Bytes& b) { add(type, b.data(), b.size()); }
    void copy(CK_ATTRIBUTE_TYPE type, Bytes b)
    {
        owned.push_back(std::make_unique<Bytes>(std::move(b)));
        bytes(type, *owned.back());
    }
    void secret(CK_ATTRIBUTE_TYPE type, const gnutls_datum_t& d) { add(type, d.data, d.size); }
};

Bytes raw_dn(gnutls_x509_crt_t c, bool issuer)
{
    GnutlsDatum dn;  // GnuTLS 3.7 allocates a copy
    if ((issuer ? gnutls_x509_crt_get_raw_issuer_dn(c, &dn.d) : gnutls_x509_crt_get_raw_dn(c, &dn.d)) < 0)
        return {};
    return dn.bytes();
}

// Adds a certificate object (category: 1 token user, 2 authority).
CK_OBJECT_HANDLE add_certificate(Transaction& tx, gnutls_x509_crt_t crt, const Bytes& der,
                                 const Bytes& id, const std::string& label, CK_ULONG category)
{
    Attrs a;
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE type = CKC_X_509;
    a.add(CKA_CLASS, &cls, sizeof cls);
    a.add(CKA_CERTIFICATE_TYPE, &type, sizeof type);
    a.flag(CKA_TOKEN, true);
    a.flag(CKA_PRIVATE, false);
    a.add(CKA_CERTIFICATE_CATEGORY, &category, sizeof category);
    a.bytes(CKA_ID, id);
    a.add(CKA_LABEL, label.data(), label.size());
    a.copy(CKA_SUBJECT, raw_dn(crt, false));
    a.copy(CKA_ISSUER, raw_dn(crt, true));
    a.bytes(CKA_VALUE, der);
    return tx.create(a.t, "certificate '" + label + "'");
}

struct Usage {
    bool sign = true, decrypt = true, derive = true;
};

Usage usage_of(gnutls_x509_crt_t crt)
{
    Usage u;
    unsigned ku = 0;
    if (gnutls_x509_crt_get_key_usage(crt, &ku, nullptr) >= 0) {
        u.sign = ku & (GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_NON_REPUDIATION);
        u.decrypt = ku & GNUTLS_KEY_KEY_ENCIPHERMENT;
        u.derive = ku & GNUTLS_KEY_KEY_AGREEMENT;
    }
    return u;
}

void add_key_pair(Transaction& tx, gnutls_x509_privkey_t x509key, const ImportedKey& kind,
                  const Usage& u, const Bytes& id, const std::string& label, const Bytes& subject)
{
    gnutls_privkey_t raw = nullptr;
    if (gnutls_privkey_init(&raw) < 0) throw Error(Failure::Temporary, "out of memory");
    GnutlsPrivkey key(raw);
    if (gnutls_privkey_import_x509(key.get(), x509key, 0) < 0) refuse_import("cannot use the private key");
    auto pub = new_gnutls_pubkey();
    if (gnutls_pubkey_import_privkey(pub.get(), key.get(), 0, 0) < 0)
        refuse_import("cannot derive the public key");

    Attrs priv, pubt;
    CK_OBJECT_CLASS priv_cls = CKO_PRIVATE_KEY, pub_cls = CKO_PUBLIC_KEY;
    CK_KEY_TYPE type = kind.pk == GNUTLS_PK_RSA     ? CKK_RSA
                       : kind.pk == GNUTLS_PK_ECDSA ? CKK_EC
                                                    : CKK_EC_EDWARDS;
    for (Attrs* a : {&priv, &pubt}) {
        a->add(CKA_CLASS, a == &priv ? &priv_cls : &pub_cls, sizeof priv_cls);
        a->add(CKA_KEY_TYPE, &type, sizeof type);
        a->flag(CKA_TOKEN, true);
        a->bytes(CKA_ID, id);
        a->add(CKA_LABEL, label.data(), label.size());
        if (!subject.empty()) a->bytes(CKA_SUBJECT, subject);
    }
    priv.flag(CKA_PRIVATE, true);
    priv.flag(CKA_SENSITIVE, true);
    priv.flag(CKA_EXTRACTABLE, false);
    priv.flag(CKA_SIGN, u.sign);
    priv.flag(CKA_UNWRAP, false);  // SoftHSM defaults it to true: S/MIME never needs it
    priv.flag(CKA_SIGN_RECOVER, false);
    pubt.flag(CKA_PRIVATE, false);
    pubt.flag(CKA_VERIFY, u.sign);
    SecretDatum m, e, d, p, q, c, e1, e2, x, y, k;
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    if (kind.pk == GNUTLS_PK_RSA) {
        if (gnutls_privkey_export_rsa_raw2(key.get(), &m.d, &e.d, &d.d, &p.d, &q.d, &c.d, &e1.d,
                                           &e2.d, GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
            refuse_import("cannot read the RSA key");
        priv.flag(CKA_DECRYPT, u.decrypt);
        pubt.flag(CKA_ENCRYPT, u.decrypt);
        for (Attrs* a : {&priv, &pubt}) {
            a->secret(CKA_MODULUS, m.d);
            a->secret(CKA_PUBLIC_EXPONENT, e.d);
        }
        // GnuTLS's coefficient is q^-1 mod p, PKCS#1's (and PKCS#11's) coefficient too.
        priv.secret(CKA_PRIVATE_EXPONENT, d.d);
        priv.secret(CKA_PRIME_1, p.d);
        priv.secret(CKA_PRIME_2, q.d);
        priv.secret(CKA_EXPONENT_1, e1.d);
        priv.secret(CKA_EXPONENT_2, e2.d);
        priv.secret(CKA_COEFFICIENT, c.d);
    } else {
        if (gnutls_privkey_export_ecc_raw2(key.get(), &curve, &x.d, &y.d, &k.d,
                                           GNUTLS_EXPORT_FLAG_NO_LZ) < 0)
            refuse_import("cannot read the EC key");
        Bytes params, point;
        priv.flag(CKA_DECRYPT, false);  // SoftHSM defaults it to true for EC keys
        if (kind.pk == GNUTLS_PK_ECDSA) {
            GnutlsDatum dp, dq;
            if (gnutls_pubkey_export_ecc_x962(pub.get(), &dp.d, &dq.d) < 0)
                refuse_import("cannot encode the EC public key");
            params = dp.bytes();
            point = dq.bytes();
            priv.flag(CKA_DERIVE, u.derive);
            pubt.flag(CKA_DERIVE, false);
        } else {
            params = oid_der("1.3.101.112");  // id-Ed25519 (RFC 8410)
            point = {0x04, static_cast<std::uint8_t>(x.d.size)};  // DER OCTET STRING
            point.insert(point.end(), x.d.data, x.d.data + x.d.size);
        }
        priv.copy(CKA_EC_PARAMS, params);
        pubt.copy(CKA_EC_PARAMS, std::move(params));
        pubt.copy(CKA_EC_POINT, std::move(point));
        // PKCS#11 wants the private scalar at the full field size.
        const std::size_t size = kind.pk == GNUTLS_PK_ECDSA ? (kind.bits + 7) / 8 : 32;
        if (k.d.size > size) refuse_import("malformed EC private key");
        SecureString padded(std::string(size - k.d.size, '\0') +
                            std::string(reinterpret_cast<const char*>(k.d.data), k.d.size));
        priv.add(CKA_VALUE, padded.value().data(), padded.value().size());
        tx.create(priv.t, "private key '" + label + "'");
        tx.create(pubt.t, "public key '" + label + "'");
        return;  // before `padded` is wiped
    }
    tx.create(priv.t, "private key '" + label + "'");
    tx.create(pubt.t, "public key '" + label + "'");
}

Bytes key_id_sha1(gnutls_x509_crt_t crt)
{
    unsigned char buf[20];
    size_t size = sizeof buf;
    if (gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, buf, &size) < 0) return {};
    return Bytes(buf, buf + size);
}

std::optional<GnutlsCrt> parse_certificate(ByteView file)
{
    auto crt = new_gnutls_crt();
    const gnutls_datum_t d = datum_view(file);
    if (gnutls_x509_crt_import(crt.get(), &d, GNUTLS_X509_FMT_PEM) >= 0) return crt;
    if (gnutls_x509_crt_import(crt.get(), &d, GNUTLS_X509_FMT_DER) >= 0) return crt;
    return std::nullopt;
}

}  // namespace

bool looks_like_pkcs12(ByteView file)
{
    return !parse_certificate(file).has_value();
}

ImportResult import_pkcs12(TokenWriter& token, ByteView p12, const SecureString& password,
                           const std::string& label_option)
{
    Bundle b = parse_pkcs12(p12, password);
    const ImportedKey kind = key_kind(b.key.get());
    if (kind.pk == GNUTLS_PK_EDDSA_ED25519) {
        const auto mechs = token.mechanisms();
        if (std::find(mechs.begin(), mechs.end(), CKM_EDDSA) == mechs.end())
            refuse_import("Ed25519 keys are not supported by this token (no CKM_EDDSA)");
    }
    gnutls_x509_crt_t leaf = b.chain.front().get();
    const Bytes leaf_der = crt_der(leaf);
    const Bytes spki = certificate_spki(leaf_der);
    if (spki.empty()) refuse_import("cannot read the certificate's public key");
    ImportResult r;
    r.label = label_option.empty() ? default_label(leaf) : label_option;
    r.key = kind.name;
    const auto objects = token.objects();
    check_unique(objects, spki, r.label);
    r.id = token.fresh_id(key_id_sha1(leaf));

    Transaction tx(token);
    add_key_pair(tx, b.key.get(), kind, usage_of(leaf), r.id, r.label, raw_dn(leaf, false));
    add_certificate(tx, leaf, leaf_der, r.id, r.label, 1);
    // CA certificates of the bag that the token does not hold yet.
    std::vector<Bytes> added;
    auto process_ca = [&](gnutls_x509_crt_t c) {
        if (gnutls_x509_crt_get_ca_status(c, nullptr) <= 0) return;
        const Bytes der = crt_der(c);
        const bool present =
            std::any_of(objects.begin(), objects.end(),
                        [&](const TokenObject& o) {
                            return o.object_class == CKO_CERTIFICATE && o.value == der;
                        }) ||
            std::find(added.begin(), added.end(), der) != added.end();
        if (present) return;
        char cn[256];
        size_t size = sizeof cn;
        std::string ca_label = "CA certificate";
        if (gnutls_x509_crt_get_dn_by_oid(c, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &size) >= 0)
            ca_label.assign(cn, size);
        // fresh_id searches the session, which sees the objects this transaction made.
        add_certificate(tx, c, der, token.fresh_id(key_id_sha1(c)), ca_label, 2);
        added.push_back(der);
        r.ca_labels.push_back(ca_label);
    };
    for (std::size_t i = 1; i < b.chain.size(); ++i) process_ca(b.chain[i].get());
    for (auto& c : b.extra) process_ca(c.get());
    tx.commit();
    return r;
}

ImportResult import_certificate(TokenWriter& token, ByteView file, const std::string& label_option)
{
    auto crt = parse_certificate(file);
    if (!crt) refuse_import("not a PEM or DER certificate");
    const Bytes der = crt_der(crt->get());
    const Bytes spki = certificate_spki(der);
    const auto objects = token.objects();
    const TokenObject* key = nullptr;
    for (const auto& o : objects) {
        if (o.object_class == CKO_CERTIFICATE && o.value == der)
            refuse_import("this certificate is already on the token (label '" + log::sanitise(o.label) +
                   "' id=" + to_hex(o.id) + ")");
        if (o.object_class != CKO_CERTIFICATE && !o.spki.empty() && o.spki == spki) key = &o;
    }
    // The match may be a public key object: the pair needs its private half too.
    const bool has_private = key && std::any_of(objects.begin(), objects.end(), [&](const TokenObject& o) {
        return o.object_class == CKO_PRIVATE_KEY && o.id == key->id;
    });
    if (!has_private)
        refuse_import("the private key of this certificate is not on the token (import its PKCS#12 "
               "instead, or generate the key with `ssmctl hsm keygen`)");
    ImportResult r;
    r.id = key->id;
    r.label = !label_option.empty() ? label_option
              : !key->label.empty() ? key->label
                                     : default_label(crt->get());
    Transaction tx(token);
    add_certificate(tx, crt->get(), der, r.id, r.label, 1);
    tx.commit();
    return r;
}

}  // namespace ssm::hsm
