// DNS SMIMEA pieces without a DNS server: the owner name (against RFC 8162's example and
// sha256sum), the RDATA parser (truncated and garbage input), forwarder syntax, and the
// resolver's configuration errors and query deadline (a real UDP socket that never answers).
// Answers from a real signed zone are tested in tests/integration/test_smimea.sh (nsd).
#include <cppunit/extensions/HelperMacros.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "base/error.h"
#include "directory/dns_resolver.h"
#include "directory/smimea_record.h"
#include "directory/smimea_source.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::directory;

namespace {

using test::addr;

// The first 56 hex digits of `sha256sum` over the bytes (coreutils, not our code).
std::string sha256sum56(const std::string& bytes)
{
    ssm::test::TempDir tmp;
    const auto in = tmp.path() / "in";
    ssm::test::write_file(in, bytes);
    std::string cmd = "sha256sum < '" + in.string() + "' | cut -c1-56";
    FILE* p = ::popen(cmd.c_str(), "r");
    CPPUNIT_ASSERT(p);
    char buf[128] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    ::pclose(p);
    std::string out(buf, n);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    CPPUNIT_ASSERT_EQUAL(std::size_t(56), out.size());
    return out;
}

// A UDP socket on a free loopback port that never answers (held open for the test).
class SilentUdp {
public:
    SilentUdp() : m_fd(::socket(AF_INET, SOCK_DGRAM, 0))
    {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        CPPUNIT_ASSERT(m_fd >= 0);
        CPPUNIT_ASSERT_EQUAL(0, ::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a));
        CPPUNIT_ASSERT_EQUAL(0, ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&a), &len));
        m_port = ntohs(a.sin_port);
    }
    ~SilentUdp() { ::close(m_fd); }
    int port() const { return m_port; }

private:
    int m_fd;
    int m_port = 0;
};

// Resolver settings that point at a silent forwarder, with a trust anchor file for a zone
// nobody serves: every query can only end at its deadline.
struct SilentForwarder {
    ssm::test::TempDir tmp;
    SilentUdp udp;
    ResolverSettings settings;

    explicit SilentForwarder(std::chrono::milliseconds timeout)
    {
        const auto ta = tmp.path() / "ta.key";
        ssm::test::write_file(ta, "partner.example. IN DS 1 13 2 "
                                  "0000000000000000000000000000000000000000000000000000000000000000\n");
        settings.forwarder = "127.0.0.1@" + std::to_string(udp.port());
        settings.trust_anchor_file = ta.string();
        settings.timeout = timeout;
    }
};

}  // namespace

class SmimeaTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SmimeaTest);
    CPPUNIT_TEST(owner_name_matches_rfc_example);
    CPPUNIT_TEST(owner_name_matches_sha256sum);
    CPPUNIT_TEST(owner_name_hashes_the_local_part_without_its_quoting);
    CPPUNIT_TEST(rdata_fields_are_read);
    CPPUNIT_TEST(truncated_rdata_is_rejected);
    CPPUNIT_TEST(garbage_rdata_never_crashes);
    CPPUNIT_TEST(only_full_end_entity_certificates_are_candidates);
    CPPUNIT_TEST(forwarder_syntax);
    CPPUNIT_TEST(configuration_errors);
    CPPUNIT_TEST(silent_forwarder_times_out);
    CPPUNIT_TEST(concurrent_queries_each_keep_their_deadline);
    CPPUNIT_TEST(addresses_outside_domains_are_not_looked_up);
    CPPUNIT_TEST(names_longer_than_dns_allows_have_no_records);
    CPPUNIT_TEST(cache_key_follows_the_trust_anchors);
    CPPUNIT_TEST_SUITE_END();

