// Signing-rate measurement (see sign_rate.h).
#include "hsm/sign_rate.h"

#include "base/bytes.h"

namespace ssm::hsm {

double measure_sign_rate(smime::Signer& signer, smime::DigestAlgorithm digest,
                         smime::SignatureScheme scheme, std::chrono::milliseconds duration)
{
    using Clock = std::chrono::steady_clock;
    const Bytes hash(smime::digest_size(digest), 0x5a);
    const auto start = Clock::now();
    const auto end = start + duration;
    std::size_t count = 0;
    do {
        if (scheme == smime::SignatureScheme::Ed25519)
            signer.sign_message(scheme, hash);
        else
            signer.sign_digest(scheme, digest, hash);
        ++count;
    } while (Clock::now() < end);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    return static_cast<double>(count) / elapsed.count();
}

}  // namespace ssm::hsm
