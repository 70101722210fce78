// Unit tests for base/: addresses, spool, log sanitising, secrets.
#include <cppunit/extensions/HelperMacros.h>

#include "base/ascii.h"
#include "base/bounded_file.h"
#include "base/certificate_key.h"
#include "base/email_address.h"
#include "base/joined.h"
#include "base/log.h"
#include "base/repeat_filter.h"
#include "base/rsa_pss_params.h"
#include "base/secure_buffer.h"
#include "base/sha256.h"
#include "base/spool.h"
#include "base/unique_fd.h"
#include "tests/unit/test_support.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include <array>
#include <cctype>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <type_traits>

using namespace ssm;

namespace {

// Keeps a reader that waits on a FIFO from hanging a test: after 2 s it opens the FIFO for
// writing and closes it, which ends a blocked open(2) and gives the read an end of file. The
// test then fails on what was read (and on the time it took) instead of never ending.
class FifoWatchdog {
public:
    explicit FifoWatchdog(std::string fifo) : m_fifo(std::move(fifo)), m_thread([this] { run(); }) {}
    ~FifoWatchdog()
    {
        m_done = true;
        m_thread.join();
    }
    FifoWatchdog(const FifoWatchdog&) = delete;
    FifoWatchdog& operator=(const FifoWatchdog&) = delete;

private:
    void run()
    {
        const auto start = std::chrono::steady_clock::now();
        while (!m_done) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) continue;
            const int fd = ::open(m_fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd >= 0) ::close(fd);
        }
    }

    std::string m_fifo;
    std::atomic<bool> m_done{false};
    std::thread m_thread;  // last: started once the members it uses are made
};

}  // namespace

class BaseTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BaseTest);
    CPPUNIT_TEST(address_forms);
    CPPUNIT_TEST(address_rejects);
    CPPUNIT_TEST(address_spellings_of_one_mailbox);
    CPPUNIT_TEST(domain_hierarchy);
    CPPUNIT_TEST(spool_stays_in_memory_below_limit);
    CPPUNIT_TEST(spool_moves_to_disk_and_reads_back);
    CPPUNIT_TEST(spool_leaves_no_file);
    CPPUNIT_TEST(sanitise_escapes_controls);
    CPPUNIT_TEST(log_escape_table);
    CPPUNIT_TEST(unprintable_octets_become_question_marks);
    CPPUNIT_TEST(log_values_cannot_leave_their_quotes);
    CPPUNIT_TEST(journal_stream_gets_one_copy_with_priority);
    CPPUNIT_TEST(secret_file_drops_newline);
    CPPUNIT_TEST(secret_file_trimming_and_sizes);
    CPPUNIT_TEST(secret_file_refuses_what_is_no_file);
    CPPUNIT_TEST(secret_moves_leave_no_copy);
    CPPUNIT_TEST(slice_source_reads_range);
    CPPUNIT_TEST(slices_of_one_tracked_source_read_it_once_in_order);
    CPPUNIT_TEST(memory_source_refuses_temporaries);
    CPPUNIT_TEST(unique_fd_closes_exactly_once);
    CPPUNIT_TEST(joined_with_separators);
    CPPUNIT_TEST(sha256_known_answers);
    CPPUNIT_TEST(certificate_key_rsa_numbers);
    CPPUNIT_TEST(repeat_filter_once_per_interval_and_bounded);
    CPPUNIT_TEST(bounded_file_says_why_not);
    CPPUNIT_TEST(bounded_file_refuses_what_is_no_file);
    CPPUNIT_TEST(bounded_input_reads_pipes);
    CPPUNIT_TEST_SUITE_END();

    static bool fd_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

