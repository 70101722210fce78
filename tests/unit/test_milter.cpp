// Unit tests for milter/MessageProcessor with a real SoftHSM token (fixture scripts) and
// OpenSSL as the independent verifier of what it signs: direction detection, the RCPT
// answers of PRODUCT §2.4, signing identities, formats, limits and failure replies.
#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <fstream>
#include <initializer_list>
#include <thread>
#include <netinet/in.h>

#include "base/error.h"
#include "directory/harvest_store.h"
#include "directory/lmdb.h"
#include "milter/config.h"
#include "milter/in_flight.h"
#include "milter/message_processor.h"
#include "milter/message_writer.h"
#include "milter/network.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;
namespace fs = std::filesystem;

namespace {

// One token for the whole test program (SoftHSM reads its configuration once per process).
struct Fixture : test::PkiToken {
    Fixture() : PkiToken("alice bob carol erin domain-signing dave frank partner-domain")
    {
        // Correspondents' certificates for encryption (the static folder source).
        copy_certificates({"dave", "frank", "partner-domain"});
    }

    std::shared_ptr<const Config> config(const std::string& extra,
                                         const std::string& token_label = "ssm-test") const
    {
        const std::string text = "[milter]\ninternal_networks = [\"10.0.0.0/8\"]\nspool_dir = \"" +
                                 dir.path().string() + "\"\nmemory_spool_limit = \"4KiB\"\n"
                                 "max_message_size = \"2MiB\"\nmax_header_field_size = \"8KiB\"\n"
                                 "[pki]\ntrust_anchors = \"" + (pki / "trust").string() +
                                 "\"\nintermediates = \"" + (pki / "intermediates").string() +
                                 "\"\ncrls = \"\"\nrevocation = \"off\"\n"
                                 "[directory]\nstatic_certificates = \"" + (dir.path() / "certs").string() +
                                 "\"\n"
                                 "[hsm]\ntoken_label = \"" + token_label + "\"\npin_file = \"" +
                                 (token / "pin").string() + "\"\n" + extra;
        return parse_config(text, "test.toml");
    }
};

Fixture& fixture()
{
    static Fixture f;
    return f;
}

const char* kRules = R"toml(
[[domain]]
name = "acme.example"

[[rule]]
name = "partner must be encrypted"
direction = "outbound"
to = ["*@partner.example"]
sign = "domain"
encrypt = "mandatory"

[[rule]]
name = "internal unsigned"
direction = "outbound"
to = ["*@acme.example"]
sign = "none"

[[rule]]
name = "domain signs for the lab"
direction = "outbound"
from = ["*@lab.acme.example"]
sign = "domain"

[[rule]]
name = "sender signs"
direction = "outbound"
sign = "sender"
encrypt = "opportunistic"
)toml";

std::shared_ptr<const Certificates> certificates(const Config& cfg)
{
    return Certificates::load(cfg, nullptr);
}

ConnectionInfo client(const char* ip, const char* daemon = "")
{
    ConnectionInfo c;
    c.client_address = parse_ip_address(ip);
    c.daemon_name = daemon;
    return c;
}

struct Run {
    MessageOutcome outcome;
    std::string message;  // the message as the MTA would deliver it
};

Run run_message(const std::shared_ptr<const Config>& cfg, KeySource& keys, const std::string& from,
                const std::string& header_from, const std::string& body,
                const std::vector<std::pair<std::string, std::string>>& extra_headers = {},
                const std::string& rcpt = "x@other.example")
{
    MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
    CPPUNIT_ASSERT(p.mail_from("<" + from + ">", "").verdict == Verdict::Continue);
    CPPUNIT_ASSERT(p.rcpt_to("<" + rcpt + ">").verdict == Verdict::Continue);
    std::vector<std::pair<std::string, std::string>> headers = {
        {"From", header_from}, {"To", "x@other.example"}, {"Subject", "test"}};
    headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
    for (auto& [n, v] : headers) CPPUNIT_ASSERT(p.header(n, v).verdict == Verdict::Continue);
    CPPUNIT_ASSERT(p.body(as_bytes(body)).verdict == Verdict::Continue);
    Run r;
    r.outcome = p.end_of_message();
    if (r.outcome.header_edit && r.outcome.new_body) {
        MemorySink sink;
        auto reader = r.outcome.new_body->reader();
        write_rewritten_message(p.headers(), *r.outcome.header_edit, *reader, sink);
        r.message = sink.str();
    }
    return r;
}

// Verifies with OpenSSL against the test root; returns the signer's certificate subject.
std::string openssl_verify(const std::string& message)
{
    const fs::path d = fixture().dir.path();
    test::write_file(d / "signed.eml", message);
    const std::string cmd = "OPENSSL_CONF=/dev/null openssl cms -verify -in '" + (d / "signed.eml").string() +
                            "' -CAfile '" + (fixture().pki / "root-ca.cert.pem").string() +
                            "' -purpose smimesign -signer '" + (d / "signer.pem").string() +
                            "' -out '" + (d / "content.txt").string() + "' 2>'" +
                            (d / "verify.err").string() + "'";
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("openssl cms -verify failed: " + test::read_file(d / "verify.err"));
    test::run("openssl x509 -in '" + (d / "signer.pem").string() + "' -noout -ext subjectAltName > '" +
              (d / "san.txt").string() + "'");
    return test::read_file(d / "san.txt");
}

// Decrypts with OpenSSL and the recipient's key from the test PKI; returns the plaintext.
std::string openssl_decrypt(const std::string& message, const std::string& who)
{
    const fs::path d = fixture().dir.path();
    const fs::path pki = fixture().pki;
    test::write_file(d / "enc.eml", message);
    const std::string cmd = "OPENSSL_CONF=/dev/null openssl cms -decrypt -in '" + (d / "enc.eml").string() +
                            "' -inkey '" + (pki / (who + ".key.pem")).string() + "' -recip '" +
                            (pki / (who + ".cert.pem")).string() + "' -out '" +
                            (d / "dec.eml").string() + "' 2>'" + (d / "dec.err").string() + "'";
    if (std::system(cmd.c_str()) != 0)
        throw std::runtime_error("openssl cms -decrypt failed: " + test::read_file(d / "dec.err"));
    return test::read_file(d / "dec.eml");
}

// What a shell command prints on stdout (the test fails when it fails).
std::string shell_output(const std::string& cmd)
{
    const fs::path out = fixture().dir.path() / "shell.out";
    CPPUNIT_ASSERT_EQUAL_MESSAGE(cmd, 0, std::system((cmd + " >'" + out.string() + "' 2>&1").c_str()));
    return test::read_file(out);
}

// The header section of `message` (CRLF) unfolded (RFC 5322 §2.2.3), each fold with its white
// space read as the one space it stands for: a field is then one line whatever its folding.
std::string unfolded_header(const std::string& message)
{
    const std::string head = message.substr(0, message.find("\r\n\r\n") + 2);
    std::string out;
    for (std::size_t i = 0; i < head.size(); ++i) {
        if (head.compare(i, 2, "\r\n") == 0 && i + 2 < head.size() && (head[i + 2] == ' ' || head[i + 2] == '\t')) {
            i += 2;
            while (i + 1 < head.size() && (head[i + 1] == ' ' || head[i + 1] == '\t')) ++i;
            out.push_back(' ');
            continue;
        }
        out.push_back(head[i]);
    }
    return out;
}

// Runs one message through an inbound MessageProcessor (client outside internal networks).
struct InboundRun {
    MessageOutcome outcome;
    std::string message;  // as delivered
};

// Splits a whole message (as our writer makes it, CRLF) into header fields and body.
std::pair<std::vector<std::pair<std::string, std::string>>, std::string> split_message(const std::string& m)
{
    std::vector<std::pair<std::string, std::string>> fields;
    const auto end = m.find("\r\n\r\n");
    const std::string head = m.substr(0, end);
    std::size_t pos = 0;
    while (pos < head.size()) {
        std::size_t eol = head.find("\r\n", pos);
        if (eol == std::string::npos) eol = head.size();
        const std::string line = head.substr(pos, eol - pos);
        if ((line[0] == ' ' || line[0] == '\t') && !fields.empty())
            fields.back().second += "\r\n" + line;
        else
            fields.emplace_back(line.substr(0, line.find(':')), line.substr(line.find(':') + 2));
        pos = eol + 2;
    }
    return {fields, m.substr(end + 4)};
}

InboundRun run_inbound(const std::shared_ptr<const Config>& cfg, KeySource& keys, const std::string& from,
                       const std::string& rcpt, const std::string& message)
{
    MessageProcessor p(cfg, certificates(*cfg), keys, client("198.51.100.7"));
    CPPUNIT_ASSERT(p.mail_from("<" + from + ">", "").verdict == Verdict::Continue);
    CPPUNIT_ASSERT(p.direction() == policy::Direction::Inbound);
    CPPUNIT_ASSERT(p.rcpt_to("<" + rcpt + ">").verdict == Verdict::Continue);
    auto [fields, body] = split_message(message);
    for (auto& [n, v] : fields) CPPUNIT_ASSERT(p.header(n, v).verdict == Verdict::Continue);
    CPPUNIT_ASSERT(p.body(as_bytes(body)).verdict == Verdict::Continue);
    InboundRun r;
    r.outcome = p.end_of_message();
    MemorySink sink;
    if (r.outcome.header_edit) {
        MemorySource original(as_bytes(body));
        auto nb = r.outcome.new_body ? r.outcome.new_body->reader() : nullptr;
        write_rewritten_message(p.headers(), *r.outcome.header_edit,
                                nb ? *nb : static_cast<ByteSource&>(original), sink);
        r.message = sink.str();
    } else {
        r.message = message;
    }
    return r;
}

