// Proving which private key is a certificate's (see key_proof.h).
#include "hsm/key_proof.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

#include <algorithm>
#include <array>

#include "base/gnutls_datum.h"
#include "base/error.h"
#include "base/gnutls_handles.h"
#include "base/nettle_ecc.h"
#include "base/secure_buffer.h"
#include "hsm/ecdsa_signature.h"
#include "hsm/key_match.h"
#include "hsm/token_ecdh.h"

namespace ssm::hsm {

namespace {

// The certificate's public key (SubjectPublicKeyInfo DER); null when it does not import.
GnutlsPubkey matched_public_key(const KeyMatch& m)
{
    auto key = new_gnutls_pubkey();
    const gnutls_datum_t spki = datum_view(m.public_key_info);
    if (gnutls_pubkey_import(key.get(), &spki, GNUTLS_X509_FMT_DER) < 0) return nullptr;
    return key;
}

bool verifies(gnutls_pubkey_t key, gnutls_sign_algorithm_t algorithm, ByteView input, ByteView signature,
              bool input_is_hash)
{
    const gnutls_datum_t d = datum_view(input), s = datum_view(signature);
    return (input_is_hash ? gnutls_pubkey_verify_hash2(key, algorithm, 0, &d, &s)
                          : gnutls_pubkey_verify_data2(key, algorithm, 0, &d, &s)) >= 0;
}

// One C_Sign of `input`; empty when the token refuses (CKA_SIGN false, say).
Bytes token_signature(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_MECHANISM mech,
                      ByteView input)
{
    if (f->C_SignInit(s, &mech, key) != CKR_OK) return {};
    Bytes sig(160);  // P-521 r||s is 132 octets, Ed25519 64
    CK_ULONG size = sig.size();
    if (f->C_Sign(s, const_cast<std::uint8_t*>(input.data()), input.size(), sig.data(), &size) != CKR_OK ||
        size > sig.size())
        return {};  // C_Sign ends the operation whatever it returns (but CKR_BUFFER_TOO_SMALL)
    sig.resize(size);
    return sig;
}

}  // namespace

bool same_public_point(ByteView token_point, ByteView public_point)
{
    if (public_point.empty() || public_point.size() > 127) return false;
    if (std::equal(token_point.begin(), token_point.end(), public_point.begin(), public_point.end()))
        return true;
    // DER OCTET STRING, short length form: every point of the curves we take fits.
    return token_point.size() == public_point.size() + 2 && token_point[0] == 0x04 &&
           token_point[1] == public_point.size() &&
           std::equal(token_point.begin() + 2, token_point.end(), public_point.begin(), public_point.end());
}

namespace {

// The token signs a fixed digest; the certificate's key must verify it.
KeyProof prove_by_signature(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const KeyMatch& m)
{
    if (!m.type || m.public_key_info.empty()) return KeyProof::Unknown;
    static constexpr char text[] = "ssm-milter: which key under this CKA_ID is the certificate's";
    const ByteView message(reinterpret_cast<const std::uint8_t*>(text), sizeof text - 1);
    if (*m.type != CKK_EC_EDWARDS && *m.type != CKK_EC) return KeyProof::Unknown;
    const GnutlsPubkey public_key = matched_public_key(m);
    if (!public_key) return KeyProof::Unknown;
    const auto judged = [](bool verified) { return verified ? KeyProof::Proven : KeyProof::Disproven; };
    if (*m.type == CKK_EC_EDWARDS) {
        const Bytes sig = token_signature(f, s, key, CK_MECHANISM{CKM_EDDSA, nullptr, 0}, message);
        if (sig.empty()) return KeyProof::Unknown;
        return judged(verifies(public_key.get(), GNUTLS_SIGN_EDDSA_ED25519, message, sig, false));
    }
    // The digest of the curve's strength, as for a CSR: a token may refuse CKM_ECDSA input
    // longer than the curve order (CKR_DATA_LEN_RANGE), and a refusal proves nothing.
    unsigned bits = 0;
    if (gnutls_pubkey_get_pk_algorithm(public_key.get(), &bits) != GNUTLS_PK_ECDSA) return KeyProof::Unknown;
    const gnutls_digest_algorithm_t hash = ecdsa_digest_for_curve_bits(bits);
    std::array<std::uint8_t, 64> buffer{};
    const ByteView digest(buffer.data(), gnutls_hash_get_len(hash));
    if (gnutls_hash_fast(hash, message.data(), message.size(), buffer.data()) < 0) return KeyProof::Unknown;
    const Bytes raw = token_signature(f, s, key, CK_MECHANISM{CKM_ECDSA, nullptr, 0}, digest);
    if (raw.empty()) return KeyProof::Unknown;
    // An r||s of odd length is the token's own fault, not another key's: nothing learnt.
    GnutlsDatum der;
    if (ecdsa_sig_value_from_raw(raw, &der.d) < 0) return KeyProof::Unknown;
    return judged(verifies(public_key.get(), gnutls_pk_to_sign(GNUTLS_PK_ECDSA, hash), digest,
                           der.view(), true));
}

// For keys that may only derive: an ECDH with a fresh ephemeral key whose Z we compute with
// the certificate's point (base/nettle_ecc.h) must be the Z the token derives.
KeyProof prove_by_agreement(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const KeyMatch& m)
{
    const ByteView point = m.public_point;
    if (!m.type || *m.type != CKK_EC || point.size() < 3 || point[0] != 0x04 || point.size() % 2 != 1)
        return KeyProof::Unknown;
    const std::size_t size = (point.size() - 1) / 2;
    const ecc_curve* curve = nist_curve_of_size(size);
    if (!curve) return KeyProof::Unknown;
    Bytes expected(size), ephemeral, z(size);
    KeyProof proof = KeyProof::Unknown;
    try {
        if (ephemeral_ecdh(curve, size, point.subspan(1, size), point.subspan(1 + size), expected.data(), ephemeral)) {
            CK_ULONG returned = 0;
            if (token_ecdh(f, s, key, ephemeral, z, returned) == CKR_OK && returned == size)
                proof = z == expected ? KeyProof::Proven : KeyProof::Disproven;
        }
    } catch (const Error&) {
        // The random generator failed: nothing learnt.
    }
    secure_wipe(expected.data(), expected.size());
    secure_wipe(z.data(), z.size());
    return proof;
}

}  // namespace

KeyProof prove_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const KeyMatch& m)
{
    const KeyProof by_signature = prove_by_signature(f, s, key, m);
    return by_signature != KeyProof::Unknown ? by_signature : prove_by_agreement(f, s, key, m);
}

}  // namespace ssm::hsm
