// Matching token keys to certificates (see key_match.h).
#include "hsm/key_match.h"

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include <algorithm>
#include <vector>

#include "base/gnutls_datum.h"
#include "base/gnutls_handles.h"
#include "hsm/key_proof.h"

namespace ssm::hsm {

namespace {

Bytes without_leading_zeros(ByteView v)
{
    std::size_t skip = 0;
    while (skip < v.size() && v[skip] == 0) ++skip;
    return Bytes(v.begin() + static_cast<std::ptrdiff_t>(skip), v.end());
}

// One attribute's value; nullopt when the token does not reveal it.
std::optional<Bytes> attribute(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h,
                               CK_ATTRIBUTE_TYPE type)
{
    CK_ATTRIBUTE a{type, nullptr, 0};
    if (f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK) return std::nullopt;
    if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 65536) return std::nullopt;
    Bytes v(a.ulValueLen);
    a.pValue = v.data();
    if (f->C_GetAttributeValue(s, h, &a, 1) != CKR_OK) return std::nullopt;
    v.resize(a.ulValueLen);
    return v;
}

}  // namespace

bool key_type_matches(CK_KEY_TYPE token_type, CK_KEY_TYPE certificate_type)
{
    // Tokens older than PKCS#11 3.0 name Ed25519 and X25519 keys with codes of their own
    // (CKK_VENDOR_DEFINED and above): such a type says nothing either way, and the signature
    // check (token_signer.cpp) still stands behind the key chosen.
    return token_type == certificate_type || token_type >= CKK_VENDOR_DEFINED;
}

namespace {

bool is_certificates_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const KeyMatch& m)
{
    if (m.type) {
        const auto type = attribute(f, s, h, CKA_KEY_TYPE);
        CK_KEY_TYPE t = 0;
        if (type && type->size() == sizeof t) {
            std::copy(type->begin(), type->end(), reinterpret_cast<std::uint8_t*>(&t));
            if (!key_type_matches(t, *m.type)) return false;
        }
    }
    if (!m.rsa_modulus.empty()) {
        const auto n = attribute(f, s, h, CKA_MODULUS);
        if (n && without_leading_zeros(*n) != m.rsa_modulus) return false;
    }
    if (!m.ec_params.empty()) {
        // Only a named curve is compared: another encoding of the same curve is not a mismatch.
        const auto p = attribute(f, s, h, CKA_EC_PARAMS);
        if (p && !p->empty() && (*p)[0] == 0x06 && *p != m.ec_params) return false;
    }
    return true;
}

}  // namespace

Bytes KeyMatch::cache_key() const
{
    Bytes k = id;
    k.push_back(0);  // ids of different lengths stay apart from the rest
    k.insert(k.end(), rsa_modulus.begin(), rsa_modulus.end());
    k.insert(k.end(), ec_params.begin(), ec_params.end());
    k.insert(k.end(), public_point.begin(), public_point.end());  // two keys of one curve
    return k;
}

namespace {

// The bare public point and the SubjectPublicKeyInfo of an EC or Ed25519 key (KeyMatch).
void read_public_key(gnutls_pubkey_t key, KeyMatch& m)
{
    GnutlsDatum spki;
    if (gnutls_pubkey_export2(key, GNUTLS_X509_FMT_DER, &spki.d) < 0) return;
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    GnutlsDatum x, y;
    if (gnutls_pubkey_export_ecc_raw2(key, &curve, &x.d, &y.d, GNUTLS_EXPORT_FLAG_NO_LZ) < 0) return;
    const unsigned size = gnutls_ecc_curve_get_size(curve);
    if (curve == GNUTLS_ECC_CURVE_ED25519) {
        if (x.d.size != size) return;
        m.public_point = x.bytes();
    } else {
        // X9.62 uncompressed: 04 || X || Y, each coordinate left-padded to the field size.
        if (size == 0 || x.d.size > size || y.d.size > size) return;
        m.public_point.assign(1 + 2 * size, 0);
        m.public_point[0] = 0x04;
        std::copy(x.d.data, x.d.data + x.d.size, m.public_point.begin() + 1 + (size - x.d.size));
        std::copy(y.d.data, y.d.data + y.d.size, m.public_point.begin() + 1 + size + (size - y.d.size));
    }
    m.public_key_info = spki.bytes();
}

}  // namespace