const char* kEncryptRules = R"toml(
[[domain]]
name = "acme.example"

[[rule]]
name = "gateway to gateway"
direction = "outbound"
to = ["*@gw.partner.example", "*@partner.example"]
from = ["gw@acme.example"]
sign = "domain"
encrypt = "mandatory"
encrypt_to = "domain"

[[rule]]
name = "partner desktops"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"

[[rule]]
name = "opportunistic"
direction = "outbound"
sign = "sender"
encrypt = "opportunistic"
)toml";

}  // namespace

class MilterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MilterTest);
    CPPUNIT_TEST(direction_detection);
    CPPUNIT_TEST(rcpt_replies);
    CPPUNIT_TEST(signs_detached_with_sender_key);
    CPPUNIT_TEST(unlabelled_8bit_text_names_its_charset);
    CPPUNIT_TEST(signs_opaque_ecdsa);
    CPPUNIT_TEST(signs_rsa_pss);
    CPPUNIT_TEST(domain_identity_fallback);
    CPPUNIT_TEST(sender_without_any_identity_is_not_signed);
    CPPUNIT_TEST(domain_mode_without_key_tempfails);
    CPPUNIT_TEST(inbound_is_never_signed);
    CPPUNIT_TEST(limits_give_552);
    CPPUNIT_TEST(token_unavailable_gives_451_430);
    CPPUNIT_TEST(hostile_bodies_get_defined_results);
    CPPUNIT_TEST(encrypts_to_recipient_certificate);
    CPPUNIT_TEST(certificate_of_the_mailbox);
    CPPUNIT_TEST(own_refused_certificate_keeps_the_address);
    CPPUNIT_TEST(messages_in_flight_hold_a_stop);
    CPPUNIT_TEST(our_delimiter_is_not_the_partners);
    CPPUNIT_TEST(encrypts_to_domain_certificate_with_gcm);
    CPPUNIT_TEST(every_subject_field_is_obscured);
    CPPUNIT_TEST(encryption_rcpt_answers);
    CPPUNIT_TEST(recipient_identifier_per_rule);
    CPPUNIT_TEST(routing_local_parts_are_refused_outbound);
    CPPUNIT_TEST(second_at_in_local_part_is_refused_outbound);
    CPPUNIT_TEST(bare_postmaster_is_our_postmaster);
    CPPUNIT_TEST(address_literal_is_refused_as_such);
    CPPUNIT_TEST(unusable_certificate_store_defers);
    CPPUNIT_TEST(corrupt_store_record_defers);
    CPPUNIT_TEST(already_encrypted_passes_untouched);
    CPPUNIT_TEST(inbound_revocation_and_strip_per_rule);
    CPPUNIT_TEST(inbound_verifies_and_reports);
    CPPUNIT_TEST(inbound_decrypts_and_verifies);
    CPPUNIT_TEST(notice_never_returns_decrypted_text);
    CPPUNIT_TEST(inbound_tampered_and_forged);
    CPPUNIT_TEST(inbound_partner_requirements);
    CPPUNIT_TEST(header_values_cannot_break_out);
    CPPUNIT_TEST(new_body_handed_over_even_when_empty);
    CPPUNIT_TEST_SUITE_END();

