// LDAP certificate source against real slapd instances (tests/fixtures/slapd.sh) on free
// loopback ports: both RFC 4523 attributes, escaping, TLS, bind, failover, reconnect, threads.
// The PKI comes from tests/fixtures/make-pki.sh (OpenSSL), never from our own code.
#include <cppunit/extensions/HelperMacros.h>

#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <set>
#include <system_error>
#include <thread>

#include "base/error.h"
#include "base/metrics.h"
#include "directory/ldap_connection.h"
#include "directory/ldap_source.h"
#include "directory/lookup_cache.h"
#include "pki/certificate.h"
#include "tests/unit/test_revocation_support.h"
#include "tests/unit/test_support.h"

namespace fs = std::filesystem;
using namespace ssm;
// ldap:: alone is ambiguous here (clang): <ldap.h> declares a global struct ldap.
using namespace ssm::directory;
using ssm::test::TempDir;

namespace {

// A loopback port nobody listens on, never handed out twice by this program.
int free_port()
{
    static std::set<int> given;
    for (;;) {
        const int s = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            ::close(s);
            throw std::runtime_error("no free port");
        }
        ::close(s);
        const int port = ntohs(a.sin_port);
        if (given.insert(port).second) return port;
    }
}

// A loopback server that accepts connections (the kernel completes the handshake from the
// listen backlog) and never reads or answers: a hung slapd, a firewall that swallows packets
// after the SYN. Closed when the object goes, also when an assertion fails.
class MuteListener {
public:
    MuteListener() : m_socket(::socket(AF_INET, SOCK_STREAM, 0))
    {
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (m_socket < 0 || ::bind(m_socket, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(m_socket, 16) != 0 || ::getsockname(m_socket, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
            if (m_socket >= 0) ::close(m_socket);
            throw std::runtime_error("cannot listen on 127.0.0.1");
        }
        m_port = ntohs(a.sin_port);
    }
    ~MuteListener() { ::close(m_socket); }
    MuteListener(const MuteListener&) = delete;
    MuteListener& operator=(const MuteListener&) = delete;
    int port() const { return m_port; }

private:
    int m_socket;
    int m_port = 0;
};

// Runs the fixture without handing it our descriptors: slapd would keep our LDAP client
// sockets open and the server would never see them close.
void fixture(const std::string& args)
{
    ssm::test::run_without_our_descriptors(
        "sh '" + (ssm::test::source_dir() / "tests/fixtures/slapd.sh").string() + "' " + args);
}

std::string q(const fs::path& p)
{
    return "'" + p.string() + "'";
}

// The PKI and the LDIF entries, made once per program.
struct Data {
    TempDir tmp;
    fs::path pki = tmp.path() / "pki";
    std::vector<fs::path> ldifs;

    Data()
    {
        ssm::test::run("sh " + q(ssm::test::source_dir() / "tests/fixtures/make-pki.sh") + " " +
                       q(pki) + " >/dev/null");
        const fs::path d = tmp.path();
        // frank (P-256) as a certs-only PKCS#7 with the sub-CA; dave (RSA) as userCertificate;
        // partner-domain in both attributes (one candidate); malformed and oversized values.
        fixture("p7c " + q(d / "frank.p7c") + " " + q(pki / "frank.cert.pem") + " " +
                q(pki / "sub-ca.cert.pem"));
        fixture("p7c " + q(d / "partner.p7c") + " " + q(pki / "partner-domain.cert.pem"));
        test::write_file(d / "junk.bin", "this is not DER");
        test::write_file(d / "big.bin", std::string(70 * 1024, 'x'));
        const std::vector<std::string> entries = {
            "dave@partner.example --cert " + q(pki / "dave.cert.der"),
            "frank@partner.example --smime " + q(d / "frank.p7c"),
            "domain-confidentiality-authority@partner.example --cert " +
                q(pki / "partner-domain.cert.der") + " --smime " + q(d / "partner.p7c"),
            "broken@partner.example --smime " + q(d / "junk.bin") + " --smime " +
                q(pki / "dave.cert.der") + " --smime " + q(d / "big.bin") + " --cert " +
                q(pki / "frank.cert.der"),
            "hidden@partner.example --ou protected --cert " + q(pki / "dave.cert.der"),
        };
        for (std::size_t i = 0; i < entries.size(); ++i) {
            ldifs.push_back(d / ("e" + std::to_string(i) + ".ldif"));
            fixture("entry " + entries[i] + " > " + q(ldifs.back()));
        }
    }
    std::string ldif_args() const
    {
        std::string s;
        for (const auto& l : ldifs) s += " " + q(l);
        return s;
    }
};

Data& data()
{
    static Data d;
    return d;
}

// One slapd instance, stopped when the object goes away (also when a test fails).
class Slapd {
public:
    // `extra_ldifs`: more LDIF files (quoted, space-separated) loaded with the common ones.
    // `ldapi`: also on a Unix socket in the instance's own folder (ldapi_uri()).
    explicit Slapd(bool ldaps = false, std::string extra_ldifs = {}, bool ldapi = false)
        : m_port(free_port()), m_tls_port(ldaps ? free_port() : 0), m_extra(std::move(extra_ldifs)), m_ldapi(ldapi)
    {
        start(true);
    }
    ~Slapd()
    {
        try {
            stop();
        } catch (...) {
        }
    }
    Slapd(const Slapd&) = delete;
    Slapd& operator=(const Slapd&) = delete;

    void start(bool first = false)
    {
        fixture("start " + q(dir()) + " " + std::to_string(m_port) +
                (m_tls_port ? " --ldaps " + std::to_string(m_tls_port) : std::string{}) +
                (m_ldapi ? " --ldapi " + q(socket()) : std::string{}) +
                (first ? data().ldif_args() + " " + m_extra : std::string{}));
    }
    void stop() { fixture("stop " + q(dir())); }
    std::string uri() const { return "ldap://127.0.0.1:" + std::to_string(m_port); }
    std::string ldaps_uri() const { return "ldaps://127.0.0.1:" + std::to_string(m_tls_port); }
    std::string ldapi_uri() const
    {
        std::string encoded;
        for (const char c : socket().string()) encoded += c == '/' ? std::string("%2F") : std::string(1, c);
        return "ldapi://" + encoded;
    }
    fs::path ca_file() const { return dir() / "tls" / "ca.pem"; }
    pid_t pid() const { return static_cast<pid_t>(std::stol(test::read_file(dir() / "slapd.pid"))); }
    // How often the log says `what` (" SRCH base=", " ACCEPT from").
    std::size_t count(const std::string& what) const
    {
        const std::string log = test::read_file(dir() / "slapd.log");
        std::size_t n = 0;
        for (auto at = log.find(what); at != std::string::npos; at = log.find(what, at + 1)) ++n;
        return n;
    }

private:
    fs::path dir() const { return m_tmp.path() / "slapd"; }
    fs::path socket() const { return m_tmp.path() / "ldapi"; }
    TempDir m_tmp;
    int m_port;
    int m_tls_port;
    std::string m_extra;
    bool m_ldapi;
};

// slapd frozen (test_support.h): connections accepted by the kernel, nothing answered.
using test::FrozenProcess;

Slapd& shared_server()
{
    static Slapd s(true, {}, true);
    return s;
}

LdapSourceConfig config_for(std::vector<std::string> servers)
{
    LdapSourceConfig c;
    c.domains = {"partner.example"};
    c.servers = std::move(servers);
    c.base = "dc=partner,dc=example";
    c.timeout = std::chrono::milliseconds(1000);
    c.retry_after = std::chrono::milliseconds(0);
    return c;
}

using test::addr;

Bytes der_file(const fs::path& p)
{
    return to_bytes(test::read_file(p));
}

std::vector<Bytes> ders(const std::vector<CertificateCandidate>& c)
{
    std::vector<Bytes> out;
    for (const auto& x : c) out.push_back(x.cert.der());
    return out;
}

void assert_unavailable(LdapSource& src, const std::string& address, const std::string& needle)
{
    try {
        src.lookup(addr(address));
        CPPUNIT_FAIL("lookup of " + address + " did not fail");
    } catch (const Error& e) {
        CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
        CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(needle) != std::string::npos);
    }
}

}  // namespace

