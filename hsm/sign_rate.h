// Raw signing and decryption throughput of a Signer / Decrypter (no CMS, no MIME): for
// benchmarks and `ssmctl`. Inputs are fixed dummy values; nothing here is security relevant.
#pragma once
#include <chrono>

#include "smime/decrypter.h"
#include "smime/signer.h"

namespace ssm::hsm {

// Signs repeatedly for about `duration` (at least one signature) and returns signatures/s.
// Throws what the signer throws.
double measure_sign_rate(smime::Signer& signer, smime::DigestAlgorithm digest,
                         smime::SignatureScheme scheme, std::chrono::milliseconds duration);

// Decrypts (RSA: raw operation on a fixed block below the modulus) or derives (EC: ECDH with
// the certificate's own public point) for about `duration` and returns operations/s.
// Throws what the decrypter throws.
double measure_decrypt_rate(smime::Decrypter& decrypter, std::chrono::milliseconds duration);

}  // namespace ssm::hsm
