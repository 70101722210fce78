// Raw signing throughput of a Signer (no CMS, no MIME): for benchmarks and `ssmctl`.
// The digest signed is a fixed dummy value; nothing here is security relevant.
#pragma once
#include <chrono>

#include "smime/signer.h"

namespace ssm::hsm {

// Signs repeatedly for about `duration` (at least one signature) and returns signatures/s.
// Throws what the signer throws.
double measure_sign_rate(smime::Signer& signer, smime::DigestAlgorithm digest,
                         smime::SignatureScheme scheme, std::chrono::milliseconds duration);

}  // namespace ssm::hsm