KeyMatch key_match_for(ByteView certificate_der, ByteView id)
{
    KeyMatch m;
    m.id.assign(id.begin(), id.end());
    auto crt = new_gnutls_crt();
    const gnutls_datum_t d = datum_view(certificate_der);
    if (gnutls_x509_crt_import(crt.get(), &d, GNUTLS_X509_FMT_DER) < 0) return m;
    switch (gnutls_x509_crt_get_pk_algorithm(crt.get(), nullptr)) {
    case GNUTLS_PK_RSA:
    case GNUTLS_PK_RSA_PSS: {
        m.type = CKK_RSA;
        GnutlsDatum n, e;
        if (gnutls_x509_crt_get_pk_rsa_raw(crt.get(), &n.d, &e.d) >= 0)
            m.rsa_modulus = without_leading_zeros(n.view());
        break;
    }
    case GNUTLS_PK_ECDSA: {
        m.type = CKK_EC;
        auto key = new_gnutls_pubkey();
        GnutlsDatum params, point;
        if (gnutls_pubkey_import_x509(key.get(), crt.get(), 0) >= 0 &&
            gnutls_pubkey_export_ecc_x962(key.get(), &params.d, &point.d) >= 0)
            m.ec_params = params.bytes();
        read_public_key(key.get(), m);
        break;
    }
    case GNUTLS_PK_EDDSA_ED25519: {
        m.type = CKK_EC_EDWARDS;
        auto key = new_gnutls_pubkey();
        if (gnutls_pubkey_import_x509(key.get(), crt.get(), 0) >= 0) read_public_key(key.get(), m);
        break;
    }
    default: break;
    }
    return m;
}

namespace {

// Among keys whose attributes all fit the certificate, the certificate's (find_private_key).
// An EC or Ed25519 key is checked even when it is the only one: type and curve are all a
// SoftHSM private key object shows, and a lone key of the right curve that is another key's
// (a certificate renewed with a new key under the old id) would be listed as usable at start
// and fail at its first signature.
CK_OBJECT_HANDLE choose(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const std::vector<CK_OBJECT_HANDLE>& candidates,
                        const KeyMatch& m, const char*& chosen_by)
{
    if (candidates.empty()) return CK_INVALID_HANDLE;
    if (m.public_point.empty()) {
        // RSA keys with the certificate's modulus (copies of one key).
        chosen_by = "attributes";
        return candidates.front();
    }
    const char* const decided_by_one = candidates.size() == 1 ? "attributes" : nullptr;
    // A token that shows the point on the private key object (PKCS#11 3.0 allows it) decides;
    // a key showing another point is not the certificate's.
    std::vector<CK_OBJECT_HANDLE> unknown;
    for (const CK_OBJECT_HANDLE h : candidates) {
        const auto point = attribute(f, s, h, CKA_EC_POINT);
        if (!point || point->empty()) {
            unknown.push_back(h);
        } else if (same_public_point(*point, m.public_point)) {
            chosen_by = decided_by_one ? decided_by_one : "ec_point";
            return h;
        }
    }
    // Then a signature or an ECDH (key_proof.h): a key whose result is another key's is out.
    std::vector<CK_OBJECT_HANDLE> unproven;
    for (const CK_OBJECT_HANDLE h : unknown) {
        switch (prove_key(f, s, h, m)) {
        case KeyProof::Proven:
            chosen_by = decided_by_one ? decided_by_one : "proof";
            return h;
        case KeyProof::Disproven: break;
        case KeyProof::Unknown: unproven.push_back(h); break;
        }
    }
    if (unproven.empty()) return CK_INVALID_HANDLE;  // every key showed or proved another
    // None could prove itself (a token that refuses both): the first; a wrong one fails its use.
    chosen_by = decided_by_one ? decided_by_one : "first";
    return unproven.front();
}

}  // namespace

KeyLookup find_private_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const KeyMatch& m)
{
    KeyLookup out;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_ID, const_cast<std::uint8_t*>(m.id.data()), m.id.size()},
    };
    if ((out.rv = f->C_FindObjectsInit(s, tmpl, 2)) != CKR_OK) return out;
    // More than a handful of keys under one id is a token nobody should sign with anyway.
    CK_OBJECT_HANDLE found[16];
    CK_ULONG count = 0;
    out.rv = f->C_FindObjects(s, found, 16, &count);
    f->C_FindObjectsFinal(s);
    if (out.rv != CKR_OK) return out;
    std::vector<CK_OBJECT_HANDLE> candidates;
    for (CK_ULONG i = 0; i < count; ++i)
        if (is_certificates_key(f, s, found[i], m)) candidates.push_back(found[i]);
    out.handle = choose(f, s, candidates, m, out.chosen_by);
    out.others = static_cast<unsigned>(count) - (out.handle == CK_INVALID_HANDLE ? 0 : 1);
    return out;
}

}  // namespace ssm::hsm
