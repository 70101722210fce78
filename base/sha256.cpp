// SHA-256 through gnutls_hash_fast (see sha256.h).
#include "base/sha256.h"

#include <gnutls/crypto.h>

#include "base/error.h"

namespace ssm {

Sha256Digest sha256(ByteView data)
{
    Sha256Digest digest{};
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, data.data(), data.size(), digest.data()) < 0)
        throw Error(Failure::Internal, "SHA-256 unavailable");
    return digest;
}

}  // namespace ssm