public:
    // FIPS 180-2 appendix B ("abc", the two-block message, a million 'a') and the empty string.
    void sha256_known_answers()
    {
        const struct {
            std::string input;
            const char* hex;
        } cases[] = {
            {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
            {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
            {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
            {std::string(1000000, 'a'), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
        };
        for (const auto& c : cases) {
            const Sha256Digest d = sha256(as_bytes(c.input));
            CPPUNIT_ASSERT_EQUAL(std::string(c.hex), to_hex(d));
        }
    }

    // base/certificate_key.h gives an rsaEncryption or id-RSASSA-PSS key's modulus and exponent
    // as OpenSSL prints them (no sign octet), and none when a number is no strict positive DER
    // INTEGER: the key of a certificate OpenSSL made, then that certificate with one octet changed.
    void certificate_key_rsa_numbers()
    {
        test::TempDir t;
        test::run("cd '" + t.path().string() + "' && export OPENSSL_CONF=/dev/null && "
            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa.key 2>/dev/null && "
            "openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:1024 -pkeyopt rsa_pss_keygen_md:sha256 "
            "-pkeyopt rsa_pss_keygen_saltlen:32 -out pss.key 2>/dev/null && for k in rsa pss; do "
            "openssl req -new -x509 -key $k.key -subj /CN=$k -days 1 -outform DER -out $k.der && "
            "openssl x509 -inform DER -in $k.der -modulus -noout | sed 's/^Modulus=//' > $k.modulus; done");
        for (const std::string k : {"rsa", "pss"}) {
            const std::string der = test::read_file(t.path() / (k + ".der"));
            std::string modulus = test::read_file(t.path() / (k + ".modulus"));
            modulus.erase(modulus.find_last_not_of('\n') + 1);
            for (char& c : modulus) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            const auto key = certificate_key(as_bytes(der));
            CPPUNIT_ASSERT_MESSAGE(k, key.has_value());
            CPPUNIT_ASSERT_EQUAL(std::string(k == "rsa" ? "1.2.840.113549.1.1.1" : kOidRsassaPss), key->algorithm);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(k, modulus, to_hex(key->rsa_modulus));  // 0x00 stripped
            CPPUNIT_ASSERT_EQUAL_MESSAGE(k, std::string("010001"), to_hex(key->rsa_exponent));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(k, 1024u, key->rsa_modulus_bits);

            // The octets of the exponent INTEGER (02 03 01 00 01), and of the modulus's sign
            // octet and first octet (02 81 81 00 xx), changed in place.
            const std::string e_tlv("\x02\x03\x01\x00\x01", 5), n_head("\x02\x81\x81\x00", 4);
            const std::size_t e_at = der.find(e_tlv), n_at = der.find(n_head);
            CPPUNIT_ASSERT_MESSAGE(k, e_at != std::string::npos && n_at != std::string::npos);
            const struct {
                std::size_t at;
                char octet;
                const char* what;
            } changes[] = {
                {e_at + 2, '\x81', "a negative exponent"},
                {e_at + 2, '\x00', "an exponent with a needless 0x00"},
                {n_at + 4, '\x7f', "a modulus with a needless 0x00"},
                {n_at + 3, '\x80', "a negative modulus"},
            };
            for (const auto& c : changes) {
                std::string bad = der;
                bad[c.at] = c.octet;
                const auto none = certificate_key(as_bytes(bad));
                CPPUNIT_ASSERT_MESSAGE(k + ": " + c.what, none.has_value());  // the key's algorithm still reads
                CPPUNIT_ASSERT_MESSAGE(k + ": " + c.what, none->rsa_modulus.empty() && none->rsa_exponent.empty());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(k + ": " + c.what, 0u, none->rsa_modulus_bits);
            }
        }
    }

    void unique_fd_closes_exactly_once()
    {
        static_assert(!std::is_copy_constructible_v<UniqueFd> && std::is_nothrow_move_constructible_v<UniqueFd>);
        int raw = -1;
        {
            UniqueFd a(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            CPPUNIT_ASSERT(a && fd_open(a.get()));
            raw = a.get();
            UniqueFd b(std::move(a));  // the descriptor moves; the moved-from owner holds none
            CPPUNIT_ASSERT(!a && b.get() == raw && fd_open(raw));
            a = std::move(b);
            CPPUNIT_ASSERT(a.get() == raw && !b && fd_open(raw));
        }
        CPPUNIT_ASSERT(!fd_open(raw));  // closed with its last owner
        UniqueFd c(::open("/dev/null", O_RDONLY | O_CLOEXEC));
        const int kept = c.release();  // given up: not closed by the owner
        CPPUNIT_ASSERT(!c && fd_open(kept));
        c.reset(kept);
        // The new descriptor is opened while `kept` is still open, so its number differs.
        c.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));  // reset closes the one held before
        CPPUNIT_ASSERT(c && c.get() != kept && !fd_open(kept) && fd_open(c.get()));
        UniqueFd failed(-1);  // open(2)'s failure: owns nothing
        CPPUNIT_ASSERT(!failed);
    }

    void joined_with_separators()
    {
        const std::vector<std::string> three{"a", "b", "c"};
        CPPUNIT_ASSERT_EQUAL(std::string("a,b,c"), joined(three));
        CPPUNIT_ASSERT_EQUAL(std::string("a; b; c"), joined(three, "", "; "));
        CPPUNIT_ASSERT_EQUAL(std::string("-"), joined({}, "-", "; "));
        CPPUNIT_ASSERT_EQUAL(std::string("a"), joined(std::vector<std::string>{"a"}, "", "; "));
    }

    void address_forms()
    {
        struct { const char* in; const char* out; } cases[] = {
            {"alice@Acme.Example", "alice@acme.example"},
            {"<alice@acme.example>", "alice@acme.example"},
            {"Alice Doe <Alice@ACME.example>", "Alice@acme.example"},
            {"  bob@sub.acme.example ", "bob@sub.acme.example"},
        };
        for (auto& c : cases) {
            auto a = EmailAddress::parse(c.in);
            CPPUNIT_ASSERT_MESSAGE(c.in, a.has_value());
            CPPUNIT_ASSERT_EQUAL(std::string(c.out), a->str());
        }
        CPPUNIT_ASSERT(EmailAddress::parse("ALICE@acme.example")->same_as(
            *EmailAddress::parse("alice@ACME.EXAMPLE")));
    }

    void address_rejects()
    {
        const char* bad[] = {"", "alice", "@acme.example", "alice@", "al ice@acme.example",
                             "alice@acme..example", "alice@-", "<alice@acme.example",
                             "alice@acme.example\r\nBcc: x@y.z", "a\x01@acme.example"};
        for (auto b : bad) CPPUNIT_ASSERT_MESSAGE(b, !EmailAddress::parse(b).has_value());
        CPPUNIT_ASSERT(!EmailAddress::parse(std::string(70, 'a') + "@acme.example").has_value());
    }

    // RFC 5321 §4.1.2/§4.1.4, §C: a quoted local part that needs no quoting and a source
    // route name the same mailbox as the plain form; MTAs (Postfix internalises both) deliver
    // them so. Policy rules and certificate look-ups must see that one form, or a rule for
    // dave@partner.example is missed by RCPT TO:<"dave"@partner.example>.
    void address_spellings_of_one_mailbox()
    {
        struct { const char* in; const char* out; } cases[] = {
            {"\"dave\"@partner.example", "dave@partner.example"},
            {"<\"dave\"@partner.example>", "dave@partner.example"},
            {"\"da\\ve\"@partner.example", "dave@partner.example"},
            {"\"dave.smith\"@partner.example", "dave.smith@partner.example"},
            {"<@relay.example:dave@partner.example>", "dave@partner.example"},
            {"@relay.example,@other.example:dave@partner.example", "dave@partner.example"},
            {"@relay.example:\"dave\"@partner.example", "dave@partner.example"},
            // Quoting that is needed stays: another mailbox than any unquoted form.
            {"\"dave@x\"@partner.example", "\"dave@x\"@partner.example"},
            {"\"dave..x\"@partner.example", "\"dave..x\"@partner.example"},
        };
        for (auto& c : cases) {
            auto a = EmailAddress::parse(c.in);
            CPPUNIT_ASSERT_MESSAGE(c.in, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, std::string(c.out), a->str());
        }
        CPPUNIT_ASSERT(!EmailAddress::parse("@relay.example:").has_value());
        // A route written with colons leaves '@' in front of the local part; its spelling
        // would parse as another address (fuzz_address found it): no mailbox.
        CPPUNIT_ASSERT(!EmailAddress::parse("<@a.example:@b.example:dave@partner.example>").has_value());
        CPPUNIT_ASSERT(!EmailAddress::parse("<@:@x:dave@partner.example>").has_value());
        // Every address that parses parses again to itself.
        for (auto& c : cases) {
            auto a = EmailAddress::parse(c.in);
            auto again = EmailAddress::parse(a->str());
            CPPUNIT_ASSERT_MESSAGE(c.in, again.has_value() && again->str() == a->str());
        }
    }

    void domain_hierarchy()
    {
        auto parent = *Domain::parse("acme.example");
        CPPUNIT_ASSERT(Domain::parse("acme.example")->is_or_under(parent));
        CPPUNIT_ASSERT(Domain::parse("mail.ACME.example")->is_or_under(parent));
        CPPUNIT_ASSERT(!Domain::parse("notacme.example")->is_or_under(parent));
        CPPUNIT_ASSERT(!Domain::parse("example")->is_or_under(parent));
    }

    void spool_stays_in_memory_below_limit()
    {
        test::TempDir dir;
        Spool s(dir.path().string(), 100);
        s.write(std::string_view("hello"));
        CPPUNIT_ASSERT(!s.on_disk());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(5), s.size());
        MemorySink sink;
        auto r = s.reader();
        copy_stream(*r, sink);
        CPPUNIT_ASSERT_EQUAL(std::string("hello"), sink.str());
    }

    void spool_moves_to_disk_and_reads_back()
    {
        test::TempDir dir;
        Spool s(dir.path().string(), 1000);
        std::string expected;
        for (int i = 0; i < 500; ++i) {
            std::string line = "line " + std::to_string(i) + "\r\n";
            s.write(std::string_view(line));
            expected += line;
        }
        CPPUNIT_ASSERT(s.on_disk());
        MemorySink sink;
        auto r = s.reader();
        copy_stream(*r, sink);
        CPPUNIT_ASSERT(sink.str() == expected);
        r->rewind();
        MemorySink again;
        copy_stream(*r, again);
        CPPUNIT_ASSERT(again.str() == expected);
    }

    void spool_leaves_no_file()
    {
        test::TempDir dir;
        {
            Spool s(dir.path().string(), 10);
            s.write(std::string_view("more than ten bytes of body"));
            CPPUNIT_ASSERT(s.on_disk());
            CPPUNIT_ASSERT(std::filesystem::is_empty(dir.path()));
        }
        CPPUNIT_ASSERT(std::filesystem::is_empty(dir.path()));
    }

    void sanitise_escapes_controls()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a\\x0d\\x0ab"), log::sanitise("a\r\nb"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"a b\""), log::sanitise("a b"));
        CPPUNIT_ASSERT_EQUAL(std::string("abc..."), log::sanitise("abcdef", 3));
        // A long decision detail (several signature results with reasons) stays whole; a
        // hostile value stays bounded.
        const std::string detail(1500, 'd');
        CPPUNIT_ASSERT_EQUAL(detail, log::sanitise(detail));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2048 + 3), log::sanitise(std::string(100000, 'h')).size());
    }

    void log_escape_table()
    {
        struct Case {
            std::string in, escaped;
        };
        const Case cases[] = {
            {"plain", "plain"},
            {"\"", "\\x22"},
            {"\\", "\\x5c"},
            {"\r\n", "\\x0d\\x0a"},
            {"\t", "\\x09"},
            {std::string(1, '\0'), "\\x00"},
            {"\x1f\x7f", "\\x1f\\x7f"},
            {"\xc3\xa9", "\\xc3\\xa9"},
            {"a=b c", "a=b c"},
            {"x\" action=accept\r\nforged: line", "x\\x22 action=accept\\x0d\\x0aforged: line"},
        };
        for (const Case& c : cases) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, c.escaped, log::escape(c.in));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, "\"" + c.escaped + "\"", log::quote(c.in));
        }
        CPPUNIT_ASSERT_EQUAL(std::string("\"\""), log::quote(""));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\""), log::sanitise(""));
        CPPUNIT_ASSERT_EQUAL(std::string("k=v"), log::field("k", "v"));
        CPPUNIT_ASSERT_EQUAL(std::string("k=\"a=b\""), log::field("k", "a=b"));
        CPPUNIT_ASSERT_EQUAL(std::string("k=\"x\\x22 y\""), log::field("k", "x\" y"));
        CPPUNIT_ASSERT_EQUAL(std::string("k=\\x22\\x0d"), log::field("k", "\"\r"));
    }

    // Every octet value: printable ASCII (space to '~') stays, every other octet (control,
    // DEL, 8-bit) becomes one '?', so the length is kept and no line break survives.
    void unprintable_octets_become_question_marks()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("a??b"), with_unprintable_replaced("a\r\nb"));
        CPPUNIT_ASSERT_EQUAL(std::string("j??rg ~"), with_unprintable_replaced("j\xc3\xb6rg ~"));
        CPPUNIT_ASSERT_EQUAL(std::string(), with_unprintable_replaced(""));
        for (int o = 0; o < 256; ++o) {
            const std::string in(1, static_cast<char>(o));
            const std::string want = o >= 0x20 && o <= 0x7e ? in : "?";
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::to_string(o), want, with_unprintable_replaced(in));
        }
    }

    // Every octet value, alone and around quotes: a quoted value holds no '"' but its own two,
    // no control character, and every '\' starts a \xNN escape that gives the octet back.
    // A detail composed of log::field()s parses back into exactly the fields it was made of.
    void log_values_cannot_leave_their_quotes()
    {
        std::string all;
        for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
        for (const std::string& v : {all, "\" action=accept\r\n" + all, std::string("\\\"\\x22")}) {
            const std::string q = log::quote(v, 100000);
            CPPUNIT_ASSERT(q.size() >= 2 && q.front() == '"' && q.back() == '"');
            std::string back;
            for (std::size_t i = 1; i + 1 < q.size(); ++i) {
                const auto c = static_cast<unsigned char>(q[i]);
                CPPUNIT_ASSERT_MESSAGE(q, c >= 0x20 && c < 0x7f && c != '"');
                if (c != '\\') {
                    back.push_back(static_cast<char>(c));
                    continue;
                }
                CPPUNIT_ASSERT(i + 3 < q.size() && q[i + 1] == 'x');
                back.push_back(static_cast<char>(std::stoi(q.substr(i + 2, 2), nullptr, 16)));
                i += 3;
            }
            CPPUNIT_ASSERT(back == v);
        }
        const std::string hostile = "x\" action=accept\r\nwarning: forged=1";
        const std::string detail = "smime=fail " + log::field("reason", hostile) + " " + log::field("signer", hostile);
        std::vector<std::string> keys;
        std::size_t i = 0;
        while (i < detail.size()) {
            if (detail[i] == ' ') {
                ++i;
                continue;
            }
            const std::size_t eq = detail.find('=', i);
            CPPUNIT_ASSERT_MESSAGE(detail, eq != std::string::npos);
            keys.push_back(detail.substr(i, eq - i));
            i = eq + 1;
            if (i < detail.size() && detail[i] == '"') {
                const std::size_t close = detail.find('"', i + 1);
                CPPUNIT_ASSERT_MESSAGE(detail, close != std::string::npos);
                i = close + 1;
            } else {
                while (i < detail.size() && detail[i] != ' ') ++i;
            }
        }
        CPPUNIT_ASSERT_EQUAL(std::string("smime reason signer"),
                             keys.at(0) + " " + keys.at(1) + " " + keys.at(2));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), keys.size());
        CPPUNIT_ASSERT(detail.find_first_of("\r\n") == std::string::npos);
    }

    // Under systemd (StandardError=journal) stderr and syslog both end in the journal: the
    // daemon's syslog+stderr target must become stderr alone, with "<N>" priority prefixes.
    void journal_stream_gets_one_copy_with_priority()
    {
        test::TempDir dir;
        const std::string path = (dir.path() / "journal").string();
        std::fflush(stderr);
        const int saved = dup(2);
        CPPUNIT_ASSERT(saved >= 0);
        std::FILE* f = std::fopen(path.c_str(), "w");
        CPPUNIT_ASSERT(f);
        dup2(fileno(f), 2);
        struct stat st {};
        fstat(2, &st);
        const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
        auto restore = [&] {
            std::fflush(stderr);
            dup2(saved, 2);
            close(saved);
            std::fclose(f);
            unsetenv("JOURNAL_STREAM");
            log::configure({false, true, log::Level::Info}, "test_base");
        };
        try {
            setenv("JOURNAL_STREAM", stream.c_str(), 1);
            CPPUNIT_ASSERT(log::stderr_is_journal());
            log::configure({true, true, log::Level::Info}, "test_base");
            CPPUNIT_ASSERT(!log::current_target().to_syslog);
            CPPUNIT_ASSERT(log::current_target().to_stderr && log::current_target().journal_prefix);
            log::notice("message", {{"id", "Q1"}});
            log::error("failure", {});
            // Another file on stderr (a terminal, a log file): both targets stay.
            setenv("JOURNAL_STREAM", (std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1)).c_str(), 1);
            CPPUNIT_ASSERT(!log::stderr_is_journal());
            setenv("JOURNAL_STREAM", "garbage", 1);
            CPPUNIT_ASSERT(!log::stderr_is_journal());
            unsetenv("JOURNAL_STREAM");
            CPPUNIT_ASSERT(!log::stderr_is_journal());
            log::configure({false, true, log::Level::Info}, "test_base");
            CPPUNIT_ASSERT(!log::current_target().journal_prefix);
            log::info("plain", {});
        } catch (...) {
            restore();
            throw;
        }
        restore();
        CPPUNIT_ASSERT_EQUAL(std::string("<5>notice: message id=Q1\n<3>error: failure\ninfo: plain\n"),
                             test::read_file(path));
    }

    void secret_file_drops_newline()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "pin", "1234\n");
        auto s = read_secret_file((dir.path() / "pin").string());
        CPPUNIT_ASSERT_EQUAL(std::string("1234"), s.value());
        CPPUNIT_ASSERT_THROW(read_secret_file((dir.path() / "nope").string()), std::runtime_error);
    }

    // What read_secret_file keeps of a file: every CR and LF at its end goes, nothing else
    // does (inner line ends, spaces, NUL bytes stay); files up to kMaxSecretFileBytes bytes,
    // counted before the line end is dropped.
    void secret_file_trimming_and_sizes()
    {
        const std::size_t max = kMaxSecretFileBytes;
        CPPUNIT_ASSERT_EQUAL(std::size_t(4096), max);
        struct { const char* name; std::string content; bool ok; std::string expect; } cases[] = {
            {"lf", "1234\n", true, "1234"},
            {"crlf", "1234\r\n", true, "1234"},
            {"no line end", "1234", true, "1234"},
            {"blank lines after", "1234\n\r\n\n", true, "1234"},
            {"lone cr", "1234\r", true, "1234"},
            {"inner line end kept", "12\n34\n", true, "12\n34"},
            {"spaces kept", " 12 34 \t\n", true, " 12 34 \t"},
            {"leading line end kept", "\n1234", true, "\n1234"},
            {"nul kept", std::string("a\0b\n", 4), true, std::string("a\0b", 3)},
            {"0 bytes", "", true, ""},
            {"1 byte", "x", true, "x"},
            {"1 byte line end", "\n", true, ""},
            {"4096 bytes", std::string(max, 'p'), true, std::string(max, 'p')},
            {"4096 bytes with lf", std::string(max - 1, 'p') + "\n", true, std::string(max - 1, 'p')},
            {"4097 bytes", std::string(max + 1, 'p'), false, ""},
            {"4096 bytes and lf", std::string(max, 'p') + "\n", false, ""},
            {"1 MiB", std::string(1 << 20, 'p'), false, ""},
        };
        test::TempDir dir;
        for (const auto& c : cases) {
            const std::string path = (dir.path() / "secret").string();
            test::write_file(path, c.content);
            if (c.ok) {
                std::string got;
                try {
                    got = read_secret_file(path).value();
                } catch (const std::exception& e) {
                    CPPUNIT_FAIL(std::string(c.name) + ": " + e.what());
                }
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.expect, got);
                continue;
            }
            try {
                read_secret_file(path);
                CPPUNIT_FAIL(std::string(c.name) + ": read, should be refused as too large");
            } catch (const std::runtime_error& e) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, "cannot read secret file " + path + ": larger than 4096 bytes",
                                             std::string(e.what()));
            }
        }
    }

    // read_bounded_file: the content up to the bound; otherwise the system's reason, or "larger
    // than" with too_large set (callers name the setting from the flag, not from the text).
    void bounded_file_says_why_not()
    {
        test::TempDir dir;
        const std::string file = (dir.path() / "f").string();
        const std::string mib = std::string(1024 * 1024, 'x');
        const struct {
            const char* name;
            std::string path;
            std::optional<std::string> content;  // written first when set
            std::size_t max;
            std::optional<std::string> expect;
            std::string why;
            bool too_large;
        } cases[] = {
            {"empty", file, "", 10, "", "", false},
            {"at the bound", file, "0123456789", 10, "0123456789", "", false},
            {"one over", file, "0123456789a", 10, std::nullopt, "it is larger than 10 octets", true},
            {"MiB bound", file, mib + "y", mib.size(), std::nullopt, "it is larger than 1 MiB", true},
            {"missing", (dir.path() / "none").string(), std::nullopt, 10, std::nullopt, "No such file or directory", false},
            {"folder", dir.path().string(), std::nullopt, 10, std::nullopt, "Is a directory", false},
        };
        for (const auto& c : cases) {
            if (c.content) test::write_file(c.path, *c.content);
            FileReadRefusal refusal{"stale", true};
            const auto got = read_bounded_file(c.path, c.max, refusal);
            CPPUNIT_ASSERT_MESSAGE(c.name, got == c.expect);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.why, refusal.why);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.too_large, refusal.too_large);
            std::string why = "stale";
            CPPUNIT_ASSERT_MESSAGE(c.name, read_bounded_file(c.path, c.max, why) == c.expect);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.expect ? std::string("stale") : c.why, why);
        }
    }

    // The daemon's files (configuration, list, certificate, CRL, trust anchor files) are
    // regular files: anything else is refused at once with the reason. A FIFO named in the
    // configuration blocked the start or a reload in open(2) until someone wrote to it, and a
    // device such as /dev/zero was read up to the bound before it was refused.
    void bounded_file_refuses_what_is_no_file()
    {
        test::TempDir dir;
        const std::string fifo = (dir.path() / "fifo").string();
        CPPUNIT_ASSERT_EQUAL(0, ::mkfifo(fifo.c_str(), 0600));
        FileReadRefusal refusal;
        std::optional<std::string> got;
        std::chrono::steady_clock::duration waited{};
        {
            const FifoWatchdog watchdog(fifo);
            const auto start = std::chrono::steady_clock::now();
            got = read_bounded_file(fifo, 1024, refusal);
            waited = std::chrono::steady_clock::now() - start;
        }
        CPPUNIT_ASSERT_MESSAGE("a FIFO read as a file", !got);
        CPPUNIT_ASSERT_EQUAL(std::string("not a regular file (a FIFO)"), refusal.why);
        CPPUNIT_ASSERT(!refusal.too_large);
        CPPUNIT_ASSERT(waited < std::chrono::seconds(1));

        const struct {
            std::string path, why;
        } cases[] = {
            {"/dev/zero", "not a regular file (a character device)"},
            {"/dev/null", "not a regular file (a character device)"},
            {dir.path().string(), "Is a directory"},
        };
        for (const auto& c : cases) {
            std::string why;
            CPPUNIT_ASSERT_MESSAGE(c.path, !read_bounded_file(c.path, 1024, why));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.path, c.why, why);
        }
    }

    // ssmctl's inputs may be pipes (`ssmctl cert import /dev/stdin`, a shell's <(...)): they
    // are read to their end, still bounded, and a regular file or a folder as by
    // read_bounded_file.
    void bounded_input_reads_pipes()
    {
        test::TempDir dir;
        // A FIFO with a writer: the open waits for it, as any command reading a FIFO does.
        const std::string fifo = (dir.path() / "fifo").string();
        CPPUNIT_ASSERT_EQUAL(0, ::mkfifo(fifo.c_str(), 0600));
        ssize_t written = -1;  // asserted here: an assertion failing in the thread would end the run
        std::thread writer([&] {
            const UniqueFd w(::open(fifo.c_str(), O_WRONLY | O_CLOEXEC));
            if (w) written = ::write(w.get(), "piped\n", 6);
        });
        std::string why;
        const auto from_fifo = read_bounded_input(fifo, 1024, why);
        writer.join();
        CPPUNIT_ASSERT_EQUAL(ssize_t{6}, written);
        CPPUNIT_ASSERT_MESSAGE(why, from_fifo == std::optional<std::string>("piped\n"));

        // A pipe as /dev/stdin names it (/proc/self/fd/N), written after the reader starts;
        // and one with more than the bound in it (a second writer: the pipe buffer is 64 KiB).
        int fds[2];
        CPPUNIT_ASSERT_EQUAL(0, ::pipe2(fds, O_CLOEXEC));
        UniqueFd r(fds[0]), w(fds[1]);
        const std::string via_proc = "/proc/self/fd/" + std::to_string(r.get());
        std::thread late([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            const std::string block(300, 'x');
            for (int i = 0; i < 10; ++i) ::write(w.get(), block.data(), block.size());
            w.reset();
        });
        const auto big = read_bounded_input(via_proc, 1000, why);
        late.join();
        CPPUNIT_ASSERT(!big);
        CPPUNIT_ASSERT_EQUAL(std::string("it is larger than 1000 octets"), why);

        const std::string file = (dir.path() / "f").string();
        test::write_file(file, "plain");
        CPPUNIT_ASSERT(read_bounded_input(file, 10, why) == std::optional<std::string>("plain"));
        CPPUNIT_ASSERT(!read_bounded_input(dir.path().string(), 10, why));
        CPPUNIT_ASSERT_EQUAL(std::string("Is a directory"), why);
        CPPUNIT_ASSERT(!read_bounded_input((dir.path() / "none").string(), 10, why));
        CPPUNIT_ASSERT_EQUAL(std::string("No such file or directory"), why);
    }

    // A path that names no readable regular file is refused with an error naming it, at once:
    // a directory read as an empty secret before, a FIFO blocked the reader (the daemon's
    // start) until someone wrote to it, and a device such as /dev/zero never ends.
    void secret_file_refuses_what_is_no_file()
    {
        test::TempDir dir;
        const std::string fifo = (dir.path() / "fifo").string();
        CPPUNIT_ASSERT_EQUAL(0, ::mkfifo(fifo.c_str(), 0600));
        std::string fifo_result;
        std::chrono::steady_clock::duration waited{};
        {
            const FifoWatchdog watchdog(fifo);
            const auto start = std::chrono::steady_clock::now();
            try {
                read_secret_file(fifo);
                fifo_result = "read as a secret";
            } catch (const std::runtime_error& e) {
                fifo_result = e.what();
            }
            waited = std::chrono::steady_clock::now() - start;
        }
        CPPUNIT_ASSERT_EQUAL(std::string("cannot read secret file " + fifo + ": not a regular file"), fifo_result);
        CPPUNIT_ASSERT(waited < std::chrono::seconds(1));

        const std::string unreadable = (dir.path() / "unreadable").string();
        test::write_file(unreadable, "1234\n");
        ::chmod(unreadable.c_str(), 0);
        struct { std::string path, expect; } cases[] = {
            {dir.path().string(), "cannot read secret file " + dir.path().string() + ": not a regular file"},
            {"/dev/zero", "cannot read secret file /dev/zero: not a regular file"},
            {(dir.path() / "nope").string(),
             "cannot read secret file " + (dir.path() / "nope").string() + ": No such file or directory"},
            {(dir.path() / "nope" / "x").string(),
             "cannot read secret file " + (dir.path() / "nope" / "x").string() + ": No such file or directory"},
            {"", "cannot read secret file : No such file or directory"},
        };
        for (const auto& c : cases) {
            try {
                read_secret_file(c.path);
                CPPUNIT_FAIL(c.path + ": read as a secret");
            } catch (const std::runtime_error& e) {
                CPPUNIT_ASSERT_EQUAL(c.expect, std::string(e.what()));
            }
        }
        // Root reads a mode-000 file; anyone else must be refused.
        if (::geteuid() != 0) CPPUNIT_ASSERT_THROW(read_secret_file(unreadable), std::runtime_error);
    }

    // A PIN is short: std::string keeps it in its inline buffer, and moving such a string
    // copies the characters and leaves them in the source with size 0. Neither the string a
    // SecureString was made from nor a SecureString moved from may keep them.
    void secret_moves_leave_no_copy()
    {
        // The bytes of a string's whole buffer (its inline buffer when short), past size().
        auto leftover = [](const std::string& s) {
            std::string bytes;
            for (std::size_t i = 0; i < s.capacity(); ++i)
                if (s.data()[i] != '\0') bytes.push_back(s.data()[i]);
            return bytes;
        };
        std::string source = "87654321";
        CPPUNIT_ASSERT(source.capacity() < 32);  // held inline (libstdc++: 15 characters)
        SecureString pin(std::move(source));
        CPPUNIT_ASSERT_EQUAL(std::string("87654321"), pin.value());
        CPPUNIT_ASSERT_EQUAL(std::string(""), leftover(source));
        SecureString moved(std::move(pin));
        CPPUNIT_ASSERT_EQUAL(std::string("87654321"), moved.value());
        CPPUNIT_ASSERT_EQUAL(std::string(""), leftover(pin.value()));
        SecureString assigned;
        assigned = std::move(moved);
        CPPUNIT_ASSERT_EQUAL(std::string(""), leftover(moved.value()));
        const SecureString copy = assigned.clone();
        CPPUNIT_ASSERT_EQUAL(std::string("87654321"), copy.value());
        // A long secret (on the heap) moves its buffer: the source keeps nothing either.
        std::string long_source(40, 'k');
        SecureString long_pin(std::move(long_source));
        CPPUNIT_ASSERT_EQUAL(std::size_t(40), long_pin.value().size());
        CPPUNIT_ASSERT_EQUAL(std::string(""), leftover(long_source));
    }

    void slice_source_reads_range()
    {
        const std::string data = "0123456789abcdef";
        MemorySource src(as_bytes(data));
        struct { std::uint64_t b, e; const char* expect; } cases[] = {
            {0, 16, "0123456789abcdef"}, {3, 7, "3456"}, {10, 10, ""}, {12, 99, "cdef"}, {9, 2, ""}};
        for (auto& c : cases) {
            SliceSource slice(src, c.b, c.e);
            for (int round = 0; round < 2; ++round) {  // and again after rewind
                MemorySink sink;
                copy_stream(slice, sink);
                CPPUNIT_ASSERT_EQUAL(std::string(c.expect), sink.str());
                slice.rewind();
            }
        }
    }

    // Parts of a spooled body looked at in body order (the nested signatures of a list
    // message) share one reader: together they read it once, with no rewind; a slice behind
    // the last one, or one read while another moved the reader, still gets its own bytes.
    void slices_of_one_tracked_source_read_it_once_in_order()
    {
        struct Counted final : ByteSource {
            explicit Counted(ByteView d) : mem(d) {}
            std::size_t read(std::span<std::uint8_t> buf) override
            {
                const std::size_t n = mem.read(buf.first(std::min<std::size_t>(buf.size(), 3)));
                bytes += n;
                return n;
            }
            void rewind() override
            {
                ++rewinds;
                mem.rewind();
            }
            std::uint64_t size() const override { return mem.size(); }
            MemorySource mem;
            std::size_t bytes = 0;
            int rewinds = 0;
        };
        const std::string data = "0123456789abcdefghijklmnopqrstuv";
        Counted inner(as_bytes(data));
        TrackedSource shared(inner);
        const auto take = [](ByteSource& s) {
            MemorySink sink;
            copy_stream(s, sink);
            return sink.str();
        };
        SliceSource a(shared, 2, 6), b(shared, 6, 6), c(shared, 10, 20), d(shared, 25, 99);
        CPPUNIT_ASSERT_EQUAL(std::string("2345"), take(a));
        CPPUNIT_ASSERT_EQUAL(std::string(""), take(b));
        CPPUNIT_ASSERT_EQUAL(std::string("abcdefghij"), take(c));
        CPPUNIT_ASSERT_EQUAL(std::string("pqrstuv"), take(d));
        CPPUNIT_ASSERT_EQUAL(1, inner.rewinds);  // the first: where the reader stood was unknown
        CPPUNIT_ASSERT_EQUAL(data.size(), inner.bytes);
        // Behind the last one: from the start again.
        SliceSource back(shared, 4, 8);
        CPPUNIT_ASSERT_EQUAL(std::string("4567"), take(back));
        CPPUNIT_ASSERT_EQUAL(2, inner.rewinds);
        // Two slices read by turns: each finds its own place.
        SliceSource x(shared, 0, 8), y(shared, 16, 24);
        std::string from_x, from_y;
        std::array<std::uint8_t, 2> buf;
        for (int i = 0; i < 4; ++i) {
            from_x.append(reinterpret_cast<const char*>(buf.data()), x.read(buf));
            from_y.append(reinterpret_cast<const char*>(buf.data()), y.read(buf));
        }
        CPPUNIT_ASSERT_EQUAL(std::string("01234567"), from_x);
        CPPUNIT_ASSERT_EQUAL(std::string("ghijklmn"), from_y);
        // A rewound slice reads its bytes again.
        c.rewind();
        CPPUNIT_ASSERT_EQUAL(std::string("abcdefghij"), take(c));
    }

    // A MemorySource keeps a view: one made over a temporary Bytes read freed memory (three
    // unit tests did, ASan found them). Such a call must not compile; named bytes and plain
    // views still do.
    void memory_source_refuses_temporaries()
    {
        CPPUNIT_ASSERT(!(std::is_constructible_v<MemorySource, Bytes&&>));
        CPPUNIT_ASSERT(!(std::is_constructible_v<MemorySource, const Bytes&&>));
        CPPUNIT_ASSERT((std::is_constructible_v<MemorySource, Bytes&>));
        CPPUNIT_ASSERT((std::is_constructible_v<MemorySource, const Bytes&>));
        CPPUNIT_ASSERT((std::is_constructible_v<MemorySource, ByteView>));
        const Bytes named{1, 2, 3};
        MemorySource src(named);
        MemorySink sink;
        copy_stream(src, sink);
        CPPUNIT_ASSERT(sink.data() == named);
    }

    void repeat_filter_once_per_interval_and_bounded()
    {
        using namespace std::chrono;
        const auto t0 = steady_clock::time_point{} + hours(100);
        RepeatFilter hourly(2, hours(1));
        CPPUNIT_ASSERT(hourly.should_log("a", t0));
        CPPUNIT_ASSERT(!hourly.should_log("a", t0 + minutes(59)));
        CPPUNIT_ASSERT(hourly.should_log("a", t0 + minutes(60)));  // again after the interval
        CPPUNIT_ASSERT(!hourly.should_log("a", t0 + minutes(61)));
        CPPUNIT_ASSERT(hourly.should_log("b", t0 + minutes(61)));
        // Full (a, b): a third key is logged each time, not remembered...
        CPPUNIT_ASSERT(hourly.should_log("c", t0 + minutes(62)));
        CPPUNIT_ASSERT(hourly.should_log("c", t0 + minutes(63)));
        // ...until expired keys make room (a's last line at 60 min, b's at 61).
        CPPUNIT_ASSERT(hourly.should_log("c", t0 + minutes(121)));
        CPPUNIT_ASSERT(!hourly.should_log("c", t0 + minutes(122)));
        CPPUNIT_ASSERT(hourly.should_log("b", t0 + minutes(123)));  // dropped to make room: logged
        CPPUNIT_ASSERT(hourly.should_log(""));  // no key: always
        CPPUNIT_ASSERT(hourly.should_log(""));
        RepeatFilter once(1, seconds(0));
        CPPUNIT_ASSERT(once.should_log("x", t0));
        CPPUNIT_ASSERT(!once.should_log("x", t0 + hours(1000)));
        CPPUNIT_ASSERT(once.should_log("y", t0));  // past the bound
        CPPUNIT_ASSERT(once.should_log("y", t0));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BaseTest);
