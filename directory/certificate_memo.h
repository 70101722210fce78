// Parsed certificates kept in memory, keyed by their DER, so that the sources backed by LMDB
// (lookup cache, harvest store) do not parse a certificate and read its facts again on every
// lookup (~20 µs + ~20 µs of GnuTLS per certificate). What is kept is pki::SharedCertificate:
// immutable DER + facts, no GnuTLS object, so threads share entries without any GnuTLS call.
// SECURITY: the DER is untrusted. The memo is content-addressed (SHA-256 of the DER, then the
// DER compared byte for byte), so an entry can only ever answer for exactly the bytes it was
// parsed from: it never decides which certificates an address has, how fresh an answer is, or
// whether a certificate is valid (the LMDB records and the choice do, as before).
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "base/bytes.h"
#include "pki/certificate.h"

namespace ssm::directory {

class CertificateMemo {
public:
    // 16 MiB holds some 6000 typical (RSA-2048, ~1.3 KiB) certificates with their facts: more
    // than the partners a gateway writes to in a day. A certificate that was dropped costs one
    // parse when it is next needed.
    static constexpr std::size_t default_budget = 16 * 1024 * 1024;

    explicit CertificateMemo(std::size_t budget_bytes = default_budget);
    ~CertificateMemo();
    CertificateMemo(const CertificateMemo&) = delete;
    CertificateMemo& operator=(const CertificateMemo&) = delete;

    // The certificate made of exactly `der`: the remembered one, or parsed now and remembered.
    // nullopt (nothing remembered) when GnuTLS cannot read it. Thread-safe.
    std::optional<pki::SharedCertificate> get(ByteView der);
    // Remembers a certificate parsed elsewhere (a directory's fresh answer). Thread-safe.
    void remember(const pki::SharedCertificate& cert);
    // Forgets everything (the memory goes once no candidate holds the entries any more).
    void clear();

    struct Stats {
        std::size_t entries = 0;
        std::size_t bytes = 0;  // approximate (pki::SharedCertificate::memory_size)
        std::uint64_t hits = 0, misses = 0, evictions = 0;
    };
    Stats stats() const;
    std::size_t budget() const noexcept { return m_budget; }

private:
    // Least recently used entries go first, per shard; each shard has its own lock and an
    // equal part of the budget, so lookups of different certificates rarely wait.
    static constexpr std::size_t shard_count = 16;
    struct Shard;
    using Digest = std::array<std::uint8_t, 32>;
    Shard& shard_of(const Digest& d) const;
    void insert(const Digest& d, const pki::SharedCertificate& cert);

    std::size_t m_budget;
    std::unique_ptr<Shard[]> m_shards;
    std::atomic<std::uint64_t> m_hits{0}, m_misses{0};
};

}  // namespace ssm::directory