class LdapTest final : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LdapTest);
    CPPUNIT_TEST(escaping);
    CPPUNIT_TEST(config_errors);
    CPPUNIT_TEST(user_certificate_binary);
    CPPUNIT_TEST(smime_certificate_pkcs7);
    CPPUNIT_TEST(both_attributes_deduplicated);
    CPPUNIT_TEST(malformed_values_skipped);
    CPPUNIT_TEST(no_entry_is_empty);
    CPPUNIT_TEST(outside_domains_no_search);
    CPPUNIT_TEST(filter_injection_matches_nothing);
    CPPUNIT_TEST(ldaps_with_ca_file);
    CPPUNIT_TEST(ldapi_on_this_host);
    CPPUNIT_TEST(starttls_with_ca_file);
    CPPUNIT_TEST(starttls_wrong_ca_fails);
    CPPUNIT_TEST(simple_bind_with_password_file);
    CPPUNIT_TEST(wrong_password_fails);
    CPPUNIT_TEST(failover_and_reconnect);
    CPPUNIT_TEST(all_servers_down);
    CPPUNIT_TEST(absent_base_is_not_a_negative_answer);
    CPPUNIT_TEST(unresponsive_server_times_out);
    CPPUNIT_TEST(unresponsive_tls_server_times_out);
    CPPUNIT_TEST(servers_marked_down_fail_fast);
    CPPUNIT_TEST(server_asked_again_after_retry_after);
    CPPUNIT_TEST(answer_after_a_mark_sets_the_server_up);
    CPPUNIT_TEST(timeout_thread_that_cannot_start);
    CPPUNIT_TEST(concurrent_lookups_share_the_pool);
    CPPUNIT_TEST(client_generic_search);
    CPPUNIT_TEST(client_pdu_limit);
    CPPUNIT_TEST(too_many_entries_is_a_cut_answer);
    CPPUNIT_TEST(search_references_make_a_cut_answer);
    CPPUNIT_TEST(entry_too_large_is_a_cut_answer);
    CPPUNIT_TEST(server_ignoring_the_size_limit);
    CPPUNIT_TEST(flood_on_a_pooled_session_is_not_asked_again);
    CPPUNIT_TEST(dropped_values_make_a_cut_answer);
    CPPUNIT_TEST(cache_key_covers_the_search);
    CPPUNIT_TEST_SUITE_END();

