// Which private key object on a token belongs to a certificate. Keys are found by the
// certificate's CKA_ID, but nothing on a token keeps two keys from sharing an id, or a key
// that is not the certificate's from sitting under it (pkcs11-tool writes the id it is told; a
// token re-initialised and filled again under the same ids): the key type, an RSA key's
// CKA_MODULUS and an EC key's curve must also be the certificate's. Inputs: the certificate
// (parsed defensively) and what the token answers (trusted as far as it goes).
#pragma once
#include <optional>

#include <pkcs11-helper-1.0/pkcs11h-core.h>

#include "base/bytes.h"

namespace ssm::hsm {

// What the certificate says of its private key.
struct KeyMatch {
    Bytes id;                         // CKA_ID shared by certificate and key
    std::optional<CK_KEY_TYPE> type;  // CKK_RSA, CKK_EC, CKK_EC_EDWARDS; nullopt: not checked
    Bytes rsa_modulus;                // RSA: n, big-endian without leading zero octets
    Bytes ec_params;                  // EC: DER OID of the named curve (empty: not checked)
    // EC and Ed25519: the certificate's public key, to tell apart keys of one curve under one
    // id (key_proof.h). The point bare (X9.62 uncompressed, or Ed25519's 32 octets); the
    // SubjectPublicKeyInfo DER to verify a key's proof signature. Empty: not known.
    Bytes public_point;
    Bytes public_key_info;

    // Two certificates may share a CKA_ID with different keys: one cache entry per key.
    Bytes cache_key() const;
};

// From the certificate's DER (a certificate that does not parse: the id alone).
KeyMatch key_match_for(ByteView certificate_der, ByteView id);

// Whether a private key of `token_type` (CKA_KEY_TYPE) may be the key of a certificate whose
// key is `certificate_type`: the same type, or a vendor-defined one, which is not compared.
bool key_type_matches(CK_KEY_TYPE token_type, CK_KEY_TYPE certificate_type);

struct KeyLookup {
    CK_RV rv = CKR_OK;                            // of the token's find calls
    CK_OBJECT_HANDLE handle = CK_INVALID_HANDLE;  // the certificate's key, or invalid
    unsigned others = 0;  // the other private keys under the id (another key, or a copy)
    // How the key was told apart from others of its type and curve under the id: "attributes"
    // (no other such key), "ec_point" (the key object's CKA_EC_POINT), "proof" (its signature
    // or ECDH was the certificate's, key_proof.h) or "first" (nothing told them apart: the
    // first, with token_signer.cpp's check of every signature behind it).
    const char* chosen_by = "";
};

// Searches the private keys under match.id on this session and returns the certificate's:
// the keys whose type, RSA modulus and curve are the certificate's (attributes the token will
// not reveal count as matching); among EC or Ed25519 such keys (one or several), the one whose
// CKA_EC_POINT is the certificate's point, else the first that proves itself (a signature the
// certificate verifies, or an ECDH whose secret is the certificate's, key_proof.h); a key that
// shows another point or proves to be another key is never chosen, and keys the token lets do
// neither are taken in token order. A public key
// object under the id cannot decide: it shares the id with every one of the private keys.
KeyLookup find_private_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE session, const KeyMatch& match);

}  // namespace ssm::hsm
