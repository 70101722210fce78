// Random multipart boundaries from gnutls_rnd (the process's one CSPRNG).
#include "smime/mime/boundary.h"

#include <gnutls/crypto.h>

#include <array>
#include <cstdint>

#include "base/bytes.h"
#include "base/error.h"

namespace ssm::smime::mime {

std::string make_boundary()
{
    std::array<std::uint8_t, 16> rnd{};
    if (gnutls_rnd(GNUTLS_RND_NONCE, rnd.data(), rnd.size()) != 0)
        throw Error(Failure::Internal, "gnutls_rnd failed");
    return "=_ssm_" + to_hex(rnd);
}

}  // namespace ssm::smime::mime
