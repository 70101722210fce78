// Unit tests for the metrics: the Prometheus text format of base/metrics (HELP/TYPE lines,
// label escaping, cumulative histogram buckets), exact counts from many threads, bounded
// labels, the [metrics] listen key (loopback only, errors with file:line:column), and the
// libmicrohttpd endpoint of milter/metrics_http answered over a real loopback socket.
#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "base/error.h"
#include "base/metrics.h"
#include "directory/ldap_connection.h"
#include "directory/lookup_cache.h"
#include "hsm/key_store.h"
#include "pki/certificate.h"
#include "milter/certificate_expiry.h"
#include "milter/config.h"
#include "milter/metrics_http.h"
#include "milter/reload.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

const std::string kMinimal = "[hsm]\ntoken_label = \"t\"\n";

// One HTTP/1.0 exchange with 127.0.0.1:port; returns the whole answer, or "refused".
std::string http(std::uint16_t port, const std::string& request)
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    struct Close {
        int fd;
        ~Close() { ::close(fd); }
    } closer{fd};
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "refused";
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size()))
        throw std::runtime_error("send failed");
    std::string answer;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    return answer;
}

// The status code and reason of an answer ("200 OK"), whatever HTTP version it names.
std::string status(const std::string& answer)
{
    const std::string line = answer.substr(0, answer.find("\r\n"));
    const auto space = line.find(' ');
    return space == std::string::npos ? line : line.substr(space + 1);
}

bool has(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

// A directory that answers alice@acme.example with one certificate, or fails when told to.
class TestDirectory final : public directory::CertificateSource {
public:
    std::vector<directory::CertificateCandidate> lookup(const EmailAddress&) override
    {
        if (down) throw Error(Failure::DirectoryUnavailable, "directory down (test)");
        auto cert = pki::SharedCertificate::parse_der(test::pki_der("alice"));
        if (!cert) throw std::runtime_error("alice.cert.der does not parse");
        return {directory::CertificateCandidate{std::move(*cert), "test", std::nullopt, 0}};
    }
    std::string name() const override { return "test"; }
    bool down = false;
};

std::string config_error(const std::string& text)
{
    try {
        parse_config(text, "m.toml");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(accepted)";
}

// The key store of a test token (two sessions).
std::unique_ptr<hsm::KeyStore> open_store(const test::PkiToken& token)
{
    hsm::TokenConfig config;
    config.module = test::softhsm_module;
    config.token_label = "ssm-test";
    config.pin_file = token.pin_file();
    config.sessions = 2;
    return hsm::KeyStore::open(config);
}

}  // namespace

class MetricsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MetricsTest);
    CPPUNIT_TEST(counter_text_format);
    CPPUNIT_TEST(label_values_and_help_are_escaped);
    CPPUNIT_TEST(histogram_buckets_are_cumulative);
    CPPUNIT_TEST(counts_from_threads_sum_exactly);
    CPPUNIT_TEST(labels_stay_bounded);
    CPPUNIT_TEST(message_labels);
    CPPUNIT_TEST(process_metrics_start_at_zero_and_count);
    CPPUNIT_TEST(directory_cache_counts_each_lookup_once);
    CPPUNIT_TEST(token_operations_are_counted_once);
    CPPUNIT_TEST(gauge_set_replaces_and_bounds);
    CPPUNIT_TEST(token_certificate_expiry);
    CPPUNIT_TEST(ldap_search_without_answer_is_one_error);
    CPPUNIT_TEST(listen_accepts_loopback_only);
    CPPUNIT_TEST(listen_change_needs_restart);
    CPPUNIT_TEST(endpoint_serves_metrics_only);
    CPPUNIT_TEST(endpoint_refuses_a_busy_address);
    CPPUNIT_TEST_SUITE_END();

