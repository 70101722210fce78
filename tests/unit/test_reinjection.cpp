// Reinjection of split-off copies: the marker is bound to its envelope and cannot be forged,
// and submit_copy delivers the exact bytes to a real SMTP server (Postfix's smtp-sink).
#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include "base/error.h"
#include "milter/config.h"
#include "milter/reinjection.h"
#include "tests/unit/test_revocation_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

ReinjectionSettings settings_with(std::string secret, std::uint16_t port = 2525)
{
    ReinjectionSettings s;
    s.host = "127.0.0.1";
    s.port = port;
    s.secret = Bytes(secret.begin(), secret.end());
    s.timeout = std::chrono::seconds(10);
    return s;
}

// The smallest configuration the loader accepts apart from the section under test.
const char* kHsm = "[hsm]\ntoken_label = \"t\"\n";

const std::vector<std::string> kRcpts = {"Dave@Partner.example", "someone@elsewhere.example"};

}  // namespace

class ReinjectionTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReinjectionTest);
    CPPUNIT_TEST(marker_valid_for_its_envelope);
    CPPUNIT_TEST(marker_bound_to_sender_and_recipients);
    CPPUNIT_TEST(marker_needs_the_secret);
    CPPUNIT_TEST(marker_expires);
    CPPUNIT_TEST(malformed_markers_are_invalid);
    CPPUNIT_TEST(marker_carries_its_origin);
    CPPUNIT_TEST(as_made_marker_is_its_own_kind);
    CPPUNIT_TEST(as_made_marker_binds_its_body);
    CPPUNIT_TEST(disabled_settings_accept_nothing);
    CPPUNIT_TEST(submit_copy_delivers_the_bytes);
    CPPUNIT_TEST(submit_copy_unreachable_is_temporary);
    CPPUNIT_TEST(submit_copy_refuses_control_characters);
    CPPUNIT_TEST(submit_copy_to_an_ipv6_listener);
    CPPUNIT_TEST(submit_all_delivers_every_copy);
    CPPUNIT_TEST(submit_all_refused_copy_delivers_none);
    CPPUNIT_TEST(submit_all_failure_between_dots_names_what_went_out);
    CPPUNIT_TEST(submit_all_times_out_on_a_silent_listener);
    CPPUNIT_TEST(submit_all_opens_a_bounded_number_of_sessions);
    CPPUNIT_TEST(config_section);
    CPPUNIT_TEST_SUITE_END();

