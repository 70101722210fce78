// The persistent lookup cache (see lookup_cache.h for the rules and the record format).
// Records are parsed with explicit bounds on every length; a record that does not parse is a
// miss. The hit path is one LMDB read transaction and the memo's look-ups (a shard lock held for
// a list splice, no parse when the certificates were seen lately).
#include "directory/lookup_cache.h"

#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <utility>

#include "base/ascii.h"
#include "base/error.h"
#include "base/log.h"
#include "base/metrics.h"
#include "directory/record_codec.h"

namespace ssm::directory {

namespace {

// 1: certificates only; 2: a flags octet after each certificate (bit 0: DANE-EE). Version 1
// records (written before) are still read, their certificates without flags.
constexpr std::uint8_t cache_format_version = 2;
constexpr std::uint8_t flag_dane_ee = 0x01;
constexpr const char* database_name = "cache";
constexpr std::int64_t max_fetched_at = std::int64_t{1} << 40;  // year ~36800

std::optional<CacheEntry> decode_cache_entry(ByteView value)
{
    record::Reader r(value);
    std::uint64_t version = 0, len = 0, count = 0;
    std::int64_t fetched = 0;
    ByteView b;
    // fetched_at is bounded so that ages computed from it cannot overflow.
    if (!r.uint(1, version) || (version != 1 && version != cache_format_version) || !record::time(r, fetched) || fetched < 0 ||
        fetched > max_fetched_at || !r.uint(2, len) || len > CachingSource::max_source_size || !r.take(len, b))
        return std::nullopt;
    CacheEntry e;
    e.fetched_at = static_cast<std::time_t>(fetched);
    e.source.assign(as_chars(b));
    if (!r.uint(1, count) || count > CachingSource::max_certificates) return std::nullopt;
    for (std::uint64_t i = 0; i < count; ++i) {
        if (!r.uint(4, len) || len == 0 || len > pki::max_certificate_size || !r.take(len, b)) return std::nullopt;
        std::uint64_t flags = 0;
        if (version >= 2 && (!r.uint(1, flags) || (flags & ~std::uint64_t{flag_dane_ee}) != 0)) return std::nullopt;
        e.certificates.push_back({Bytes(b.begin(), b.end()), (flags & flag_dane_ee) != 0});
    }
    if (!r.done()) return std::nullopt;
    return e;
}

Bytes encode_cache_entry(const CacheEntry& e)
{
    Bytes out{cache_format_version};
    record::put_time(out, e.fetched_at);
    record::put_uint(out, e.source.size(), 2);
    record::put_bytes(out, as_bytes(e.source));
    record::put_uint(out, e.certificates.size(), 1);
    for (const auto& c : e.certificates) {
        record::put_uint(out, c.der.size(), 4);
        record::put_bytes(out, c.der);
        record::put_uint(out, c.dane_ee ? flag_dane_ee : 0, 1);
    }
    return out;
}

// With `exact_local_part` the local part as the source is asked for it: such a source tells
// case apart (DNS SMIMEA hashes the local part as given, RFC 8162), and one spelling's answer
// must not stand for another's: a "none" for Dave@ would refuse dave@ for negative_ttl. Needless
// quotes are no spelling of their own ("a..b"@x and a..b@x ask the same owner name): one entry.
// Domains are lower case already.
std::string entry_key(const std::string& source_key, const EmailAddress& address, bool exact_local_part)
{
    std::string key = source_key;
    key.push_back('\0');
    key += exact_local_part ? address.directory_form() : address_key(address);
    return key;
}

// The key's two parts as log fields.
log::Fields key_fields(const std::string& key)
{
    const auto nul = key.find('\0');
    if (nul == std::string::npos) return {{"key", log::sanitise(key)}};
    return {{"source", log::sanitise(key.substr(0, nul))}, {"address", log::sanitise(key.substr(nul + 1))}};
}

log::Fields with(log::Fields f, std::string name, std::string value)
{
    f.emplace_back(std::move(name), std::move(value));
    return f;
}

// One search's outcome for the flight's waiters: the entry (as stored, or as it would be) and,
// for an answer the source's limits cut (LookupAnswer::cut), why: such an entry is not stored.
struct Fetched {
    CacheEntry entry;
    std::string cut;
};

}  // namespace

struct CachingSource::Impl {
    using Result = std::shared_ptr<const Fetched>;

