// One ECDH inside the token: CKM_ECDH1_DERIVE with the null KDF, for decryption
// (token_decrypter.cpp: Z of a KeyAgreeRecipientInfo) and for the proof that a derive-only key
// is a certificate's (key_proof.cpp).
#pragma once
#include <pkcs11-helper-1.0/pkcs11h-core.h>

#include "base/bytes.h"

namespace ssm::hsm {

// Derives Z of `key` with the peer point `peer` (04||X||Y, already checked to be on the
// key's curve) into `z` (sized to the field by the caller); `returned` is the size the token
// gave. The secret is a session object, read once and destroyed. The session must be idle.
CK_RV token_ecdh(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, ByteView peer, Bytes& z,
                 CK_ULONG& returned);

}  // namespace ssm::hsm
