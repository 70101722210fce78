// Configuration reload (milter/reload.h): only a wholly valid file replaces the running
// snapshot; a broken one is refused with file:line:column and the old snapshot stays; a
// message holding the old snapshot keeps it; settings that need a restart are named.
#include <cppunit/extensions/HelperMacros.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "base/log.h"
#include "milter/config_warnings.h"
#include "milter/reload.h"
#include "milter/service_notify.h"
#include "tests/unit/test_revocation_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;
namespace fs = std::filesystem;

namespace {

// The test PKI, made once for the program (make-pki.sh takes seconds).
const fs::path& shared_pki()
{
    static test::TempDir dir;
    static const fs::path pki = [] {
        const fs::path p = dir.path() / "pki";
        test::run("sh '" + (test::source_dir() / "tests/fixtures/make-pki.sh").string() + "' '" + p.string() +
                  "' >/dev/null");
        return p;
    }();
    return pki;
}

// $1 folder, $2 the CRL web server's port: rev-root (trust/) issues ica (intermediates/), which
// issues ee; ica's and ee's crlDistributionPoints name www/root.crl and www/ica.crl there.
const char* crl_pki_script = R"SH(
set -eu
cd "$1"
crl=$2
export OPENSSL_CONF=/dev/null
mkdir -p www trust intermediates
make_root
issue root ica "basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/root.crl"
cadir ica
issue ica ee "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/ica.crl"
for ca in root ica; do
  openssl ca -batch -config $ca/ca.cnf -gencrl -out $ca.crl.pem 2>>openssl.log
  openssl crl -in $ca.crl.pem -outform DER -out www/$ca.crl
done
cp root.pem trust/
cp ica.pem intermediates/
)SH";

// The service manager's end of NOTIFY_SOCKET (sd_notify(3)): a datagram socket in `dir`,
// named in the environment while the object lives.
class NotifyListener {
public:
    explicit NotifyListener(const fs::path& dir) : m_path(dir / "notify.sock")
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        const std::string path = m_path.string();
        if (m_fd < 0 || path.size() >= sizeof a.sun_path) throw std::runtime_error("notify socket");
        std::copy(path.begin(), path.end(), a.sun_path);
        if (::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("notify bind");
        ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
    }
    ~NotifyListener()
    {
        ::unsetenv("NOTIFY_SOCKET");
        ::close(m_fd);
    }
    NotifyListener(const NotifyListener&) = delete;
    NotifyListener& operator=(const NotifyListener&) = delete;

    // Every datagram that arrives within `wait`, joined by " / ".
    std::string received(std::chrono::milliseconds wait)
    {
        std::string all;
        pollfd p{m_fd, POLLIN, 0};
        while (::poll(&p, 1, static_cast<int>(wait.count())) == 1) {
            char buf[4096];
            const ssize_t n = ::recv(m_fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            all += (all.empty() ? "" : " / ") + std::string(buf, static_cast<std::size_t>(n));
        }
        return all;
    }

private:
    fs::path m_path;
    int m_fd = -1;
};

struct Fixture {
    test::TempDir dir;
    fs::path pki = shared_pki();
    fs::path conf = dir.path() / "ssm-milter.toml";

    // A whole configuration; `format` is the signing format, `extra` lines go at the end.
    std::string text(const std::string& format, const std::string& trust = "", const std::string& extra = "") const
    {
        return "[milter]\nsocket = \"inet:1@127.0.0.1\"\nspool_dir = \"" + dir.path().string() +
               "\"\n[signing]\nformat = \"" + format + "\"\n[pki]\ntrust_anchors = \"" +
               (trust.empty() ? (pki / "trust").string() : trust) + "\"\nrevocation = \"off\"\n" +
               "[hsm]\nmodule = \"/nonexistent/pkcs11.so\"\ntoken_label = \"t\"\npin_file = \"/nonexistent/pin\"\n" +
               extra;
    }

    void write(const std::string& t) const { test::write_file(conf, t); }

    std::unique_ptr<Daemon> daemon() const
    {
        auto snapshot = load_snapshot(conf.string(), nullptr);
        hsm::TokenConfig token;
        token.module = "/nonexistent/pkcs11.so";  // never opened: reload does not touch the token
        return std::make_unique<Daemon>(snapshot, std::make_unique<TokenKeySource>(token), nullptr);
    }
};

}  // namespace

class ReloadTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReloadTest);
    CPPUNIT_TEST(valid_file_replaces_the_snapshot);
    CPPUNIT_TEST(broken_file_keeps_the_old_snapshot);
    CPPUNIT_TEST(unusable_trust_folder_keeps_the_old_snapshot);
    CPPUNIT_TEST(missing_folders_keep_the_old_snapshot);
    CPPUNIT_TEST(in_flight_message_keeps_its_snapshot);
    CPPUNIT_TEST(rotated_reinjection_secret_accepted_while_in_flight);
    CPPUNIT_TEST(restart_only_settings_are_named);
    CPPUNIT_TEST(log_level_reloads);
    CPPUNIT_TEST(archive_certificate_errors_name_the_config);
    CPPUNIT_TEST(reloader_thread_reloads_on_request);
    CPPUNIT_TEST(delimiter_without_own_domains_is_warned);
    CPPUNIT_TEST(reload_warns_as_start_up_does);
    CPPUNIT_TEST(revocation_caches_kept_while_their_inputs_are);
    CPPUNIT_TEST(no_ready_after_stopping);  // last: STOPPING=1 is final for the process
    CPPUNIT_TEST_SUITE_END();

public:
    void valid_file_replaces_the_snapshot()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        CPPUNIT_ASSERT(d->snapshot()->config->signing.format == smime::SignatureFormat::Detached);
        f.write(f.text("opaque"));
        const auto outcome = reload_configuration(*d);
        CPPUNIT_ASSERT_MESSAGE(outcome.error, outcome.replaced);
        CPPUNIT_ASSERT(outcome.needs_restart.empty());
        CPPUNIT_ASSERT(d->snapshot()->config->signing.format == smime::SignatureFormat::Opaque);
    }

    void broken_file_keeps_the_old_snapshot()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        const auto before = d->snapshot();
        f.write(f.text("sideways"));  // line 5: format = "sideways"
        const auto outcome = reload_configuration(*d);
        CPPUNIT_ASSERT(!outcome.replaced);
        CPPUNIT_ASSERT_MESSAGE(outcome.error, outcome.error.find(f.conf.string() + ":5:") == 0);
        CPPUNIT_ASSERT(d->snapshot() == before);
        f.write("[milter\nsocket = ");  // not even TOML
        CPPUNIT_ASSERT(!reload_configuration(*d).replaced);
        CPPUNIT_ASSERT(d->snapshot() == before);
        fs::remove(f.conf);  // gone
        CPPUNIT_ASSERT(!reload_configuration(*d).replaced);
        CPPUNIT_ASSERT(d->snapshot() == before);
    }

    void unusable_trust_folder_keeps_the_old_snapshot()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        const auto before = d->snapshot();
        // a trust folder holding a corrupt certificate: valid TOML, unusable content
        const fs::path bad = f.dir.path() / "bad-trust";
        fs::create_directories(bad);
        test::write_file(bad / "root.pem", "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n");
        f.write(f.text("opaque", bad.string()));
        const auto outcome = reload_configuration(*d);
        CPPUNIT_ASSERT_MESSAGE("a corrupt trust anchor was accepted", !outcome.replaced);
        CPPUNIT_ASSERT(d->snapshot() == before);
    }

    // A mistyped trust anchors or spool folder is what `ssm-milter -n` refuses: a reload refuses
    // it too and names it (the daemon would otherwise run on without any trust anchor, failing
    // every partner's signature, or fail every message larger than memory_spool_limit). What
    // only a restart would use (the token's module and PIN file, missing here) is reported as
    // a restart's problem and does not refuse the reload.
    void missing_folders_keep_the_old_snapshot()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        const auto before = d->snapshot();
        const std::string missing = (f.dir.path() / "trsut").string();
        f.write(f.text("opaque", missing));
        const auto anchors = reload_configuration(*d);
        CPPUNIT_ASSERT_MESSAGE("a missing trust anchors folder was accepted", !anchors.replaced);
        CPPUNIT_ASSERT_MESSAGE(anchors.error,
                               anchors.error.find(f.conf.string() + ": [pki] trust_anchors " + missing) == 0);
        CPPUNIT_ASSERT(d->snapshot() == before);
        std::string spool = f.text("opaque");
        spool.replace(spool.find("spool_dir = \"") + 13, 0, "/nonexistent");
        f.write(spool);
        const auto spool_outcome = reload_configuration(*d);
        CPPUNIT_ASSERT_MESSAGE("a missing spool folder was accepted", !spool_outcome.replaced);
        CPPUNIT_ASSERT_MESSAGE(spool_outcome.error, spool_outcome.error.find("[milter] spool_dir /nonexistent") !=
                                                        std::string::npos);
        CPPUNIT_ASSERT(d->snapshot() == before);
        // The same file with the folders right is accepted; the missing module and PIN file
        // (restart-only [hsm]) are named, not refused.
        f.write(f.text("opaque"));
        const auto fixed = reload_configuration(*d);
        CPPUNIT_ASSERT_MESSAGE(fixed.error, fixed.replaced);
        CPPUNIT_ASSERT(d->snapshot()->config->signing.format == smime::SignatureFormat::Opaque);
        const auto named = [&](const std::string& start) {
            return std::any_of(fixed.restart_would_fail.begin(), fixed.restart_would_fail.end(),
                               [&](const std::string& p) { return p.rfind(start, 0) == 0; });
        };
        CPPUNIT_ASSERT(named("[hsm] module /nonexistent/pkcs11.so: "));
        CPPUNIT_ASSERT(named("[hsm] pin_file /nonexistent/pin: "));
    }

    // A reload that leaves recipient_delimiter "-" without any [[domain]] is accepted, and says
    // that the setting applies to no address (as ssm-milter -n and a start do); with the
    // [[domain]] back nothing is said.
    void delimiter_without_own_domains_is_warned()
    {
        Fixture f;
        const std::string domain = "[[domain]]\nname = \"acme.example\"\n";
        f.write(f.text("detached", "", "[policy]\nrecipient_delimiter = \"-\"\n" + domain));
        auto d = f.daemon();
        f.write(f.text("detached", "", "[policy]\nrecipient_delimiter = \"-\"\n"));
        const auto without = reload_configuration(*d);
        CPPUNIT_ASSERT_MESSAGE(without.error, without.replaced);
        const auto delimiter_warnings = [](const ReloadOutcome& o) {
            return std::count_if(o.warnings.begin(), o.warnings.end(), [](const std::string& w) {
                return w.find("recipient_delimiter \"-\" applies to no address") != std::string::npos;
            });
        };
        CPPUNIT_ASSERT_EQUAL(std::ptrdiff_t(1), delimiter_warnings(without));
        f.write(f.text("detached", "", "[policy]\nrecipient_delimiter = \"-\"\n" + domain));
        const auto with = reload_configuration(*d);
        CPPUNIT_ASSERT(with.replaced);
        CPPUNIT_ASSERT_EQUAL(std::ptrdiff_t(0), delimiter_warnings(with));
    }

    // A reload warns of what a start with the same file would (milter/config_warnings.h): here
    // the default blind_copies = "separate" without [reinjection], which only start-up said.
    void reload_warns_as_start_up_does()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        const auto outcome = reload_configuration(*d);
        CPPUNIT_ASSERT_MESSAGE(outcome.error, outcome.replaced);
        CPPUNIT_ASSERT(outcome.warnings == configuration_warnings(*d->snapshot()->config));
        CPPUNIT_ASSERT(std::any_of(outcome.warnings.begin(), outcome.warnings.end(), [](const std::string& w) {
            return w.find("[encryption] blind_copies is \"separate\" but [reinjection] is not configured") !=
                   std::string::npos;
        }));
    }

    void in_flight_message_keeps_its_snapshot()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        const auto held = d->snapshot();  // what a message took at MAIL FROM
        f.write(f.text("opaque"));
        CPPUNIT_ASSERT(reload_configuration(*d).replaced);
        CPPUNIT_ASSERT(held->config->signing.format == smime::SignatureFormat::Detached);
        CPPUNIT_ASSERT(held->certificates != nullptr);
        CPPUNIT_ASSERT(d->snapshot()->config->signing.format == smime::SignatureFormat::Opaque);
    }

    // A reload that changes the [reinjection] secret: the old one is offered for markers while
    // a message holds the configuration it belongs to (its copies come back under the new
    // one), and no longer once that message has ended.
    void rotated_reinjection_secret_accepted_while_in_flight()
    {
        Fixture f;
        const fs::path secret = f.dir.path() / "reinject.secret";
        const std::string reinjection =
            "[reinjection]\naddress = \"127.0.0.1:2525\"\nsecret_file = \"" + secret.string() + "\"\n";
        test::write_file(secret, "the first secret, 32 bytes long!");
        f.write(f.text("detached", "", reinjection));
        auto d = f.daemon();
        CPPUNIT_ASSERT(d->reinjection_secrets_in_flight().empty());
        auto held = d->snapshot();  // a message begun before the reload
        test::write_file(secret, "the second secret, rotated today");
        CPPUNIT_ASSERT(reload_configuration(*d).replaced);
        const Bytes first = held->config->reinjection.secret;
        CPPUNIT_ASSERT(first != d->snapshot()->config->reinjection.secret);
        const auto offered = d->reinjection_secrets_in_flight();
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, offered.size());
        CPPUNIT_ASSERT(offered.front() == first);
        // A reload that keeps the secret offers nothing more while the message runs.
        CPPUNIT_ASSERT(reload_configuration(*d).replaced);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, d->reinjection_secrets_in_flight().size());
        held.reset();  // the message has ended
        CPPUNIT_ASSERT(d->reinjection_secrets_in_flight().empty());
    }

    void restart_only_settings_are_named()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        std::string changed = f.text("detached", "", "sessions = 9\n");
        changed.replace(changed.find("inet:1@"), 7, "inet:2@");
        f.write(changed);
        const auto outcome = reload_configuration(*d);
        CPPUNIT_ASSERT(outcome.replaced);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, outcome.needs_restart.size());
        CPPUNIT_ASSERT_EQUAL(std::string("[milter] socket"), outcome.needs_restart[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("[hsm]"), outcome.needs_restart[1]);
        // Still pending at the next reload (the process runs with what it started with) ...
        const auto again = reload_configuration(*d);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, again.needs_restart.size());
        // ... and nothing once the file says again what the process runs with.
        f.write(f.text("detached"));
        CPPUNIT_ASSERT(reload_configuration(*d).needs_restart.empty());
        // A further token ([[hsm.token]]) is a restart setting too.
        f.write(f.text("detached", "", "[[hsm.token]]\ntoken_label = \"second\"\npin_file = \"/nonexistent/pin2\"\n"));
        const auto more = reload_configuration(*d);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, more.needs_restart.size());
        CPPUNIT_ASSERT_EQUAL(std::string("[hsm]"), more.needs_restart[0]);
        // pin_credential is a restart setting too.
        f.write(f.text("detached", "", "pin_credential = \"token.pin\"\n"));
        const auto credential = reload_configuration(*d);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, credential.needs_restart.size());
        CPPUNIT_ASSERT_EQUAL(std::string("[hsm]"), credential.needs_restart[0]);
    }

    // A file the configuration names that cannot be used is reported against the
    // configuration file, with the key and the file.
    void archive_certificate_errors_name_the_config()
    {
        Fixture f;
        f.write(f.text("detached", "", "[encryption]\narchive_certificate = \"/nonexistent/archive.pem\"\n"));
        try {
            load_snapshot(f.conf.string(), nullptr);
            CPPUNIT_FAIL("loaded a configuration whose archive certificate does not exist");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(f.conf.string() + ": [encryption] archive_certificate /nonexistent/archive.pem: cannot be read: No such file or directory",
                                 std::string(e.what()));
        }
    }

    // [milter] log_level takes effect at a reload.
    void log_level_reloads()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        const ssm::log::Level before = ssm::log::current_target().min_level;
        std::string quiet = f.text("detached");
        quiet.replace(quiet.find("spool_dir"), 0, "log_level = \"error\"\n");
        f.write(quiet);
        const auto outcome = reload_configuration(*d);
        CPPUNIT_ASSERT(outcome.replaced);
        CPPUNIT_ASSERT(outcome.needs_restart.empty());
        CPPUNIT_ASSERT(ssm::log::current_target().min_level == ssm::log::Level::Error);
        ssm::log::set_min_level(before);
    }

    void reloader_thread_reloads_on_request()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        Reloader reloader(*d);
        f.write(f.text("opaque"));
        for (int i = 0; i < 3; ++i) reloader.request();  // requests during a reload coalesce
        for (int i = 0; i < 200 && reloader.completed() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        CPPUNIT_ASSERT(reloader.completed() >= 1 && reloader.completed() <= 3);
        for (int i = 0; i < 200 && d->snapshot()->config->signing.format != smime::SignatureFormat::Opaque; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        CPPUNIT_ASSERT(d->snapshot()->config->signing.format == smime::SignatureFormat::Opaque);
    }

    // Every reload dropped the CRLs and OCSP answers fetched so far, so a reload that changed a
    // rule refetched every CRL on the next messages. They are kept while the [pki] revocation
    // settings, anchors, intermediates and loaded CRLs they were checked with stay the same, and
    // dropped when one of those changes. Fetches are counted at the CRL web server.
    void revocation_caches_kept_while_their_inputs_are()
    {
        Fixture f;
        const fs::path pki = f.dir.path() / "crl-pki";
        fs::create_directories(pki);
        const int port = test::free_port();
        test::run_pki_script(pki, crl_pki_script, {port});
        const auto server = test::web_server(pki, port);
        const pki::Certificate ee = test::fixture_certificate(pki, "ee");
        // `format` stands for a change of policy only; `trust` is the anchors folder.
        const auto config = [&](const std::string& format, const fs::path& trust) {
            std::string t = f.text(format, trust.string());
            t.replace(t.find("revocation = \"off\""), std::string("revocation = \"off\"").size(),
                      "revocation = \"hard-fail\"\nocsp = false\nintermediates = \"" +
                          (pki / "intermediates").string() + "\"");
            return t;
        };
        const auto validated = [&](const Daemon& d) {
            const auto r = d.snapshot()->certificates->trust().validate(ee, {}, std::time(nullptr),
                                                                          pki::Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(test::notes(r), r.valid());
        };
        f.write(config("detached", pki / "trust"));
        auto d = f.daemon();
        validated(*d);
        const std::size_t first = server->count("GET /");
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, first);  // ica.crl for ee, root.crl for ica
        validated(*d);
        CPPUNIT_ASSERT_EQUAL(first, server->count("GET /"));  // cached (nothing new before the reload)

        f.write(config("opaque", pki / "trust"));  // a policy change: the answers still hold
        CPPUNIT_ASSERT(reload_configuration(*d).replaced);
        validated(*d);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("refetched after a reload of a policy change", first, server->count("GET /"));

        // Another anchor beside rev-root: what the answers were checked against changed.
        const fs::path trust2 = f.dir.path() / "trust2";
        fs::create_directories(trust2);
        fs::copy_file(pki / "root.pem", trust2 / "root.pem");
        for (const auto& e : fs::directory_iterator(f.pki / "trust")) fs::copy_file(e.path(), trust2 / e.path().filename());
        f.write(config("opaque", trust2));
        CPPUNIT_ASSERT(reload_configuration(*d).replaced);
        validated(*d);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("not refetched after the anchors changed", 2 * first, server->count("GET /"));

        // A [pki] revocation setting changed: dropped too.
        std::string looser = config("opaque", trust2);
        looser.replace(looser.find("ocsp = false"), std::string("ocsp = false").size(),
                       "ocsp = false\nfetch_timeout = \"7s\"");
        f.write(looser);
        CPPUNIT_ASSERT(reload_configuration(*d).replaced);
        validated(*d);
        CPPUNIT_ASSERT_EQUAL_MESSAGE("not refetched after fetch_timeout changed", 3 * first, server->count("GET /"));
    }

    // A reload still running when SIGTERM came ended after STOPPING=1 and sent READY=1, which
    // tells systemd that the stopping service is up again: after STOPPING=1 a reload announces
    // nothing (neither RELOADING=1 nor READY=1), while the reload itself still completes.
    void no_ready_after_stopping()
    {
        Fixture f;
        f.write(f.text("detached"));
        auto d = f.daemon();
        NotifyListener manager(f.dir.path());
        service::notify_ready("Ready");
        const std::string before = manager.received(std::chrono::milliseconds(500));
        CPPUNIT_ASSERT_MESSAGE(before, before.find("READY=1") != std::string::npos);
        service::notify_stopping();
        const std::string stopping = manager.received(std::chrono::milliseconds(500));
        CPPUNIT_ASSERT_MESSAGE(stopping, stopping.find("STOPPING=1") != std::string::npos);
        Reloader reloader(*d);
        f.write(f.text("opaque"));
        reloader.request();
        for (int i = 0; i < 500 && reloader.completed() == 0; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        CPPUNIT_ASSERT_EQUAL(1u, reloader.completed());
        CPPUNIT_ASSERT(d->snapshot()->config->signing.format == smime::SignatureFormat::Opaque);
        service::notify_ready("Ready");
        const std::string after = manager.received(std::chrono::milliseconds(300));
        CPPUNIT_ASSERT_MESSAGE("sent after STOPPING=1: " + after, after.empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReloadTest);
