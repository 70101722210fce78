// Unit tests for the memo of parsed certificates (directory/certificate_memo.h) and for the
// lookup cache through it: entries equal a fresh parse, are shared, bounded by the budget (least
// recently used go first), never answer for other bytes, and leave the cache's invalidation
// alone (a flush or a changed directory answer is seen at once). Then 8 threads hammer hits,
// flushes and memo clears together (run under ASan and TSan as well).
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "base/error.h"
#include "directory/certificate_memo.h"
#include "directory/lookup_cache.h"
#include "pki/certificate.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::directory;
namespace {

// The certificates of the OpenSSL-made test PKI (test::pki_der) that the tests feed the memo.
namespace fx {

const std::vector<std::string> names = {"alice", "bob", "carol", "dave", "erin", "frank", "domain-signing",
                                        "partner-domain", "sub-ca", "root-ca"};

}  // namespace fx

using test::addr;

bool same_facts(const pki::CertificateFacts& a, const pki::CertificateFacts& b)
{
    auto ku = [](const std::optional<pki::KeyUsage>& k) {
        return k ? std::tuple(true, k->digital_signature, k->key_encipherment, k->key_agreement, k->key_cert_sign)
                 : std::tuple(false, false, false, false, false);
    };
    return a.email_addresses == b.email_addresses && a.key_type == b.key_type && a.key_bits == b.key_bits &&
           a.not_before == b.not_before && a.not_after == b.not_after && a.is_ca == b.is_ca &&
           a.self_signed == b.self_signed && ku(a.key_usage) == ku(b.key_usage) &&
           a.extended_key_usage == b.extended_key_usage && a.issuer_der == b.issuer_der && a.serial == b.serial &&
           a.subject_key_identifier == b.subject_key_identifier && a.sha256_fingerprint == b.sha256_fingerprint &&
           a.subject == b.subject;
}

// A directory stand-in answering from a table, counting its lookups.
class TableSource final : public CertificateSource {
public:
    std::vector<CertificateCandidate> lookup(const EmailAddress& address) override
    {
        ++calls;
        std::lock_guard lock(m_mutex);
        std::vector<CertificateCandidate> out;
        if (auto it = m_table.find(address_key(address)); it != m_table.end())
            out.push_back(CertificateCandidate{*pki::SharedCertificate::parse_der(test::pki_der(it->second)),
                                               "ldap:test", std::nullopt, 0});
        return out;
    }
    std::string name() const override { return "ldap:test"; }
    void publish(const std::string& address, const std::string& cert)
    {
        std::lock_guard lock(m_mutex);
        m_table[address] = cert;
    }
    std::atomic<int> calls{0};

private:
    std::mutex m_mutex;
    std::map<std::string, std::string> m_table;
};

}  // namespace

class CertificateMemoTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CertificateMemoTest);
    CPPUNIT_TEST(entries_equal_a_fresh_parse);
    CPPUNIT_TEST(remembered_certificates_are_not_parsed_again);
    CPPUNIT_TEST(budget_bounds_memory);
    CPPUNIT_TEST(least_recently_used_go_first);
    CPPUNIT_TEST(cache_invalidation_is_unchanged);
    CPPUNIT_TEST(threads_hammer_hits_and_flushes);
    CPPUNIT_TEST_SUITE_END();

