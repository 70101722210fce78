// The output side of one PKCS#11 signature, shared by both key backends (helper_key.h,
// pooled_key.h): one call with a buffer large enough for any key we sign with (RSA up to
// 8192 bits, ECDSA P-521, Ed25519) instead of a size query first, which saves a token call
// per message. A token that still answers CKR_BUFFER_TOO_SMALL keeps the operation active
// and names the size (PKCS#11 §5.2): the second call with that size finishes it, so the
// session is never left with an operation dangling.
#pragma once
#include <cstddef>

#include "base/bytes.h"
#include "hsm/pkcs11_library.h"

namespace ssm::hsm {

inline constexpr std::size_t kSignatureBuffer = 1024;  // an RSA-8192 signature; P-521 needs 132

// call(CK_BYTE_PTR out, Size* size) -> CK_RV makes the signature (C_Sign or the helper's
// equivalent; Size is CK_ULONG or size_t). On CKR_OK, out holds exactly the signature.
template <typename Size, typename SignCall>
CK_RV sign_into(Bytes& out, SignCall&& call)
{
    out.resize(kSignatureBuffer);
    Size size = out.size();
    CK_RV rv = call(out.data(), &size);
    if (rv == CKR_BUFFER_TOO_SMALL) {
        out.resize(size);
        rv = call(out.data(), &size);
    }
    if (rv != CKR_OK) return rv;
    if (size > out.size()) return CKR_GENERAL_ERROR;  // a module that wrote past what we gave it
    out.resize(size);
    return CKR_OK;
}

}  // namespace ssm::hsm
