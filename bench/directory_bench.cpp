// directory_bench: lookups/s and p50/p99 latency of the persistent lookup cache
// (directory::CachingSource over a real directory::LdapSource), for cache misses (an LDAP
// search against the slapd given, plus the LMDB write) and cache hits (LMDB read, then the
// certificates through the memo of parsed certificates). Used by bench/run-directory.sh; input
// is that script's arguments.
//   directory_bench --server URI --base DN --cache DIR --addresses N [--hits M] [--threads T]
//                   [--resolve ADDRESS --anchor PEM --intermediate PEM]
// Addresses are user0@partner.example ... user{N-1}@partner.example; each must have one
// certificate in the directory. The first N/2 are missed by one thread, the rest by T threads;
// then M hits by one thread and M by T threads; then M hits through a cache whose memo keeps
// nothing (every hit parses and reads the facts: what a hit costs for a certificate the memo
// has dropped); then, to split a hit's cost, M peeks (LMDB read and record decode) and M
// parses with facts (what the memo saves). With --resolve: M/4 whole recipient look-ups
// (CertificateResolver::find over the cache: hit, checks, chain validation with revocation
// off) of ADDRESS, whose directory certificate must chain to the anchor, with the memo and
// without. Exit 1 when a lookup returns no certificate, a resolve chooses none, or the number
// of LDAP searches is not what the phase implies (hits must send none).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "directory/certificate_choice.h"
#include "directory/ldap_source.h"
#include "directory/lookup_cache.h"
#include "pki/trust_store.h"

using namespace ssm;
using namespace ssm::directory;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::string server, base, cache, resolve, anchor, intermediate;
    std::size_t addresses = 1000, hits = 20000;
    unsigned threads = 4;
};

EmailAddress user(std::size_t i)
{
    return *EmailAddress::parse("user" + std::to_string(i) + "@partner.example");
}

// Runs `count` lookups (index -> address) in `threads` threads; prints one result line.
bool phase(const char* name, CachingSource& cache, LdapSource& ldap, unsigned threads, std::size_t count,
           std::size_t (*index)(std::size_t, std::size_t), std::size_t base, std::uint64_t want_searches)
{
    std::vector<std::vector<double>> lat(threads);
    std::atomic<bool> bad{false};
    const std::uint64_t searches_before = ldap.searches_sent();
    const auto t0 = Clock::now();
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            for (std::size_t k = t; k < count; k += threads) {
                const EmailAddress a = user(index(base, k));
                const auto s = Clock::now();
                const auto found = cache.lookup(a);
                lat[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
                if (found.size() != 1) bad = true;
            }
        });
    for (auto& th : pool) th.join();
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::vector<double> all;
    for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<std::size_t>(p * all.size()))]; };
    const std::uint64_t searches = ldap.searches_sent() - searches_before;
    std::printf("phase=%s threads=%u lookups=%zu seconds=%.3f rate=%.0f/s p50=%.1fus p99=%.1fus max=%.1fus "
                "ldap_searches=%llu\n",
                name, threads, all.size(), secs, all.size() / secs, pct(0.50), pct(0.99), all.back(),
                static_cast<unsigned long long>(searches));
    if (bad) std::fprintf(stderr, "directory_bench: %s: a lookup did not return one certificate\n", name);
    if (searches != want_searches)
        std::fprintf(stderr, "directory_bench: %s: %llu LDAP searches, expected %llu\n", name,
                     static_cast<unsigned long long>(searches), static_cast<unsigned long long>(want_searches));
    return !bad && searches == want_searches;
}

// M timed calls of `f` in one thread; one result line like phase()'s.
template <typename F>
void parts(const char* name, std::size_t count, F f)
{
    std::vector<double> all;
    all.reserve(count);
    const auto t0 = Clock::now();
    for (std::size_t k = 0; k < count; ++k) {
        const auto s = Clock::now();
        f(k);
        all.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s).count());
    }
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<std::size_t>(p * all.size()))]; };
    std::printf("phase=%s threads=1 lookups=%zu seconds=%.3f rate=%.0f/s p50=%.1fus p99=%.1fus max=%.1fus "
                "ldap_searches=0\n",
                name, all.size(), secs, all.size() / secs, pct(0.50), pct(0.99), all.back());
}