public:
    void entries_equal_a_fresh_parse()
    {
        CertificateMemo memo;
        for (const auto& n : fx::names) {
            const Bytes der = test::pki_der(n);
            auto first = memo.get(der);
            auto again = memo.get(der);
            CPPUNIT_ASSERT_MESSAGE(n, first && again && first->same_data(*again));
            CPPUNIT_ASSERT_MESSAGE(n, first->der() == der);
            auto fresh = pki::Certificate::parse_der(der);
            CPPUNIT_ASSERT_MESSAGE(n, same_facts(first->facts(), pki::facts(*fresh)));
            // The GnuTLS object made for one use is a new one, of the same certificate.
            CPPUNIT_ASSERT_MESSAGE(n, first->parse().der() == der && first->parse().get() != fresh->get());
        }
        auto st = memo.stats();
        CPPUNIT_ASSERT_EQUAL(fx::names.size(), st.entries);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{fx::names.size()}, st.misses);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{fx::names.size()}, st.hits);

        // Not certificates: nothing, and nothing remembered.
        const Bytes junk{0x30, 0x03, 0x02, 0x01, 0x00};
        CPPUNIT_ASSERT(!memo.get(junk) && !memo.get(junk) && !memo.get(Bytes{}));
        CPPUNIT_ASSERT(!memo.get(Bytes(pki::max_certificate_size + 1, 0x30)));
        // One byte changed (the last of the signature): another certificate, or none; never the
        // remembered one.
        Bytes changed = test::pki_der("alice");
        changed.back() ^= 1;
        auto other = memo.get(changed);
        CPPUNIT_ASSERT(!other || (other->der() == changed && !other->same_data(*memo.get(test::pki_der("alice")))));
        CPPUNIT_ASSERT_EQUAL(fx::names.size() + (other ? 1 : 0), memo.stats().entries);

        memo.clear();
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, memo.stats().entries);
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, memo.stats().bytes);
        CPPUNIT_ASSERT(memo.get(test::pki_der("bob")));  // parsed again after a clear
    }

    void remembered_certificates_are_not_parsed_again()
    {
        CertificateMemo memo;
        const auto bob = pki::SharedCertificate::parse_der(test::pki_der("bob"));
        memo.remember(*bob);
        memo.remember(*bob);
        auto got = memo.get(test::pki_der("bob"));
        CPPUNIT_ASSERT(got && got->same_data(*bob));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, memo.stats().misses);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, memo.stats().entries);
    }

    void budget_bounds_memory()
    {
        // Room for all ten certificates in each shard: they fit whichever shards their digests
        // pick.
        std::size_t one = 0;
        std::string largest;
        for (const auto& n : fx::names) {
            const std::size_t size = pki::SharedCertificate::parse_der(test::pki_der(n))->memory_size();
            if (size > one) one = size, largest = n;
        }
        CertificateMemo roomy(16 * fx::names.size() * (one + 512));
        for (const auto& n : fx::names) roomy.get(test::pki_der(n));
        CPPUNIT_ASSERT_EQUAL(fx::names.size(), roomy.stats().entries);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, roomy.stats().evictions);
        CPPUNIT_ASSERT(roomy.stats().bytes <= roomy.budget());

        // Room for one certificate per shard. Which shard a certificate lands in follows its
        // digest, and the test PKI is made anew for each run: ten certificates may spread over
        // ten shards (about one run in 40 did). So the tight memo gets 40 certificates of one
        // size, the largest one with its last signature byte changed: more than 16 cannot all
        // stay, whatever their digests.
        std::vector<Bytes> variants;
        for (int v = 0; v < 40; ++v) {
            Bytes der = test::pki_der(largest);
            der.back() = static_cast<std::uint8_t>(der.back() ^ v);
            variants.push_back(der);
        }
        CertificateMemo tight(16 * (one + 512));
        for (int round = 0; round < 3; ++round)
            for (const auto& der : variants) {
                auto c = tight.get(der);
                CPPUNIT_ASSERT_MESSAGE(largest, c && c->der() == der);  // evicted or not: correct
            }
        auto st = tight.stats();
        CPPUNIT_ASSERT(st.bytes <= tight.budget() && st.entries <= 16 && st.entries > 0);
        CPPUNIT_ASSERT(st.evictions > 0 && st.hits + st.misses == 3 * variants.size());

        CertificateMemo none(0);  // no budget: correct answers, nothing kept
        CPPUNIT_ASSERT(none.get(test::pki_der("bob")) && none.get(test::pki_der("bob")));
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, none.stats().entries);
    }

    void least_recently_used_go_first()
    {
        // Variants of alice's certificate (the signature's last two octets changed: still a
        // certificate to parse, each a memo entry of its own and of alice's size); two fit in
        // a shard.
        const Bytes alice = test::pki_der("alice");
        auto variant = [&](std::size_t k) {
            Bytes v = alice;
            v[v.size() - 1] ^= static_cast<std::uint8_t>(k & 0xff);
            v[v.size() - 2] ^= static_cast<std::uint8_t>(1 + (k >> 8));
            return v;
        };
        const std::size_t one = pki::SharedCertificate::parse_der(alice)->memory_size();
        constexpr std::size_t inserted = 400;

        // Used between the insertions, alice is never the shard's least recently used entry.
        CertificateMemo touched(16 * 2 * (one + 512));
        for (std::size_t k = 0; k < inserted; ++k) {
            CPPUNIT_ASSERT(touched.get(alice));
            CPPUNIT_ASSERT(touched.get(variant(k)));
        }
        auto st = touched.stats();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{inserted - 1}, st.hits);  // every alice but the first
        CPPUNIT_ASSERT(st.evictions >= inserted + 1 - 32 && st.entries <= 32 && st.bytes <= touched.budget());

        // Not used, it goes (its shard receives some 25 of the 400 insertions).
        CertificateMemo untouched(16 * 2 * (one + 512));
        untouched.get(alice);
        for (std::size_t k = 0; k < inserted; ++k) untouched.get(variant(k));
        const auto hits = untouched.stats().hits;
        CPPUNIT_ASSERT(untouched.get(alice));
        CPPUNIT_ASSERT_EQUAL(hits, untouched.stats().hits);
    }

    void cache_invalidation_is_unchanged()
    {
        test::TempDir t;
        auto env = lmdb::Environment::open(t.path());
        auto inner = std::make_shared<TableSource>();
        auto memo = std::make_shared<CertificateMemo>();
        CachingSource cache(env, inner, CacheSettings{}, {}, {}, memo);
        inner->publish("dave@partner.example", "dave");

        auto miss = cache.lookup(addr("dave@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, miss.size());
        auto hit = cache.lookup(addr("dave@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, hit.size());
        CPPUNIT_ASSERT(hit[0].cert.der() == test::pki_der("dave") && hit[0].source == "ldap:test");
        CPPUNIT_ASSERT(hit[0].cert.facts().has_address("dave@partner.example"));
        CPPUNIT_ASSERT_EQUAL(1, inner->calls.load());
        // The miss remembered what the directory's answer had parsed already: no parse since.
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, memo->stats().misses);
        CPPUNIT_ASSERT(hit[0].cert.same_data(miss[0].cert));

        // The directory changes and the entry is flushed: the new answer, although the memo still
        // holds the old certificate.
        inner->publish("dave@partner.example", "partner-domain");
        CPPUNIT_ASSERT(flush_cache_entry(*env, addr("dave@partner.example")));
        auto after = cache.lookup(addr("dave@partner.example"));
        CPPUNIT_ASSERT_EQUAL(2, inner->calls.load());
        CPPUNIT_ASSERT(after.size() == 1 && after[0].cert.der() == test::pki_der("partner-domain"));
        CPPUNIT_ASSERT(flush_cache(*env) == 1);
        inner->publish("dave@partner.example", "dave");
        CPPUNIT_ASSERT(cache.lookup(addr("dave@partner.example"))[0].cert.der() == test::pki_der("dave"));
        CPPUNIT_ASSERT_EQUAL(3, inner->calls.load());
    }

    void threads_hammer_hits_and_flushes()
    {
        test::TempDir t;
        auto env = lmdb::Environment::open(t.path());
        auto inner = std::make_shared<TableSource>();
        // A small budget, so that evictions happen beside the hits.
        const std::size_t one = pki::SharedCertificate::parse_der(test::pki_der("alice"))->memory_size();
        auto memo = std::make_shared<CertificateMemo>(16 * (one + 512));
        CachingSource cache(env, inner, CacheSettings{}, {}, {}, memo);
        std::vector<std::pair<std::string, Bytes>> expect;  // address, its certificate's DER
        for (const auto& n : fx::names) {
            const std::string a = "user-" + n + "@partner.example";
            inner->publish(a, n);
            expect.emplace_back(a, test::pki_der(n));
        }

        // Readers go on until the flusher has flushed a few times while they ran.
        constexpr int readers = 6, rounds = 300, min_flushes = 20;
        std::atomic<int> errors{0}, flushes{0}, lookups{0};
        std::atomic<bool> done{false};
        std::vector<std::thread> pool;
        for (int r = 0; r < readers; ++r)
            pool.emplace_back([&, r] {
                for (int i = 0; i < rounds || flushes < min_flushes; ++i) {
                    const auto& [a, der] = expect[static_cast<std::size_t>(i * 7 + r) % expect.size()];
                    try {
                        ++lookups;
                        const auto found = cache.lookup(addr(a));
                        if (found.size() != 1 || found[0].cert.der() != der) {
                            ++errors;
                            continue;
                        }
                        const auto& f = found[0].cert.facts();
                        if (f.sha256_fingerprint.size() != 32 || f.serial.empty()) ++errors;
                        // Now and then a GnuTLS object of this thread's own, as chain validation makes.
                        if (i % 50 == 0 && found[0].cert.parse().der() != der) ++errors;
                    } catch (const std::exception&) {
                        ++errors;
                    }
                }
            });
        pool.emplace_back([&] {  // ssmctl cache flush, in-process
            while (!done) {
                const int n = ++flushes;
                try {
                    flush_cache_entry(*env, addr(expect[static_cast<std::size_t>(n) % expect.size()].first));
                    if (n % 10 == 0) flush_cache(*env);
                } catch (const std::exception&) {
                    ++errors;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
            }
        });
        pool.emplace_back([&] {
            while (!done) {
                memo->clear();
                (void)memo->stats();
                std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
        });
        for (int r = 0; r < readers; ++r) pool[static_cast<std::size_t>(r)].join();
        done = true;
        pool[readers].join();
        pool[readers + 1].join();
        CPPUNIT_ASSERT_EQUAL(0, errors.load());
        CPPUNIT_ASSERT(flushes.load() >= min_flushes);
        // Flushes made lookups go to the directory again; hits were answered without it.
        CPPUNIT_ASSERT(inner->calls.load() > static_cast<int>(expect.size()));
        CPPUNIT_ASSERT(inner->calls.load() < lookups.load());
        const auto st = memo->stats();
        CPPUNIT_ASSERT(st.bytes <= memo->budget());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CertificateMemoTest);
