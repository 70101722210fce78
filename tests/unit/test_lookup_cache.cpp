// Unit tests for the persistent lookup cache (directory/lookup_cache.h): TTLs with an injected
// clock, negative caching, stale-if-error, corrupt records, persistence across a reopened
// environment, single flight under 100 threads, and flushing. The inner source is a test
// source that counts its calls (the real LDAP source is tested against slapd elsewhere).
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "base/error.h"
#include "directory/lookup_cache.h"
#include "directory/record_codec.h"
#include "pki/certificate.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::directory;
namespace {

// A certificate of the OpenSSL-made test PKI (test::pki_der); the cache does not look inside
// certificates, so the basic set is enough.
pki::Certificate pki_cert(const std::string& name)
{
    auto c = pki::Certificate::parse_der(test::pki_der(name));
    CPPUNIT_ASSERT_MESSAGE(name, c.has_value());
    return std::move(*c);
}

EmailAddress addr(const char* s)
{
    auto a = EmailAddress::parse(s);
    CPPUNIT_ASSERT_MESSAGE(s, a.has_value());
    return *a;
}

// A directory stand-in: answers from a table, or fails, counting the lookups it was asked.
class CountingSource final : public CertificateSource {
public:
    explicit CountingSource(std::string name = "ldap:ldap://test") : m_name(std::move(name)) {}

    std::vector<CertificateCandidate> lookup(const EmailAddress& address) override
    {
        ++calls;
        if (delay.count() > 0) std::this_thread::sleep_for(delay);
        if (failure) throw Error(*failure, "directory down (test)");
        std::vector<CertificateCandidate> out;
        std::lock_guard lock(m_mutex);
        // A case-sensitive source (DNS SMIMEA hashes the local part as given, without needless
        // quotes) answers for the spelling it was asked.
        if (auto it = m_table.find(case_sensitive ? address.directory_form() : address_key(address)); it != m_table.end())
            for (const auto& name : it->second) {
                out.push_back(
                    CertificateCandidate{pki::SharedCertificate(pki_cert(name)), m_name + " server2", std::nullopt, 0});
                out.back().dane_ee = dane_ee.count(name) > 0;
            }
        return out;
    }
    std::string name() const override { return m_name; }

    void publish(const std::string& address, std::vector<std::string> cert_names)
    {
        std::lock_guard lock(m_mutex);
        m_table[address] = std::move(cert_names);
    }

    std::atomic<int> calls{0};
    std::optional<Failure> failure;
    std::set<std::string> dane_ee;  // certificate names answered as DANE-EE
    std::chrono::milliseconds delay{0};
    bool case_sensitive = false;

private:
    std::string m_name;
    std::mutex m_mutex;
    std::map<std::string, std::vector<std::string>> m_table;
};

// A clock the tests move by hand.
struct TestClock {
    std::shared_ptr<std::atomic<std::time_t>> now = std::make_shared<std::atomic<std::time_t>>(1'800'000'000);
    CachingSource::Clock fn() const
    {
        return [n = now] { return n->load(); };
    }
    void advance(std::time_t s) { *now += s; }
};

CacheSettings settings(long pos, long neg, long stale)
{
    return CacheSettings{std::chrono::seconds(pos), std::chrono::seconds(neg), std::chrono::seconds(stale),
                         std::chrono::seconds(30)};
}

bool throws_unavailable(CachingSource& cache, const EmailAddress& a)
{
    try {
        cache.lookup(a);
    } catch (const Error& e) {
        return e.failure() == Failure::DirectoryUnavailable;
    }
    return false;
}

void put_raw(lmdb::Environment& env, const std::string& key, const Bytes& value)
{
    const MDB_dbi dbi = env.database("cache");
    lmdb::Transaction txn(env, lmdb::Transaction::Mode::Write);
    txn.put(dbi, key, value);
    txn.commit();
}

// A well-formed record by hand (independent of the encoder under test): format 1 (as written
// before format 2 added a flags octet per certificate; still read), or format 2 with FLAGS
// after each certificate.
Bytes record_of(std::int64_t fetched, const std::string& source, const std::vector<Bytes>& certs,
                std::optional<std::uint8_t> flags = std::nullopt)
{
    Bytes out{static_cast<std::uint8_t>(flags ? 2 : 1)};
    record::put_time(out, fetched);
    record::put_uint(out, source.size(), 2);
    record::put_bytes(out, as_bytes(source));
    record::put_uint(out, certs.size(), 1);
    for (const auto& c : certs) {
        record::put_uint(out, c.size(), 4);
        record::put_bytes(out, c);
        if (flags) out.push_back(*flags);
    }
    return out;
}

// What most tests start from: an LMDB environment in a fresh folder, a counting source and a
// clock the test moves; cache() puts a CachingSource on that clock over them.
struct CacheBed {
    test::TempDir dir;
    std::shared_ptr<lmdb::Environment> env = lmdb::Environment::open(dir.path());
    std::shared_ptr<CountingSource> inner = std::make_shared<CountingSource>();
    TestClock clock;

