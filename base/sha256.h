// SHA-256 of a byte string, through GnuTLS, for every layer that needs a digest as a key or a
// fingerprint. Any input is acceptable; the digest says nothing about trust.
#pragma once
#include <array>
#include <cstdint>

#include "base/bytes.h"

namespace ssm {

using Sha256Digest = std::array<std::uint8_t, 32>;

// The SHA-256 digest of `data`. Throws ssm::Error(Failure::Internal) if GnuTLS refuses the
// hash (a broken library or a policy that forbids SHA-256): callers that can do without the
// digest catch it, the others let it reach the guard as a tempfail.
Sha256Digest sha256(ByteView data);

}  // namespace ssm
