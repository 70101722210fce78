// Telling apart private keys that share a certificate's CKA_ID, type and curve (key_match.h):
// nothing else on the key object is required to name its public key (SoftHSM 2.6 answers
// CKA_EC_POINT with CKR_ATTRIBUTE_TYPE_INVALID and CKA_PUBLIC_KEY_INFO empty on EC private
// keys), so the key proves itself: the token signs a fixed digest and the certificate's
// public key must verify it, or (a derive-only key) derives a secret we can compute too.
// Inputs: what the token answers; the certificate's key (parsed from the certificate, see
// KeyMatch).
#pragma once
#include <pkcs11-helper-1.0/pkcs11h-core.h>

#include "base/bytes.h"

namespace ssm::hsm {

struct KeyMatch;

// Whether `token_point` (a key object's CKA_EC_POINT: the point, bare or DER OCTET STRING
// wrapped, as tokens differ) is the certificate's `public_point` (bare).
bool same_public_point(ByteView token_point, ByteView public_point);

// What the EC or Ed25519 private key `key` shows of itself: Proven (the certificate's public
// key of `match` verifies a signature it makes, or, for a key that may not sign, an ECDH with
// a fresh ephemeral key gives the Z the certificate's point gives), Disproven (the token
// signed or derived, and the result is another key's), Unknown (the token refuses both, or
// the certificate's key is not EC/Ed25519: nothing learnt). Makes at most one signature and
// one derivation on session `s` (idle: between operations).
enum class KeyProof { Proven, Disproven, Unknown };
KeyProof prove_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, const KeyMatch& match);

}  // namespace ssm::hsm