    CachingSource cache(const CacheSettings& s) { return CachingSource(env, inner, s, {}, clock.fn()); }
};

// Runs BODY on THREADS threads released at the same moment (so their lookups overlap); returns
// on how many of them it returned true.
int count_together(int threads, const std::function<bool()>& body)
{
    std::atomic<int> ready{0}, yes{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i)
        pool.emplace_back([&] {
            ++ready;
            while (!go) std::this_thread::yield();
            if (body()) ++yes;
        });
    while (ready < threads) std::this_thread::yield();
    go = true;
    for (auto& th : pool) th.join();
    return yes.load();
}

}  // namespace

class LookupCacheTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LookupCacheTest);
    CPPUNIT_TEST(positive_ttl_expiry);
    CPPUNIT_TEST(negative_caching);
    CPPUNIT_TEST(local_part_case_has_its_own_entry);
    CPPUNIT_TEST(stale_if_error);
    CPPUNIT_TEST(errors_without_stale_entry_propagate);
    CPPUNIT_TEST(corrupt_records_are_misses);
    CPPUNIT_TEST(survives_restart);
    CPPUNIT_TEST(dane_ee_flag_is_kept);
    CPPUNIT_TEST(single_flight);
    CPPUNIT_TEST(single_flight_shares_the_exception);
    CPPUNIT_TEST(sources_have_their_own_entries);
    CPPUNIT_TEST(unserved_addresses_bypass_the_cache);
    CPPUNIT_TEST(flush);
    CPPUNIT_TEST(more_certificates_than_a_record_holds_are_not_stored);
    CPPUNIT_TEST_SUITE_END();