public:
    void owner_name_matches_rfc_example()
    {
        // RFC 8162 §3 (the same hash as RFC 7929's OPENPGPKEY example).
        CPPUNIT_ASSERT_EQUAL(std::string("c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert.example.com"),
                             smimea_owner_name(addr("hugh@example.com")));
    }

    void owner_name_matches_sha256sum()
    {
        // The local part as sent: case kept, UTF-8 octets hashed; the domain lower-cased by
        // Domain::parse.
        for (const std::string local : {"dave", "Dave", "first.last+tag", "j\xc3\xb6rg"}) {
            const auto a = EmailAddress::parse(local + "@Partner.Example");
            CPPUNIT_ASSERT_MESSAGE(local, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(local, sha256sum56(local) + "._smimecert.partner.example",
                                         smimea_owner_name(*a));
        }
    }

    // RFC 8162 §3 (step 2, as RFC 7929 §3): before hashing, "any enclosing double quotes are
    // removed. Any literal quoting is removed." Case is kept (no mapping of the local part:
    // RFC 8162 §3, RFC 7929 §5.1). Before, the quoted spelling was hashed quotes and all, so a
    // recipient whose local part needs quotes never found the record its domain published.
    // Expected values worked out of band: printf %s 'LOCAL' | sha256sum | cut -c1-56.
    void owner_name_hashes_the_local_part_without_its_quoting()
    {
        const struct {
            const char* address;
            const char* hash;
        } cases[] = {
            // printf %s 'alice' | sha256sum
            {"alice@example.com", "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db"},
            {"\"alice\"@example.com", "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db"},
            {"\"al\\ice\"@example.com", "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db"},
            // printf %s 'Alice' | sha256sum (not lower-cased)
            {"Alice@example.com", "3bc51062973c458d5a6f2d8d64a023246354ad7e064b1e4e009ec8a0"},
            {"\"Alice\"@example.com", "3bc51062973c458d5a6f2d8d64a023246354ad7e064b1e4e009ec8a0"},
            // printf %s 'a b' | sha256sum (the quotes it needs are not hashed)
            {"\"a b\"@example.com", "c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e"},
            {"\"a\\ b\"@example.com", "c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c2034ae8c38e"},
            // printf %s 'a..b' | sha256sum (bare and quoted spellings)
            {"a..b@example.com", "f62b42414c514fa689d3e087ba397c602a4ba2c897f0ac2cb32cf770"},
            {"\"a..b\"@example.com", "f62b42414c514fa689d3e087ba397c602a4ba2c897f0ac2cb32cf770"},
            // printf %s 'a"b\c' | sha256sum (quoted-pairs stand for their character)
            {"\"a\\\"b\\\\c\"@example.com", "bd558229236e7dc57de12841c13ceb1457fb3f8d462404e7fab1c939"},
        };
        for (const auto& c : cases) {
            const auto a = EmailAddress::parse(c.address);
            CPPUNIT_ASSERT_MESSAGE(c.address, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.address, std::string(c.hash) + "._smimecert.example.com",
                                         smimea_owner_name(*a));
        }
    }

    void rdata_fields_are_read()
    {
        const Bytes rdata = {3, 0, 0, 0x30, 0x82, 0x01};
        const auto r = parse_smimea_rdata(rdata);
        CPPUNIT_ASSERT(r.has_value());
        CPPUNIT_ASSERT_EQUAL(3, int(r->usage));
        CPPUNIT_ASSERT_EQUAL(0, int(r->selector));
        CPPUNIT_ASSERT_EQUAL(0, int(r->matching_type));
        CPPUNIT_ASSERT(r->data == (Bytes{0x30, 0x82, 0x01}));
    }

    void truncated_rdata_is_rejected()
    {
        const Bytes full = {1, 0, 0, 0x30};
        for (std::size_t n = 0; n < full.size(); ++n)
            CPPUNIT_ASSERT_MESSAGE(std::to_string(n), !parse_smimea_rdata(ByteView(full.data(), n)));
        CPPUNIT_ASSERT(parse_smimea_rdata(full).has_value());
        CPPUNIT_ASSERT(!parse_smimea_rdata(ByteView()));
    }

    void garbage_rdata_never_crashes()
    {
        // Random bytes and every prefix of a real record: parse or reject, never read beyond.
        std::mt19937 rng(8162);
        for (int i = 0; i < 2000; ++i) {
            Bytes b(rng() % 64);
            for (auto& x : b) x = static_cast<std::uint8_t>(rng());
            const auto r = parse_smimea_rdata(b);
            CPPUNIT_ASSERT_EQUAL(b.size() >= 4, r.has_value());
            if (r) CPPUNIT_ASSERT_EQUAL(b.size() - 3, r->data.size());
        }
        const Bytes cert = ssm::test::pki_der("dave");
        Bytes rdata = {1, 0, 0};
        rdata.insert(rdata.end(), cert.begin(), cert.end());
        for (std::size_t n = 0; n <= rdata.size(); n += 7) {
            const auto r = parse_smimea_rdata(ByteView(rdata.data(), n));
            if (n < 4) CPPUNIT_ASSERT(!r);
            else CPPUNIT_ASSERT(r && r->data.size() == n - 3);
        }
    }

    void only_full_end_entity_certificates_are_candidates()
    {
        struct Case {
            int usage, selector, matching;
            bool full;
        };
        const Case cases[] = {{1, 0, 0, true},  {3, 0, 0, true},  {0, 0, 0, false}, {2, 0, 0, false},
                              {1, 1, 0, false}, {1, 0, 1, false}, {3, 1, 1, false}, {3, 0, 2, false},
                              {4, 0, 0, false}, {1, 2, 0, false}, {255, 255, 255, false}};
        for (const auto& c : cases) {
            SmimeaRecord r;
            r.usage = static_cast<std::uint8_t>(c.usage);
            r.selector = static_cast<std::uint8_t>(c.selector);
            r.matching_type = static_cast<std::uint8_t>(c.matching);
            const std::string m = std::to_string(c.usage) + " " + std::to_string(c.selector) + " " +
                                  std::to_string(c.matching);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(m, c.full, r.is_full_end_entity_certificate());
        }
    }

    void forwarder_syntax()
    {
        for (const char* ok : {"127.0.0.1", "127.0.0.1@5353", "192.0.2.53@53", "::1", "::1@5353", "2001:db8::53"})
            CPPUNIT_ASSERT_MESSAGE(ok, is_valid_forwarder(ok));
        for (const char* bad : {"", "localhost", "127.0.0.1@", "127.0.0.1@0", "127.0.0.1@65536", "127.0.0.1@53x",
                                "127.0.0.1:53", "1.2.3", "@53", "127.0.0.1@123456"})
            CPPUNIT_ASSERT_MESSAGE(bad, !is_valid_forwarder(bad));
        for (const char* lo : {"127.0.0.1", "127.1.2.3@5353", "::1", "::1@53"})
            CPPUNIT_ASSERT_MESSAGE(lo, is_loopback_forwarder(lo));
        for (const char* remote : {"192.0.2.1", "10.0.0.1@53", "2001:db8::1", "bogus"})
            CPPUNIT_ASSERT_MESSAGE(remote, !is_loopback_forwarder(remote));
    }

    void configuration_errors()
    {
        ssm::test::TempDir tmp;
        const auto ta = tmp.path() / "ta.key";
        ssm::test::write_file(ta, "partner.example. IN DS 1 13 2 "
                                  "0000000000000000000000000000000000000000000000000000000000000000\n");
        ResolverSettings s;
        s.forwarder = "127.0.0.1@53";
        // An unreadable file says why; a folder is no trust anchor file.
        for (const auto& [path, why] : {std::pair{tmp.path() / "missing.key", "No such file or directory"},
                                        std::pair{tmp.path(), "Is a directory"}}) {
            s.trust_anchor_file = path.string();
            try {
                ValidatingResolver r(s);
                CPPUNIT_FAIL("accepted " + path.string());
            } catch (const ResolverConfigError& e) {
                CPPUNIT_ASSERT_EQUAL("cannot read trust anchor file " + path.string() + ": " + why +
                                         " (the root's is in the Debian package dns-root-data)",
                                     std::string(e.what()));
            }
        }
        const auto junk = tmp.path() / "junk.key";
        ssm::test::write_file(junk, "this is no DS record\n");
        s.trust_anchor_file = junk.string();
        CPPUNIT_ASSERT_THROW(ValidatingResolver{s}, ResolverConfigError);  // read at load time
        s.trust_anchor_file = ta.string();
        s.forwarder = "not-an-address";
        CPPUNIT_ASSERT_THROW(ValidatingResolver{s}, ResolverConfigError);
        s.forwarder = "127.0.0.1@53";
        ValidatingResolver ok(s);  // constructs, asks nothing
        SmimeaSourceConfig c;
        c.resolver = s;
        c.domains = {"not a domain"};
        CPPUNIT_ASSERT_THROW(SmimeaSource{c}, ResolverConfigError);
    }

    void silent_forwarder_times_out()
    {
        SilentForwarder silent(std::chrono::milliseconds(400));
        ValidatingResolver resolver(silent.settings);
        for (int i = 0; i < 2; ++i) {  // the second query after a cancelled one, same context
            const auto t0 = std::chrono::steady_clock::now();
            try {
                resolver.query("x._smimecert.partner.example", smimea_rr_type);
                CPPUNIT_FAIL("a silent forwarder answered");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            }
            const auto took = std::chrono::steady_clock::now() - t0;
            CPPUNIT_ASSERT(took >= std::chrono::milliseconds(350));
            CPPUNIT_ASSERT(took < std::chrono::seconds(3));
        }
    }

    void concurrent_queries_each_keep_their_deadline()
    {
        // Threads share the one context; each query is cancelled on its own deadline, and the
        // resolver is destroyed right after (its pump thread stops, no callback is left).
        SilentForwarder silent(std::chrono::milliseconds(300));
        auto resolver = std::make_unique<ValidatingResolver>(silent.settings);
        std::atomic<int> unavailable{0};
        std::vector<std::thread> threads;
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 8; ++i)
            threads.emplace_back([&, i] {
                try {
                    resolver->query("n" + std::to_string(i) + "._smimecert.partner.example", smimea_rr_type);
                } catch (const Error& e) {
                    if (e.failure() == Failure::DirectoryUnavailable) ++unavailable;
                }
            });
        for (auto& t : threads) t.join();
        CPPUNIT_ASSERT_EQUAL(8, unavailable.load());
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3));
        resolver.reset();
    }

    void addresses_outside_domains_are_not_looked_up()
    {
        // A lookup would time out: an empty answer at once shows none was sent.
        SilentForwarder silent(std::chrono::milliseconds(5000));
        SmimeaSourceConfig c;
        c.domains = {"Partner.Example"};
        c.resolver = silent.settings;
        SmimeaSource source(c);
        CPPUNIT_ASSERT(source.serves(addr("dave@partner.example")));
        CPPUNIT_ASSERT(!source.serves(addr("dave@other.example")));
        const auto t0 = std::chrono::steady_clock::now();
        CPPUNIT_ASSERT(source.lookup(addr("dave@other.example")).empty());
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
        CPPUNIT_ASSERT_EQUAL(std::string("smimea"), source.name());
    }

    // The lookup cache keeps answers under the source's cache_key(): a source that validates
    // with other trust anchors (another file, or the same file rewritten, as a reload after an
    // anchor change builds it) or asks another forwarder must not answer from the entries, positive
    // or negative (an "insecure" answer is cached as none), made by the old one. The same
    // settings share them (a reload that changes nothing here keeps the cache warm).
    void cache_key_follows_the_trust_anchors()
    {
        SilentForwarder silent(std::chrono::milliseconds(300));
        SmimeaSourceConfig c;
        c.resolver = silent.settings;
        const std::string before = SmimeaSource(c).cache_key();
        CPPUNIT_ASSERT_EQUAL(before, SmimeaSource(c).cache_key());
        ssm::test::write_file(c.resolver.trust_anchor_file,
                              "partner.example. IN DS 2 13 2 "
                              "1111111111111111111111111111111111111111111111111111111111111111\n");
        const std::string rewritten = SmimeaSource(c).cache_key();
        CPPUNIT_ASSERT_MESSAGE("a rewritten trust anchor file kept the cache key", rewritten != before);
        CPPUNIT_ASSERT(before.rfind("smimea#", 0) == 0);
        const auto other = silent.tmp.path() / "other.key";
        ssm::test::write_file(other, ssm::test::read_file(c.resolver.trust_anchor_file));
        SmimeaSourceConfig moved = c;
        moved.resolver.trust_anchor_file = other.string();
        CPPUNIT_ASSERT(SmimeaSource(moved).cache_key() != rewritten);
        SmimeaSourceConfig forwarded = c;
        forwarded.resolver.forwarder = "127.0.0.2@" + std::to_string(silent.udp.port());
        CPPUNIT_ASSERT(SmimeaSource(forwarded).cache_key() != rewritten);
    }

    // A domain of 200 octets is a valid mail domain, but its SMIMEA owner name (68 more) is
    // longer than DNS allows: no record can exist, so "none", not a directory failure (451
    // at every retry of a recipient that simply has none).
    void names_longer_than_dns_allows_have_no_records()
    {
        SilentForwarder silent(std::chrono::milliseconds(300));
        SmimeaSourceConfig c;
        c.resolver = silent.settings;
        SmimeaSource source(c);
        const std::string label(49, 'a');
        const auto long_domain = addr("dave@" + label + "." + label + "." + label + "." + label + ".example");
        CPPUNIT_ASSERT(smimea_owner_name(long_domain).size() > 253);
        CPPUNIT_ASSERT(source.lookup(long_domain).empty());
        // The longest domain that still fits is asked (and here times out).
        const auto fits = addr("dave@" + label + "." + label + "." + label + ".example");
        CPPUNIT_ASSERT(smimea_owner_name(fits).size() <= 253);
        CPPUNIT_ASSERT_THROW(source.lookup(fits), Error);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SmimeaTest);
