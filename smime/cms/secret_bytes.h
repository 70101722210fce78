// Key material in memory (content-encryption keys, KEKs, ECDH shared secrets, ephemeral
// scalars): a fixed-size byte buffer and a GMP integer, both wiped when they go away.
// They hold only our own secrets.
#pragma once
#include <gmp.h>

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/nettle_ecc.h"
#include "base/secure_buffer.h"

namespace ssm::smime::cms {

class SecretBytes {
public:
    explicit SecretBytes(std::size_t size) : m_data(size) {}
    ~SecretBytes() { secure_wipe(m_data.data(), m_data.size()); }
    SecretBytes(const SecretBytes&) = delete;
    SecretBytes& operator=(const SecretBytes&) = delete;
    // Moves leave the source empty (the vector's buffer changes owner, nothing is copied).
    SecretBytes(SecretBytes&& o) noexcept : m_data(std::move(o.m_data)) { o.m_data.clear(); }
    SecretBytes& operator=(SecretBytes&&) = delete;

    std::uint8_t* data() { return m_data.data(); }
    const std::uint8_t* data() const { return m_data.data(); }
    std::size_t size() const { return m_data.size(); }
    ByteView view() const { return m_data; }

private:
    Bytes m_data;
};

// One GMP integer whose limbs are wiped before GMP frees them.
using SecretMpz = ssm::WipedMpz;

// Fills `out` from GnuTLS's key-level generator; Internal if the generator fails.
void random_key_bytes(std::uint8_t* out, std::size_t n);
// Unpredictable but public values (IVs, nonces, OAEP seeds).
void random_bytes(std::uint8_t* out, std::size_t n);

}  // namespace ssm::smime::cms