    std::shared_ptr<lmdb::Environment> env;
    MDB_dbi dbi;
    std::size_t max_key_size;
    std::shared_ptr<CertificateSource> inner;
    std::string inner_name;
    std::string key_prefix;  // the inner source's cache_key()
    CacheSettings settings;
    Serves serves;
    Clock clock;
    std::shared_ptr<CertificateMemo> memo;
    bool exact_local_part = false;

    std::atomic<std::time_t> down_until{0};  // the source failed: stale entries answer alone

    std::mutex flights_mutex;
    std::map<std::string, std::shared_future<Result>> flights;  // guarded by flights_mutex

    std::time_t now() const { return clock ? clock() : std::time(nullptr); }

    std::chrono::seconds ttl(const CacheEntry& e) const
    {
        return e.certificates.empty() ? settings.negative_ttl : settings.positive_ttl;
    }

    // An entry from the future (clock stepped back, or a record from another host) is not
    // trusted to be fresh: the source is asked again.
    bool fresh(const CacheEntry& e, std::time_t t) const
    {
        const std::time_t age = t - e.fetched_at;
        return age >= 0 && age < ttl(e).count();
    }

    bool may_stand_in(const CacheEntry& e, std::time_t t) const
    {
        const std::time_t age = t - e.fetched_at;
        return !e.certificates.empty() && age >= 0 && age < ttl(e).count() + settings.stale_limit.count();
    }

    // The stored entry; nullopt when absent, corrupt (logged) or unreadable (logged: the cache
    // is an optimisation, the source is asked instead).
    std::optional<CacheEntry> read(const std::string& key) const
    {
        if (key.size() > max_key_size) return std::nullopt;
        try {
            lmdb::Transaction txn(*env, lmdb::Transaction::Mode::Read);
            auto value = txn.get(dbi, key);
            if (!value) return std::nullopt;
            if (auto e = decode_cache_entry(*value)) return e;
            log::warning("cache-record-corrupt", key_fields(key));
        } catch (const std::exception& e) {
            log::warning("cache-read-failed", with(key_fields(key), "error", e.what()));
        }
        return std::nullopt;
    }

    void write(const std::string& key, const CacheEntry& e)
    {
        if (key.size() > max_key_size) return;
        try {
            lmdb::Transaction txn(*env, lmdb::Transaction::Mode::Write);
            txn.put(dbi, key, encode_cache_entry(e));
            txn.commit();
        } catch (const std::exception& ex) {
            // Not fatal: the answer is still used, only not remembered.
            log::warning("cache-write-failed", with(key_fields(key), "error", ex.what()));
        }
    }

    std::vector<CertificateCandidate> candidates(const CacheEntry& e) const
    {
        std::vector<CertificateCandidate> out;
        out.reserve(e.certificates.size());
        for (const auto& c : e.certificates) {
            if (auto cert = memo->get(c.der)) {
                out.push_back(CertificateCandidate{std::move(*cert), e.source, std::nullopt, 0});
                out.back().dane_ee = c.dane_ee;
            }
        }
        return out;
    }

    void stale_warning(const EmailAddress& address, const CacheEntry& e, std::time_t t, const std::string& why) const
    {
        log::warning("directory-stale-answer", {{"source", log::sanitise(inner_name)},
                                                {"address", log::sanitise(address_key(address))},
                                                {"age", std::to_string(t - e.fetched_at) + "s"},
                                                {"error", log::sanitise(why)}});
    }