std::size_t sequential(std::size_t base, std::size_t k)
{
    return base + k;
}

// Hits walk over the cached addresses (the first half), not one hot key.
std::size_t spread(std::size_t span, std::size_t k)
{
    return (k * 7919) % span;
}

}  // namespace

int main(int argc, char** argv)
{
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--server") o.server = v;
        else if (k == "--base") o.base = v;
        else if (k == "--cache") o.cache = v;
        else if (k == "--resolve") o.resolve = v;
        else if (k == "--anchor") o.anchor = v;
        else if (k == "--intermediate") o.intermediate = v;
        else if (k == "--addresses") o.addresses = std::strtoul(v.c_str(), nullptr, 10);
        else if (k == "--hits") o.hits = std::strtoul(v.c_str(), nullptr, 10);
        else if (k == "--threads") o.threads = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
        else {
            std::fprintf(stderr, "directory_bench: unknown option %s\n", k.c_str());
            return 64;
        }
    }
    if (o.server.empty() || o.base.empty() || o.cache.empty() || o.addresses < 4 || o.threads < 1) {
        std::fprintf(stderr, "usage: directory_bench --server URI --base DN --cache DIR --addresses N "
                             "[--hits M] [--threads T]\n");
        return 64;
    }
    try {
        LdapSourceConfig lc;
        lc.domains = {"partner.example"};
        lc.servers = {o.server};
        lc.base = o.base;
        auto ldap = std::make_shared<LdapSource>(lc);
        auto env = lmdb::Environment::open(o.cache);
        flush_cache(*env);
        auto serves = [ldap](const EmailAddress& a) { return ldap->serves(a); };
        CachingSource cache(env, ldap, CacheSettings{}, serves);
        const std::size_t half = o.addresses / 2;
        bool ok = phase("miss", cache, *ldap, 1, half, sequential, 0, half);
        ok = phase("miss", cache, *ldap, o.threads, o.addresses - half, sequential, half, o.addresses - half) && ok;
        const std::size_t span = o.addresses;
        ok = phase("hit", cache, *ldap, 1, o.hits, spread, span, 0) && ok;
        ok = phase("hit", cache, *ldap, o.threads, o.hits, spread, span, 0) && ok;
        // The same LMDB entries through a memo with no budget: every certificate parsed again.
        CachingSource unmemoised(env, ldap, CacheSettings{}, serves, {}, std::make_shared<CertificateMemo>(0));
        ok = phase("hit-nomemo", unmemoised, *ldap, 1, o.hits, spread, span, 0) && ok;
        parts("peek", o.hits, [&](std::size_t k) {
            if (!cache.peek(user(spread(span, k)))) ok = false;
        });
        const Bytes der = cache.peek(user(0))->certificates.at(0).der;
        parts("parse+facts", o.hits, [&](std::size_t) {
            if (!pki::SharedCertificate::parse_der(der)) ok = false;
        });
        if (!o.resolve.empty()) {
            const auto address = EmailAddress::parse(o.resolve);
            if (!address) throw std::runtime_error("--resolve: not an address");
            auto trust = std::make_shared<const pki::TrustStore>(pki::Certificate::load_file(o.anchor),
                                                                 pki::Certificate::load_file(o.intermediate),
                                                                 pki::Revocation::Off);
            auto with_memo = std::make_shared<CachingSource>(env, ldap, CacheSettings{}, serves);
            auto without = std::make_shared<CachingSource>(env, ldap, CacheSettings{}, serves, CachingSource::Clock{},
                                                           std::make_shared<CertificateMemo>(0));
            with_memo->lookup(*address);  // the miss, outside the timing
            for (auto& [name, source] : {std::pair{"resolve", with_memo}, std::pair{"resolve-nomemo", without}}) {
                const CertificateResolver resolver({source}, trust);
                parts(name, o.hits / 4, [&](std::size_t) {
                    if (!resolver.find(*address, std::time(nullptr)).chosen) ok = false;
                });
            }
        }
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "directory_bench: %s\n", e.what());
        return 2;
    }
}