public:
    void direction_detection()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        struct { ConnectionInfo conn; const char* auth; policy::Direction expect; } cases[] = {
            {client("10.2.3.4"), "", policy::Direction::Outbound},
            {client("192.0.2.7"), "", policy::Direction::Inbound},
            {client("192.0.2.7"), "alice", policy::Direction::Outbound},
            {client("192.0.2.7", "ORIGINATING"), "", policy::Direction::Outbound},
            {client("192.0.2.7", "smtpd"), "", policy::Direction::Inbound},
            {client("::ffff:10.0.0.1"), "", policy::Direction::Outbound},
        };
        for (auto& c : cases) {
            MessageProcessor p(cfg, certificates(*cfg), keys, c.conn);
            p.mail_from("<a@acme.example>", c.auth);
            CPPUNIT_ASSERT(p.direction() == c.expect);
        }
        // An MTA that sends no {daemon_name} (Postfix: milter_connect_macros without it): mail
        // nothing else shows to be outbound may be the submission service's, which taken for
        // inbound would leave neither signed nor encrypted; deferred instead. Mail shown to be
        // outbound otherwise goes on.
        ConnectionInfo unnamed = client("192.0.2.7");
        unnamed.daemon_name_sent = false;
        MessageProcessor p(cfg, certificates(*cfg), keys, unnamed);
        const Reply r = p.mail_from("<a@acme.example>", "");
        CPPUNIT_ASSERT_EQUAL(std::string("451 4.3.0"), r.rcode + " " + r.xcode);
        MessageProcessor authenticated(cfg, certificates(*cfg), keys, unnamed);
        CPPUNIT_ASSERT(authenticated.mail_from("<a@acme.example>", "alice").verdict == Verdict::Continue);
        CPPUNIT_ASSERT(authenticated.direction() == policy::Direction::Outbound);
        ConnectionInfo internal = client("10.2.3.4");
        internal.daemon_name_sent = false;
        MessageProcessor from_inside(cfg, certificates(*cfg), keys, internal);
        CPPUNIT_ASSERT(from_inside.mail_from("<a@acme.example>", "").verdict == Verdict::Continue);
    }

    void rcpt_replies()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        Reply r = p.rcpt_to("<bob@partner.example>");
        CPPUNIT_ASSERT(r.verdict == Verdict::Reject);
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1"), r.rcode + " " + r.xcode);
        CPPUNIT_ASSERT(p.rcpt_to("<x@other.example>").verdict == Verdict::Continue);
        CPPUNIT_ASSERT(p.rcpt_to("<y@other.example>").verdict == Verdict::Continue);
        r = p.rcpt_to("<colleague@acme.example>");  // sign=none differs from sign=sender
        CPPUNIT_ASSERT(r.verdict == Verdict::TempFail);
        CPPUNIT_ASSERT_EQUAL(std::string("452 4.5.3"), r.rcode + " " + r.xcode);
        r = p.rcpt_to("not an address");
        CPPUNIT_ASSERT_EQUAL(std::string("553 5.1.3"), r.rcode + " " + r.xcode);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), p.recipient_count());
    }

    void signs_detached_with_sender_key()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        Run r = run_message(cfg, keys, "alice@acme.example", "Alice <alice@acme.example>",
                            "H\xc3\xa4llo\n8bit body line\n",
                            {{"Content-Type", "text/plain; charset=utf-8"},
                             {"Content-Transfer-Encoding", "8bit"}});
        CPPUNIT_ASSERT_EQUAL(std::string("sign"), r.outcome.action);
        CPPUNIT_ASSERT_MESSAGE(r.message, r.message.find("Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n\tmicalg=sha-256;\r\n\tboundary=") != std::string::npos);
        CPPUNIT_ASSERT(r.message.find("Content-Transfer-Encoding: 8bit") == std::string::npos);
        CPPUNIT_ASSERT(openssl_verify(r.message).find("alice@acme.example") != std::string::npos);
        for (unsigned char c : r.message) CPPUNIT_ASSERT(c < 0x80);  // 8bit text re-encoded
    }

    // A message with no MIME fields whose text has 8-bit octets: they are re-encoded for
    // signing, and the signed entity names the charset they are in (RFC 2045's default,
    // us-ascii, would misname them); with header protection the Content-Type made for hp=
    // says the same. 7-bit text keeps the default.
    void unlabelled_8bit_text_names_its_charset()
    {
        auto cfg = fixture().config(kRules);
        auto enc = fixture().config(kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        TokenKeySource enc_keys(enc->hsm);
        struct {
            const char* body;
            const char* fields;  // of the signed entity
            const char* text;    // its body, as encoded
            const char* charset;
        } cases[] = {
            {"plain text\n", "", "plain text\r\n", "us-ascii"},
            {"Gr\xc3\xbc\xc3\x9f""e\n",
             "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n",
             "Gr=C3=BC=C3=9Fe\r\n", "utf-8"},
            {"Gr\xfc\xdf""e\n",
             "Content-Type: text/plain; charset=unknown-8bit\r\nContent-Transfer-Encoding: quoted-printable\r\n",
             "Gr=FC=DFe\r\n", "unknown-8bit"},
        };
        const fs::path content = fixture().dir.path() / "content.txt";
        for (const auto& c : cases) {
            Run r = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", c.body);
            CPPUNIT_ASSERT_EQUAL(std::string("sign"), r.outcome.action);
            CPPUNIT_ASSERT(openssl_verify(r.message).find("alice@acme.example") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.charset, std::string(c.fields) + "\r\n" + c.text, test::read_file(content));

            Run e = run_message(enc, enc_keys, "alice@acme.example", "alice@acme.example", c.body, {},
                                "dave@partner.example");
            CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), e.outcome.action);
            openssl_verify(openssl_decrypt(e.message, "dave"));
            const std::string inner = test::read_file(content);
            const std::string type = std::string("Content-Type: text/plain; charset=") + c.charset + "; hp=\"cipher\"\r\n";
            CPPUNIT_ASSERT_MESSAGE(inner, inner.find(type) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(inner, inner.find(std::string("\r\n\r\n") + c.text) != std::string::npos);
            if (std::string(c.charset) != "us-ascii")
                CPPUNIT_ASSERT_MESSAGE(inner, inner.find("us-ascii") == std::string::npos);
        }
    }

    void signs_opaque_ecdsa()
    {
        auto cfg = fixture().config(std::string("[signing]\nformat = \"opaque\"\n") + kRules);
        TokenKeySource keys(cfg->hsm);
        Run r = run_message(cfg, keys, "bob@acme.example", "bob@acme.example", "hello\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("sign"), r.outcome.action);
        CPPUNIT_ASSERT(r.outcome.detail.find("alg=ecdsa/sha-256") != std::string::npos);
        CPPUNIT_ASSERT(r.message.find("smime-type=signed-data") != std::string::npos);
        CPPUNIT_ASSERT(openssl_verify(r.message).find("bob@acme.example") != std::string::npos);
    }

    void signs_rsa_pss()
    {
        auto cfg = fixture().config(std::string("[signing]\nrsa_scheme = \"pss\"\ndigest = \"sha384\"\n") + kRules);
        TokenKeySource keys(cfg->hsm);
        Run r = run_message(cfg, keys, "carol@acme.example", "carol@acme.example", "pss body\n");
        CPPUNIT_ASSERT(r.outcome.detail.find("alg=rsa-pss/sha-384") != std::string::npos);
        CPPUNIT_ASSERT(r.message.find("micalg=sha-384") != std::string::npos);
        CPPUNIT_ASSERT(openssl_verify(r.message).find("carol@acme.example") != std::string::npos);
    }

    void domain_identity_fallback()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        // No key for zed: the domain signs (RFC 3183).
        Run r = run_message(cfg, keys, "zed@acme.example", "zed@acme.example", "x\n");
        CPPUNIT_ASSERT(r.outcome.detail.find("identity=domain-signing-authority@acme.example") != std::string::npos);
        CPPUNIT_ASSERT(openssl_verify(r.message).find("domain-signing-authority@acme.example") != std::string::npos);
        // sign = "domain" for the lab, even though alice has her own key... the lab rule
        // matches the envelope sender; the author picks the domain identity.
        r = run_message(cfg, keys, "robot@lab.acme.example", "robot@lab.acme.example", "x\n");
        CPPUNIT_ASSERT(openssl_verify(r.message).find("domain-signing-authority@acme.example") != std::string::npos);
    }

    void sender_without_any_identity_is_not_signed()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        Run r = run_message(cfg, keys, "someone@elsewhere.example", "someone@elsewhere.example", "x\n");
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_EQUAL(std::string("none"), r.outcome.action);
        CPPUNIT_ASSERT(!r.outcome.header_edit.has_value());
    }

    void domain_mode_without_key_tempfails()
    {
        auto cfg = fixture().config(R"toml(
[[domain]]
name = "nokey.example"
[[rule]]
name = "domain"
direction = "outbound"
sign = "domain"
)toml");
        TokenKeySource keys(cfg->hsm);
        Run r = run_message(cfg, keys, "a@nokey.example", "a@nokey.example", "x\n");
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::TempFail);
        CPPUNIT_ASSERT_EQUAL(std::string("451 4.7.0"), r.outcome.reply.rcode + " " + r.outcome.reply.xcode);
    }

    void inbound_is_never_signed()
    {
        auto cfg = fixture().config(R"toml(
[[rule]]
name = "sign everything"
sign = "sender"
)toml");
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, certificates(*cfg), keys, client("198.51.100.9"));
        p.mail_from("<alice@acme.example>", "");
        CPPUNIT_ASSERT(p.direction() == policy::Direction::Inbound);
        p.rcpt_to("<alice@acme.example>");
        p.header("From", "alice@acme.example");
        p.body(as_bytes(std::string_view("forged\n")));
        auto out = p.end_of_message();
        CPPUNIT_ASSERT(out.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT(!out.header_edit.has_value());
    }

    void limits_give_552()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        p.rcpt_to("<x@other.example>");
        Reply r = p.header("X-Long", std::string(9000, 'a'));
        CPPUNIT_ASSERT_EQUAL(std::string("552 5.3.4"), r.rcode + " " + r.xcode);
        MessageProcessor q(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        q.mail_from("<alice@acme.example>", "");
        q.rcpt_to("<x@other.example>");
        const std::string chunk(1536 * 1024, 'b');
        CPPUNIT_ASSERT(q.body(as_bytes(chunk)).verdict == Verdict::Continue);
        r = q.body(as_bytes(chunk));
        CPPUNIT_ASSERT_EQUAL(std::string("552 5.3.4"), r.rcode + " " + r.xcode);
        // Many tiny fields: each counts a few bytes against max_message_size but costs a
        // hundred in memory; the count has its own limit.
        MessageProcessor h(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        h.mail_from("<alice@acme.example>", "");
        h.rcpt_to("<x@other.example>");
        for (std::size_t i = 0; i < MessageProcessor::kMaxHeaderFields; ++i)
            CPPUNIT_ASSERT(h.header("a", "").verdict == Verdict::Continue);
        r = h.header("a", "");
        CPPUNIT_ASSERT_EQUAL(std::string("552 5.3.4"), r.rcode + " " + r.xcode);
        CPPUNIT_ASSERT_EQUAL(MessageProcessor::kMaxHeaderFields, h.headers().size());
    }

    void token_unavailable_gives_451_430()
    {
        // Answered at RCPT, before the client sends the message (PRODUCT §2.4).
        auto cfg = fixture().config(kRules, "no-such-token");
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        Reply r = p.rcpt_to("<x@other.example>");
        CPPUNIT_ASSERT(r.verdict == Verdict::TempFail);
        CPPUNIT_ASSERT_EQUAL(std::string("451 4.3.0"), r.rcode + " " + r.xcode);
        // A recipient that needs no key is not held up by the token.
        CPPUNIT_ASSERT(p.rcpt_to("<colleague@acme.example>").verdict == Verdict::Continue);
    }

    void hostile_bodies_get_defined_results()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        const std::string mp = "multipart/mixed; boundary=\"b1\"";
        struct { const char* name; std::vector<std::pair<std::string, std::string>> headers; std::string body; } cases[] = {
            {"unterminated boundary", {{"MIME-Version", "1.0"}, {"Content-Type", mp}},
             "--b1\r\nContent-Type: text/plain\r\n\r\npart one\r\n--b1\r\nContent-Type: text/plain\r\n\r\nno end"},
            {"nul bytes", {}, std::string("a\0b\0c\n", 6)},
            {"binary garbage", {{"Content-Type", "application/octet-stream"}},
             std::string("\xff\xfe\x00\x01\r\r\n\x80garbage\x1b", 16)},
            {"empty body", {}, ""},
            {"boundary never seen", {{"Content-Type", mp}}, "just text\n"},
            {"long line", {}, std::string(200000, 'x') + "\n"},
        };
        for (auto& c : cases) {
            Run r = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", c.body, c.headers);
            // Each is either signed (and then verifies) or refused with a defined reply.
            if (r.outcome.reply.verdict == Verdict::Accept) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string("sign"), r.outcome.action);
                CPPUNIT_ASSERT_MESSAGE(c.name, openssl_verify(r.message).find("alice@acme.example") != std::string::npos);
            } else {
                CPPUNIT_ASSERT_MESSAGE(c.name, !r.outcome.reply.rcode.empty());
            }
        }
    }

    void every_subject_field_is_obscured()
    {
        // A header with two Subject fields (a script, a careless MUA, a forwarded draft): with
        // obscure_subject every one of them leaves as "[...]", not only the first; the second
        // would otherwise carry its text in clear next to the encrypted body.
        auto cfg = fixture().config(kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        Run r = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", "secret plans\n",
                            {{"Subject", "merger with initech"}}, "dave@partner.example");
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), r.outcome.action);
        const std::string header = unfolded_header(r.message);
        CPPUNIT_ASSERT_MESSAGE(header, header.find("merger with initech") == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(header, header.find("Subject: test") == std::string::npos);
        // Both stay readable inside, and the inner header says what stood outside (RFC 9788).
        openssl_verify(openssl_decrypt(r.message, "dave"));
        const std::string content = test::read_file(fixture().dir.path() / "content.txt");
        CPPUNIT_ASSERT_MESSAGE(content, content.find("Subject: merger with initech\r\n") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(content, content.find("HP-Outer: Subject: merger") == std::string::npos);
    }

    // An address extension ([policy] recipient_delimiter): the certificate for the address as
    // written first, in every source; only when none is found, the mailbox's (the address
    // without its extension), which the certificate's own address check accepts.
    void certificate_of_the_mailbox()
    {
        const auto der_of = [](const char* who) {
            return to_bytes(test::read_file(fixture().pki / (std::string(who) + ".cert.der")));
        };
        auto cfg = fixture().config(kEncryptRules);
        auto certs = certificates(*cfg);
        const EmailAddress dave_x = *EmailAddress::parse("dave+x@partner.example");
        const std::time_t now = std::time(nullptr);
        CPPUNIT_ASSERT(!certs->find(dave_x, now).chosen);  // no certificate names dave+x@
        auto c = certs->find_for_mailbox(dave_x, now);
        CPPUNIT_ASSERT(c.chosen && c.found_under);
        CPPUNIT_ASSERT_EQUAL(std::string("dave@partner.example"), c.found_under->str());
        CPPUNIT_ASSERT(c.chosen->der == der_of("dave"));
        c = certs->find_for_mailbox(*EmailAddress::parse("dave@partner.example"), now);
        CPPUNIT_ASSERT(c.chosen && !c.found_under);
        // No delimiter for partners: no extension to cut.
        auto off = fixture().config(std::string("[policy]\npartner_recipient_delimiter = \"\"\n") + kEncryptRules);
        CPPUNIT_ASSERT(!certificates(*off)->find_for_mailbox(dave_x, now).chosen);
        // Through the milter: dave+x@ gets mail dave's key decrypts, instead of 550 5.7.1.
        TokenKeySource keys(cfg->hsm);
        Run r = run_message(cfg, keys, "alice@acme.example", "Alice <alice@acme.example>", "secret plans\n",
                            {{"Content-Type", "text/plain; charset=us-ascii"}}, "dave+x@partner.example");
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), r.outcome.action);
        CPPUNIT_ASSERT(openssl_decrypt(r.message, "dave").find("secret plans") != std::string::npos);
        // A certificate for dave+x@ itself wins over the mailbox's.
        fixture().issue_identity("dave-x", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "Dave X",
                                 "dave+x@partner.example", "digitalSignature,keyEncipherment");
        const fs::path own = fixture().dir.path() / "certs" / "dave-x.cert.pem";
        fs::copy_file(fixture().pki / "dave-x.cert.pem", own);
        c = certificates(*cfg)->find_for_mailbox(dave_x, std::time(nullptr) + 1);  // issued this second
        fs::remove(own);
        std::string why;
        for (const auto& r : c.rejected_reasons) why += r + "; ";
        CPPUNIT_ASSERT_MESSAGE(why, c.chosen && !c.found_under);
        CPPUNIT_ASSERT(c.chosen->der == der_of("dave-x"));
    }

    // What a stop signal waits for (milter/in_flight.h): every ticket counts once, however moved,
    // no message begins once stopping, the wait ends when the last one ends, and a ticket may
    // outlive its counter (a libmilter session closed after the daemon object is gone).
    void messages_in_flight_hold_a_stop()
    {
        using std::chrono::milliseconds;
        InFlight messages;
        auto first = messages.begin();
        auto second = messages.begin();
        CPPUNIT_ASSERT(first && second);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), messages.count());
        std::optional<InFlight::Ticket> moved = std::move(first);
        first.reset();  // a moved-from ticket ends nothing
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), messages.count());
        CPPUNIT_ASSERT(!messages.wait_idle(milliseconds(20)));
        messages.stop();
        CPPUNIT_ASSERT(!messages.begin());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), messages.count());
        moved.reset();
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), messages.count());
        std::thread last([&second] {
            std::this_thread::sleep_for(milliseconds(50));
            second.reset();
        });
        CPPUNIT_ASSERT(messages.wait_idle(milliseconds(10000)));
        last.join();
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), messages.count());

        std::optional<InFlight::Ticket> late;
        {
            InFlight gone;
            late = gone.begin();
            CPPUNIT_ASSERT(late);
        }
        late.reset();
    }

    // An address with a certificate of its own that is refused (here: a signing-only key) is
    // not encrypted to its mailbox's instead: "dave-y" may be a person of its own, and the
    // refusal is the answer (550 5.7.1 with its reason where encryption is mandatory). The
    // partner is said to cut at "-" too, so that dave-y@ has a mailbox to fall back to.
    void own_refused_certificate_keeps_the_address()
    {
        auto cfg = fixture().config(std::string("[policy]\npartner_recipient_delimiters = { \"partner.example\" = \"+-\" }\n") +
                                    kEncryptRules);
        const EmailAddress dave_y = *EmailAddress::parse("dave-y@partner.example");
        const std::time_t now = std::time(nullptr);
        CPPUNIT_ASSERT(certificates(*cfg)->find_for_mailbox(dave_y, now).found_under);  // none of its own: dave's
        fixture().issue_identity("dave-y", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "Dave Y",
                                 "dave-y@partner.example", "digitalSignature");
        const fs::path own = fixture().dir.path() / "certs" / "dave-y.cert.pem";
        fs::copy_file(fixture().pki / "dave-y.cert.pem", own);
        const auto c = certificates(*cfg)->find_for_mailbox(dave_y, std::time(nullptr) + 1);
        fs::remove(own);
        std::string why;
        for (const auto& r : c.rejected_reasons) why += r + "; ";
        CPPUNIT_ASSERT_MESSAGE(why, !c.chosen && !c.found_under && c.own_refused);
        CPPUNIT_ASSERT_MESSAGE(why, why.find("Dave Y") != std::string::npos || why.find("dave-y") != std::string::npos);
    }

    // Our recipient_delimiter "-" (a Postfix or qmail site's) is ours alone: at a partner whose
    // delimiter nobody configured, dave-smith@ is a person of its own, so with no certificate of
    // its own it is never encrypted to dave@partner.example's (dave could read it): mandatory
    // encryption refuses it at RCPT, 550 5.7.1, as any recipient without a certificate. "+" at
    // that partner (the partners' default), a partner said to cut at "-", and "-" at our own
    // domain still reach the mailbox's certificate.
    void our_delimiter_is_not_the_partners()
    {
        const std::string dash = "[policy]\nrecipient_delimiter = \"-\"\n";
        auto cfg = fixture().config(dash + kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        {
            MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
            CPPUNIT_ASSERT(p.mail_from("<alice@acme.example>", "").verdict == Verdict::Continue);
            const Reply r = p.rcpt_to("<dave-smith@partner.example>");
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.text, std::string("550 5.7.1"), r.rcode + " " + r.xcode);
            CPPUNIT_ASSERT(r.verdict == Verdict::Reject);
            CPPUNIT_ASSERT_MESSAGE(r.text, r.text.find("dave-smith@partner.example") != std::string::npos);
            CPPUNIT_ASSERT_EQUAL(std::size_t(0), p.recipient_count());
        }
        const auto c = certificates(*cfg)->find_for_mailbox(*EmailAddress::parse("dave-smith@partner.example"),
                                                            std::time(nullptr));
        CPPUNIT_ASSERT(!c.chosen && !c.found_under);
        const std::vector<std::pair<std::string, std::string>> text{{"Content-Type", "text/plain; charset=us-ascii"}};
        // "+" at the partner: its mailbox's certificate
        Run plus = run_message(cfg, keys, "alice@acme.example", "Alice <alice@acme.example>", "secret plans\n", text,
                               "dave+tag@partner.example");
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), plus.outcome.action);
        CPPUNIT_ASSERT(openssl_decrypt(plus.message, "dave").find("secret plans") != std::string::npos);
        // the partner's own "-", configured: dave-smith@ is dave's mailbox there
        auto listed = fixture().config(dash + "partner_recipient_delimiters = { \"partner.example\" = \"-\" }\n" +
                                       kEncryptRules);
        Run dash_listed = run_message(listed, keys, "alice@acme.example", "Alice <alice@acme.example>", "secret plans\n",
                                      text, "dave-smith@partner.example");
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), dash_listed.outcome.action);
        CPPUNIT_ASSERT(openssl_decrypt(dash_listed.message, "dave").find("secret plans") != std::string::npos);
        // ours: alice-tag@acme.example reaches alice's certificate (opportunistic rule), while
        // alice+tag@ is an address of its own here and leaves signed only
        const fs::path own = fixture().dir.path() / "certs" / "alice-for-extensions.cert.pem";
        fs::copy_file(fixture().pki / "alice.cert.pem", own);
        Run ours = run_message(cfg, keys, "bob@acme.example", "Bob <bob@acme.example>", "secret plans\n", text,
                               "alice-tag@acme.example");
        Run ours_plus = run_message(cfg, keys, "bob@acme.example", "Bob <bob@acme.example>", "secret plans\n", text,
                                    "alice+tag@acme.example");
        fs::remove(own);
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), ours.outcome.action);
        CPPUNIT_ASSERT(openssl_decrypt(ours.message, "alice").find("secret plans") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("sign"), ours_plus.outcome.action);
    }

    void encrypts_to_recipient_certificate()
    {
        auto cfg = fixture().config(kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        Run r = run_message(cfg, keys, "alice@acme.example", "Alice <alice@acme.example>",
                            "secret plans\n",
                            {{"Content-Type", "text/plain; charset=us-ascii"}, {"Bcc", "hidden@acme.example"}},
                            "dave@partner.example");
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), r.outcome.action);
        CPPUNIT_ASSERT(r.outcome.detail.find("cipher=aes256-cbc cipher_reason=default recipients=1 key_management=ktri-rsa-pkcs1 ") != std::string::npos);
        CPPUNIT_ASSERT(r.message.find("smime-type=enveloped-data") != std::string::npos);
        CPPUNIT_ASSERT(r.message.find("Subject: [...]") != std::string::npos);
        CPPUNIT_ASSERT(r.message.find("secret plans") == std::string::npos);
        const std::string inner = openssl_decrypt(r.message, "dave");
        // RFC 9788: the protected part carries the real Subject; it is signed by alice.
        CPPUNIT_ASSERT(inner.find("multipart/signed") != std::string::npos);
        CPPUNIT_ASSERT(openssl_verify(inner).find("alice@acme.example") != std::string::npos);
        const std::string content = test::read_file(fixture().dir.path() / "content.txt");
        CPPUNIT_ASSERT(content.find("Subject: test") != std::string::npos);
        CPPUNIT_ASSERT(content.find("hp=\"cipher\"") != std::string::npos);
        CPPUNIT_ASSERT(content.find("secret plans") != std::string::npos);
        // RFC 9788 §2.2: what stayed outside, the obscured Subject as it is there; no Bcc inside.
        CPPUNIT_ASSERT_MESSAGE(content, content.find("HP-Outer: Subject: [...]\r\n") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(content, content.find("HP-Outer: From: Alice <alice@acme.example>\r\n") != std::string::npos);
        CPPUNIT_ASSERT(content.find("Bcc") == std::string::npos);
        CPPUNIT_ASSERT(content.find("hidden@acme.example") == std::string::npos);

        // A Content-Type with an unterminated quoted string: hp="cipher" appended would have
        // become part of the boundary and the inner multipart would no longer parse (found with
        // generated malformed messages); it is left off, the parts arrive intact.
        Run q = run_message(cfg, keys, "alice@acme.example", "alice@acme.example",
                            "--Q\nContent-Type: text/plain\n\none\n--Q--\n",
                            {{"Content-Type", "multipart/mixed; boundary=\"Q"}}, "dave@partner.example");
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), q.outcome.action);
        openssl_verify(openssl_decrypt(q.message, "dave"));
        const std::string q_content = test::read_file(fixture().dir.path() / "content.txt");
        CPPUNIT_ASSERT_MESSAGE(q_content, q_content.find("Content-Type: multipart/mixed; boundary=\"Q\r\n") != std::string::npos);
        CPPUNIT_ASSERT(q_content.find("hp=") == std::string::npos);
    }

    void encrypts_to_domain_certificate_with_gcm()
    {
        auto cfg = fixture().config(std::string("[encryption]\ncipher = \"aes256-gcm\"\nkey_transport = \"oaep\"\n") +
                                    kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        // nobody@partner.example has no certificate of its own: the domain's is used.
        Run r = run_message(cfg, keys, "gw@acme.example", "gw@acme.example", "to the gateway\n", {},
                            "nobody@partner.example");
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), r.outcome.action);
        CPPUNIT_ASSERT(r.message.find("smime-type=authEnveloped-data") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(r.outcome.detail, r.outcome.detail.find("key_management=ktri-rsa-oaep ") != std::string::npos);
        const std::string inner = openssl_decrypt(r.message, "partner-domain");
        CPPUNIT_ASSERT(openssl_verify(inner).find("domain-signing-authority@acme.example") != std::string::npos);
    }

    // A rule's recipient_identifier names its recipients' certificates in one message with
    // other recipients named otherwise: dave by subjectKeyIdentifier (KTRI version 2), frank
    // (another rule) by issuerAndSerialNumber, nora (key-id asked, no SKI in her certificate)
    // by issuerAndSerialNumber, and the log detail names her: rid_fallback.
    void recipient_identifier_per_rule()
    {
        const fs::path d = fixture().dir.path();
        const fs::path pki = fixture().pki;
        const std::string nora = (d / "nora").string();
        const std::string make =
            "cd '" + d.string() + "' && export OPENSSL_CONF=/dev/null && "
            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out nora.key.pem && "
            "openssl req -new -key nora.key.pem -subj '/O=SSM Test/CN=nora@partner.example' -out nora.csr && "
            "printf '[ee]\\nbasicConstraints=critical,CA:false\\nkeyUsage=critical,keyEncipherment\\n"
            "extendedKeyUsage=emailProtection\\nsubjectAltName=email:nora@partner.example\\n"
            "subjectKeyIdentifier=none\\nauthorityKeyIdentifier=none\\n' > nora.ext && "
            "openssl x509 -req -in nora.csr -CA '" + (pki / "sub-ca.cert.pem").string() + "' -CAkey '" +
            (pki / "sub-ca.key.pem").string() + "' -CAcreateserial -CAserial nora.srl -days 30 -extfile nora.ext "
            "-extensions ee -out certs/nora.cert.pem >/dev/null 2>&1";
        CPPUNIT_ASSERT_EQUAL(0, std::system(make.c_str()));
        auto cfg = fixture().config(std::string(R"toml(
[[domain]]
name = "acme.example"

[[rule]]
name = "partners reading key ids"
direction = "outbound"
to = ["dave@partner.example", "nora@partner.example"]
sign = "sender"
encrypt = "mandatory"
recipient_identifier = "key-id"

[[rule]]
name = "partner desktops"
direction = "outbound"
to = ["*@partner.example"]
sign = "sender"
encrypt = "mandatory"
)toml"));
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        for (const char* r : {"<dave@partner.example>", "<frank@partner.example>", "<nora@partner.example>"}) {
            const Reply reply = p.rcpt_to(r);
            CPPUNIT_ASSERT_MESSAGE(std::string(r) + ": " + reply.str(), reply.verdict == Verdict::Continue);
        }
        // All three named: blind copies would leave in copies of their own ([encryption] blind_copies).
        for (auto [n, v] : {std::pair{"From", "alice@acme.example"},
                            {"To", "dave@partner.example, frank@partner.example, nora@partner.example"},
                            {"Subject", "ids"}})
            CPPUNIT_ASSERT(p.header(n, v).verdict == Verdict::Continue);
        CPPUNIT_ASSERT(p.body(as_bytes(std::string("named three ways\n"))).verdict == Verdict::Continue);
        const MessageOutcome out = p.end_of_message();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(out.detail, std::string("sign+encrypt"), out.action);
        CPPUNIT_ASSERT_MESSAGE(out.detail, out.detail.find("recipients=3 ") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(out.detail, out.detail.find(" rid_fallback=nora@partner.example ") != std::string::npos);
        MemorySink sink;
        auto reader = out.new_body->reader();
        write_rewritten_message(p.headers(), *out.header_edit, *reader, sink);
        test::write_file(d / "ids.eml", sink.str());
        const std::string printed = shell_output("OPENSSL_CONF=/dev/null openssl cms -cmsout -print -in '" +
                                                 (d / "ids.eml").string() + "'");
        // RFC 5652 §6.1: version 2 (a KTRI of version 2, a KARI); each RecipientInfo its own rid.
        CPPUNIT_ASSERT_MESSAGE(printed, printed.find("d.envelopedData: \n    version: 2\n") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(printed, printed.find("d.ktri: \n        version: 2\n        d.subjectKeyIdentifier:") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(printed, printed.find("d.ktri: \n        version: 0\n        d.issuerAndSerialNumber:") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(printed, printed.find("d.kari: \n        version: 3\n") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(printed, printed.find("d.rKeyId:") == std::string::npos);  // frank's rule: issuer-serial
        for (const char* who : {"dave", "frank"})
            CPPUNIT_ASSERT(openssl_decrypt(sink.str(), who).find("named three ways") != std::string::npos);
        const std::string cmd = "OPENSSL_CONF=/dev/null openssl cms -decrypt -in '" + (d / "ids.eml").string() +
                                "' -inkey '" + nora + ".key.pem' -recip '" + (d / "certs/nora.cert.pem").string() +
                                "' -out '" + nora + ".out' 2>/dev/null";
        CPPUNIT_ASSERT_EQUAL(0, std::system(cmd.c_str()));
        CPPUNIT_ASSERT(test::read_file(nora + ".out").find("named three ways") != std::string::npos);
        fs::remove(d / "certs/nora.cert.pem");  // the other tests' static folder as it was
    }

    void encryption_rcpt_answers()
    {
        auto cfg = fixture().config(kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        Reply r = p.rcpt_to("<nobody@partner.example>");  // mandatory, no certificate
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1"), r.rcode + " " + r.xcode);
        CPPUNIT_ASSERT(r.text.find("nobody@partner.example") != std::string::npos);
        CPPUNIT_ASSERT(p.rcpt_to("<dave@partner.example>").verdict == Verdict::Continue);
        CPPUNIT_ASSERT(p.rcpt_to("<frank@partner.example>").verdict == Verdict::Continue);
        r = p.rcpt_to("<someone@other.example>");  // opportunistic, no certificate: sign only
        CPPUNIT_ASSERT_EQUAL(std::string("452 4.5.3"), r.rcode + " " + r.xcode);
        p.header("From", "alice@acme.example");
        // Both named: blind copies would leave the shared encryption (message_blind.cpp).
        p.header("To", "dave@partner.example, frank@partner.example");
        p.body(as_bytes(std::string_view("to two partners\n")));
        auto out = p.end_of_message();
        CPPUNIT_ASSERT(out.detail.find("recipients=2") != std::string::npos);
        MemorySink sink;
        auto reader = out.new_body->reader();
        write_rewritten_message(p.headers(), *out.header_edit, *reader, sink);
        CPPUNIT_ASSERT(openssl_verify(openssl_decrypt(sink.str(), "dave")).find("alice@acme.example") != std::string::npos);
        CPPUNIT_ASSERT(openssl_verify(openssl_decrypt(sink.str(), "frank")).find("alice@acme.example") != std::string::npos);
    }

    // Postfix (allow_percent_hack, swap_bangpath: both on by default) delivers
    // dave%partner.example@LOCAL and partner.example!dave@LOCAL to dave@partner.example when
    // LOCAL is in mydestination ($myhostname and localhost are, by default). The milter sees
    // another domain, so the rule for partner.example did not apply: the message left in clear
    // (reproduced through Postfix 3.7). Outbound such a recipient is refused, whatever the rule.
    void routing_local_parts_are_refused_outbound()
    {
        refused_outbound_only({"<dave%partner.example@acme.example>", "<partner.example!dave@localhost>",
                               "<dave%partner.example@localhost>"},
                              "<dave@partner.example>", "<user%host@acme.example>");
    }

    // Postfix strips its own destination from dave@partner.example@LOCAL and delivers to
    // dave@partner.example, and with resolve_dequoted_address (on by default) it does so for
    // "dave@partner.example"@LOCAL too. Planned for LOCAL, the message left signed only, in
    // clear, where the partner rule says mandatory encryption (reproduced through Postfix 3.7).
    void second_at_in_local_part_is_refused_outbound()
    {
        refused_outbound_only({"<dave@partner.example@localhost>", "<\"dave@partner.example\"@localhost>",
                               "<\"dave@partner.example\"@acme.example>", "<dave@partner.example.@acme.example>"},
                              "<\"dave\"@partner.example>", "<\"user@host\"@acme.example>");
    }

    // Outbound (alice, the encryption rules) each of `refused` gets 553 5.1.3 and is not
    // counted, while `accepted` still is; inbound mail is never encrypted (nothing to bypass),
    // so `inbound` stays accepted there.
    void refused_outbound_only(std::initializer_list<const char*> refused, const char* accepted, const char* inbound)
    {
        auto cfg = fixture().config(kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        for (const char* rcpt : refused) {
            const Reply r = p.rcpt_to(rcpt);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(rcpt, std::string("553 5.1.3"), r.rcode + " " + r.xcode);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), p.recipient_count());
        CPPUNIT_ASSERT_MESSAGE(accepted, p.rcpt_to(accepted).verdict == Verdict::Continue);
        MessageProcessor in(cfg, certificates(*cfg), keys, client("198.51.100.7"));
        in.mail_from("<x@partner.example>", "");
        CPPUNIT_ASSERT_MESSAGE(inbound, in.rcpt_to(inbound).verdict == Verdict::Continue);
    }

    // A [directory] cache folder that cannot be opened (corrupt data.mdb, permissions, a full
    // disk at start) took the imported and harvested certificates with it, silently: a
    // recipient whose certificate was imported got 550 "none found" (reproduced with ssmctl).
    // A local fault is temporary: 451 4.7.1, as for an unreachable directory.
    // RFC 5321 §4.5.1: RCPT TO:<postmaster> without a domain MUST be accepted. It is planned as
    // the postmaster of the first [[domain]]: outbound that domain's rule applies, inbound its
    // mail is verified and the rules naming postmaster@acme.example apply. Other bare local
    // parts are still not understood (553).
    // An address literal is valid RFC 5321 syntax: refused, since no rule, [[domain]] or
    // certificate is for it, but not as an address not understood (553 5.1.3 said so).
    void address_literal_is_refused_as_such()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        for (const char* rcpt : {"<dave@[192.0.2.1]>", "<dave@[IPv6:2001:db8::1]>"}) {
            const Reply r = p.rcpt_to(rcpt);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(rcpt, std::string("550 5.7.1"), r.rcode + " " + r.xcode);
            CPPUNIT_ASSERT_MESSAGE(r.str(), r.str().find("address literals") != std::string::npos);
        }
        for (const char* rcpt : {"<dave@[192.0.2]>", "<dave@[foo]>"}) {
            const Reply r = p.rcpt_to(rcpt);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(rcpt, std::string("553 5.1.3"), r.rcode + " " + r.xcode);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), p.recipient_count());
    }

    void bare_postmaster_is_our_postmaster()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        for (const char* rcpt : {"<postmaster>", "<PostMaster>", "postmaster"}) {
            MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
            p.mail_from("<alice@acme.example>", "");
            const Reply r = p.rcpt_to(rcpt);
            CPPUNIT_ASSERT_MESSAGE(std::string(rcpt) + ": " + r.str(), r.verdict == Verdict::Continue);
            const auto& planned = p.recipients().back();
            CPPUNIT_ASSERT(planned.address);
            CPPUNIT_ASSERT_EQUAL(std::string("postmaster@acme.example"), planned.address->str());
            CPPUNIT_ASSERT_EQUAL(std::string("internal unsigned"), planned.plan.rule_name);
        }
        {
            MessageProcessor p(cfg, certificates(*cfg), keys, client("10.1.1.1"));
            p.mail_from("<alice@acme.example>", "");
            for (const char* rcpt : {"<alice>", "<postmaster.x>", "<postmasters>"}) {
                const Reply r = p.rcpt_to(rcpt);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(rcpt, std::string("553 5.1.3"), r.rcode + " " + r.xcode);
            }
        }
        // Inbound: a signed message to <postmaster> is verified, and the rule for
        // postmaster@acme.example strips the signature for its reader.
        Run signed_run = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", "hello postmaster\n");
        const std::string strip = std::string(kRules) +
                                  "[[rule]]\nname = \"postmaster reads plain mail\"\ndirection = \"inbound\"\n"
                                  "to = [\"postmaster@acme.example\"]\nstrip_signature = true\n";
        InboundRun in = run_inbound(fixture().config(strip), keys, "alice@acme.example", "postmaster", signed_run.message);
        CPPUNIT_ASSERT_MESSAGE(in.message, in.message.find("smime=pass") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(in.message, in.message.find("multipart/signed") == std::string::npos);
        CPPUNIT_ASSERT(in.message.find("hello postmaster") != std::string::npos);
        // Without a [[domain]]: this host's postmaster.
        auto bare = fixture().config("[[rule]]\nname = \"all\"\ndirection = \"outbound\"\nsign = \"none\"\n");
        MessageProcessor p(bare, certificates(*bare), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        const Reply r = p.rcpt_to("<postmaster>");
        const auto host = Domain::parse(local_host_name());
        CPPUNIT_ASSERT_MESSAGE(r.str(), !host || r.verdict == Verdict::Continue);
        if (host) CPPUNIT_ASSERT_EQUAL("postmaster@" + host->str(), p.recipients().back().address->str());
    }

    void unusable_certificate_store_defers()
    {
        test::TempDir dir;
        {
            std::ofstream bad(dir.path() / "data.mdb", std::ios::binary);
            bad << std::string(8192, 'x');  // not an LMDB file
        }
        auto edited = std::make_shared<Config>(*fixture().config(kEncryptRules));
        edited->directory.cache = dir.path().string();
        const std::shared_ptr<const Config> cfg = edited;
        std::string why;
        auto harvest = open_harvest_store(*cfg, &why);
        CPPUNIT_ASSERT(!harvest);
        CPPUNIT_ASSERT(!why.empty());
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, Certificates::load(*cfg, harvest, why), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        const Reply r = p.rcpt_to("<nobody@partner.example>");  // mandatory; maybe imported
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.str(), std::string("451 4.7.1"), r.rcode + " " + r.xcode);
        // A certificate a source before them holds (the static folder) is still used.
        CPPUNIT_ASSERT(p.rcpt_to("<dave@partner.example>").verdict == Verdict::Continue);
    }

    // A harvested or imported record that does not decode (a torn write, a disk error, a
    // format from another version) read as "no certificate": 550 for a recipient whose
    // certificate it may hold. Like an unopenable store: 451 4.7.1, the MTA retries.
    void corrupt_store_record_defers()
    {
        test::TempDir dir;
        auto edited = std::make_shared<Config>(*fixture().config(kEncryptRules));
        edited->directory.cache = dir.path().string();
        const std::shared_ptr<const Config> cfg = edited;
        auto harvest = open_harvest_store(*cfg, nullptr);
        CPPUNIT_ASSERT(harvest);
        const auto& env = harvest->environment();
        const auto corrupt = [&](const char* database, const std::string& key, const Bytes& value) {
            const MDB_dbi dbi = env->database(database);  // opens with a transaction of its own
            directory::lmdb::Transaction txn(*env, directory::lmdb::Transaction::Mode::Write);
            txn.put(dbi, key, value);
            txn.commit();
        };
        corrupt("harvest", "nobody@partner.example", Bytes{1, 1, 0, 0});    // truncated
        corrupt("imported", "erin@partner.example", Bytes{7, 0});           // unknown version
        corrupt("harvest", "dave@partner.example", to_bytes("garbage"));    // static has dave
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, Certificates::load(*cfg, harvest, ""), keys, client("10.1.1.1"));
        p.mail_from("<alice@acme.example>", "");
        for (const char* rcpt : {"<nobody@partner.example>", "<erin@partner.example>"}) {
            const Reply r = p.rcpt_to(rcpt);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(rcpt) + ": " + r.str(), std::string("451 4.7.1"),
                                         r.rcode + " " + r.xcode);
        }
        // No record at all: "none found" as before.
        const Reply none = p.rcpt_to("<nobody2@partner.example>");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(none.str(), std::string("550 5.7.1"), none.rcode + " " + none.xcode);
        // A certificate a source before the store holds (the static folder) is still used.
        CPPUNIT_ASSERT(p.rcpt_to("<dave@partner.example>").verdict == Verdict::Continue);
    }

    void already_encrypted_passes_untouched()
    {
        auto cfg = fixture().config(kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        // The author's own encryption (openssl's EnvelopedData to dave) goes out as it is.
        const fs::path d = fixture().dir.path();
        const std::string pki = fixture().pki.string();
        test::write_file(d / "author.txt", "Content-Type: text/plain\r\n\r\nsecret\r\n");
        const auto openssl_b64 = [&](const std::string& options, const std::string& recipient = "") {
            test::run("OPENSSL_CONF=/dev/null openssl cms " + options + " -in '" + (d / "author.txt").string() +
                      "' -outform DER " + recipient + " | base64 > '" + (d / "author.b64").string() + "'");
            return test::read_file(d / "author.b64");
        };
        const std::string envelope = openssl_b64("-encrypt -aes-256-cbc", "'" + pki + "/dave.cert.pem'");
        const std::vector<std::pair<std::string, std::string>> enveloped = {
            {"Content-Type", "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m"},
            {"Content-Transfer-Encoding", "base64"}};
        Run r = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", envelope, enveloped,
                            "dave@partner.example");
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_EQUAL(std::string("none"), r.outcome.action);
        CPPUNIT_ASSERT(!r.outcome.header_edit.has_value());
        // A label is no encryption: plaintext, an opaque signature or garbage labelled as
        // enveloped-data is encrypted like any other mail (it went out in clear to a recipient
        // whose rule makes encryption mandatory; found with MimeKit's test messages).
        const std::string opaque =
            openssl_b64("-sign -nodetach -signer '" + pki + "/dave.cert.pem' -inkey '" + pki + "/dave.key.pem'");
        const std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> labelled = {
            {"secret in clear\n", {{"Content-Type", "application/pkcs7-mime; smime-type=enveloped-data"}}},
            {"secret in clear\n", {{"Content-Type", "application/x-pkcs7-mime"}}},
            {opaque, {{"Content-Type", "application/pkcs7-mime; name=smime.p7m"}, {"Content-Transfer-Encoding", "base64"}}},
            {"MIIB...\n", enveloped}};
        for (const auto& [body, fields] : labelled) {
            Run clear = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", body, fields,
                                    "dave@partner.example");
            CPPUNIT_ASSERT_MESSAGE(clear.outcome.detail, clear.outcome.reply.verdict == Verdict::Accept);
            CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), clear.outcome.action);
            CPPUNIT_ASSERT(clear.message.find("secret") == std::string::npos);
            CPPUNIT_ASSERT(!openssl_decrypt(clear.message, "dave").empty());
        }
    }

    // PRODUCT §7: soft-fail or hard-fail per policy. [pki] revocation is off here; a partner
    // rule asking for hard-fail makes a signer whose status nobody can tell a temperror.
    void inbound_revocation_and_strip_per_rule()
    {
        auto sign_cfg = fixture().config(kRules);
        TokenKeySource keys(sign_cfg->hsm);
        Run signed_run = run_message(sign_cfg, keys, "alice@acme.example", "alice@acme.example", "hello partner\n");
        const std::string hard = std::string(kRules) +
                                 "[[rule]]\nname = \"alice's mail is checked hard\"\ndirection = \"inbound\"\n"
                                 "from = [\"alice@acme.example\"]\nrevocation = \"hard-fail\"\n";
        InboundRun in = run_inbound(fixture().config(hard), keys, "alice@acme.example", "dave@partner.example",
                                    signed_run.message);
        CPPUNIT_ASSERT_MESSAGE(in.message, in.message.find("smime=temperror") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(in.message, in.message.find("revocation status unknown") != std::string::npos);
        InboundRun plain = run_inbound(fixture().config(kRules), keys, "alice@acme.example", "dave@partner.example",
                                       signed_run.message);
        CPPUNIT_ASSERT_MESSAGE(plain.message, plain.message.find("smime=pass") != std::string::npos);
        CPPUNIT_ASSERT(plain.message.find("multipart/signed") != std::string::npos);
        // PRODUCT §3.3: the signature layer removed for the users a rule names (clients that
        // cannot show S/MIME), the result kept in Authentication-Results.
        const std::string strip = std::string(kRules) +
                                  "[[rule]]\nname = \"dave reads plain mail\"\ndirection = \"inbound\"\n"
                                  "to = [\"dave@partner.example\"]\nstrip_signature = true\n";
        InboundRun stripped = run_inbound(fixture().config(strip), keys, "alice@acme.example", "dave@partner.example",
                                          signed_run.message);
        CPPUNIT_ASSERT_MESSAGE(stripped.message, stripped.message.find("smime=pass") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(stripped.message, stripped.message.find("multipart/signed") == std::string::npos);
        CPPUNIT_ASSERT(stripped.message.find("hello partner") != std::string::npos);
    }

    // A message our outbound side signed, received by a gateway that trusts the same root.
    void inbound_verifies_and_reports()
    {
        auto out_cfg = fixture().config(kRules);
        TokenKeySource keys(out_cfg->hsm);
        for (const char* format : {"detached", "opaque"}) {
            auto sign_cfg = fixture().config(std::string("[signing]\nformat = \"") + format + "\"\n" + kRules);
            Run signed_run = run_message(sign_cfg, keys, "alice@acme.example", "alice@acme.example", "hello partner\n");
            InboundRun in = run_inbound(out_cfg, keys, "alice@acme.example", "dave@partner.example",
                                        signed_run.message);
            CPPUNIT_ASSERT(in.outcome.reply.verdict == Verdict::Accept);
            CPPUNIT_ASSERT_EQUAL(std::string("verify"), in.outcome.action);
            const std::string header = unfolded_header(in.message);
            CPPUNIT_ASSERT_MESSAGE(in.message, header.rfind("Authentication-Results: ", 0) == 0);
            const std::string ar = header.substr(0, header.find("\r\n"));  // the whole field, unfolded
            CPPUNIT_ASSERT_MESSAGE(ar, ar.find("; smime=pass body.smime-identifier=alice@acme.example ") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(ar, ar.find(" body.smime-serial=") != std::string::npos);
            // The log line names the algorithms (not an RFC 7281 property, so not in the field).
            CPPUNIT_ASSERT_MESSAGE(in.outcome.detail, in.outcome.detail.find(" alg=rsa-pkcs1/sha-256") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(ar, ar.find(" alg=") == std::string::npos);
        }
    }

    void inbound_decrypts_and_verifies()
    {
        auto cfg = fixture().config(kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        Run sent = run_message(cfg, keys, "alice@acme.example", "Alice <alice@acme.example>", "for dave only\n",
                               {{"Content-Type", "text/plain; charset=us-ascii"}}, "dave@partner.example");
        CPPUNIT_ASSERT_EQUAL(std::string("sign+encrypt"), sent.outcome.action);
        InboundRun in = run_inbound(cfg, keys, "alice@acme.example", "dave@partner.example", sent.message);
        CPPUNIT_ASSERT_EQUAL(std::string("decrypt+verify"), in.outcome.action);
        CPPUNIT_ASSERT(in.message.find("smime=pass") != std::string::npos);
        // The delivered header section (the signed entity below keeps its protected fields).
        const std::string header = in.message.substr(0, in.message.find("\r\n\r\n") + 2);
        CPPUNIT_ASSERT(header.find("\r\nSubject: test\r\n") != std::string::npos);  // restored from inside
        CPPUNIT_ASSERT(header.find("Subject: [...]") == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(header, header.find("HP-Outer") == std::string::npos);  // not a field to restore
        CPPUNIT_ASSERT(in.message.find("HP-Outer: Subject: [...]") != std::string::npos);
        CPPUNIT_ASSERT(in.message.find("multipart/signed") != std::string::npos);
        CPPUNIT_ASSERT(in.message.find("for dave only") != std::string::npos);
    }

    void notice_never_returns_decrypted_text()
    {
        // Whoever sends a copy of a ciphertext to the user it was for chooses the envelope
        // sender a bounce returns it to, decrypted (milter/decrypted_mark.h).
        auto cfg = fixture().config(kEncryptRules);
        TokenKeySource keys(cfg->hsm);
        Run sent = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", "for dave only\n",
                               {{"Content-Type", "text/plain; charset=us-ascii"}}, "dave@partner.example");
        InboundRun in = run_inbound(cfg, keys, "mallory@evil.example", "dave@partner.example", sent.message);
        CPPUNIT_ASSERT_EQUAL(std::string("decrypt+verify"), in.outcome.action);
        CPPUNIT_ASSERT_MESSAGE(in.message, in.message.rfind("X-SSM-Decrypted: ", 0) == 0);  // on top
        const std::string bounce = "This is the mail system.\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n" +
                                   in.message + "\r\n--b--\r\n";
        const std::vector<std::pair<std::string, std::string>> report = {
            {"Content-Type", "multipart/report; report-type=delivery-status; boundary=\"b\""}};
        // From the null sender (a notice): refused, in either direction.
        Run notice = run_message(cfg, keys, "", "MAILER-DAEMON@mx.acme.example", bounce, report, "mallory@evil.example");
        CPPUNIT_ASSERT(notice.outcome.reply.verdict == Verdict::Reject);
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1"), notice.outcome.reply.rcode + " " + notice.outcome.reply.xcode);
        InboundRun inbound_notice = run_inbound(cfg, keys, "", "dave@partner.example",
                                                "Content-Type: " + report[0].second + "\r\n\r\n" + bounce);
        CPPUNIT_ASSERT(inbound_notice.outcome.reply.verdict == Verdict::Reject);
        // Nor to a list of ours (the replay's sender may name one): its members would get it.
        auto with_list = fixture().config(std::string(kEncryptRules) +
                                          "\n[[mail_list]]\naddress = \"team@acme.example\"\n"
                                          "identity = \"domain-signing-authority@acme.example\"\n"
                                          "members = [\"dave@partner.example\"]\n");
        Run to_list = run_message(with_list, keys, "", "MAILER-DAEMON@mx.acme.example", bounce, report, "team@acme.example");
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1"), to_list.outcome.reply.rcode + " " + to_list.outcome.reply.xcode);
        CPPUNIT_ASSERT(to_list.outcome.detail.find("notice-quotes-decrypted") != std::string::npos);
        // A person forwarding it (not the null sender) is the policy's business, not refused here.
        Run forward = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", bounce, report, "x@other.example");
        CPPUNIT_ASSERT(forward.outcome.reply.verdict == Verdict::Accept);
        // A notice about mail that was not decrypted goes out.
        Run clear = run_message(cfg, keys, "", "MAILER-DAEMON@mx.acme.example", "--b\r\n\r\nFrom: x\r\n\r\nhi\r\n--b--\r\n",
                                report, "mallory@evil.example");
        CPPUNIT_ASSERT(clear.outcome.reply.verdict == Verdict::Accept);
    }

    void inbound_tampered_and_forged()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        Run signed_run = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", "original text\n");
        std::string tampered = signed_run.message;
        tampered.replace(tampered.find("original text"), 13, "altered text!");
        tampered = "Authentication-Results: " + std::string("localhost") + "; smime=pass\r\n" + tampered;
        auto forged_cfg = fixture().config(std::string("") + kRules);
        // authserv_id defaults to the host name; make it explicit so the forged one matches.
        auto named = parse_config(std::string("[milter]\nauthserv_id = \"localhost\"\ninternal_networks = [\"10.0.0.0/8\"]\nspool_dir = \"") +
                                      fixture().dir.path().string() + "\"\n[pki]\ntrust_anchors = \"" +
                                      (fixture().pki / "trust").string() + "\"\nintermediates = \"" +
                                      (fixture().pki / "intermediates").string() + "\"\nrevocation = \"off\"\n[hsm]\ntoken_label = \"ssm-test\"\npin_file = \"" +
                                      (fixture().token / "pin").string() + "\"\n" + kRules,
                                  "named.toml");
        InboundRun in = run_inbound(named, keys, "alice@acme.example", "dave@partner.example", tampered);
        CPPUNIT_ASSERT(unfolded_header(in.message).find("smime=fail reason=\"message digest mismatch\"") != std::string::npos);
        // Exactly one A-R: ours. The forged "smime=pass" is gone.
        CPPUNIT_ASSERT(in.message.find("smime=pass") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string::npos, in.message.find("Authentication-Results", 10));
        // From mismatch: signed by alice, From says bob.
        Run other = run_message(cfg, keys, "alice@acme.example", "alice@acme.example", "x\n");
        std::string spoofed = other.message;
        spoofed.replace(spoofed.find("From: alice@acme.example"), 24, "From: bob@acme.example  ");
        in = run_inbound(named, keys, "bob@acme.example", "dave@partner.example", spoofed);
        CPPUNIT_ASSERT(in.message.find("From address does not match") != std::string::npos);
    }

    void inbound_partner_requirements()
    {
        auto cfg = fixture().config(R"toml(
[[rule]]
name = "partner must sign"
direction = "inbound"
from = ["*@partner.example"]
require_signature = true
[[rule]]
name = "other partner is tagged"
direction = "inbound"
from = ["*@tagged.example"]
require_signature = true
require_encryption = true
on_missing = "tag"
)toml");
        TokenKeySource keys(cfg->hsm);
        const std::string plain = "From: x@partner.example\r\nSubject: s\r\n\r\nunsigned\r\n";
        InboundRun in = run_inbound(cfg, keys, "x@partner.example", "alice@acme.example", plain);
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1"), in.outcome.reply.rcode + " " + in.outcome.reply.xcode);
        in = run_inbound(cfg, keys, "y@tagged.example", "alice@acme.example",
                         "X-SSM-Policy: forged ok\r\nFrom: y@tagged.example\r\n\r\nunsigned\r\n");
        CPPUNIT_ASSERT(in.outcome.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT(in.message.find("X-SSM-Policy: missing a valid S/MIME signature and encryption") != std::string::npos);
        CPPUNIT_ASSERT(in.message.find("forged ok") == std::string::npos);
    }

    // Regression: a bare CR in a decrypted inner Content-Type ended the outer header block.
    void header_values_cannot_break_out()
    {
        struct { const char* in; const char* out; } cases[] = {
            {"text/plain; charset=us-ascii\r; hp=\"cipher\"", "text/plain; charset=us-ascii\n\t; hp=\"cipher\""},
            {"a\r\n\tb", "a\n\tb"},
            {"a\n\nb", "a\n\tb"},
            {"a\r\n\r\nX-Injected: 1", "a\n\tX-Injected: 1"},
            {"trailing\r\n", "trailing"},
            {"\r\nleading", "leading"},
            {"plain", "plain"},
        };
        for (auto& c : cases) CPPUNIT_ASSERT_EQUAL(std::string(c.out), milter_header_value(c.in));
    }

    // Regression (found through Sendmail): a decrypted entity with an empty body gave no
    // smfi_replacebody call at all, so the MTA kept the ciphertext under the new text/plain
    // header. Every body, the empty one included, reaches the MTA whole, in bounded chunks.
    void new_body_handed_over_even_when_empty()
    {
        constexpr std::size_t kMax = 8;
        struct { std::size_t size; std::size_t calls; } cases[] = {
            {0, 1}, {1, 1}, {kMax - 1, 1}, {kMax, 1}, {kMax + 1, 2}, {3 * kMax, 3}, {3 * kMax + 2, 4},
        };
        for (const auto& c : cases) {
            std::string body;
            for (std::size_t i = 0; i < c.size; ++i) body.push_back(static_cast<char>('a' + i % 26));
            MemorySource source(as_bytes(body));
            std::string got;
            std::size_t calls = 0;
            const bool ok = send_body_chunks(source, kMax, [&](ByteView chunk) {
                ++calls;
                CPPUNIT_ASSERT(chunk.size() <= kMax);
                CPPUNIT_ASSERT(chunk.size() > 0 || c.size == 0);
                got += std::string(as_chars(chunk));
                return true;
            });
            const std::string what = "body of " + std::to_string(c.size) + " bytes";
            CPPUNIT_ASSERT_MESSAGE(what, ok);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, c.calls, calls);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, body, got);
        }
        // The MTA refusing a chunk stops the hand-over and is reported.
        const std::string body(3 * kMax, 'x');
        MemorySource source(as_bytes(body));
        std::size_t calls = 0;
        CPPUNIT_ASSERT(!send_body_chunks(source, kMax, [&](ByteView) { return ++calls < 2; }));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), calls);
        MemorySource empty(as_bytes(std::string_view()));
        CPPUNIT_ASSERT(!send_body_chunks(empty, kMax, [](ByteView) { return false; }));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MilterTest);