    // Asks the inner source (the caller leads the flight for `key`). Returns the answer and
    // whether it is new (to be stored by the caller).
    std::pair<Result, bool> refresh(const std::string& key, const EmailAddress& address)
    {
        // A flight that ended between our cache read and our joining the map has stored its
        // answer: use it rather than asking again.
        std::optional<CacheEntry> existing = read(key);
        const std::time_t t0 = now();
        if (existing && fresh(*existing, t0)) {
            metrics::count_directory_cache(metrics::CacheResult::Hit);
            return {stored(std::move(*existing)), false};
        }
        if (existing && t0 < down_until.load() && may_stand_in(*existing, t0)) {
            stale_warning(address, *existing, t0, "directory failed recently, not asked");
            metrics::count_directory_cache(metrics::CacheResult::Stale);
            return {stored(std::move(*existing)), false};
        }
        LookupAnswer answer;
        try {
            answer = inner->answer(address);
        } catch (const Error& err) {
            if (err.failure() != Failure::DirectoryUnavailable) {
                metrics::count_directory_cache(metrics::CacheResult::Miss);
                throw;
            }
            const std::time_t t = now();
            down_until = t + settings.down_backoff.count();
            if (!existing || !may_stand_in(*existing, t)) {
                metrics::count_directory_cache(metrics::CacheResult::Miss);
                throw;
            }
            stale_warning(address, *existing, t, err.what());
            metrics::count_directory_cache(metrics::CacheResult::Stale);
            return {stored(std::move(*existing)), false};
        }
        metrics::count_directory_cache(metrics::CacheResult::Miss);
        const auto& found = answer.candidates;
        Fetched fetched;
        fetched.cut = answer.cut;
        CacheEntry& e = fetched.entry;
        e.fetched_at = now();
        e.source = found.empty() ? inner_name : found.front().source;
        if (e.source.size() > CachingSource::max_source_size) e.source.resize(CachingSource::max_source_size);
        if (found.size() > CachingSource::max_certificates) {
            // The record's own limit cuts the answer like the source's limits would.
            log::warning("cache-answer-truncated", {{"source", log::sanitise(inner_name)},
                                                    {"address", log::sanitise(address_key(address))},
                                                    {"certificates", std::to_string(found.size())}});
            fetched.cut += (fetched.cut.empty() ? "" : "; ") + std::to_string(found.size()) +
                           " certificates, of which the lookup cache keeps " +
                           std::to_string(CachingSource::max_certificates);
        }
        for (const auto& c : found) {
            if (e.certificates.size() == CachingSource::max_certificates) break;
            e.certificates.push_back({c.cert.der(), c.dane_ee});
            memo->remember(c.cert);  // parsed by the source already: the next hit need not
        }
        // A cut answer is used for this lookup (and its waiters) but not stored: stored, it would
        // stand for the address's whole answer until the TTL ends (a certificate the limits left
        // out unseen all that time, a cut negative refusing it), and stand in when the directory
        // is down. The entry stored before, if any, stays as it was.
        const bool store = fetched.cut.empty();
        return {std::make_shared<const Fetched>(std::move(fetched)), store};
    }

    static Result stored(CacheEntry e) { return std::make_shared<const Fetched>(Fetched{std::move(e), {}}); }