public:
    void marker_valid_for_its_envelope()
    {
        const auto s = settings_with("0123456789abcdef-secret");
        const std::time_t now = 1'800'000'000;
        const std::string m = make_reinjection_marker(s, "alice@acme.example", kRcpts, now);
        CPPUNIT_ASSERT(reinjection_marker_valid(s, m, "alice@acme.example", kRcpts, now));
        // recipient order and letter case do not matter (the MTA may reorder or re-case them)
        CPPUNIT_ASSERT(reinjection_marker_valid(s, m, "ALICE@acme.example",
                                                {"someone@elsewhere.example", "dave@partner.example"}, now + 60));
        // folded or padded as a header value may arrive
        CPPUNIT_ASSERT(reinjection_marker_valid(s, " " + m + "\r\n", "alice@acme.example", kRcpts, now));
        // two markers for one envelope differ (nonce)
        CPPUNIT_ASSERT(m != make_reinjection_marker(s, "alice@acme.example", kRcpts, now));
    }

    void marker_bound_to_sender_and_recipients()
    {
        const auto s = settings_with("0123456789abcdef-secret");
        const std::time_t now = 1'800'000'000;
        const std::string m = make_reinjection_marker(s, "alice@acme.example", kRcpts, now);
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, m, "mallory@acme.example", kRcpts, now));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, m, "alice@acme.example", {"dave@partner.example"}, now));
        CPPUNIT_ASSERT(!reinjection_marker_valid(
            s, m, "alice@acme.example", {"dave@partner.example", "someone@elsewhere.example", "eve@evil.example"},
            now));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, m, "", kRcpts, now));
        // a changed time or nonce breaks the MAC
        std::string changed = m;
        changed[m.find("t=") + 2] = changed[m.find("t=") + 2] == '1' ? '2' : '1';
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, changed, "alice@acme.example", kRcpts, now));
        changed = m;
        const auto n = m.find("n=") + 2;
        changed[n] = changed[n] == 'a' ? 'b' : 'a';
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, changed, "alice@acme.example", kRcpts, now));
    }

    void marker_needs_the_secret()
    {
        const std::time_t now = 1'800'000'000;
        const std::string m =
            make_reinjection_marker(settings_with("another-gateway-secret"), "alice@acme.example", kRcpts, now);
        CPPUNIT_ASSERT(!reinjection_marker_valid(settings_with("0123456789abcdef-secret"), m, "alice@acme.example",
                                                 kRcpts, now));
    }

    void marker_expires()
    {
        auto s = settings_with("0123456789abcdef-secret");
        s.marker_lifetime = std::chrono::seconds(3600);
        const std::time_t now = 1'800'000'000;
        const std::string m = make_reinjection_marker(s, "alice@acme.example", kRcpts, now);
        CPPUNIT_ASSERT(reinjection_marker_valid(s, m, "alice@acme.example", kRcpts, now + 3600));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, m, "alice@acme.example", kRcpts, now + 3601));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, m, "alice@acme.example", kRcpts, now - 3600));  // future
    }

    void malformed_markers_are_invalid()
    {
        const auto s = settings_with("0123456789abcdef-secret");
        for (const char* v : {"", "v=1", "v=2; t=1; n=aa; mac=bb", "v=1; t=; n=aa; mac=bb", "v=1; t=x; n=aa; mac=bb",
                              "v=1; n=aa; t=1; mac=bb", "v=1; t=1; n=aa; mac=bb; extra=1", "garbage\r\n\tmore"})
            CPPUNIT_ASSERT_MESSAGE(v, !reinjection_marker_valid(s, v, "alice@acme.example", kRcpts, 1));
    }

    // The original client (SMTP AUTH name, address) travels in the marker, under the MAC: a
    // copy is planned for the client that handed the message over, and nobody can change it.
    void marker_carries_its_origin()
    {
        const auto s = settings_with("0123456789abcdef-secret");
        const ReinjectedOrigin alice{"alice", "2001:db8::7"};
        const std::string m = make_reinjection_marker(s, "alice@acme.example", kRcpts, 1000, alice);
        CPPUNIT_ASSERT_EQUAL(std::string("v=2; "), m.substr(0, 5));
        ReinjectedOrigin got;
        CPPUNIT_ASSERT(reinjection_marker_valid(s, m, "alice@acme.example", kRcpts, 1000, &got));
        CPPUNIT_ASSERT_EQUAL(alice.auth_user, got.auth_user);
        CPPUNIT_ASSERT_EQUAL(alice.client, got.client);
        // Another name or address in place of the one the MAC covers: not ours.
        const auto replaced = [&](const std::string& key, const std::string& value) {
            const std::size_t at = m.find("; " + key + "=") + key.size() + 3;
            return m.substr(0, at) + value + m.substr(m.find(';', at));
        };
        const std::string bob = "626f62", none = "-";
        got = ReinjectedOrigin{"kept", "kept"};
        for (const std::string& v : {replaced("a", bob), replaced("a", none), replaced("c", bob), replaced("c", none)}) {
            CPPUNIT_ASSERT_MESSAGE(v, !reinjection_marker_valid(s, v, "alice@acme.example", kRcpts, 1000, &got));
            CPPUNIT_ASSERT_EQUAL(std::string("kept"), got.auth_user);  // untouched when invalid
        }
        // A v=2 MAC presented as v=1 (origin fields dropped) is not valid either.
        const std::string v1 = "v=1" + m.substr(3, m.find("; a=") - 3) + m.substr(m.find("; mac="));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, v1, "alice@acme.example", kRcpts, 1000, &got));
        // Only a name is known (no client address), or nothing: "-" and v=1, both valid.
        const std::string named = make_reinjection_marker(s, "alice@acme.example", kRcpts, 1000, {"alice", ""});
        CPPUNIT_ASSERT(named.find("; c=-; ") != std::string::npos);
        CPPUNIT_ASSERT(reinjection_marker_valid(s, named, "alice@acme.example", kRcpts, 1000, &got));
        CPPUNIT_ASSERT(got.auth_user == "alice" && got.client.empty());
        const std::string plain = make_reinjection_marker(s, "alice@acme.example", kRcpts, 1000);
        CPPUNIT_ASSERT_EQUAL(std::string("v=1; "), plain.substr(0, 5));
        CPPUNIT_ASSERT(reinjection_marker_valid(s, plain, "alice@acme.example", kRcpts, 1000, &got));
        CPPUNIT_ASSERT(got.auth_user.empty() && got.client.empty());
        // Hex that origin_field never writes (upper case, odd length, a control character).
        for (const char* f : {"414C", "414", "0a41", ""})
            CPPUNIT_ASSERT_MESSAGE(f, !reinjection_marker_valid(s, replaced("a", f), "alice@acme.example", kRcpts, 1000));
    }

    // A message the gateway made in full (a list's copy) is marked v=3: valid for its envelope
    // only, told apart from a copy of an original, and no v=1 marker becomes one by its label.
    void as_made_marker_is_its_own_kind()
    {
        const auto s = settings_with("0123456789abcdef-secret");
        MemorySource made_body(as_bytes(std::string_view("the figures\r\n")));
        const std::string digest = as_made_body_digest(made_body);
        const std::string m = make_as_made_marker(s, "dave@partner.example", kRcpts, 1000, digest);
        CPPUNIT_ASSERT_EQUAL(std::string("v=3; "), m.substr(0, 5));
        bool as_made = false;
        CPPUNIT_ASSERT(reinjection_marker_valid(s, m, "dave@partner.example", kRcpts, 1000, nullptr, &as_made));
        CPPUNIT_ASSERT(as_made);
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, m, "dave@partner.example", {"dave@partner.example"}, 1000));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, m, "mallory@partner.example", kRcpts, 1000));
        // A v=1 marker relabelled v=3 (or the other way round) does not pass.
        const std::string v1 = make_reinjection_marker(s, "dave@partner.example", kRcpts, 1000);
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, "v=3" + v1.substr(3), "dave@partner.example", kRcpts, 1000));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, "v=1" + m.substr(3), "dave@partner.example", kRcpts, 1000));
        as_made = true;
        std::string bound = "x";
        CPPUNIT_ASSERT(
            reinjection_marker_valid(s, v1, "dave@partner.example", kRcpts, 1000, nullptr, &as_made, &bound));
        CPPUNIT_ASSERT(!as_made);
        CPPUNIT_ASSERT(bound.empty());
    }

    // A v=3 marker names the body it was made with, under its MAC: the caller learns which, and
    // no other digest can be put in its place. Only the CR and LF at a body's very end do not
    // count in the digest.
    void as_made_marker_binds_its_body()
    {
        const auto s = settings_with("0123456789abcdef-secret");
        const auto digest_of = [](std::string_view text) {
            MemorySource body(as_bytes(text));
            return as_made_body_digest(body);
        };
        const std::string digest = digest_of("the figures\r\n");
        CPPUNIT_ASSERT_EQUAL(std::size_t{64}, digest.size());
        CPPUNIT_ASSERT_EQUAL(digest, digest_of("the figures"));
        CPPUNIT_ASSERT_EQUAL(digest, digest_of("the figures\r\n\r\n"));
        for (const char* other : {"the figures\r\nP.S. in clear\r\n", "the figureS\r\n", "\r\nthe figures\r\n", ""})
            CPPUNIT_ASSERT_MESSAGE(other, digest != digest_of(other));
        const std::string m = make_as_made_marker(s, "dave@partner.example", kRcpts, 1000, digest);
        const auto replaced = [](const std::string& key, const std::string& value, const std::string& marker) {
            const std::size_t at = marker.find("; " + key + "=") + key.size() + 3;
            return marker.substr(0, at) + value + marker.substr(marker.find(';', at));
        };
        std::string bound;
        CPPUNIT_ASSERT(reinjection_marker_valid(s, m, "dave@partner.example", kRcpts, 1000, nullptr, nullptr, &bound));
        CPPUNIT_ASSERT_EQUAL(digest, bound);
        // Another body's digest in b=: the MAC no longer holds.
        const std::string forged = replaced("b", digest_of("P.S. in clear\r\n"), m);
        CPPUNIT_ASSERT(forged != m);
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, forged, "dave@partner.example", kRcpts, 1000));
        // Without b= (the form before the body was bound), or with one that is not a digest.
        const std::string without_b = m.substr(0, m.find("; b=")) + m.substr(m.find("; mac="));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, without_b, "dave@partner.example", kRcpts, 1000));
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, replaced("b", "00", m), "dave@partner.example", kRcpts, 1000));
        CPPUNIT_ASSERT_THROW(make_as_made_marker(s, "dave@partner.example", kRcpts, 1000, ""), Error);
        // The digest does not depend on how the body is cut into reads.
        std::string big(20000, 'x');
        big.insert(8191, "\r\n");
        CPPUNIT_ASSERT_EQUAL(digest_of(big), digest_of(big + "\r\n\r\n"));
        CPPUNIT_ASSERT(digest_of(big) != digest_of(std::string(big).erase(8191, 2)));
    }

    void disabled_settings_accept_nothing()
    {
        auto s = settings_with("0123456789abcdef-secret");
        const std::string m = make_reinjection_marker(s, "a@b.example", kRcpts, 100);
        s.port = 0;
        CPPUNIT_ASSERT(!reinjection_marker_valid(s, m, "a@b.example", kRcpts, 100));
    }

    // smtp-sink on `host` (an address as smtp-sink takes it: 127.0.0.1, [::1]) and a free
    // port, dumping each transaction into its own file under `dump` (-d DIR/%H%M%S.: the
    // envelope records, then the message).
    struct DumpingSink {
        explicit DumpingSink(const std::string& host)
            : dump(prepared(dir)), port(test::free_port()), sink(command(host, dump, port), dir.path(), dir.path() / "sink.log", port)
        {
        }
        // smtp-sink writes the dump while the transaction runs: the text once it holds `last`
        // (or what there is after 5 s).
        std::string wait_for(const std::string& last) const
        {
            std::string text;
            for (int i = 0; i < 100 && text.find(last) == std::string::npos; ++i) {
                for (const auto& e : std::filesystem::directory_iterator(dump)) text = test::read_file(e.path());
                if (text.find(last) == std::string::npos) std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            return text;
        }

        test::TempDir dir;
        std::filesystem::path dump;
        int port;
        test::Server sink;

    private:
        // smtp-sink refuses to run as root without -u; the unprivileged user must write the dump.
        static std::filesystem::path prepared(const test::TempDir& dir)
        {
            const std::filesystem::path dump = dir.path() / "dump";
            std::filesystem::create_directories(dump);
            std::filesystem::permissions(dir.path(), std::filesystem::perms(0755));
            std::filesystem::permissions(dump, std::filesystem::perms(0777));
            return dump;
        }
        static std::vector<std::string> command(const std::string& host, const std::filesystem::path& dump, int port)
        {
            std::vector<std::string> argv = {"smtp-sink"};
            if (::geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
            argv.insert(argv.end(), {"-d", (dump / "%H%M%S.").string(), host + ":" + std::to_string(port), "10"});
            return argv;
        }
    };

    void submit_copy_delivers_the_bytes()
    {
        DumpingSink sink("127.0.0.1");
        const int port = sink.port;
        const std::string message =
            "X-SSM-Reinjected: v=1; t=1; n=aa; mac=bb\r\nFrom: <alice@acme.example>\r\nSubject: split\r\n\r\n"
            "line one\r\n.a line starting with a dot\r\n.\r\nlast line\r\n";
        const Bytes bytes(message.begin(), message.end());
        MemorySource source(bytes);
        submit_copy(settings_with("s", static_cast<std::uint16_t>(port)), "alice@acme.example", kRcpts, source);
        const std::string text = sink.wait_for("last line\n");
        CPPUNIT_ASSERT_MESSAGE(text, text.find("X-Mail-Args: <alice@acme.example>") != std::string::npos);
        CPPUNIT_ASSERT(text.find("X-Rcpt-Args: <Dave@Partner.example>") != std::string::npos);
        CPPUNIT_ASSERT(text.find("X-Rcpt-Args: <someone@elsewhere.example>") != std::string::npos);
        // smtp-sink stores lines with LF and un-stuffed dots: the original lines come back whole.
        CPPUNIT_ASSERT_MESSAGE(text, text.find("\n.a line starting with a dot\n.\nlast line\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find("X-SSM-Reinjected: v=1; t=1; n=aa; mac=bb\n") != std::string::npos);
    }

    void submit_copy_unreachable_is_temporary()
    {
        const Bytes bytes{'x', '\r', '\n'};
        MemorySource source(bytes);
        try {
            submit_copy(settings_with("s", static_cast<std::uint16_t>(test::free_port())), "a@b.example",
                        {"c@d.example"}, source);
            CPPUNIT_FAIL("no error for a closed port");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::Temporary);
        }
    }

    // libcurl writes envelope addresses into MAIL FROM and RCPT TO as they are: a CR LF in one
    // would add an SMTP command of the sender's choosing (here a recipient). Refused for good
    // (the same envelope never gets better) before anything reaches the listener.
    void submit_copy_refuses_control_characters()
    {
        DumpingSink sink("127.0.0.1");
        const int port = sink.port;
        const std::string message = "From: <alice@acme.example>\r\nSubject: split\r\n\r\nbody\r\n";
        const Bytes bytes(message.begin(), message.end());
        const auto settings = settings_with("s", static_cast<std::uint16_t>(port));
        const std::pair<std::string, std::vector<std::string>> envelopes[] = {
            {"alice@acme.example>\r\nRCPT TO:<eve@evil.example", kRcpts},
            {"alice@acme.example", {"dave@partner.example>\r\nRCPT TO:<eve@evil.example"}},
            {"alice@acme.example", {"dave@partner.example>\nRCPT TO:<eve@evil.example"}},
        };
        for (const auto& [sender, recipients] : envelopes) {
            MemorySource source(bytes);
            try {
                submit_copy(settings, sender, recipients, source);
                CPPUNIT_FAIL("no error for an envelope with CR LF: " + sender + " " + recipients.front());
            } catch (const Error& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), e.failure() == Failure::PolicyViolation);
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("control character") != std::string::npos);
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a dump would be written by now
        for (const auto& e : std::filesystem::directory_iterator(sink.dump)) {
            const std::string text = test::read_file(e.path());
            CPPUNIT_ASSERT_MESSAGE(text, text.find("eve@evil.example") == std::string::npos);
        }
    }

    // address = "[::1]:PORT": the configuration keeps the bare address; the SMTP URL needs the
    // brackets back (without them libcurl cannot parse it and every split copy was deferred).
    void submit_copy_to_an_ipv6_listener()
    {
        DumpingSink sink("[::1]");
        const int port = sink.port;
        test::TempDir conf;
        const auto secret = conf.path() / "secret";
        test::write_file(secret, "0123456789abcdef0123456789abcdef\n");
        const auto c = parse_config(std::string(kHsm) + "[reinjection]\naddress = \"[::1]:" + std::to_string(port) +
                                        "\"\nsecret_file = \"" + secret.string() + "\"\n",
                                    "t.toml");
        const std::string message = "From: <alice@acme.example>\r\nSubject: v6\r\n\r\nover ipv6\r\n";
        const Bytes bytes(message.begin(), message.end());
        MemorySource source(bytes);
        submit_copy(c->reinjection, "alice@acme.example", kRcpts, source);
        const std::string text = sink.wait_for("over ipv6\n");
        CPPUNIT_ASSERT_MESSAGE(text, text.find("X-Rcpt-Args: <Dave@Partner.example>") != std::string::npos);
    }

    // tests/unit/smtp_listener.py on a free port: refuses RCPT for `refuse_rcpt` (451) or the
    // final dot of a transaction for `refuse_dot` (554); stores what it accepts in `dir`.
    struct RefusingListener {
        RefusingListener(const std::string& refuse_rcpt, const std::string& refuse_dot)
            : port(test::free_port()),
              server({"python3", (test::source_dir() / "tests/unit/smtp_listener.py").string(), std::to_string(port),
                      dir.path().string(), refuse_rcpt, refuse_dot},
                     dir.path(), dir.path() / "listener.log", port)
        {
        }
        std::vector<std::string> stored() const
        {
            std::vector<std::string> texts;
            for (const auto& e : std::filesystem::directory_iterator(dir.path()))
                if (e.path().extension() == ".eml") texts.push_back(test::read_file(e.path()));
            return texts;
        }
        // Waits (up to 5 s) until the listener's log holds `needle` `n` times.
        bool logged(const std::string& needle, std::size_t n) const
        {
            for (int i = 0; i < 100; ++i) {
                if (server.count(needle) >= n) return true;
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            return false;
        }
        test::TempDir dir;
        int port;
        test::Server server;
    };

    // Three messages, three recipients; `bodies` keeps the bytes the sources read.
    struct ThreeCopies {
        std::vector<Bytes> bodies;
        std::vector<std::unique_ptr<MemorySource>> sources;
        std::vector<Submission> submissions;
        ThreeCopies()
        {
            const char* who[] = {"frank@partner.example", "gina@partner.example", "kate@partner.example"};
            for (const char* w : who) {
                const std::string text = std::string("To: dave@partner.example\r\nSubject: copy\r\n\r\nfor ") + w +
                                         "\r\n.hidden dot\r\nno final line end";
                bodies.emplace_back(text.begin(), text.end());
            }
            for (std::size_t i = 0; i < 3; ++i) {
                sources.push_back(std::make_unique<MemorySource>(bodies[i]));
                submissions.push_back({"alice@acme.example", {who[i]}, sources.back().get()});
            }
        }
    };

    // The normal case: every copy arrives, each in its own transaction, as libcurl sent it
    // (dot-stuffed, a final CRLF added where the message lacks one).
    void submit_all_delivers_every_copy()
    {
        DumpingSink sink("127.0.0.1");
        ThreeCopies copies;
        submit_all(settings_with("s", static_cast<std::uint16_t>(sink.port)), copies.submissions);
        std::string all;
        for (int i = 0; i < 100; ++i) {
            all.clear();
            std::size_t files = 0;
            for (const auto& e : std::filesystem::directory_iterator(sink.dump)) {
                all += test::read_file(e.path());
                ++files;
            }
            if (files == 3 && all.find("kate@partner.example\n.hidden dot\nno final line end\n") != std::string::npos &&
                all.find("gina@partner.example\n.hidden dot\nno final line end\n") != std::string::npos &&
                all.find("frank@partner.example\n.hidden dot\nno final line end\n") != std::string::npos)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        for (const char* w : {"frank", "gina", "kate"}) {
            const std::string rcpt = std::string("X-Rcpt-Args: <") + w + "@partner.example>";
            CPPUNIT_ASSERT_MESSAGE(all, all.find(rcpt) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(all, all.find(rcpt) == all.rfind(rcpt));  // once
            CPPUNIT_ASSERT_MESSAGE(all, all.find(std::string("for ") + w + "@partner.example\n.hidden dot\nno final line end\n") !=
                                            std::string::npos);
        }
    }

    // 25 copies: all arrive, each once, and no more than kMaxOpenCopySessions sessions were
    // ever staged at once (a staged session holds a listener process until its dot; a message
    // with more copies than the listener has processes must not wait on itself).
    void submit_all_opens_a_bounded_number_of_sessions()
    {
        RefusingListener listener("-", "-");
        std::vector<Bytes> bodies;
        std::vector<std::unique_ptr<MemorySource>> sources;
        std::vector<Submission> submissions;
        constexpr std::size_t kCopies = 25;
        bodies.reserve(kCopies);
        for (std::size_t i = 0; i < kCopies; ++i) {
            const std::string text = "Subject: copy " + std::to_string(i) + "\r\n\r\nbody\r\n";
            bodies.emplace_back(text.begin(), text.end());
            sources.push_back(std::make_unique<MemorySource>(bodies.back()));
            submissions.push_back({"alice@acme.example", {"r" + std::to_string(i) + "@partner.example"},
                                   sources.back().get()});
        }
        submit_all(settings_with("s", static_cast<std::uint16_t>(listener.port)), submissions);
        CPPUNIT_ASSERT(listener.logged("stored ", kCopies));
        const auto stored = listener.stored();
        CPPUNIT_ASSERT_EQUAL(kCopies, stored.size());
        std::set<std::string> seen;
        for (const auto& text : stored) seen.insert(text.substr(0, text.find('\n')));
        CPPUNIT_ASSERT_EQUAL(kCopies, seen.size());
        // Before any dot of a batch every session of it is inside DATA; the next batch starts
        // after the last dot's reply, which the listener sends after counting that session out.
        CPPUNIT_ASSERT(listener.server.count("in data " + std::to_string(kMaxOpenCopySessions) + "\n") >= 1);
        CPPUNIT_ASSERT_EQUAL(std::size_t{0},
                             listener.server.count("in data " + std::to_string(kMaxOpenCopySessions + 1) + "\n"));
    }

    // The third copy's RCPT is refused: the first two, already through their data, are dropped
    // before their dot; nothing is stored, and the error is temporary (the original is deferred).
    void submit_all_refused_copy_delivers_none()
    {
        RefusingListener listener("kate@partner.example", "-");
        ThreeCopies copies;
        try {
            submit_all(settings_with("s", static_cast<std::uint16_t>(listener.port)), copies.submissions);
            CPPUNIT_FAIL("no error for a refused copy");
        } catch (const Error& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), e.failure() == Failure::Temporary);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("4.3.2 busy") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("(reply 451)") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("RCPT TO:<kate@partner.example>") != std::string::npos);
        }
        CPPUNIT_ASSERT(listener.logged("abandoned in DATA", 2));
        CPPUNIT_ASSERT(listener.logged("abandoned", 3));
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, listener.stored().size());
    }

    // The one window left: the second copy's dot is refused after the first's was accepted.
    // The first went out (and is named in the error), the third is dropped before its dot.
    void submit_all_failure_between_dots_names_what_went_out()
    {
        RefusingListener listener("-", "gina@partner.example");
        ThreeCopies copies;
        try {
            submit_all(settings_with("s", static_cast<std::uint16_t>(listener.port)), copies.submissions);
            CPPUNIT_FAIL("no error for a refused dot");
        } catch (const Error& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), e.failure() == Failure::PolicyViolation);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("after 1 of 3 copies went out") != std::string::npos);
        }
        CPPUNIT_ASSERT(listener.logged("abandoned in DATA", 1));
        const auto stored = listener.stored();
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, stored.size());
        CPPUNIT_ASSERT_MESSAGE(stored.front(), stored.front().find("RCPT frank@partner.example\n") == 0);
    }

    // A listener that accepts the connection and never speaks: the timeout ends the wait.
    void submit_all_times_out_on_a_silent_listener()
    {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        CPPUNIT_ASSERT(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(test::free_port()));
        CPPUNIT_ASSERT(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 8) == 0);
        auto s = settings_with("s", ntohs(a.sin_port));
        s.timeout = std::chrono::seconds(1);
        ThreeCopies copies;
        const auto open_descriptors = [] {
            std::size_t n = 0;
            for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
            return n;
        };
        const std::size_t before = open_descriptors();
        const auto start = std::chrono::steady_clock::now();
        try {
            submit_all(s, copies.submissions);
            CPPUNIT_FAIL("no error for a silent listener");
        } catch (const Error& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), e.failure() == Failure::Temporary);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("timeout") != std::string::npos);
        }
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
        // The session that failed in its constructor (no greeting) closed its connection.
        CPPUNIT_ASSERT_EQUAL(before, open_descriptors());
        ::close(fd);
    }

    void config_section()
    {
        test::TempDir dir;
        const auto secret = dir.path() / "secret";
        const auto short_secret = dir.path() / "short";
        test::write_file(secret, "0123456789abcdef0123456789abcdef\n");
        test::write_file(short_secret, "tooshort\n");
        // off by default
        CPPUNIT_ASSERT(!parse_config(kHsm, "t.toml")->reinjection.enabled());
        const auto c = parse_config(std::string(kHsm) + "[reinjection]\naddress = \"127.0.0.1:10027\"\nsecret_file = \"" + secret.string() +
                                        "\"\ntimeout = \"20s\"\n",
                                    "t.toml");
        CPPUNIT_ASSERT(c->reinjection.enabled());
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), c->reinjection.host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t{10027}, c->reinjection.port);
        CPPUNIT_ASSERT_EQUAL(std::size_t{32}, c->reinjection.secret.size());  // newline dropped
        CPPUNIT_ASSERT(c->reinjection.timeout == std::chrono::seconds(20));
        const auto l = parse_config(std::string(kHsm) + "[reinjection]\naddress = \"localhost:10027\"\nsecret_file = \"" +
                                        secret.string() + "\"\n", "t.toml");
        CPPUNIT_ASSERT_EQUAL(std::string("localhost"), l->reinjection.host);
        const std::pair<std::string, std::string> bad[] = {
            {"[reinjection]\naddress = \"127.0.0.1\"\nsecret_file = \"" + secret.string() + "\"\n", "t.toml:4:11: "},
            {"[reinjection]\naddress = \"127.0.0.1:0\"\nsecret_file = \"" + secret.string() + "\"\n", "t.toml:4:11: "},
            {"[reinjection]\naddress = \"127.0.0.1:10027\"\n", "t.toml:4:11: [reinjection] address needs secret_file"},
            // Loopback only: a copy is the message before encryption, with the secret.
            {"[reinjection]\naddress = \"192.0.2.25:25\"\nsecret_file = \"" + secret.string() + "\"\n",
             "t.toml:4:11: '192.0.2.25:25' is not a loopback address"},
            {"[reinjection]\naddress = \"[2001:db8::25]:25\"\nsecret_file = \"" + secret.string() + "\"\n",
             "t.toml:4:11: '[2001:db8::25]:25' is not a loopback address"},
            {"[reinjection]\naddress = \"mx.acme.example:10026\"\nsecret_file = \"" + secret.string() + "\"\n",
             "t.toml:4:11: 'mx.acme.example:10026' is not an IP address or localhost"},
            {"[reinjection]\naddress = \"127.0.0.1:10027\"\nsecret_file = \"" + short_secret.string() + "\"\n",
             "t.toml:5:15: the reinjection secret"},
            {"[reinjection]\naddress = \"127.0.0.1:10027\"\nsecret_file = \"/nonexistent/secret\"\n", "t.toml:5:15: "},
            {"[reinjection]\nport = 25\n", "t.toml:4:1: unknown key 'port'"},
            // 0 would be libcurl's "no limit" (a hung listener would hold the message forever)
            {"[reinjection]\ntimeout = \"0s\"\n", "t.toml:4:11: timeout must be between 1s and 1h"},
        };
        for (const auto& [text, want] : bad) {
            try {
                parse_config(std::string(kHsm) + text, "t.toml");
                CPPUNIT_FAIL("accepted: " + text);
            } catch (const ConfigError& e) {
                CPPUNIT_ASSERT_MESSAGE(std::string(e.what()) + " / want " + want,
                                       std::string(e.what()).rfind(want, 0) == 0);
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReinjectionTest);
