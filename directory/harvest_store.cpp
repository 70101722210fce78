// Harvested certificate store on LMDB (see harvest_store.h for the record format). Records are
// parsed with explicit bounds on every length; anything inconsistent is dropped, never guessed.
#include "directory/harvest_store.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "base/error.h"
#include "base/log.h"
#include "base/name_compare.h"
#include "base/sha256.h"
#include "directory/record_codec.h"
#include "pki/certificate.h"
#include "pki/certificate_signature.h"

namespace ssm::directory {

namespace {

using record::put_uint;
using record::Reader;

constexpr std::uint8_t harvest_format_version = 1;
constexpr std::size_t kHashPart = 16;  // octets of SHA-256 in an intermediates key, per half

// The first kHashPart octets of SHA-256 over `data`, as key bytes.
std::string hash_part(ByteView data)
{
    const Sha256Digest digest = sha256(data);
    return std::string(reinterpret_cast<const char*>(digest.data()), kHashPart);
}

// The first half of an intermediates key: a CA's subject Name as RFC 5280 §7.1 compares it,
// hashed; what store_intermediates writes and lookup asks for a certificate's issuer Name.
std::string name_hash_part(ByteView name_der)
{
    return hash_part(as_bytes(comparable_name(name_der)));
}

struct Record {
    std::time_t seen_at = 0;
    Bytes cert;
    std::optional<Bytes> caps;
};

std::optional<std::vector<Record>> decode_harvest(ByteView value)
{
    Reader r(value);
    std::uint64_t version = 0, count = 0;
    if (!r.uint(1, version) || version != harvest_format_version || !r.uint(1, count) ||
        count > HarvestStore::max_per_address)
        return std::nullopt;
    std::vector<Record> out;
    for (std::uint64_t i = 0; i < count; ++i) {
        Record rec;
        std::uint64_t seen = 0, len = 0, has_caps = 0;
        ByteView b;
        if (!r.uint(8, seen) || !r.uint(4, len) || len == 0 || len > pki::max_certificate_size ||
            !r.take(len, b))
            return std::nullopt;
        rec.seen_at = static_cast<std::time_t>(static_cast<std::int64_t>(seen));
        rec.cert.assign(b.begin(), b.end());
        if (!r.uint(1, has_caps) || has_caps > 1) return std::nullopt;
        if (has_caps) {
            if (!r.uint(4, len) || len == 0 || len > HarvestStore::max_capabilities_size || !r.take(len, b))
                return std::nullopt;
            rec.caps = Bytes(b.begin(), b.end());
        }
        out.push_back(std::move(rec));
    }
    if (!r.done()) return std::nullopt;
    return out;
}

Bytes encode_harvest(const std::vector<Record>& records)
{
    Bytes out{harvest_format_version, static_cast<std::uint8_t>(records.size())};
    for (const auto& rec : records) {
        put_uint(out, static_cast<std::uint64_t>(static_cast<std::int64_t>(rec.seen_at)), 8);
        put_uint(out, rec.cert.size(), 4);
        out.insert(out.end(), rec.cert.begin(), rec.cert.end());
        out.push_back(rec.caps ? 1 : 0);
        if (rec.caps) {
            put_uint(out, rec.caps->size(), 4);
            out.insert(out.end(), rec.caps->begin(), rec.caps->end());
        }
    }
    return out;
}

// A stored value's records; nullopt (and the `<database>_record_corrupt` warning, the one for
// every read of a corrupt record) when it does not decode.
std::optional<std::vector<Record>> decode_or_warn(ByteView value, const std::string& key, const std::string& database)
{
    auto records = decode_harvest(value);
    if (!records) log::warning(database + "_record_corrupt", {{"address", log::sanitise(key)}});
    return records;
}

}  // namespace

HarvestStore::HarvestStore(const std::filesystem::path& folder, const lmdb::EnvironmentOptions& options)
    : HarvestStore(lmdb::Environment::open(folder, options))
{
}

HarvestStore::HarvestStore(std::shared_ptr<lmdb::Environment> env, Kind kind, std::shared_ptr<CertificateMemo> memo)
    : m_env(std::move(env)),
      m_database(kind == Kind::Harvested ? "harvest" : "imported"),
      m_source_name(kind == Kind::Harvested ? "harvested" : "imported"),
      m_dbi(m_env->database(m_database)),
      m_intermediates_dbi(m_env->database("intermediates")),
      m_memo(memo ? std::move(memo) : std::make_shared<CertificateMemo>())
{
}

std::size_t HarvestStore::store_intermediates(std::span<const Bytes> ders)
{
    std::size_t added = 0;
    lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Write);
    MDB_stat stat{};
    lmdb::check(mdb_stat(txn.get(), m_intermediates_dbi, &stat), *m_env, "stat intermediates");
    std::size_t entries = stat.ms_entries;
    for (const Bytes& der : ders) {
        if (der.size() > pki::max_certificate_size) continue;
        const auto cert = m_memo->get(der);
        if (!cert || !cert->facts().is_ca) continue;
        const Bytes& fingerprint = cert->facts().sha256_fingerprint;  // SHA-256 of `der`, already made
        if (fingerprint.size() < kHashPart) continue;
        const std::string key = name_hash_part(cert->facts().subject_der) +
                                std::string(reinterpret_cast<const char*>(fingerprint.data()), kHashPart);
        if (txn.get(m_intermediates_dbi, key)) continue;
        if (entries >= max_intermediates) {
            log::warning("harvest_intermediates_full", {{"limit", std::to_string(max_intermediates)}});
            break;
        }
        txn.put(m_intermediates_dbi, key, der);
        ++entries;
        ++added;
    }
    if (added) txn.commit();
    return added;
}