    Result fetch(const std::string& key, const EmailAddress& address)
    {
        std::promise<Result> promise;
        std::shared_future<Result> flight;
        {
            std::lock_guard lock(flights_mutex);
            if (auto it = flights.find(key); it != flights.end()) {
                flight = it->second;
            } else {
                flights.emplace(key, promise.get_future().share());
            }
        }
        if (flight.valid()) {
            // Found nothing fresh and waits for another lookup's search: a miss.
            metrics::count_directory_cache(metrics::CacheResult::Miss);
            return flight.get();  // rethrows the leader's exception
        }

        // Whatever happens below, the flight ends (last), or the key would wait forever.
        struct FlightEnd {
            Impl& impl;
            const std::string& key;
            ~FlightEnd()
            {
                std::lock_guard lock(impl.flights_mutex);
                impl.flights.erase(key);
            }
        } end{*this, key};
        std::pair<Result, bool> answer;
        try {
            answer = refresh(key, address);
        } catch (...) {
            promise.set_exception(std::current_exception());
            throw;
        }
        // The waiters go at once; the flight ends only once the answer is stored (a durable
        // LMDB commit, milliseconds), so a lookup in between joins the finished flight and a
        // later one finds the stored answer: still one search.
        promise.set_value(answer.first);
        if (answer.second) write(key, answer.first->entry);
        return answer.first;
    }
};

CachingSource::CachingSource(std::shared_ptr<lmdb::Environment> env, std::shared_ptr<CertificateSource> inner,
                             CacheSettings settings, Serves serves, Clock clock, std::shared_ptr<CertificateMemo> memo,
                             bool exact_local_part)
    : m_impl(std::make_unique<Impl>())
{
    m_impl->exact_local_part = exact_local_part;
    m_impl->memo = memo ? std::move(memo) : std::make_shared<CertificateMemo>();
    m_impl->env = std::move(env);
    m_impl->dbi = m_impl->env->database(database_name);
    m_impl->max_key_size = static_cast<std::size_t>(mdb_env_get_maxkeysize(m_impl->env->get()));
    m_impl->inner_name = inner->name();
    m_impl->key_prefix = inner->cache_key();
    m_impl->inner = std::move(inner);
    m_impl->settings = settings;
    m_impl->serves = std::move(serves);
    m_impl->clock = std::move(clock);
}

CachingSource::~CachingSource() = default;

std::string CachingSource::name() const
{
    return m_impl->inner_name;
}

bool CachingSource::is_fresh(const CacheEntry& entry) const
{
    return m_impl->fresh(entry, m_impl->now());
}

bool CachingSource::serves(const EmailAddress& address) const
{
    return !m_impl->serves || m_impl->serves(address);
}

LookupAnswer CachingSource::answer(const EmailAddress& address)
{
    if (!serves(address)) return {};
    const std::string key = entry_key(m_impl->key_prefix, address, m_impl->exact_local_part);
    if (auto e = m_impl->read(key); e && m_impl->fresh(*e, m_impl->now())) {
        metrics::count_directory_cache(metrics::CacheResult::Hit);
        return LookupAnswer{m_impl->candidates(*e), {}};
    }
    const auto fetched = m_impl->fetch(key, address);
    return LookupAnswer{m_impl->candidates(fetched->entry), fetched->cut};
}

std::vector<CertificateCandidate> CachingSource::lookup(const EmailAddress& address)
{
    return answer(address).candidates;
}

std::optional<CacheEntry> CachingSource::peek(const EmailAddress& address) const
{
    return m_impl->read(entry_key(m_impl->key_prefix, address, m_impl->exact_local_part));
}

bool flush_cache_entry(lmdb::Environment& env, const EmailAddress& address)
{
    const MDB_dbi dbi = env.database(database_name);
    const std::string wanted = address_key(address);
    lmdb::Transaction txn(env, lmdb::Transaction::Mode::Write);
    bool removed = false;
    {
        lmdb::Cursor cursor(txn, dbi, env);
        MDB_val k{0, nullptr}, v{0, nullptr};
        int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_FIRST);
        while (rc == 0) {
            const std::string_view key(static_cast<const char*>(k.mv_data), k.mv_size);
            const auto nul = key.find('\0');
            if (nul != std::string_view::npos && iequals(key.substr(nul + 1), wanted)) {  // every spelling
                lmdb::check(mdb_cursor_del(cursor.get(), 0), env, "delete");
                removed = true;
            }
            rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
        }
        if (rc != MDB_NOTFOUND) lmdb::check(rc, env, "iterate");
    }
    txn.commit();
    return removed;
}

std::size_t flush_cache(lmdb::Environment& env)
{
    const MDB_dbi dbi = env.database(database_name);
    lmdb::Transaction txn(env, lmdb::Transaction::Mode::Write);
    MDB_stat st{};
    lmdb::check(mdb_stat(txn.get(), dbi, &st), env, "stat");
    lmdb::check(mdb_drop(txn.get(), dbi, 0), env, "empty");
    txn.commit();
    return st.ms_entries;
}

}  // namespace ssm::directory
