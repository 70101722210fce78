// The in-memory memo of parsed certificates (see certificate_memo.h). Entries are immutable
// pki::SharedCertificate values; a shard's lock guards only its list and index (never a parse
// or a GnuTLS call), and a caller leaves with its own reference to the entry.
#include "directory/certificate_memo.h"

#include <algorithm>
#include <cstring>
#include <list>
#include <mutex>
#include <unordered_map>

#include "base/error.h"
#include "base/sha256.h"

namespace ssm::directory {

namespace {

using Digest = std::array<std::uint8_t, 32>;

// A memo is an optimisation: without a digest the certificate is parsed and not remembered.
bool digest_of(ByteView der, Digest& out)
{
    try {
        out = sha256(der);
        return true;
    } catch (const Error&) {
        return false;
    }
}

struct DigestHash {
    std::size_t operator()(const Digest& d) const noexcept
    {
        std::size_t h = 0;
        std::memcpy(&h, d.data(), sizeof h);  // SHA-256 output: already uniform
        return h;
    }
};

bool same_bytes(ByteView a, ByteView b)
{
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

}  // namespace

struct CertificateMemo::Shard {
    struct Node {
        Digest digest;
        pki::SharedCertificate cert;
        std::size_t cost;
    };
    std::mutex mutex;
    std::list<Node> lru;  // front: most recently used; guarded by mutex
    std::unordered_map<Digest, std::list<Node>::iterator, DigestHash> index;  // guarded by mutex
    std::size_t bytes = 0;           // guarded by mutex
    std::uint64_t evictions = 0;     // guarded by mutex
};

CertificateMemo::CertificateMemo(std::size_t budget_bytes)
    : m_budget(budget_bytes), m_shards(std::make_unique<Shard[]>(shard_count))
{
}

CertificateMemo::~CertificateMemo() = default;

CertificateMemo::Shard& CertificateMemo::shard_of(const Digest& d) const
{
    return m_shards[d[8] % shard_count];  // bytes 0..7 feed the index's hash
}

std::optional<pki::SharedCertificate> CertificateMemo::get(ByteView der)
{
    if (der.empty() || der.size() > pki::max_certificate_size) return std::nullopt;
    Digest d;
    if (!digest_of(der, d)) return pki::SharedCertificate::parse_der(der);  // not remembered
    Shard& s = shard_of(d);
    {
        std::lock_guard lock(s.mutex);
        if (auto it = s.index.find(d); it != s.index.end() && same_bytes(it->second->cert.der(), der)) {
            s.lru.splice(s.lru.begin(), s.lru, it->second);
            ++m_hits;
            return it->second->cert;
        }
    }
    ++m_misses;
    // Parsed outside the lock: two threads missing one certificate may both parse it; the
    // second insert finds the first and changes nothing.
    auto cert = pki::SharedCertificate::parse_der(der);
    if (cert) insert(d, *cert);
    return cert;
}

void CertificateMemo::remember(const pki::SharedCertificate& cert)
{
    Digest d;
    if (digest_of(cert.der(), d)) insert(d, cert);
}

void CertificateMemo::insert(const Digest& d, const pki::SharedCertificate& cert)
{
    const std::size_t shard_budget = m_budget / shard_count;
    // The node, its index slot and the allocator's overhead, beside the data itself.
    const std::size_t cost = cert.memory_size() + sizeof(Shard::Node) + 64;
    if (cost > shard_budget) return;
    Shard& s = shard_of(d);
    std::lock_guard lock(s.mutex);
    if (auto it = s.index.find(d); it != s.index.end()) {
        // Remembered already (or, against all odds, a SHA-256 collision: the first stays).
        if (same_bytes(it->second->cert.der(), cert.der())) s.lru.splice(s.lru.begin(), s.lru, it->second);
        return;
    }
    s.lru.push_front(Shard::Node{d, cert, cost});
    s.index.emplace(d, s.lru.begin());
    s.bytes += cost;
    while (s.bytes > shard_budget) {
        const Shard::Node& victim = s.lru.back();
        s.bytes -= victim.cost;
        s.index.erase(victim.digest);
        s.lru.pop_back();
        ++s.evictions;
    }
}

void CertificateMemo::clear()
{
    for (std::size_t i = 0; i < shard_count; ++i) {
        Shard& s = m_shards[i];
        std::lock_guard lock(s.mutex);
        s.index.clear();
        s.lru.clear();
        s.bytes = 0;
    }
}

CertificateMemo::Stats CertificateMemo::stats() const
{
    Stats st;
    for (std::size_t i = 0; i < shard_count; ++i) {
        Shard& s = m_shards[i];
        std::lock_guard lock(s.mutex);
        st.entries += s.lru.size();
        st.bytes += s.bytes;
        st.evictions += s.evictions;
    }
    st.hits = m_hits.load();
    st.misses = m_misses.load();
    return st;
}

}  // namespace ssm::directory