public:
    void positive_ttl_expiry()
    {
        CacheBed b;
        b.inner->publish("alice@acme.example", {"alice"});
        CachingSource cache = b.cache(settings(100, 10, 0));
        CPPUNIT_ASSERT_EQUAL(b.inner->name(), cache.name());

        auto first = cache.lookup(addr("Alice@ACME.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, first.size());
        CPPUNIT_ASSERT_EQUAL(std::string("ldap:ldap://test server2"), first[0].source);
        CPPUNIT_ASSERT(first[0].cert.der() == test::pki_der("alice"));
        CPPUNIT_ASSERT_EQUAL(1, b.inner->calls.load());

        b.clock.advance(99);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("alice@acme.example")).size());
        CPPUNIT_ASSERT_EQUAL(1, b.inner->calls.load());  // fresh: not asked

        b.inner->publish("alice@acme.example", {"alice", "carol"});  // a change, seen after expiry
        b.clock.advance(1);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, cache.lookup(addr("alice@acme.example")).size());
        CPPUNIT_ASSERT_EQUAL(2, b.inner->calls.load());

        auto e = cache.peek(addr("alice@acme.example"));
        CPPUNIT_ASSERT(e.has_value());
        CPPUNIT_ASSERT_EQUAL(*b.clock.now - 0, e->fetched_at);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, e->certificates.size());
        // is_fresh (ssmctl's cache=hit or cache=stale) agrees with lookup's own reading.
        CPPUNIT_ASSERT(cache.is_fresh(*e));
        b.clock.advance(99);
        CPPUNIT_ASSERT(cache.is_fresh(*e));
        b.clock.advance(1);
        CPPUNIT_ASSERT(!cache.is_fresh(*e));
        b.clock.advance(-100);

        // An entry dated in the future (clock stepped back) is not trusted to be fresh.
        b.clock.advance(-1000);
        cache.lookup(addr("alice@acme.example"));
        CPPUNIT_ASSERT_EQUAL(3, b.inner->calls.load());
    }

    // The SMIMEA owner name hashes the local part as written, so Dave@ and dave@ are two
    // questions to DNS. The cache keyed both as dave@: one sender's "Dave@partner.example"
    // (no record) answered "none" for everyone's dave@partner.example for negative_ttl, and
    // mandatory encryption refused it with 550.
    void local_part_case_has_its_own_entry()
    {
        CacheBed b;
        b.inner->case_sensitive = true;
        b.inner->publish("dave@partner.example", {"bob"});
        CachingSource cache(b.env, b.inner, settings(100, 10, 1000), {}, b.clock.fn(), nullptr, true);
        CPPUNIT_ASSERT(cache.lookup(addr("Dave@partner.example")).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("dave@partner.example")).size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("dave@PARTNER.example")).size());  // domains: one
        CPPUNIT_ASSERT_EQUAL(2, b.inner->calls.load());
        // Needless quotes are no spelling of their own: "da..ve"@ and da..ve@ ask one owner
        // name, one question and one entry (two before: keyed by str(), which keeps them).
        b.inner->publish("da..ve@partner.example", {"bob"});
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("\"da..ve\"@partner.example")).size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("da..ve@partner.example")).size());
        CPPUNIT_ASSERT_EQUAL(3, b.inner->calls.load());
        // ssmctl cache flush ADDR removes every spelling of the address.
        CPPUNIT_ASSERT(flush_cache_entry(*b.env, addr("DAVE@partner.example")));
        CPPUNIT_ASSERT(!cache.peek(addr("Dave@partner.example")));
        CPPUNIT_ASSERT(!cache.peek(addr("dave@partner.example")));
    }

    void negative_caching()
    {
        CacheBed b;
        CachingSource cache = b.cache(settings(100, 10, 1000));

        CPPUNIT_ASSERT(cache.lookup(addr("nobody@partner.example")).empty());
        CPPUNIT_ASSERT(cache.lookup(addr("nobody@partner.example")).empty());
        CPPUNIT_ASSERT_EQUAL(1, b.inner->calls.load());
        auto e = cache.peek(addr("nobody@partner.example"));
        CPPUNIT_ASSERT(e && e->certificates.empty());
        CPPUNIT_ASSERT_EQUAL(b.inner->name(), e->source);

        // Published meanwhile: found once the negative entry (10 s, not 100 s) expires.
        b.inner->publish("nobody@partner.example", {"bob"});
        b.clock.advance(9);
        CPPUNIT_ASSERT(cache.lookup(addr("nobody@partner.example")).empty());
        b.clock.advance(1);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("nobody@partner.example")).size());
        CPPUNIT_ASSERT_EQUAL(2, b.inner->calls.load());

        // A negative_ttl of 0 caches nothing usable.
        auto inner2 = std::make_shared<CountingSource>("ldap:other");
        CachingSource uncached(b.env, inner2, settings(100, 0, 1000), {}, b.clock.fn());
        uncached.lookup(addr("x@partner.example"));
        uncached.lookup(addr("x@partner.example"));
        CPPUNIT_ASSERT_EQUAL(2, inner2->calls.load());
    }

    void stale_if_error()
    {
        CacheBed b;
        b.inner->publish("bob@partner.example", {"bob"});
        CachingSource cache = b.cache(settings(100, 10, 50));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("bob@partner.example")).size());

        b.inner->failure = Failure::DirectoryUnavailable;
        b.clock.advance(149);  // expired 49 s ago, stale_limit 50 s: stands in
        auto stale = cache.lookup(addr("bob@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, stale.size());
        CPPUNIT_ASSERT(stale[0].cert.der() == test::pki_der("bob"));
        CPPUNIT_ASSERT_EQUAL(2, b.inner->calls.load());  // the directory was asked first

        // Within down_backoff of that failure the stale entry answers without asking again.
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("bob@partner.example")).size());
        CPPUNIT_ASSERT_EQUAL(2, b.inner->calls.load());

        b.clock.advance(1);  // expired 50 s ago: too old, so the directory is asked (and fails)
        CPPUNIT_ASSERT(throws_unavailable(cache, addr("bob@partner.example")));
        CPPUNIT_ASSERT_EQUAL(3, b.inner->calls.load());

        // The directory is back: a fresh answer replaces the old one.
        b.inner->failure.reset();
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(addr("bob@partner.example")).size());
        CPPUNIT_ASSERT_EQUAL(*b.clock.now - 0, cache.peek(addr("bob@partner.example"))->fetched_at);

        // An expired negative entry never stands in (it would turn an outage into a 550).
        cache.lookup(addr("nobody@partner.example"));
        b.inner->failure = Failure::DirectoryUnavailable;
        b.clock.advance(11);
        CPPUNIT_ASSERT(throws_unavailable(cache, addr("nobody@partner.example")));
    }

    void errors_without_stale_entry_propagate()
    {
        CacheBed b;
        b.inner->publish("bob@partner.example", {"bob"});
        CachingSource cache = b.cache(settings(100, 10, 1000));

        b.inner->failure = Failure::DirectoryUnavailable;
        CPPUNIT_ASSERT(throws_unavailable(cache, addr("bob@partner.example")));
        CPPUNIT_ASSERT(!cache.peek(addr("bob@partner.example")));  // nothing stored for a failure
        CPPUNIT_ASSERT(throws_unavailable(cache, addr("bob@partner.example")));
        CPPUNIT_ASSERT_EQUAL(2, b.inner->calls.load());  // failures are not cached

        // Only DirectoryUnavailable is answered from a stale entry; other failures propagate.
        b.inner->failure.reset();
        cache.lookup(addr("bob@partner.example"));
        b.clock.advance(101);
        b.inner->failure = Failure::Internal;
        try {
            cache.lookup(addr("bob@partner.example"));
            CPPUNIT_FAIL("an internal error was hidden by a stale entry");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::Internal);
        }
    }

    void corrupt_records_are_misses()
    {
        CacheBed b;
        b.inner->publish("alice@acme.example", {"alice"});
        CachingSource cache = b.cache(settings(100, 10, 1000));
        const std::string key = b.inner->name() + std::string(1, '\0') + "alice@acme.example";
        const Bytes der = test::pki_der("alice");
        const std::time_t now = *b.clock.now;

        // The hand-made good record is a hit: the format is what the header documents. Format 1,
        // as caches written before format 2 hold it, and format 2 with the DANE-EE flag.
        put_raw(*b.env, key, record_of(now, "by hand", {der}));
        auto hit = cache.lookup(addr("alice@acme.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, hit.size());
        CPPUNIT_ASSERT_EQUAL(std::string("by hand"), hit[0].source);
        CPPUNIT_ASSERT_EQUAL(0, b.inner->calls.load());
        CPPUNIT_ASSERT(!hit[0].dane_ee);
        put_raw(*b.env, key, record_of(now, "by hand", {der}, 0x01));
        hit = cache.lookup(addr("alice@acme.example"));
        CPPUNIT_ASSERT(hit.size() == 1 && hit[0].dane_ee);
        CPPUNIT_ASSERT_EQUAL(0, b.inner->calls.load());

        Bytes good = record_of(now, "by hand", {der});
        Bytes wrong_version = good;
        wrong_version[0] = 3;
        Bytes version2_without_flags = good;  // format 2 needs a flags octet per certificate
        version2_without_flags[0] = 2;
        const Bytes unknown_flag = record_of(now, "x", {der}, 0x02);
        Bytes trailing = good;
        trailing.push_back(0);
        Bytes truncated(good.begin(), good.end() - 1);
        Bytes too_many = record_of(now, "x", {});
        too_many.back() = static_cast<std::uint8_t>(CachingSource::max_certificates + 1);
        Bytes zero_length = record_of(now, "x", {Bytes{}});
        Bytes huge_source{1};
        record::put_time(huge_source, now);
        record::put_uint(huge_source, 0xffff, 2);
        const Bytes ancient = record_of(std::numeric_limits<std::int64_t>::min(), "x", {der});  // age overflow
        const Bytes negative = record_of(-1, "x", {der});
        const std::vector<Bytes> corrupt = {Bytes{}, Bytes{1}, wrong_version, version2_without_flags, unknown_flag,
                                            trailing, truncated, too_many, zero_length, huge_source, ancient, negative};
        int expected_calls = 0;
        for (const auto& value : corrupt) {
            put_raw(*b.env, key, value);
            CPPUNIT_ASSERT(!cache.peek(addr("alice@acme.example")));
            auto r = cache.lookup(addr("alice@acme.example"));  // a miss: asks the source...
            CPPUNIT_ASSERT_EQUAL(++expected_calls, b.inner->calls.load());
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, r.size());
            CPPUNIT_ASSERT(cache.peek(addr("alice@acme.example")));  // ...and repairs the record
        }

        // A record holding a non-certificate is parsed, but yields no candidate.
        put_raw(*b.env, key, record_of(now, "junk", {Bytes{0x30, 0x03, 0x02, 0x01, 0x00}}));
        CPPUNIT_ASSERT(cache.lookup(addr("alice@acme.example")).empty());
    }

    void survives_restart()
    {
        test::TempDir t;
        TestClock clock;
        {
            auto env = lmdb::Environment::open(t.path());
            auto inner = std::make_shared<CountingSource>();
            inner->publish("bob@partner.example", {"bob"});
            CachingSource cache(env, inner, settings(100, 10, 1000), {}, clock.fn());
            cache.lookup(addr("bob@partner.example"));
            cache.lookup(addr("nobody@partner.example"));
        }  // the environment closes with its last user
        clock.advance(5);
        auto env = lmdb::Environment::open(t.path());
        auto inner = std::make_shared<CountingSource>();
        inner->failure = Failure::DirectoryUnavailable;  // the directory is down after the restart
        CachingSource cache(env, inner, settings(100, 10, 1000), {}, clock.fn());
        auto found = cache.lookup(addr("bob@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, found.size());
        CPPUNIT_ASSERT(found[0].cert.der() == test::pki_der("bob"));
        CPPUNIT_ASSERT(cache.lookup(addr("nobody@partner.example")).empty());
        CPPUNIT_ASSERT_EQUAL(0, inner->calls.load());
    }

    // An SMIMEA DANE-EE answer stays one from the cache, per certificate, across a restart.
    void dane_ee_flag_is_kept()
    {
        test::TempDir t;
        TestClock clock;
        auto inner = std::make_shared<CountingSource>();
        inner->publish("bob@partner.example", {"bob", "alice"});
        inner->dane_ee = {"bob"};
        {
            CachingSource cache(lmdb::Environment::open(t.path()), inner, settings(100, 10, 1000), {}, clock.fn());
            const auto first = cache.lookup(addr("bob@partner.example"));
            CPPUNIT_ASSERT(first.size() == 2 && first[0].dane_ee && !first[1].dane_ee);
        }
        CachingSource cache(lmdb::Environment::open(t.path()), inner, settings(100, 10, 1000), {}, clock.fn());
        const auto cached = cache.lookup(addr("bob@partner.example"));
        CPPUNIT_ASSERT_EQUAL(1, inner->calls.load());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, cached.size());
        CPPUNIT_ASSERT(cached[0].cert.der() == test::pki_der("bob") && cached[0].dane_ee);
        CPPUNIT_ASSERT(cached[1].cert.der() == test::pki_der("alice") && !cached[1].dane_ee);
    }

    void single_flight()
    {
        CacheBed b;
        b.inner->publish("bob@partner.example", {"bob"});
        b.inner->delay = std::chrono::milliseconds(100);
        CachingSource cache(b.env, b.inner, settings(100, 10, 1000));

        const int found = count_together(100, [&] { return cache.lookup(addr("Bob@partner.example")).size() == 1; });
        CPPUNIT_ASSERT_EQUAL(1, b.inner->calls.load());
        CPPUNIT_ASSERT_EQUAL(100, found);

        // Different addresses are not serialised behind each other: two lookups, two calls.
        std::thread one([&] { cache.lookup(addr("a@partner.example")); });
        std::thread two([&] { cache.lookup(addr("b@partner.example")); });
        one.join();
        two.join();
        CPPUNIT_ASSERT_EQUAL(3, b.inner->calls.load());
    }

    void single_flight_shares_the_exception()
    {
        CacheBed b;
        b.inner->failure = Failure::DirectoryUnavailable;
        b.inner->delay = std::chrono::milliseconds(100);
        CachingSource cache(b.env, b.inner, settings(100, 10, 1000));

        const int unavailable =
            count_together(20, [&] { return throws_unavailable(cache, addr("bob@partner.example")); });
        CPPUNIT_ASSERT_EQUAL(1, b.inner->calls.load());
        CPPUNIT_ASSERT_EQUAL(20, unavailable);
        // The failed flight is over: the next lookup asks again.
        CPPUNIT_ASSERT(throws_unavailable(cache, addr("bob@partner.example")));
        CPPUNIT_ASSERT_EQUAL(2, b.inner->calls.load());
    }

    void sources_have_their_own_entries()
    {
        test::TempDir t;
        auto env = lmdb::Environment::open(t.path());
        auto first = std::make_shared<CountingSource>("ldap:ldap://one");
        auto second = std::make_shared<CountingSource>("ldap:ldap://two");
        second->publish("bob@partner.example", {"bob"});
        CachingSource c1(env, first, settings(100, 10, 1000));
        CachingSource c2(env, second, settings(100, 10, 1000));
        CPPUNIT_ASSERT(c1.lookup(addr("bob@partner.example")).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, c2.lookup(addr("bob@partner.example")).size());
        CPPUNIT_ASSERT(c1.lookup(addr("bob@partner.example")).empty());
        CPPUNIT_ASSERT_EQUAL(1, first->calls.load());
        CPPUNIT_ASSERT_EQUAL(1, second->calls.load());
    }

    void unserved_addresses_bypass_the_cache()
    {
        CacheBed b;
        CachingSource cache(b.env, b.inner, settings(100, 10, 1000),
                            [](const EmailAddress& a) { return a.domain().str() == "partner.example"; });
        CPPUNIT_ASSERT(!cache.serves(addr("x@acme.example")));
        CPPUNIT_ASSERT(cache.lookup(addr("x@acme.example")).empty());
        CPPUNIT_ASSERT_EQUAL(0, b.inner->calls.load());
        CPPUNIT_ASSERT(!cache.peek(addr("x@acme.example")));
        cache.lookup(addr("x@partner.example"));
        CPPUNIT_ASSERT_EQUAL(1, b.inner->calls.load());
    }

    void flush()
    {
        test::TempDir t;
        auto env = lmdb::Environment::open(t.path());
        auto one = std::make_shared<CountingSource>("ldap:one");
        auto two = std::make_shared<CountingSource>("ldap:two");
        CachingSource c1(env, one, settings(100, 10, 1000));
        CachingSource c2(env, two, settings(100, 10, 1000));
        for (const char* a : {"bob@partner.example", "dave@partner.example"}) {
            c1.lookup(addr(a));
            c2.lookup(addr(a));
        }
        CPPUNIT_ASSERT(flush_cache_entry(*env, addr("BOB@partner.example")));
        CPPUNIT_ASSERT(!c1.peek(addr("bob@partner.example")));
        CPPUNIT_ASSERT(!c2.peek(addr("bob@partner.example")));
        CPPUNIT_ASSERT(c1.peek(addr("dave@partner.example")));
        CPPUNIT_ASSERT(!flush_cache_entry(*env, addr("bob@partner.example")));
        c1.lookup(addr("bob@partner.example"));
        CPPUNIT_ASSERT_EQUAL(3, one->calls.load());  // flushed: asked again

        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, flush_cache(*env));
        CPPUNIT_ASSERT(!c2.peek(addr("dave@partner.example")));
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, flush_cache(*env));
    }

    // An answer with more certificates than a record holds is cut by the cache itself: the
    // first max_certificates are used for this lookup, marked cut, and nothing is stored (it
    // would stand for the whole answer until the TTL ends).
    void more_certificates_than_a_record_holds_are_not_stored()
    {
        test::TempDir d;
        auto env = lmdb::Environment::open(d.path());
        auto src = std::make_shared<CountingSource>();
        src->publish("crowd@partner.example",
                     std::vector<std::string>(CachingSource::max_certificates + 1, "dave"));
        src->publish("dave@partner.example", {"dave"});
        CachingSource cache(env, src, settings(3600, 600, 0));
        const auto crowd = addr("crowd@partner.example");
        const auto got = cache.answer(crowd);
        CPPUNIT_ASSERT_EQUAL(CachingSource::max_certificates, got.candidates.size());
        CPPUNIT_ASSERT_MESSAGE(got.cut, got.cut.find("33 certificates, of which the lookup cache keeps 32") !=
                                            std::string::npos);
        CPPUNIT_ASSERT(!cache.peek(crowd).has_value());
        CPPUNIT_ASSERT_EQUAL(CachingSource::max_certificates, cache.lookup(crowd).size());
        CPPUNIT_ASSERT_EQUAL(2, src->calls.load());
        // Within the limit: whole, stored.
        CPPUNIT_ASSERT(cache.answer(addr("dave@partner.example")).complete());
        CPPUNIT_ASSERT(cache.peek(addr("dave@partner.example")).has_value());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LookupCacheTest);