bool HarvestStore::store(const EmailAddress& address, ByteView cert_der, std::optional<ByteView> caps,
                         std::time_t seen_at)
{
    const std::string key = address_key(address);
    // Through the memo: a signer's certificate arrives again with each of their messages.
    auto cert = m_memo->get(cert_der);
    if (!cert || !cert->facts().has_address(key)) return false;
    if (caps && (caps->empty() || caps->size() > max_capabilities_size)) return false;

    // LMDB serialises write transactions, so this read-modify-write is atomic.
    lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Write);
    // A corrupt record is replaced: it held nothing that can be read back.
    std::vector<Record> records;
    if (const auto value = txn.get(m_dbi, key))
        records = decode_or_warn(*value, key, m_database).value_or(std::vector<Record>{});
    auto same = std::find_if(records.begin(), records.end(), [&](const Record& r) {
        return std::equal(r.cert.begin(), r.cert.end(), cert_der.begin(), cert_der.end());
    });
    if (same != records.end()) {
        same->seen_at = std::max(same->seen_at, seen_at);
        if (caps) same->caps = Bytes(caps->begin(), caps->end());
    } else {
        Record rec{seen_at, Bytes(cert_der.begin(), cert_der.end()), std::nullopt};
        if (caps) rec.caps = Bytes(caps->begin(), caps->end());
        records.push_back(std::move(rec));
        if (records.size() > max_per_address)
            records.erase(std::min_element(records.begin(), records.end(), [](const Record& a, const Record& b) {
                return a.seen_at < b.seen_at;
            }));
    }
    txn.put(m_dbi, key, encode_harvest(records));
    txn.commit();
    return true;
}

std::vector<CertificateCandidate> HarvestStore::lookup(const EmailAddress& address)
{
    const std::string key = address_key(address);
    std::vector<Record> records;
    {
        lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Read);
        if (const auto value = txn.get(m_dbi, key)) {
            auto decoded = decode_or_warn(*value, key, m_database);
            // A record that does not decode held something: the recipient's certificate
            // perhaps. "None" would refuse mail for good (550) or let it leave unencrypted;
            // like a store that cannot be opened, it is "cannot ask" (451 4.7.1 where a
            // certificate is mandatory) until the next certificate stored for the address
            // replaces it.
            if (!decoded)
                throw Error(Failure::DirectoryUnavailable,
                            m_source_name + " certificate record for " + log::sanitise(key) + " is corrupt");
            records = std::move(*decoded);
        }
    }
    std::vector<CertificateCandidate> out;
    for (auto& rec : records) {
        auto cert = m_memo->get(rec.cert);
        if (!cert) continue;
        out.push_back(CertificateCandidate{std::move(*cert), m_source_name, std::move(rec.caps), rec.seen_at});
    }
    if (out.empty()) return out;
    // The CA certificates above them, level by level: by the hash of each issuer Name as RFC
    // 5280 §7.1 compares it, and (entries written before 2026-12-06) of its bytes.
    lmdb::Transaction txn(*m_env, lmdb::Transaction::Mode::Read);
    lmdb::Cursor cursor(txn, m_intermediates_dbi, *m_env);
    std::vector<std::string> asked;
    std::vector<Bytes> added;  // fingerprints: a CA stored under both kinds of key comes back once
    std::size_t from = 0;
    for (std::size_t depth = 0; depth < max_chain_depth && from < out.size(); ++depth) {
        const std::size_t to = out.size();
        for (std::size_t i = from; i < to; ++i) {
            const pki::CertificateFacts& f = out[i].cert.facts();
            if (f.self_signed) continue;
            std::optional<pki::Certificate> subject;
            const std::string prefixes[] = {name_hash_part(f.issuer_der), hash_part(f.issuer_der)};
            for (const std::string& prefix : prefixes) {
                if (std::find(asked.begin(), asked.end(), prefix) != asked.end()) continue;
                asked.push_back(prefix);
                // The name is the sender's to choose: any signed message may carry CA
                // certificates named like a partner's issuing CA. Only those whose key signed
                // this certificate come back; the others, up to max_intermediates of them,
                // crowded the real issuer out of the choice's first kMaxChainCertificates and
                // its path failed.
                MDB_val k{prefix.size(), const_cast<char*>(prefix.data())}, v{};
                for (int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
                     rc == 0 && k.mv_size == 2 * kHashPart && std::memcmp(k.mv_data, prefix.data(), kHashPart) == 0;
                     rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT)) {
                    auto ca = m_memo->get(ByteView(static_cast<const std::uint8_t*>(v.mv_data), v.mv_size));
                    if (!ca || !same_name(ca->facts().subject_der, f.issuer_der)) continue;
                    const Bytes& fingerprint = ca->facts().sha256_fingerprint;
                    if (std::find(added.begin(), added.end(), fingerprint) != added.end()) continue;
                    if (!subject) subject = out[i].cert.parse();
                    if (!pki::signed_by(*subject, ca->parse())) continue;
                    added.push_back(fingerprint);
                    out.push_back(CertificateCandidate{std::move(*ca), m_source_name + " chain", std::nullopt, 0});
                }
            }
        }
        from = to;
    }
    return out;
}

}  // namespace ssm::directory