public:
    void escaping()
    {
        // libldap writes upper-case hex digits (RFC 4515 allows either).
        CPPUNIT_ASSERT_EQUAL(std::string("a\\2Ab\\28c\\29d\\5Ce"),
                             directory::ldap::escape_filter_value("a*b(c)d\\e"));
        CPPUNIT_ASSERT_EQUAL(std::string("x\\00y\\C3\\A9"),
                             directory::ldap::escape_filter_value(std::string("x\0y\xc3\xa9", 5)));
        CPPUNIT_ASSERT_EQUAL(std::string("(|(mail=a\\2A@x)(alt=a\\2A@x))"),
                             directory::ldap::make_filter("(|(mail=%s)(alt=%s))", "a*@x"));
    }

    void config_errors()
    {
        auto c = config_for({"ldap://127.0.0.1:1"});
        c.filter = "(mail=*)";
        CPPUNIT_ASSERT_THROW(LdapSource{c}, LdapConfigError);
        c = config_for({"http://127.0.0.1:1"});
        CPPUNIT_ASSERT_THROW(LdapSource{c}, LdapConfigError);
        c = config_for({});
        CPPUNIT_ASSERT_THROW(LdapSource{c}, LdapConfigError);
        c = config_for({"ldap://127.0.0.1:1"});
        c.bind_dn = "cn=reader,dc=partner,dc=example";
        c.bind_password_file = "/nonexistent/password";
        try {
            LdapSource s{c};
            CPPUNIT_FAIL("no error for a missing password file");
        } catch (const LdapConfigError& e) {
            CPPUNIT_ASSERT(std::string(e.what()).find("/nonexistent/password") != std::string::npos);
        }
    }

    void user_certificate_binary()
    {
        LdapSource src(config_for({shared_server().uri()}));
        auto got = src.lookup(addr("Dave@Partner.Example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, got.size());
        CPPUNIT_ASSERT(got[0].cert.der() == der_file(data().pki / "dave.cert.der"));
        CPPUNIT_ASSERT_EQUAL("ldap:" + shared_server().uri(), got[0].source);
        CPPUNIT_ASSERT_EQUAL("ldap:" + shared_server().uri(), src.name());
    }

    void smime_certificate_pkcs7()
    {
        LdapSource src(config_for({shared_server().uri()}));
        const auto got = ders(src.lookup(addr("frank@partner.example")));
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, got.size());  // frank (EC P-256) and the sub-CA
        CPPUNIT_ASSERT(std::count(got.begin(), got.end(), der_file(data().pki / "frank.cert.der")) == 1);
        CPPUNIT_ASSERT(std::count(got.begin(), got.end(), der_file(data().pki / "sub-ca.cert.der")) == 1);
    }

    void both_attributes_deduplicated()
    {
        LdapSource src(config_for({shared_server().uri()}));
        const auto got = ders(src.lookup(addr("domain-confidentiality-authority@partner.example")));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, got.size());
        CPPUNIT_ASSERT(got[0] == der_file(data().pki / "partner-domain.cert.der"));
    }

    void malformed_values_skipped()
    {
        // Junk and a bare certificate in userSMIMECertificate, a 70 KiB value: skipped; the
        // good userCertificate;binary value still comes through.
        LdapSource src(config_for({shared_server().uri()}));
        const auto got = ders(src.lookup(addr("broken@partner.example")));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, got.size());
        CPPUNIT_ASSERT(got[0] == der_file(data().pki / "frank.cert.der"));
    }

    void no_entry_is_empty()
    {
        LdapSource src(config_for({shared_server().uri()}));
        const auto before = src.searches_sent();
        CPPUNIT_ASSERT(src.lookup(addr("nobody@partner.example")).empty());
        CPPUNIT_ASSERT_EQUAL(before + 1, src.searches_sent());
        // Entries below a subtree that needs a bind are invisible to anonymous searches.
        CPPUNIT_ASSERT(src.lookup(addr("hidden@partner.example")).empty());
    }

    void outside_domains_no_search()
    {
        LdapSource src(config_for({shared_server().uri()}));
        const auto server_before = shared_server().count(" SRCH base=");
        CPPUNIT_ASSERT(!src.serves(addr("dave@sub.partner.example")));
        CPPUNIT_ASSERT(src.lookup(addr("dave@acme.example")).empty());
        CPPUNIT_ASSERT(src.lookup(addr("dave@sub.partner.example")).empty());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, src.searches_sent());
        CPPUNIT_ASSERT_EQUAL(server_before, shared_server().count(" SRCH base="));
    }

    void filter_injection_matches_nothing()
    {
        LdapSource src(config_for({shared_server().uri()}));
        // Unescaped, each would match every entry of the domain (or all entries).
        for (const char* a : {"*@partner.example", "\"*)(|(mail=*\"@partner.example",
                              "dave)(mail=*@partner.example", "\"\\\\2a\"@partner.example"}) {
            const auto before = src.searches_sent();
            CPPUNIT_ASSERT_MESSAGE(a, src.lookup(addr(a)).empty());
            CPPUNIT_ASSERT_EQUAL(before + 1, src.searches_sent());
        }
        // A backslash outside quotes is no address at all (parse refuses it): one in quotes is
        // tried above, and reaches the filter escaped.
        CPPUNIT_ASSERT(!ssm::EmailAddress::parse("\\2a@partner.example"));
        // The same filter template with a real address still finds it (the search ran).
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, src.lookup(addr("dave@partner.example")).size());
    }

    void ldaps_with_ca_file()
    {
        auto c = config_for({shared_server().ldaps_uri()});
        c.ca_file = shared_server().ca_file().string();
        LdapSource src(c);
        const auto got = src.lookup(addr("dave@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, got.size());
        CPPUNIT_ASSERT_EQUAL("ldap:" + shared_server().ldaps_uri(), got[0].source);
    }

    // slapd on the same host, over its Unix socket (ldapi://, the path percent-encoded): the
    // kernel carries the bytes, so there is no TLS to set up; StartTLS on it is refused as a
    // setting that can never work, like ssm-milter -n does. ldapi:/// (libldap's default
    // socket) is a URI too.
    void ldapi_on_this_host()
    {
        auto c = config_for({shared_server().ldapi_uri()});
        c.ca_file = shared_server().ca_file().string();  // harmless: TLS does not apply
        LdapSource src(c);
        const auto got = src.lookup(addr("dave@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, got.size());
        CPPUNIT_ASSERT(got[0].cert.der() == der_file(data().pki / "dave.cert.der"));
        CPPUNIT_ASSERT_EQUAL("ldap:" + shared_server().ldapi_uri(), got[0].source);
        CPPUNIT_ASSERT_NO_THROW(LdapSource{config_for({"ldapi:///"})});
        c.starttls = true;
        CPPUNIT_ASSERT_THROW(LdapSource{c}, LdapConfigError);
    }

    void starttls_with_ca_file()
    {
        auto c = config_for({shared_server().uri()});
        c.starttls = true;
        c.ca_file = shared_server().ca_file().string();
        LdapSource src(c);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, src.lookup(addr("frank@partner.example")).size());
    }

    void starttls_wrong_ca_fails()
    {
        auto c = config_for({shared_server().uri()});
        c.starttls = true;
        c.ca_file = (data().pki / "root-ca.cert.pem").string();  // not the server's CA
        LdapSource src(c);
        assert_unavailable(src, "dave@partner.example", "StartTLS");
        auto l = config_for({shared_server().ldaps_uri()});
        l.ca_file = c.ca_file;
        LdapSource ldaps(l);
        assert_unavailable(ldaps, "dave@partner.example", shared_server().ldaps_uri());
    }

    void simple_bind_with_password_file()
    {
        TempDir d;
        test::write_file(d.path() / "pw", "reader-secret\n");
        auto c = config_for({shared_server().uri()});
        c.bind_dn = "cn=reader,dc=partner,dc=example";
        c.bind_password_file = (d.path() / "pw").string();
        c.starttls = true;
        c.ca_file = shared_server().ca_file().string();
        LdapSource src(c);
        const auto got = src.lookup(addr("hidden@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, got.size());
        CPPUNIT_ASSERT(got[0].cert.der() == der_file(data().pki / "dave.cert.der"));
    }

    void wrong_password_fails()
    {
        TempDir d;
        test::write_file(d.path() / "pw", "not-the-password\n");
        auto c = config_for({shared_server().uri()});
        c.bind_dn = "cn=reader,dc=partner,dc=example";
        c.bind_password_file = (d.path() / "pw").string();
        LdapSource src(c);
        try {
            src.lookup(addr("hidden@partner.example"));
            CPPUNIT_FAIL("a wrong password was accepted");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            const std::string what = e.what();
            CPPUNIT_ASSERT_MESSAGE(what, what.find("Invalid credentials") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(what, what.find("not-the-password") == std::string::npos);
        }
    }

    void failover_and_reconnect()
    {
        Slapd first, second;
        auto c = config_for({first.uri(), second.uri()});
        LdapSource quick(c);  // retry_after 0: the first server is asked again at once
        c.retry_after = std::chrono::seconds(60);
        LdapSource patient(c);
        const auto dave = addr("dave@partner.example");

        CPPUNIT_ASSERT_EQUAL("ldap:" + first.uri(), quick.lookup(dave).at(0).source);
        CPPUNIT_ASSERT_EQUAL("ldap:" + first.uri(), patient.lookup(dave).at(0).source);

        first.stop();
        auto& errors = metrics::process().directory_errors;
        const auto failed_searches = errors.value({"ldap"}), server_failures = errors.value({"ldap_server"});
        CPPUNIT_ASSERT_EQUAL("ldap:" + second.uri(), quick.lookup(dave).at(0).source);
        CPPUNIT_ASSERT_EQUAL("ldap:" + second.uri(), patient.lookup(dave).at(0).source);
        // A failover is seen in the metrics although every lookup was answered.
        CPPUNIT_ASSERT_EQUAL(failed_searches, errors.value({"ldap"}));
        CPPUNIT_ASSERT_EQUAL(server_failures + 2, errors.value({"ldap_server"}));

        first.start();
        const auto searches = first.count(" SRCH base=");
        // The pooled connections to the old process are dead: discarded, and a new one made.
        CPPUNIT_ASSERT_EQUAL("ldap:" + first.uri(), quick.lookup(dave).at(0).source);
        CPPUNIT_ASSERT_EQUAL("ldap:" + first.uri(), quick.lookup(dave).at(0).source);
        CPPUNIT_ASSERT_EQUAL(searches + 2, first.count(" SRCH base="));
        // Within retry_after the failed server stays at the back of the order.
        CPPUNIT_ASSERT_EQUAL("ldap:" + second.uri(), patient.lookup(dave).at(0).source);
        CPPUNIT_ASSERT_EQUAL(searches + 2, first.count(" SRCH base="));

        // The first server restarts while the pool holds a connection to it: one lookup,
        // reconnected transparently, no failover.
        first.stop();
        first.start();
        CPPUNIT_ASSERT_EQUAL("ldap:" + first.uri(), quick.lookup(dave).at(0).source);
    }

    void all_servers_down()
    {
        // Nothing listens on either port: what a stopped slapd looks like to a client.
        const std::string a = "ldap://127.0.0.1:" + std::to_string(free_port());
        const std::string b = "ldap://127.0.0.1:" + std::to_string(free_port());
        LdapSource src(config_for({a, b}));
        try {
            src.lookup(addr("dave@partner.example"));
            CPPUNIT_FAIL("lookup succeeded with every server down");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            const std::string what = e.what();
            CPPUNIT_ASSERT_MESSAGE(what, what.find(a) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(what, what.find(b) != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{0}, src.searches_sent());
    }

    // A search base the server does not hold (a typo in base, a directory being restored into
    // an empty database, an ACL that hides the base) is noSuchObject: the directory cannot say
    // whether the recipient has a certificate. Taken for "none", it was cached as a negative
    // answer, and under an opportunistic rule the mail left in clear for negative_ttl (for
    // ever, with a typo) without a word in the log; it must be DirectoryUnavailable, named.
    void absent_base_is_not_a_negative_answer()
    {
        auto c = config_for({shared_server().uri()});
        c.base = "ou=missing,dc=partner,dc=example";
        auto src = std::make_shared<LdapSource>(c);
        try {
            src->lookup(addr("dave@partner.example"));
            CPPUNIT_FAIL("an absent search base answered \"no certificate\"");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("ou=missing,dc=partner,dc=example") !=
                                                 std::string::npos);
        }
        // Behind the cache: nothing stored, the next lookup asks again.
        TempDir t;
        CachingSource cache(lmdb::Environment::open(t.path()), src, CacheSettings{});
        CPPUNIT_ASSERT_THROW(cache.lookup(addr("dave@partner.example")), Error);
        CPPUNIT_ASSERT(!cache.peek(addr("dave@partner.example")).has_value());
        // The base that exists still answers, with or without entries.
        LdapSource good(config_for({shared_server().uri()}));
        CPPUNIT_ASSERT(good.lookup(addr("nobody@partner.example")).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, good.lookup(addr("dave@partner.example")).size());
    }

    // A server that accepts connections and never answers (a socket nobody reads): the
    // timeout ends the search, the lookup fails over to the next server.
    void unresponsive_server_times_out()
    {
        const MuteListener listener;
        const std::string mute = "ldap://127.0.0.1:" + std::to_string(listener.port());
        auto c = config_for({mute, shared_server().uri()});
        c.timeout = std::chrono::milliseconds(300);
        LdapSource src(c);
        const auto t0 = std::chrono::steady_clock::now();
        const auto got = src.lookup(addr("dave@partner.example"));
        const auto took = std::chrono::steady_clock::now() - t0;
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, got.size());
        CPPUNIT_ASSERT_EQUAL("ldap:" + shared_server().uri(), got[0].source);
        CPPUNIT_ASSERT(took >= std::chrono::milliseconds(300));
        CPPUNIT_ASSERT(took < std::chrono::seconds(3));

        LdapSource alone(config_for({mute}));
        assert_unavailable(alone, "dave@partner.example", mute);
    }

    // The same server behind TLS: ldaps:// waits for a handshake that never comes, StartTLS
    // for the answer to its extended operation. Each ends within the timeout, as a failure.
    void unresponsive_tls_server_times_out()
    {
        const MuteListener listener;
        const std::string port = std::to_string(listener.port());
        for (const bool starttls : {false, true}) {
            const std::string mute = (starttls ? "ldap://127.0.0.1:" : "ldaps://127.0.0.1:") + port;
            auto c = config_for({mute});
            c.starttls = starttls;
            c.ca_file = shared_server().ca_file().string();
            c.timeout = std::chrono::milliseconds(500);
            LdapSource src(c);
            const auto t0 = std::chrono::steady_clock::now();
            assert_unavailable(src, "dave@partner.example", mute);
            const auto took = std::chrono::steady_clock::now() - t0;
            CPPUNIT_ASSERT_MESSAGE(mute + ": " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()) + " ms",
                                   took < std::chrono::seconds(4));
        }
    }

    // Every server failed within retry_after (here the one server hangs): a search fails at
    // once, saying so, instead of waiting for each server's timeout again. Before, every search
    // asked every server again: a rule with N groups (two address forms each) waited up to 2N
    // timeouts per message against a hanging directory. Once retry_after has passed, one search
    // asks the server again, and while it waits the others still fail at once.
    void servers_marked_down_fail_fast()
    {
        using namespace std::chrono;
        const MuteListener listener;
        directory::ldap::ServerSettings server;
        server.uri = "ldap://127.0.0.1:" + std::to_string(listener.port());
        server.timeout = milliseconds(300);
        const auto retry_after = milliseconds(800);
        directory::ldap::Client client({{server}, 4, retry_after, {}});
        const directory::ldap::SearchRequest request{"dc=partner,dc=example", "(mail=dave@partner.example)", {},
                                                     directory::ldap::Scope::Subtree};
        // The failure's text and how long the search took.
        auto failed = [&](steady_clock::duration& took) {
            const auto t0 = steady_clock::now();
            try {
                client.search(request);
            } catch (const Error& e) {
                took = steady_clock::now() - t0;
                CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
                return std::string(e.what());
            }
            CPPUNIT_FAIL("a mute server answered");
            return std::string();
        };
        steady_clock::duration took{};
        failed(took);  // the timeout: the server is marked down
        const auto marked = steady_clock::now();
        CPPUNIT_ASSERT(took >= server.timeout);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, client.searches_sent());
        // Eight more searches within retry_after cost less than one timeout together, and none
        // reaches the server.
        const auto t0 = steady_clock::now();
        for (int i = 0; i < 8; ++i) {
            const std::string what = failed(took);
            CPPUNIT_ASSERT_MESSAGE(what, what.find("marked down") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(what, what.find(server.uri) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(what, what.find("retry_after") != std::string::npos);
        }
        const auto eight = steady_clock::now() - t0;
        CPPUNIT_ASSERT_MESSAGE(std::to_string(duration_cast<milliseconds>(eight).count()) + " ms",
                               eight < server.timeout);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, client.searches_sent());
        // retry_after passed: the next search asks the server (and waits for its timeout).
        std::this_thread::sleep_until(marked + retry_after + milliseconds(50));
        failed(took);
        CPPUNIT_ASSERT(took >= server.timeout);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, client.searches_sent());
        // Four threads at once after the next window: one asks, three fail at once.
        std::this_thread::sleep_for(retry_after + milliseconds(50));
        std::atomic<int> fast{0}, ready{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&] {
                ++ready;
                while (ready.load() < 4) std::this_thread::yield();
                const auto start = steady_clock::now();
                try {
                    client.search(request);
                } catch (const Error&) {
                }
                if (steady_clock::now() - start < server.timeout) ++fast;
            });
        for (auto& t : threads) t.join();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, client.searches_sent());
        CPPUNIT_ASSERT_EQUAL(3, fast.load());
    }

    // A directory that comes back is used again once retry_after has passed after its
    // failure, without anyone's help; before that, searches fail at once without asking it.
    void server_asked_again_after_retry_after()
    {
        using namespace std::chrono;
        Slapd slapd;
        directory::ldap::ServerSettings server;
        server.uri = slapd.uri();
        server.timeout = milliseconds(1000);
        const auto retry_after = milliseconds(1500);
        directory::ldap::Client client({{server}, 2, retry_after, {}});
        const directory::ldap::SearchRequest request{"dc=partner,dc=example", "(mail=dave@partner.example)", {},
                                                     directory::ldap::Scope::Subtree};
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, client.search(request).entries.size());
        slapd.stop();
        CPPUNIT_ASSERT_THROW(client.search(request), Error);  // refused: marked down
        const auto marked = steady_clock::now();
        slapd.start();
        const auto searches = slapd.count(" SRCH base=");
        if (steady_clock::now() < marked + retry_after) {  // a slow start may take longer
            try {
                client.search(request);
                CPPUNIT_FAIL("a server marked down was asked");
            } catch (const Error& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("marked down") != std::string::npos);
            }
            CPPUNIT_ASSERT_EQUAL(searches, slapd.count(" SRCH base="));
        }
        std::this_thread::sleep_until(marked + retry_after + milliseconds(50));
        const auto answer = client.search(request);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, answer.entries.size());
        CPPUNIT_ASSERT_EQUAL(slapd.uri(), answer.server);
        CPPUNIT_ASSERT_EQUAL(searches + 1, slapd.count(" SRCH base="));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, client.search(request).entries.size());  // up again
    }

    // Two searches of one server overlap: the first (B) times out and marks the server down while
    // the second (A), which found it up, still waits; meanwhile a third search is refused at
    // once (B's mark holds). Then the server answers A: the latest news, so the server is up
    // again and the next search asks it (rather than failing fast for retry_after on a server
    // that answers). A mark set after an answer came survives it (ldap_connection.cpp, set_up);
    // that ordering is a matter of microseconds and is not driven here. slapd is frozen (SIGSTOP)
    // for both and thawed between B's failure and A's deadline (A set out `stagger` after B, so
    // it has that long left).
    void answer_after_a_mark_sets_the_server_up()
    {
        using namespace std::chrono;
        Slapd slapd;
        directory::ldap::ServerSettings server;
        server.uri = slapd.uri();
        server.timeout = milliseconds(2000);
        const auto stagger = milliseconds(1500);
        // Two connections, neither pooled yet: both searches connect afresh, so B's timeout is
        // not retried on a new connection (that is only for a pooled session found dead).
        directory::ldap::Client client({{server}, 2, seconds(60), {}});
        const directory::ldap::SearchRequest request{"dc=partner,dc=example", "(mail=dave@partner.example)", {},
                                                     directory::ldap::Scope::Subtree};
        auto sent = [&](std::uint64_t n) {  // waits until n searches are on the wire
            const auto until = steady_clock::now() + seconds(10);
            while (client.searches_sent() < n && steady_clock::now() < until)
                std::this_thread::sleep_for(milliseconds(5));
            return client.searches_sent() >= n;
        };
        FrozenProcess frozen(slapd.pid());
        std::string b_failure;
        std::thread b([&] {
            try {
                client.search(request);
            } catch (const Error& e) {
                b_failure = e.what();
            }
        });
        const bool b_sent = sent(1);
        std::this_thread::sleep_for(stagger);
        std::size_t a_entries = 0;
        std::string a_failure;
        std::thread a([&] {
            try {
                a_entries = client.search(request).entries.size();
            } catch (const Error& e) {
                a_failure = e.what();
            }
        });
        const bool a_sent = sent(2);  // A found the server up (it was asked)
        b.join();                     // B timed out: the server is marked down
        std::string c_failure;        // while A still waits: refused at once, not asked
        try {
            client.search(request);
        } catch (const Error& e) {
            c_failure = e.what();
        }
        const std::uint64_t sent_while_marked = client.searches_sent();
        frozen.thaw();
        a.join();
        CPPUNIT_ASSERT(b_sent && a_sent);
        CPPUNIT_ASSERT_MESSAGE(b_failure, b_failure.find("Timed out") != std::string::npos ||
                                              b_failure.find("timed out") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(c_failure, c_failure.find("marked down") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, sent_while_marked);
        CPPUNIT_ASSERT_MESSAGE(a_failure, a_failure.empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, a_entries);
        // A's answer came after B's mark: the server is asked again, and answers.
        std::size_t d_entries = 0;
        try {
            d_entries = client.search(request).entries.size();
        } catch (const Error& e) {
            CPPUNIT_FAIL(std::string("the server answered A after B's mark, yet: ") + e.what());
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, d_entries);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, client.searches_sent());
    }

    // The thread that bounds a connection's wait (ldap_connection.cpp, Deadline) cannot be
    // started: here because every new thread's stack is made larger than the address space
    // (pthread_setattr_default_np; std::thread then throws std::system_error, as it does when
    // the process reaches its thread or memory limit). Before, that std::system_error passed
    // the failover (no ldap_server_failed line, the next server never asked) and the milter's
    // guard turned it into a tempfail without a reason; it is a failure of that server, an
    // LdapError, and a lookup with no server left is DirectoryUnavailable naming the cause.
    void timeout_thread_that_cannot_start()
    {
        const std::string uri = shared_server().uri();  // started before threads are broken
        LdapSource src(config_for({uri}));
        struct HugeThreadStacks {
            pthread_attr_t old{};
            HugeThreadStacks()
            {
                CPPUNIT_ASSERT_EQUAL(0, pthread_getattr_default_np(&old));
                pthread_attr_t huge;
                pthread_attr_init(&huge);
                CPPUNIT_ASSERT_EQUAL(0, pthread_attr_setstacksize(&huge, std::size_t{1} << 50));  // 1 PiB
                CPPUNIT_ASSERT_EQUAL(0, pthread_setattr_default_np(&huge));
                pthread_attr_destroy(&huge);
            }
            ~HugeThreadStacks()
            {
                pthread_setattr_default_np(&old);
                pthread_attr_destroy(&old);
            }
        };
        {
            HugeThreadStacks broken;
            CPPUNIT_ASSERT_THROW(std::thread([] {}).join(), std::system_error);  // the premise
            directory::ldap::ServerSettings server;
            server.uri = uri;
            server.timeout = std::chrono::milliseconds(1000);
            try {
                directory::ldap::connect(server, {});
                CPPUNIT_FAIL("connected without the thread bounding the wait");
            } catch (const directory::ldap::LdapError& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("cannot start the thread") != std::string::npos);
                CPPUNIT_ASSERT(e.connection_lost());
            }
            assert_unavailable(src, "dave@partner.example", "cannot start the thread");
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, src.lookup(addr("dave@partner.example")).size());  // threads again
    }

    void concurrent_lookups_share_the_pool()
    {
        auto c = config_for({shared_server().uri()});
        c.connections_per_server = 2;
        LdapSource src(c);
        const auto accepted = shared_server().count(" ACCEPT from");
        std::atomic<int> good{0}, bad{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&, t] {
                for (int i = 0; i < 10; ++i) {
                    try {
                        const bool even = (t + i) % 2 == 0;
                        const auto got =
                            src.lookup(addr(even ? "dave@partner.example" : "frank@partner.example"));
                        (got.size() == (even ? 1U : 2U) ? good : bad)++;
                    } catch (...) {
                        bad++;
                    }
                }
            });
        for (auto& t : threads) t.join();
        CPPUNIT_ASSERT_EQUAL(80, good.load());
        CPPUNIT_ASSERT_EQUAL(0, bad.load());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{80}, src.searches_sent());
        // Eight threads, two pooled connections.
        CPPUNIT_ASSERT(shared_server().count(" ACCEPT from") - accepted <= 2);
    }

    // The reusable client (for other queries such as group membership): entries with their
    // DN and raw values, attribute options matched by prefix, scopes.
    void client_generic_search()
    {
        directory::ldap::ServerSettings server;
        server.uri = shared_server().uri();
        server.timeout = std::chrono::milliseconds(1000);
        directory::ldap::Client client({{server}, 1, std::chrono::milliseconds(0), {}});
        auto answer = client.search({"ou=people,dc=partner,dc=example", "(mail=*@partner.example)",
                                     {"mail", "userCertificate"}, directory::ldap::Scope::OneLevel});
        CPPUNIT_ASSERT_EQUAL(shared_server().uri(), answer.server);
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, answer.entries.size());  // not ou=protected's
        const auto dave = std::find_if(answer.entries.begin(), answer.entries.end(), [](const auto& e) {
            return e.dn == "cn=dave@partner.example,ou=people,dc=partner,dc=example";
        });
        CPPUNIT_ASSERT(dave != answer.entries.end());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, dave->values("MAIL").size());
        CPPUNIT_ASSERT(*dave->values("mail")[0] == to_bytes("dave@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, dave->values("userCertificate").size());
        CPPUNIT_ASSERT(dave->values("userCert").empty());
        CPPUNIT_ASSERT(client.search({"dc=partner,dc=example", "(objectClass=*)", {"dc"},
                                      directory::ldap::Scope::Base}).entries.size() == 1);
        // A base that does not exist: an empty answer, not a failure.
        CPPUNIT_ASSERT(client.search({"ou=nowhere,dc=partner,dc=example", "(objectClass=*)", {},
                                      directory::ldap::Scope::Subtree}).entries.empty());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, client.searches_sent());
        CPPUNIT_ASSERT_EQUAL(1U, client.servers().at(0)->open_sessions());
    }

    // One entry larger than max_pdu_bytes: the connection is dropped, the search fails (a
    // membership or clearance search), or, for a caller that takes it as an answer
    // (entry_too_large_is_answer: certificate lookups, a mail list's group), says
    // entry_too_large without entries. too_many_entries_is_answer alone does not.
    void client_pdu_limit()
    {
        directory::ldap::ServerSettings server;
        server.uri = shared_server().uri();
        server.timeout = std::chrono::milliseconds(1000);
        directory::ldap::SearchLimits limits;
        limits.max_pdu_bytes = 16 * 1024;
        directory::ldap::Client client({{server}, 1, std::chrono::milliseconds(0), limits});
        const directory::ldap::SearchRequest big{"dc=partner,dc=example",
                                      "(mail=broken@partner.example)", {}, directory::ldap::Scope::Subtree};
        CPPUNIT_ASSERT_THROW(client.search(big), Error);
        CPPUNIT_ASSERT_EQUAL(0U, client.servers().at(0)->open_sessions());
        auto count_only = big;
        count_only.too_many_entries_is_answer = true;
        CPPUNIT_ASSERT_THROW(client.search(count_only), Error);
        auto answer_kind = big;
        answer_kind.entry_too_large_is_answer = true;
        const auto cut = client.search(answer_kind);
        CPPUNIT_ASSERT(cut.entry_too_large && cut.entries.empty());
        CPPUNIT_ASSERT_EQUAL(0U, client.servers().at(0)->open_sessions());
        const directory::ldap::SearchRequest small{"dc=partner,dc=example",
                                        "(mail=dave@partner.example)", {}, directory::ldap::Scope::Subtree};
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, client.search(small).entries.size());
    }

    // tests/fixtures/ldap_flood.py on a free port (`args`: its entry count, entry size and
    // the entries of a connection's first answer) and one client of it with max_entries 4.
    struct FloodingDirectory {
        explicit FloodingDirectory(const std::vector<std::string>& args)
            : port(free_port()),
              flood(flood_command(port, args), dir.path(), dir.path() / "flood.log", port),
              server(settings(port)),
              client({{server}, 1, std::chrono::milliseconds(0), limits()})
        {
        }
        static directory::ldap::SearchRequest group_search()
        {
            return {"dc=partner,dc=example", "(member=x)", {"description"}, directory::ldap::Scope::Subtree};
        }

        int port;
        TempDir dir;
        ssm::test::Server flood;
        directory::ldap::ServerSettings server;
        directory::ldap::Client client;

    private:
        static std::vector<std::string> flood_command(int port, const std::vector<std::string>& args)
        {
            std::vector<std::string> command{"python3", (ssm::test::source_dir() / "tests/fixtures/ldap_flood.py").string(),
                                             std::to_string(port)};
            command.insert(command.end(), args.begin(), args.end());
            return command;
        }
        static directory::ldap::ServerSettings settings(int port)
        {
            directory::ldap::ServerSettings s;
            s.uri = "ldap://127.0.0.1:" + std::to_string(port);
            s.timeout = std::chrono::milliseconds(5000);
            return s;
        }
        static directory::ldap::SearchLimits limits()
        {
            directory::ldap::SearchLimits l;
            l.max_entries = 4;
            return l;
        }
    };

    // A hostile or broken partner directory ignores the sizelimit we send and streams entries
    // (tests/fixtures/ldap_flood.py: 3000 of 2 KB). libldap keeps every one (ldap_search_ext_s
    // held them all: memory without bound); the client stops at max_entries + 1, answers as for
    // sizeLimitExceeded, and closes the session, which still receives the rest.
    void server_ignoring_the_size_limit()
    {
        FloodingDirectory flood({"3000", "2000"});
        directory::ldap::Client& client = flood.client;
        const directory::ldap::ServerSettings& server = flood.server;
        directory::ldap::SearchRequest group = FloodingDirectory::group_search();
        try {
            const auto answer = client.search(group);
            CPPUNIT_FAIL("an answer of " + std::to_string(answer.entries.size()) + " entries past max_entries 4");
        } catch (const Error& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("more than 4 entries") != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(0U, client.servers().at(0)->open_sessions());
        directory::ldap::SearchRequest certificates = group;
        certificates.too_many_entries_is_answer = true;
        const auto cut = client.search(certificates);
        CPPUNIT_ASSERT(cut.too_many_entries);
        CPPUNIT_ASSERT(cut.entries.empty());
        CPPUNIT_ASSERT_EQUAL(0U, client.servers().at(0)->open_sessions());
        // The certificate source: a cut answer, as documented for sizeLimitExceeded.
        auto c = config_for({server.uri});
        c.max_entries = 4;
        const auto answer = LdapSource(c).answer(addr("dave@partner.example"));
        CPPUNIT_ASSERT(answer.candidates.empty());
        CPPUNIT_ASSERT_MESSAGE(answer.cut, answer.cut.find("more entries match") != std::string::npos);
    }

    // The flood on a session that had answered well and was pooled: the search abandoned past
    // max_entries is the server's answer, not a sign that it restarted. Until 2026-12-02 the
    // pool took it for a dead session, closed every idle one and asked again on a fresh
    // connection (a second flood; here the fixture's first answer on a connection, 1 entry,
    // came back as if it were the answer).
    void flood_on_a_pooled_session_is_not_asked_again()
    {
        FloodingDirectory flood({"3000", "200", "1"});
        directory::ldap::Client& client = flood.client;
        const directory::ldap::SearchRequest group = FloodingDirectory::group_search();
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, client.search(group).entries.size());  // pooled now
        CPPUNIT_ASSERT_EQUAL(1U, client.servers().at(0)->open_sessions());
        try {
            const auto answer = client.search(group);
            CPPUNIT_FAIL("an answer of " + std::to_string(answer.entries.size()) + " entries: asked again");
        } catch (const Error& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("more than 4 entries") != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(0U, client.servers().at(0)->open_sessions());
    }

    // Part of the subtree lives on another server (a referral object: slapd answers a subtree
    // search with a continuation reference, RFC 4511 §4.5.3). References are not followed
    // (they would send our queries where nobody configured), so when nothing is found here the
    // recipient's entry may be the one left out: the answer is cut, used for this lookup only,
    // never cached as "none" (which made an opportunistic rule send in clear for negative_ttl).
    // An entry larger than one LDAP message may be here (SearchLimits::max_pdu_bytes, 4 MiB:
    // an account with thousands of certificates): libldap drops the connection unread, and the
    // server sends the same entry at every retry. Taken for an outage, the recipient got 451
    // until the MTA bounced the mail days later; it is an answer cut to no certificate, logged,
    // never cached, the other servers not asked; other lookups still work.
    void entry_too_large_is_a_cut_answer()
    {
        TempDir d;
        test::write_file(d.path() / "huge.bin", std::string(4 * 1024 * 1024 + 4096, 'x'));
        fixture("entry huge@partner.example --smime " + q(d.path() / "huge.bin") + " > " + q(d.path() / "huge.ldif"));
        Slapd server(false, q(d.path() / "huge.ldif"));
        auto src = std::make_shared<LdapSource>(config_for({server.uri()}));
        const auto huge = addr("huge@partner.example");
        const auto got = src->answer(huge);
        CPPUNIT_ASSERT(got.candidates.empty());
        CPPUNIT_ASSERT_MESSAGE(got.cut, got.cut.find("larger than 4194304 bytes") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, src->lookup(addr("dave@partner.example")).size());
        // [directory] max_entry_bytes sets the limit: the same entry fits under a larger one,
        // and a smaller one cuts an entry of 70 KiB (broken@ holds a 70 KiB value).
        auto large = config_for({server.uri()});
        large.max_entry_bytes = 8 * 1024 * 1024;
        CPPUNIT_ASSERT(!LdapSource(large).answer(huge).cut.empty());  // fits, but its value is over max_value_bytes
        CPPUNIT_ASSERT(LdapSource(large).answer(huge).cut.find("larger than") == std::string::npos);
        auto small = config_for({server.uri()});
        small.max_entry_bytes = 64 * 1024;
        const auto broken = LdapSource(small).answer(addr("broken@partner.example"));
        CPPUNIT_ASSERT(broken.candidates.empty());
        CPPUNIT_ASSERT_MESSAGE(broken.cut, broken.cut.find("larger than 65536 bytes (max_entry_bytes") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, LdapSource(small).lookup(addr("dave@partner.example")).size());

        // The next server (a replica of the same data) is not asked; nothing is cached.
        auto two = std::make_shared<LdapSource>(config_for({server.uri(), shared_server().uri()}));
        CachingSource cache(lmdb::Environment::open(d.path() / "cache"), two, CacheSettings{});
        CPPUNIT_ASSERT(cache.lookup(huge).empty());
        CPPUNIT_ASSERT(!cache.peek(huge).has_value());  // not cached as "none"
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, two->searches_sent());
    }

    void search_references_make_a_cut_answer()
    {
        TempDir d;
        const fs::path referral = d.path() / "referral.ldif";
        test::write_file(referral,
                         "dn: ou=elsewhere,dc=partner,dc=example\n"
                         "objectClass: referral\n"
                         "objectClass: extensibleObject\n"
                         "ou: elsewhere\n"
                         "ref: ldap://127.0.0.1:" + std::to_string(free_port()) + "/ou=elsewhere,dc=partner,dc=example\n");
        Slapd server(false, q(referral));
        auto src = std::make_shared<LdapSource>(config_for({server.uri()}));
        const auto away = addr("away@partner.example");
        const auto got = src->answer(away);
        CPPUNIT_ASSERT(got.candidates.empty());
        CPPUNIT_ASSERT_MESSAGE(got.cut, got.cut.find("reference") != std::string::npos);
        // A certificate found here stands (Active Directory refers every search at a domain
        // root to its application partitions: such answers must stay cacheable).
        const auto dave = src->answer(addr("dave@partner.example"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, dave.candidates.size());
        CPPUNIT_ASSERT(dave.complete());

        CachingSource cache(lmdb::Environment::open(d.path() / "cache"), src, CacheSettings{});
        const auto sent = src->searches_sent();
        CPPUNIT_ASSERT(cache.lookup(away).empty());
        CPPUNIT_ASSERT(cache.lookup(away).empty());
        CPPUNIT_ASSERT(!cache.peek(away).has_value());  // not cached as "none"
        CPPUNIT_ASSERT_EQUAL(sent + 2, src->searches_sent());

        // A base below the referral object: the server answers with a referral result instead
        // of entries; that was a failure already, and stays one.
        auto below = config_for({server.uri()});
        below.base = "ou=elsewhere,dc=partner,dc=example";
        CPPUNIT_ASSERT_THROW(LdapSource(below).lookup(away), Error);
    }

    // More entries match than the size limit lets through (the client's max_entries, or the
    // server's own sizelimit): the server sends some and sizeLimitExceeded. Which entry is the
    // recipient's is unknown, and the directory answers so at every retry: an answer cut to no
    // candidates (not a failure, which kept mail queued for days before it bounced), with why,
    // asked from the first server only, never cached.
    void too_many_entries_is_a_cut_answer()
    {
        TempDir d;
        const fs::path one = d.path() / "twin1.ldif", two = d.path() / "twin2.ldif";
        fixture("entry twin@partner.example --cert " + q(data().pki / "dave.cert.der") + " > " + q(one));
        fixture("entry twin@partner.example --cert " + q(data().pki / "frank.cert.der") +
                " | sed -e 's/^dn: cn=twin@/dn: cn=twin2@/' -e 's/^cn: twin@/cn: twin2@/' > " + q(two));
        const std::string twins = q(one) + " " + q(two);
        const auto twin = addr("twin@partner.example"), dave = addr("dave@partner.example");

        Slapd server(false, twins);
        const auto whole = LdapSource(config_for({server.uri()})).answer(twin);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, whole.candidates.size());
        CPPUNIT_ASSERT(whole.complete());

        // A second server that would answer: not asked, this is no outage.
        auto c = config_for({server.uri(), shared_server().uri()});
        c.max_entries = 1;
        auto limited = std::make_shared<LdapSource>(c);
        const auto cut = limited->answer(twin);
        CPPUNIT_ASSERT(cut.candidates.empty());
        CPPUNIT_ASSERT_MESSAGE(cut.cut, cut.cut.find("more entries match") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(cut.cut, cut.cut.find("max_entries (1)") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, limited->searches_sent());
        CPPUNIT_ASSERT(limited->lookup(twin).empty());
        CPPUNIT_ASSERT(limited->answer(dave).complete());  // one entry: whole
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, limited->lookup(dave).size());

        CachingSource cache(lmdb::Environment::open(d.path() / "cache"), limited, CacheSettings{});
        const auto sent = limited->searches_sent();
        CPPUNIT_ASSERT(!cache.answer(twin).complete());
        CPPUNIT_ASSERT(cache.lookup(twin).empty());
        CPPUNIT_ASSERT(!cache.peek(twin).has_value());          // not cached as "none"
        CPPUNIT_ASSERT_EQUAL(sent + 2, limited->searches_sent());  // asked each time
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(dave).size());
        CPPUNIT_ASSERT(cache.peek(dave).has_value());

        // The server's limit, with the client's default max_entries.
        ::setenv("SLAPD_EXTRA_GLOBAL", "sizelimit 1", 1);
        std::unique_ptr<Slapd> small;
        try {
            small = std::make_unique<Slapd>(false, twins);
        } catch (...) {
            ::unsetenv("SLAPD_EXTRA_GLOBAL");
            throw;
        }
        ::unsetenv("SLAPD_EXTRA_GLOBAL");
        LdapSource src(config_for({small->uri()}));
        const auto server_cut = src.answer(twin);
        CPPUNIT_ASSERT(server_cut.candidates.empty());
        CPPUNIT_ASSERT_MESSAGE(server_cut.cut, server_cut.cut.find("size limit") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, src.lookup(dave).size());
    }

    // Values the limits drop (here a 70 KiB value, over max_value_bytes; then certificates past
    // max_values) make the answer cut: what is left is used, and the answer is never cached, so
    // it cannot stand for the address's whole answer until the TTL ends.
    void dropped_values_make_a_cut_answer()
    {
        LdapSource src(config_for({shared_server().uri()}));
        const auto broken = addr("broken@partner.example"), frank = addr("frank@partner.example");
        const auto got = src.answer(broken);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, got.candidates.size());
        CPPUNIT_ASSERT(got.candidates[0].cert.der() == der_file(data().pki / "frank.cert.der"));
        CPPUNIT_ASSERT_MESSAGE(got.cut, got.cut.find("1 value(s) left out") != std::string::npos);
        // Junk values are not what the limits cut.
        CPPUNIT_ASSERT(src.answer(addr("domain-confidentiality-authority@partner.example")).complete());

        // frank's PKCS#7 holds two certificates; max_values 1 keeps the first.
        auto one = config_for({shared_server().uri()});
        one.max_values = 1;
        const auto first = LdapSource(one).answer(frank);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, first.candidates.size());
        CPPUNIT_ASSERT(!first.complete());
        CPPUNIT_ASSERT(LdapSource(config_for({shared_server().uri()})).answer(frank).complete());

        TempDir d;
        auto inner = std::make_shared<LdapSource>(config_for({shared_server().uri()}));
        CachingSource cache(lmdb::Environment::open(d.path()), inner, CacheSettings{});
        const auto cached = cache.answer(broken);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cached.candidates.size());
        CPPUNIT_ASSERT_EQUAL(got.cut, cached.cut);
        CPPUNIT_ASSERT(!cache.peek(broken).has_value());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cache.lookup(broken).size());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, inner->searches_sent());
        // A whole answer is cached and answered from the cache as whole.
        CPPUNIT_ASSERT(cache.answer(frank).complete());
        CPPUNIT_ASSERT(cache.peek(frank).has_value());
        CPPUNIT_ASSERT(cache.answer(frank).complete());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{3}, inner->searches_sent());
    }

    // Two [[directory.ldap]] entries on one server that search differently (here: bases) may
    // answer one address differently. The lookup cache filed both under "ldap:" + the first
    // server: one entry's negative (or certificates) were served for the other's lookups.
    void cache_key_covers_the_search()
    {
        TempDir d;
        auto env = lmdb::Environment::open(d.path());
        auto people = config_for({shared_server().uri()});
        people.base = "ou=people,dc=partner,dc=example";
        // A base that is there and holds neither (an ACL that hides the base, as ou=protected
        // is anonymously, is no answer at all: absent_base_is_not_a_negative_answer).
        auto protected_ou = config_for({shared_server().uri()});
        protected_ou.base = "cn=reader,dc=partner,dc=example";
        auto in_people = std::make_shared<LdapSource>(people);
        auto in_protected = std::make_shared<LdapSource>(protected_ou);
        CPPUNIT_ASSERT_EQUAL(in_people->name(), in_protected->name());  // the names stay as they were
        CachingSource a(env, in_protected, CacheSettings{}), b(env, in_people, CacheSettings{});
        const auto dave = addr("dave@partner.example"), frank = addr("frank@partner.example");

        CPPUNIT_ASSERT(a.lookup(dave).empty());                          // a negative, cached
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, b.lookup(dave).size());     // not a's negative
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, b.lookup(frank).size());    // certificates, cached
        CPPUNIT_ASSERT(a.lookup(frank).empty());                         // not b's certificates
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, in_people->searches_sent());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, in_protected->searches_sent());
        // Each still hits its own entries.
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, b.lookup(dave).size());
        CPPUNIT_ASSERT(a.lookup(frank).empty());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, in_people->searches_sent());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{2}, in_protected->searches_sent());

        // What else changes an answer changes the key; the same configuration (a restart, a
        // reload) keeps it, and the domains served do not enter it.
        const std::string key = in_people->cache_key();
        auto same = people;
        same.domains = {"partner.example", "other.example"};
        CPPUNIT_ASSERT_EQUAL(key, LdapSource(same).cache_key());
        auto other_filter = people;
        other_filter.filter = "(|(mail=%s)(otherMailbox=%s))";
        auto bound = people;
        TempDir pw;
        test::write_file(pw.path() / "pw", "reader-secret\n");
        bound.bind_dn = "cn=reader,dc=partner,dc=example";
        bound.bind_password_file = (pw.path() / "pw").string();
        auto more_servers = people;
        more_servers.servers.push_back("ldap://127.0.0.1:1");
        // The limits decide which values an answer keeps: answers under other limits differ.
        auto fewer_entries = people;
        fewer_entries.max_entries = 2;
        auto smaller_values = people;
        smaller_values.max_value_bytes = 1024;
        auto fewer_values = people;
        fewer_values.max_values = 4;
        std::set<std::string> keys{key};
        for (const auto& c : {other_filter, bound, more_servers, fewer_entries, smaller_values, fewer_values})
            CPPUNIT_ASSERT_MESSAGE(c.filter, keys.insert(LdapSource(c).cache_key()).second);
        // Served from one cache: the entry with max_values 1 is not handed the other's answer.
        auto one_value = people;
        one_value.max_values = 1;
        auto limited = std::make_shared<LdapSource>(one_value);
        CachingSource c(env, limited, CacheSettings{});
        const auto cut = c.answer(frank);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, cut.candidates.size());
        CPPUNIT_ASSERT(!cut.complete());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, limited->searches_sent());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LdapTest);
