// Streaming message digests (SHA-256/384/512) over GnuTLS, usable as a ByteSink so content
// can be hashed while it flows spool-to-spool. Input is arbitrary bytes; nothing is parsed.
#pragma once
#include <gnutls/crypto.h>

#include "base/bytes.h"
#include "base/stream.h"
#include "smime/algorithms.h"
#include "smime/gnutls_digest.h"

namespace ssm::smime::cms {

class Hasher final : public ByteSink {
public:
    explicit Hasher(DigestAlgorithm algorithm);
    ~Hasher() override;
    Hasher(const Hasher&) = delete;
    Hasher& operator=(const Hasher&) = delete;

    using ByteSink::write;
    void write(ByteView data) override;
    // The digest; the hasher is spent afterwards (write/finish throw Internal).
    Bytes finish();
    DigestAlgorithm algorithm() const { return m_algorithm; }

private:
    DigestAlgorithm m_algorithm;
    gnutls_hash_hd_t m_handle = nullptr;
};

// One-shot digest of a buffer.
Bytes digest_of(DigestAlgorithm algorithm, ByteView data);

}  // namespace ssm::smime::cms