public:
    void counter_text_format()
    {
        metrics::CounterFamily c("t_requests_total", "Requests seen.", {"kind", "result"}, 8);
        c.add({"a", "ok"});
        c.add({"a", "ok"}, 2);
        c.add({"b", "error"});
        c.declare({"c", "ok"});
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP t_requests_total Requests seen.\n"
                                         "# TYPE t_requests_total counter\n"
                                         "t_requests_total{kind=\"a\",result=\"ok\"} 3\n"
                                         "t_requests_total{kind=\"b\",result=\"error\"} 1\n"
                                         "t_requests_total{kind=\"c\",result=\"ok\"} 0\n"),
                             metrics::render({&c}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), c.value({"a", "ok"}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.value({"a", "error"}));

        metrics::CounterFamily plain("t_plain_total", "No labels.", {}, 1);
        plain.add({});
        metrics::Gauge g("t_up", "Up.", 1);
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP t_plain_total No labels.\n# TYPE t_plain_total counter\n"
                                         "t_plain_total 1\n"
                                         "# HELP t_up Up.\n# TYPE t_up gauge\nt_up 1\n"),
                             metrics::render({&plain, &g}));
    }

    void label_values_and_help_are_escaped()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a\\\"b\\\\c\\nd"), metrics::escape_label_value("a\"b\\c\nd"));
        CPPUNIT_ASSERT_EQUAL(std::string("plain-value+x"), metrics::escape_label_value("plain-value+x"));
        CPPUNIT_ASSERT_EQUAL(std::string("one\\\\two\\nthree \"q\""), metrics::escape_help("one\\two\nthree \"q\""));
        metrics::CounterFamily c("t_escaped_total", "Back\\slash\nnewline.", {"v"}, 4);
        c.add({"say \"hi\"\\\n"});
        const std::string text = metrics::render({&c});
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP t_escaped_total Back\\\\slash\\nnewline.\n"
                                         "# TYPE t_escaped_total counter\n"
                                         "t_escaped_total{v=\"say \\\"hi\\\"\\\\\\n\"} 1\n"),
                             text);
    }

    void histogram_buckets_are_cumulative()
    {
        metrics::Histogram h("t_duration_seconds", "Durations.", {0.005, 0.01, 0.1, 1});
        using std::chrono::milliseconds;
        for (auto d : {milliseconds(1), milliseconds(5), milliseconds(7), milliseconds(50), milliseconds(2000)})
            h.observe(d);
        // 5 ms is on a bound: le means "less than or equal".
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP t_duration_seconds Durations.\n"
                                         "# TYPE t_duration_seconds histogram\n"
                                         "t_duration_seconds_bucket{le=\"0.005\"} 2\n"
                                         "t_duration_seconds_bucket{le=\"0.01\"} 3\n"
                                         "t_duration_seconds_bucket{le=\"0.1\"} 4\n"
                                         "t_duration_seconds_bucket{le=\"1\"} 4\n"
                                         "t_duration_seconds_bucket{le=\"+Inf\"} 5\n"
                                         "t_duration_seconds_sum 2.063\n"
                                         "t_duration_seconds_count 5\n"),
                             metrics::render({&h}));
        CPPUNIT_ASSERT_EQUAL(std::string("0.005"), metrics::format_number(0.005));
        CPPUNIT_ASSERT_EQUAL(std::string("10"), metrics::format_number(10));
        // The product's buckets: 5 ms to 10 s, ascending.
        const auto b = metrics::message_duration_buckets();
        CPPUNIT_ASSERT_EQUAL(0.005, b.front());
        CPPUNIT_ASSERT_EQUAL(10.0, b.back());
        CPPUNIT_ASSERT(std::is_sorted(b.begin(), b.end()));
    }

    void counts_from_threads_sum_exactly()
    {
        metrics::CounterFamily c("t_threads_total", "Counted by threads.", {"who", "what"}, 16);
        metrics::Histogram h("t_threads_seconds", "Observed by threads.", {0.001, 0.01});
        constexpr int kThreads = 8, kEach = 20000;
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t)
            threads.emplace_back([&, t] {
                // Every thread creates the same new series at about the same time.
                const std::string mine = "t" + std::to_string(t);
                for (int i = 0; i < kEach; ++i) {
                    c.add({"all", i % 2 ? "odd" : "even"});
                    c.add({mine, "x"});
                    h.observe(std::chrono::microseconds(i % 3 == 0 ? 500 : 5000));
                }
            });
        for (auto& t : threads) t.join();
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(kThreads * kEach / 2), c.value({"all", "odd"}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(kThreads * kEach / 2), c.value({"all", "even"}));
        for (int t = 0; t < kThreads; ++t)
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(kEach), c.value({"t" + std::to_string(t), "x"}));
        const std::string text = metrics::render({&c, &h});
        // Each series once (no duplicate made by two threads racing to create it).
        std::size_t series = 0;
        for (std::size_t at = text.find("\nt_threads_total{"); at != std::string::npos;
             at = text.find("\nt_threads_total{", at + 1))
            ++series;
        CPPUNIT_ASSERT_EQUAL(std::size_t(2 + kThreads), series);
        CPPUNIT_ASSERT(has(text, "t_threads_seconds_count " + std::to_string(kThreads * kEach) + "\n"));
        CPPUNIT_ASSERT(has(text, "t_threads_seconds_bucket{le=\"+Inf\"} " + std::to_string(kThreads * kEach) + "\n"));
    }

    void labels_stay_bounded()
    {
        metrics::CounterFamily c("t_bounded_total", "At most two series.", {"v"}, 2);
        c.add({"a"});
        c.add({"b"});
        c.add({"c"});  // beyond the capacity
        c.add({std::string(metrics::kMaxLabelValue + 1, 'x')});  // too long
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP t_bounded_total At most two series.\n"
                                         "# TYPE t_bounded_total counter\n"
                                         "t_bounded_total{v=\"a\"} 1\n"
                                         "t_bounded_total{v=\"b\"} 1\n"
                                         "t_bounded_total{v=\"other\"} 2\n"),
                             metrics::render({&c}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), c.value({"other"}));
    }

    void message_labels()
    {
        for (const char* same : {"none", "sign", "encrypt", "sign+encrypt", "decrypt+verify", "verify+strip",
                                 "decrypt+verify+tag", "reject", "tempfail", "refused", "sign+encrypt+sign",
                                 "verify+strip+decompress", "verify+receipt", "verify-part", "expand",
                                 "verify+verify+decrypt+verify", "returned"})
            CPPUNIT_ASSERT_EQUAL(std::string(same), std::string(action_label(same)));
        for (const char* other : {"", "sign+", "+sign", "sign+forge", "alice@acme.example", "SIGN",
                                  "sign+sign+sign+sign+sign+sign+sign"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(other, std::string("other"), std::string(action_label(other)));
        CPPUNIT_ASSERT_EQUAL(std::string("accept"), std::string(result_label(Verdict::Accept)));
        CPPUNIT_ASSERT_EQUAL(std::string("accept"), std::string(result_label(Verdict::Continue)));
        CPPUNIT_ASSERT_EQUAL(std::string("reject"), std::string(result_label(Verdict::Reject)));
        CPPUNIT_ASSERT_EQUAL(std::string("tempfail"), std::string(result_label(Verdict::TempFail)));

        auto& p = metrics::process();
        const auto before = p.messages.value({"outbound", "sign", "accept"});
        count_message("outbound", "sign", Verdict::Accept, std::chrono::milliseconds(12));
        count_message("sideways", "sign", Verdict::Reject, std::chrono::milliseconds(12));
        CPPUNIT_ASSERT_EQUAL(before + 1, p.messages.value({"outbound", "sign", "accept"}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), p.messages.value({"other", "sign", "reject"}));
    }

    void process_metrics_start_at_zero_and_count()
    {
        std::string text = metrics::render_process();
        for (const char* line : {"# TYPE ssm_up gauge\nssm_up 1\n",
                                 "# TYPE ssm_messages_total counter\n",
                                 "# TYPE ssm_message_duration_seconds histogram\n",
                                 "ssm_message_duration_seconds_bucket{le=\"10\"} ",
                                 "ssm_hsm_operations_total{operation=\"sign\",result=\"ok\"} 0\n",
                                 "ssm_hsm_operations_total{operation=\"decrypt\",result=\"error\"} 0\n",
                                 "ssm_directory_cache_total{result=\"hit\"} 0\n",
                                 "ssm_directory_cache_total{result=\"stale\"} 0\n",
                                 "ssm_directory_errors_total{source=\"ldap\"} 0\n",
                                 "ssm_directory_errors_total{source=\"ldap_server\"} 0\n",
                                 "ssm_directory_errors_total{source=\"smimea\"} 0\n",
                                 "ssm_config_reloads_total{result=\"error\"} 0\n",
                                 "ssm_receipts_total{event=\"requested\",result=\"ok\"} 0\n",
                                 "ssm_receipts_total{event=\"received\",result=\"malformed\"} 0\n",
                                 "ssm_receipts_total{event=\"answered\",result=\"not_sent\"} 0\n"})
            CPPUNIT_ASSERT_MESSAGE(line, has(text, line));
        metrics::count_receipt(metrics::ReceiptEvent::ReceivedMismatch);
        metrics::count_hsm_operation(metrics::HsmOperation::Decrypt, false);
        metrics::count_directory_cache(metrics::CacheResult::Stale);
        metrics::count_directory_error(metrics::DirectorySource::Ldap);
        metrics::count_config_reload(true);
        text = metrics::render_process();
        for (const char* line : {"ssm_hsm_operations_total{operation=\"decrypt\",result=\"error\"} 1\n",
                                 "ssm_hsm_operations_total{operation=\"sign\",result=\"ok\"} 0\n",
                                 "ssm_directory_cache_total{result=\"stale\"} 1\n",
                                 "ssm_directory_errors_total{source=\"ldap\"} 1\n",
                                 "ssm_config_reloads_total{result=\"ok\"} 1\n",
                                 "ssm_receipts_total{event=\"received\",result=\"mismatch\"} 1\n",
                                 "ssm_receipts_total{event=\"received\",result=\"valid\"} 0\n"})
            CPPUNIT_ASSERT_MESSAGE(line, has(text, line));
    }

    void directory_cache_counts_each_lookup_once()
    {
        auto& cache_total = metrics::process().directory_cache;
        const auto count = [&](const char* r) { return cache_total.value({r}); };
        const std::uint64_t hit0 = count("hit"), miss0 = count("miss"), stale0 = count("stale");
        test::TempDir dir;
        auto inner = std::make_shared<TestDirectory>();
        auto now = std::make_shared<std::time_t>(1'800'000'000);
        directory::CachingSource cache(directory::lmdb::Environment::open(dir.path()), inner,
                                       directory::CacheSettings{std::chrono::seconds(60), std::chrono::seconds(60),
                                                                std::chrono::seconds(3600), std::chrono::seconds(0)},
                                       {}, [now] { return *now; });
        const auto alice = *EmailAddress::parse("alice@acme.example");
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.lookup(alice).size());  // asked the directory
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.lookup(alice).size());  // fresh entry
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.lookup(alice).size());
        *now += 120;  // expired
        inner->down = true;
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.lookup(alice).size());  // stands in
        const auto bob = *EmailAddress::parse("bob@acme.example");
        CPPUNIT_ASSERT_THROW(cache.lookup(bob), Error);  // nothing to stand in: a miss
        CPPUNIT_ASSERT_EQUAL(hit0 + 2, count("hit"));
        CPPUNIT_ASSERT_EQUAL(miss0 + 2, count("miss"));
        CPPUNIT_ASSERT_EQUAL(stale0 + 1, count("stale"));
    }

    // A real SoftHSM token: one signature and one RSA decryption reach it, and each is counted
    // once (a request refused before the token, as a block above the modulus, is not counted).
    void token_operations_are_counted_once()
    {
        test::PkiToken token("alice");
        auto store = open_store(token);
        auto& ops = metrics::process().hsm_operations;
        const auto sign_ok = ops.value({"sign", "ok"}), decrypt_ok = ops.value({"decrypt", "ok"});
        const auto errors = ops.value({"sign", "error"}) + ops.value({"decrypt", "error"});

        auto signer = store->signer_for(*EmailAddress::parse("alice@acme.example"));
        CPPUNIT_ASSERT(signer != nullptr);
        const Bytes hash(32, 0x5a);
        CPPUNIT_ASSERT_EQUAL(std::size_t(256),
                             signer->sign_digest(smime::SignatureScheme::RsaPkcs1v15,
                                                 smime::DigestAlgorithm::Sha256, hash).size());
        auto decrypter = store->decrypter_for_certificate(to_bytes(
            test::read_file(token.pki / "alice.cert.der")));
        CPPUNIT_ASSERT(decrypter != nullptr);
        Bytes block(256, 0);
        block.back() = 1;  // below any modulus: CKM_RSA_X_509 answers it
        CPPUNIT_ASSERT_EQUAL(std::size_t(256), decrypter->rsa_raw_decrypt(block).size());
        CPPUNIT_ASSERT_THROW(decrypter->rsa_raw_decrypt(Bytes(256, 0xff)), Error);  // above n

        CPPUNIT_ASSERT_EQUAL(sign_ok + 1, ops.value({"sign", "ok"}));
        CPPUNIT_ASSERT_EQUAL(decrypt_ok + 1, ops.value({"decrypt", "ok"}));
        CPPUNIT_ASSERT_EQUAL(errors, ops.value({"sign", "error"}) + ops.value({"decrypt", "error"}));
    }

    void gauge_set_replaces_and_bounds()
    {
        metrics::GaugeSet g("t_expiry", "Help.", {"label", "address"}, 2);
        std::string out;
        g.render(out);
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP t_expiry Help.\n# TYPE t_expiry gauge\n"), out);
        g.replace({{{"a\"b", "x@y"}, 1798761599}, {{"c"}, 5}, {{"d", "e"}, 6}});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), g.dropped());
        out.clear();
        g.render(out);
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP t_expiry Help.\n# TYPE t_expiry gauge\n"
                                         "t_expiry{label=\"a\\\"b\",address=\"x@y\"} 1798761599\n"
                                         "t_expiry{label=\"c\",address=\"\"} 5\n"),
                             out);
        g.replace({});  // replaced as a whole
        out.clear();
        g.render(out);
        CPPUNIT_ASSERT_EQUAL(std::string("# HELP t_expiry Help.\n# TYPE t_expiry gauge\n"), out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), g.dropped());
    }

    // One series per certificate whose key is on the token, its notAfter the value.
    void token_certificate_expiry()
    {
        test::PkiToken token("alice");
        auto store = open_store(token);
        const auto samples = milter::certificate_expiry_samples(store->identities());
        const auto cert = pki::SharedCertificate::parse_der(to_bytes(test::read_file(token.pki / "alice.cert.der")));
        CPPUNIT_ASSERT(cert);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), samples.size());
        CPPUNIT_ASSERT_EQUAL(std::string("alice@acme.example"), samples[0].values.at(1));
        CPPUNIT_ASSERT_EQUAL(to_hex(cert->facts().serial), samples[0].values.at(2));
        CPPUNIT_ASSERT_EQUAL(static_cast<double>(cert->facts().not_after), samples[0].value);
        milter::publish_certificate_expiry(store->identities(), cert->facts().not_after - 86400 * 10);
        const std::string text = metrics::render_process();
        const std::string series = "ssm_certificate_expiry_timestamp_seconds{label=\"" + samples[0].values[0] +
                                   "\",address=\"alice@acme.example\",serial=\"" + samples[0].values[2] + "\"} ";
        CPPUNIT_ASSERT_MESSAGE(text, text.find(series) != std::string::npos);
    }

    // Two servers that refuse connections: one failed search, one directory error (not two),
    // and each server's failure counted on its own.
    void ldap_search_without_answer_is_one_error()
    {
        auto& errors = metrics::process().directory_errors;
        const auto before = errors.value({"ldap"});
        const auto servers_before = errors.value({"ldap_server"});
        directory::ldap::Client::Settings settings;
        for (const char* uri : {"ldap://127.0.0.1:1", "ldap://127.0.0.1:2"})
            settings.servers.push_back(directory::ldap::ServerSettings{uri, false, "", "", nullptr,
                                                                       std::chrono::milliseconds(2000)});
        directory::ldap::Client client(settings);
        const directory::ldap::SearchRequest request{"dc=acme,dc=example", "(mail=alice@acme.example)", {},
                                                     directory::ldap::Scope::Subtree};
        try {
            client.search(request);
            CPPUNIT_FAIL("a search without servers answered");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
        }
        CPPUNIT_ASSERT_EQUAL(before + 1, errors.value({"ldap"}));
        CPPUNIT_ASSERT_EQUAL(servers_before + 2, errors.value({"ldap_server"}));
    }

    void listen_accepts_loopback_only()
    {
        CPPUNIT_ASSERT(parse_config(kMinimal, "m.toml")->metrics.listen.empty());  // off by default
        struct { const char* listen; int family; std::uint16_t port; } good[] = {
            {"127.0.0.1:9712", AF_INET, 9712}, {"127.3.2.1:1", AF_INET, 1},
            {"localhost:9712", AF_INET, 9712}, {"[::1]:65535", AF_INET6, 65535}};
        for (auto& g : good) {
            auto c = parse_config(kMinimal + "[metrics]\nlisten = \"" + g.listen + "\"\n", "m.toml");
            CPPUNIT_ASSERT_EQUAL(std::string(g.listen), c->metrics.listen);
            CPPUNIT_ASSERT_EQUAL(g.family, int(c->metrics.address.ss_family));
            const auto port = g.family == AF_INET
                                  ? reinterpret_cast<const sockaddr_in*>(&c->metrics.address)->sin_port
                                  : reinterpret_cast<const sockaddr_in6*>(&c->metrics.address)->sin6_port;
            CPPUNIT_ASSERT_EQUAL(g.port, ntohs(port));
        }
        struct { const char* listen; const char* error; } bad[] = {
            {"0.0.0.0:9712", "is not a loopback address"},
            {"192.0.2.1:9712", "is not a loopback address"},
            {"[::]:9712", "is not a loopback address"},
            {"[::ffff:192.0.2.1]:9712", "is not a loopback address"},
            {"metrics.example:9712", "is not an IP address or localhost"},
            {"::1:9712", "needs brackets around an IPv6 address"},
            {"127.0.0.1", "is not address:port"},
            {"127.0.0.1:0", "is not address:port"},
            {"127.0.0.1:65536", "is not address:port"},
            {":9712", "is not address:port"},
        };
        for (auto& b : bad) {
            const std::string err = config_error(kMinimal + "\n[metrics]\nlisten = \"" + b.listen + "\"\n");
            CPPUNIT_ASSERT_MESSAGE(err, err.rfind(std::string("m.toml:5:10: '") + b.listen + "' " + b.error, 0) == 0);
        }
        CPPUNIT_ASSERT_EQUAL(std::string("m.toml:4:10: 'listen' must be a string"),
                             config_error(kMinimal + "[metrics]\nlisten = 9712\n"));
        CPPUNIT_ASSERT_EQUAL(std::string("m.toml:4:1: unknown key 'port' in [metrics]"),
                             config_error(kMinimal + "[metrics]\nport = 9712\n"));
    }

    void listen_change_needs_restart()
    {
        auto a = parse_config(kMinimal + "[metrics]\nlisten = \"127.0.0.1:9712\"\n", "a.toml");
        auto b = parse_config(kMinimal + "[metrics]\nlisten = \"127.0.0.1:9713\"\n", "b.toml");
        const auto same = settings_needing_restart(*a, *a);
        CPPUNIT_ASSERT(std::find(same.begin(), same.end(), "[metrics] listen") == same.end());
        const auto changed = settings_needing_restart(*a, *b);
        CPPUNIT_ASSERT(std::find(changed.begin(), changed.end(), "[metrics] listen") != changed.end());
    }

    void endpoint_serves_metrics_only()
    {
        auto c = parse_config(kMinimal + "[metrics]\nlisten = \"127.0.0.1:9712\"\n", "m.toml");
        MetricsSettings s = c->metrics;
        reinterpret_cast<sockaddr_in*>(&s.address)->sin_port = 0;  // any free port
        std::uint16_t port = 0;
        {
            std::atomic<int> renders{0};
            MetricsHttp endpoint(s, [&renders] { return "t_scrapes " + std::to_string(++renders) + "\n"; });
            port = endpoint.port();
            CPPUNIT_ASSERT(port != 0);

            std::string a = http(port, "GET /metrics HTTP/1.0\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("200 OK"), status(a));
            CPPUNIT_ASSERT_MESSAGE(a, has(a, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
            CPPUNIT_ASSERT_MESSAGE(a, a.size() > 14 && a.compare(a.size() - 12, 12, "t_scrapes 1\n") == 0);
            a = http(port, "GET /metrics?x=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("200 OK"), status(a));
            CPPUNIT_ASSERT_MESSAGE(a, has(a, "t_scrapes 2\n"));

            CPPUNIT_ASSERT_EQUAL(2, renders.load());
            a = http(port, "GET /other HTTP/1.0\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("404 Not Found"), status(a));
            a = http(port, "GET /metrics/x HTTP/1.0\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("404 Not Found"), status(a));
            a = http(port, "POST /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello");
            CPPUNIT_ASSERT_EQUAL(std::string("405 Method Not Allowed"), status(a));
            CPPUNIT_ASSERT_MESSAGE(a, has(a, "\r\nAllow: GET, HEAD\r\n"));
            a = http(port, "DELETE /metrics HTTP/1.0\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("405 Method Not Allowed"), status(a));
            CPPUNIT_ASSERT_EQUAL(2, renders.load());
            a = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("200 OK"), status(a));
            CPPUNIT_ASSERT_MESSAGE(a, !has(a, "t_scrapes"));
            CPPUNIT_ASSERT_EQUAL(3, renders.load());  // two GETs, the HEAD, and none for the others
        }
        // Stopped with its owner: nothing listens any more.
        CPPUNIT_ASSERT_EQUAL(std::string("refused"), http(port, "GET /metrics HTTP/1.0\r\n\r\n"));
    }

    void endpoint_refuses_a_busy_address()
    {
        auto c = parse_config(kMinimal + "[metrics]\nlisten = \"127.0.0.1:9712\"\n", "m.toml");
        MetricsSettings s = c->metrics;
        reinterpret_cast<sockaddr_in*>(&s.address)->sin_port = 0;
        MetricsHttp first(s, [] { return std::string(); });
        reinterpret_cast<sockaddr_in*>(&s.address)->sin_port = htons(first.port());
        s.listen = "127.0.0.1:" + std::to_string(first.port());
        std::string error;
        try {
            MetricsHttp second(s, [] { return std::string(); });
        } catch (const std::runtime_error& e) {
            error = e.what();
        }
        CPPUNIT_ASSERT_MESSAGE(error, error.rfind("cannot serve metrics on " + s.listen + ": ", 0) == 0);
        CPPUNIT_ASSERT_MESSAGE(error, has(error, "in use"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MetricsTest);
