// Unit tests for the policy actions as MessageProcessor carries them out, with a real SoftHSM
// token (fixture scripts) and OpenSSL as the independent reader: planning again at the end
// of the header (trigger -> mandatory, 550 5.7.1 when unmet or when recipients diverge),
// strip_trigger, signing_identity, cipher preference and floor, per-rule header protection.
#include <cppunit/extensions/HelperMacros.h>

#include "tests/unit/test_processor_support.h"

using namespace ssm;
using namespace ssm::milter;
namespace fs = std::filesystem;

namespace {

struct Fixture : test::ProcessorToken {
    Fixture() : ProcessorToken("alice domain-signing") { copy_certificates({"dave", "frank"}); }

    std::shared_ptr<const Config> config(const std::string& rules) const
    {
        return parse_config(
            base_config("[encryption]\nobscure_subject = false\n[[domain]]\nname = \"acme.example\"\n" + rules),
            "replan.toml");
    }

    // The CMS object of an application/pkcs7-mime message, as `openssl asn1parse` shows it
    // (it parses what `openssl cms` cannot decrypt).
    std::string asn1parse(const std::string& message) const
    {
        test::write_file(dir.path() / "in.eml", message);
        test::run("sed '1,/^\\r\\?$/d' '" + (dir.path() / "in.eml").string() +
                  "' | OPENSSL_CONF=/dev/null openssl base64 -d | OPENSSL_CONF=/dev/null openssl asn1parse -inform DER > '" +
                  (dir.path() / "asn1.txt").string() + "'");
        return test::read_file(dir.path() / "asn1.txt");
    }
    // Verifies against the test root and returns the signer certificate's subjectAltName.
    std::string signer(const std::string& message) const
    {
        openssl(message, "-verify -CAfile '" + (pki / "root-ca.cert.pem").string() +
                             "' -purpose smimesign -signer '" + (dir.path() / "signer.pem").string() + "'");
        test::run("openssl x509 -in '" + (dir.path() / "signer.pem").string() +
                  "' -noout -ext subjectAltName > '" + (dir.path() / "san.txt").string() + "'");
        return test::read_file(dir.path() / "san.txt");
    }
};

Fixture& fixture()
{
    static Fixture f;
    return f;
}

struct Run {
    std::vector<Reply> rcpt;
    Reply headers;
    MessageOutcome outcome;
    std::string message;  // as the MTA would deliver it (when rewritten)
    std::string subject;  // the delivered top-level Subject
    std::string notice;   // the return notice, when recipients were returned
};

Run run(const std::shared_ptr<const Config>& cfg, KeySource& keys, const std::string& from,
        const std::vector<std::string>& rcpts, const std::string& subject,
        const std::vector<std::pair<std::string, std::string>>& extra = {})
{
    MessageProcessor p(cfg, Certificates::load(*cfg, nullptr), keys,
                       ConnectionInfo{parse_ip_address("10.1.1.1"), "", "", std::nullopt});
    Run r;
    p.mail_from("<" + from + ">", "");
    for (const auto& to : rcpts) r.rcpt.push_back(p.rcpt_to("<" + to + ">"));
    std::vector<std::pair<std::string, std::string>> headers = {
        {"From", from}, {"To", rcpts.front()}, {"Subject", subject}, {"Content-Type", "text/plain"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    for (auto& [n, v] : headers) p.header(n, v);
    r.headers = p.end_of_headers();
    p.body(as_bytes(std::string("the figures\r\n")));
    r.outcome = p.end_of_message();
    if (!r.outcome.returned.empty()) {
        MemorySink notice;
        copy_stream(*p.return_notice(r.outcome), notice);
        r.notice = notice.str();
    }
    r.subject = subject;
    if (r.outcome.header_edit) {
        for (const auto& c : r.outcome.header_edit->change)
            if (c.name == "Subject") r.subject = c.value;
        r.message = test::delivered(p, r.outcome, "the figures\r\n");
    }
    return r;
}

const char* kTriggers = R"toml(
[[rule]]
name = "tagged"
scope = "user"
direction = "outbound"
subject_tag = "[encrypt]"
strip_trigger = true
encrypt = "mandatory"

[[rule]]
name = "sign tag"
scope = "user"
direction = "outbound"
subject_tag = "[sign]"
strip_trigger = true
sign = "domain"

[[rule]]
name = "tagged partner only"
scope = "user"
direction = "outbound"
to = ["*@partner.example"]
subject_tag = "[partner-secret]"
encrypt = "mandatory"

[[rule]]
name = "partners when possible"
scope = "domain"
direction = "outbound"
to = ["*@partner.example"]
encrypt = "opportunistic"

[[rule]]
name = "rest"
encrypt = "never"
)toml";

}  // namespace

class PolicyReplanTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PolicyReplanTest);
    CPPUNIT_TEST(trigger_encrypts_and_strips);
    CPPUNIT_TEST(trigger_without_certificate_rejects_message);
    CPPUNIT_TEST(trigger_that_splits_recipients_rejects_message);
    CPPUNIT_TEST(trigger_signs_and_strips);
    CPPUNIT_TEST(untriggered_message_is_unchanged);
    CPPUNIT_TEST(signing_identity);
    CPPUNIT_TEST(cipher_preference_and_floor);
    CPPUNIT_TEST(header_protection_per_rule);
    CPPUNIT_TEST(different_ciphers_are_deferred_at_rcpt);
    CPPUNIT_TEST(no_certificate_return_keeps_the_others);
    CPPUNIT_TEST(no_certificate_return_alone_discards);
    CPPUNIT_TEST(no_certificate_return_never_for_null_sender);
    CPPUNIT_TEST(no_certificate_return_after_trigger);
    CPPUNIT_TEST(no_certificate_return_needs_reinjection);
    CPPUNIT_TEST_SUITE_END();

public:
    void trigger_encrypts_and_strips()
    {
        auto cfg = fixture().config(kTriggers);
        TokenKeySource keys(cfg->hsm);
        // At RCPT dave is under the opportunistic partner rule; the tag makes it mandatory.
        Run r = run(cfg, keys, "alice@acme.example", {"dave@partner.example"}, "[ENCRYPT] plan B");
        CPPUNIT_ASSERT(r.rcpt[0].verdict == Verdict::Continue);
        CPPUNIT_ASSERT(r.headers.verdict == Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::string("encrypt"), r.outcome.action);
        CPPUNIT_ASSERT(r.outcome.detail.find("rule=tagged trigger=Subject tag [encrypt]") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("plan B"), r.subject);
        const std::string inner = fixture().decrypt(r.message, "dave");
        CPPUNIT_ASSERT_MESSAGE(inner, inner.find("Subject: plan B\r\n") != std::string::npos);
        CPPUNIT_ASSERT(inner.find("[ENCRYPT]") == std::string::npos);
    }

    void trigger_without_certificate_rejects_message()
    {
        auto cfg = fixture().config(kTriggers);
        TokenKeySource keys(cfg->hsm);
        Run r = run(cfg, keys, "alice@acme.example", {"nobody@partner.example"}, "[encrypt] plan");
        CPPUNIT_ASSERT(r.rcpt[0].verdict == Verdict::Continue);  // opportunistic at RCPT
        CPPUNIT_ASSERT(r.headers.verdict == Verdict::Reject);
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1"), r.headers.rcode + " " + r.headers.xcode);
        CPPUNIT_ASSERT(r.headers.text.find("nobody@partner.example") != std::string::npos);
        CPPUNIT_ASSERT(r.headers.text.find("Subject tag [encrypt]") != std::string::npos);
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::Reject);
        CPPUNIT_ASSERT(!r.outcome.new_body);
    }

    void trigger_that_splits_recipients_rejects_message()
    {
        auto cfg = fixture().config(kTriggers);
        TokenKeySource keys(cfg->hsm);
        // A trigger naming nobody of this message changes nothing.
        Run r = run(cfg, keys, "alice@acme.example", {"x@other.example", "y@other2.example"}, "[partner-secret] x");
        CPPUNIT_ASSERT(r.headers.verdict == Verdict::Continue);
        CPPUNIT_ASSERT_EQUAL(std::string("none"), r.outcome.action);
        // Recipients that shared a message at RCPT but not after the trigger: the whole message
        // is refused (a milter cannot refuse one of them after DATA).
        const std::string split_rules = R"toml(
[[rule]]
name = "tagged partner only"
scope = "user"
direction = "outbound"
to = ["*@partner.example"]
subject_tag = "[partner-secret]"
encrypt = "mandatory"

[[rule]]
name = "rest"
encrypt = "never"
)toml";
        cfg = fixture().config(split_rules);
        r = run(cfg, keys, "alice@acme.example", {"dave@partner.example", "x@other.example"}, "[partner-secret] x");
        CPPUNIT_ASSERT(r.rcpt[0].verdict == Verdict::Continue && r.rcpt[1].verdict == Verdict::Continue);
        CPPUNIT_ASSERT(r.headers.verdict == Verdict::Reject);
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1"), r.headers.rcode + " " + r.headers.xcode);
        CPPUNIT_ASSERT_MESSAGE(r.headers.text, r.headers.text.find("dave@partner.example (rule tagged partner only)") != std::string::npos);
        CPPUNIT_ASSERT(r.headers.text.find("x@other.example (rule rest)") != std::string::npos);

        // With [reinjection] the same message is not refused: the recipient the fields moved
        // to another treatment leaves in a copy of its own (milter/reinjection.h).
        test::write_file(fixture().dir.path() / "reinject.secret", "0123456789abcdef0123456789abcdef\n");
        cfg = fixture().config("[reinjection]\naddress = \"127.0.0.1:10027\"\nsecret_file = \"" +
                               (fixture().dir.path() / "reinject.secret").string() + "\"\n" + split_rules);
        r = run(cfg, keys, "alice@acme.example", {"dave@partner.example", "x@other.example"}, "[partner-secret] x");
        CPPUNIT_ASSERT(r.headers.verdict == Verdict::Continue);
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, r.outcome.copies.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, r.outcome.copies[0].recipients.size());
        CPPUNIT_ASSERT_EQUAL(std::string("x@other.example"), r.outcome.copies[0].recipients[0]);
        CPPUNIT_ASSERT(reinjection_marker_valid(cfg->reinjection, r.outcome.copies[0].marker, "alice@acme.example",
                                                {"x@other.example"}, std::time(nullptr)));
    }

    void trigger_signs_and_strips()
    {
        auto cfg = fixture().config(kTriggers);
        TokenKeySource keys(cfg->hsm);
        Run r = run(cfg, keys, "bob@acme.example", {"x@other.example"}, "Re: [sign] offer");
        CPPUNIT_ASSERT_EQUAL(std::string("sign"), r.outcome.action);
        CPPUNIT_ASSERT_EQUAL(std::string("Re: offer"), r.subject);
        CPPUNIT_ASSERT(fixture().signer(r.message).find("domain-signing-authority@acme.example") != std::string::npos);
    }

    void untriggered_message_is_unchanged()
    {
        auto cfg = fixture().config(kTriggers);
        TokenKeySource keys(cfg->hsm);
        Run r = run(cfg, keys, "alice@acme.example", {"x@other.example"}, "[encryption] is a word");
        CPPUNIT_ASSERT_EQUAL(std::string("none"), r.outcome.action);
        CPPUNIT_ASSERT(!r.outcome.header_edit);
        CPPUNIT_ASSERT(r.outcome.detail.find("rule=rest") != std::string::npos);
    }

    void signing_identity()
    {
        auto cfg = fixture().config(R"toml(
[[rule]]
name = "board signs as alice"
direction = "outbound"
from = ["bob@acme.example"]
sign = "sender"
signing_identity = "alice@acme.example"
)toml");
        TokenKeySource keys(cfg->hsm);
        Run r = run(cfg, keys, "bob@acme.example", {"x@other.example"}, "minutes");
        CPPUNIT_ASSERT_EQUAL(std::string("sign"), r.outcome.action);
        CPPUNIT_ASSERT(r.outcome.detail.find("identity=alice@acme.example") != std::string::npos);
        CPPUNIT_ASSERT(fixture().signer(r.message).find("alice@acme.example") != std::string::npos);
        // An identity without a key on the token: a temporary failure, never a silent fallback.
        cfg = fixture().config(R"toml(
[[rule]]
name = "unknown identity"
direction = "outbound"
sign = "domain"
signing_identity = "nobody@acme.example"
)toml");
        r = run(cfg, keys, "bob@acme.example", {"x@other.example"}, "minutes");
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::TempFail);
    }

    void cipher_preference_and_floor()
    {
        struct { const char* keys; const char* expect; } cases[] = {
            {"", "cipher=aes256-cbc"},  // auto: frank advertises nothing
            {"cipher = \"aes128-cbc\"", "cipher=aes128-cbc"},
            {"minimum_cipher = \"aes256-gcm\"", "cipher=aes256-gcm"},
            {"cipher = \"aes128-gcm\"\nminimum_cipher = \"aes128-gcm\"", "cipher=aes128-gcm"},
            // named, not advertised by frank, and not raised by the top floor (OpenSSL 3.0
            // cannot decrypt it: checked below by its structure, BouncyCastle decrypts it in
            // test_cms_decrypt and test_interop_bouncycastle.sh)
            {"cipher = \"chacha20-poly1305\"\nminimum_cipher = \"aes256-gcm\"", "cipher=chacha20-poly1305"},
        };
        for (auto& c : cases) {
            auto cfg = fixture().config(std::string("[[rule]]\nname = \"r\"\nencrypt = \"mandatory\"\n") + c.keys + "\n");
            TokenKeySource keys(cfg->hsm);
            Run r = run(cfg, keys, "alice@acme.example", {"frank@partner.example"}, "s");
            CPPUNIT_ASSERT_MESSAGE(r.outcome.detail, r.outcome.detail.find(c.expect) != std::string::npos);
            if (std::string(c.expect) == "cipher=chacha20-poly1305") {
                CPPUNIT_ASSERT_MESSAGE(r.message, r.message.find("smime-type=authEnveloped-data") != std::string::npos);
                // id-alg-AEADChaCha20Poly1305 with its 12-octet nonce, in the base64 body
                const std::string dump = fixture().asn1parse(r.message);
                CPPUNIT_ASSERT_MESSAGE(dump, dump.find(":1.2.840.113549.1.9.16.3.18") != std::string::npos);
                continue;
            }
            CPPUNIT_ASSERT(fixture().decrypt(r.message, "frank").find("the figures") != std::string::npos);
        }
    }

    void header_protection_per_rule()
    {
        auto cfg = fixture().config(R"toml(
[[rule]]
name = "dave without header protection"
to = ["dave@partner.example"]
encrypt = "mandatory"
header_protection = false
)toml");
        TokenKeySource keys(cfg->hsm);
        Run r = run(cfg, keys, "alice@acme.example", {"dave@partner.example"}, "secret subject");
        const std::string inner = fixture().decrypt(r.message, "dave");
        CPPUNIT_ASSERT(inner.find("the figures") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(inner, inner.find("secret subject") == std::string::npos);
        cfg = fixture().config("[[rule]]\nname = \"r\"\nencrypt = \"mandatory\"\n");
        r = run(cfg, keys, "alice@acme.example", {"dave@partner.example"}, "secret subject");
        CPPUNIT_ASSERT(fixture().decrypt(r.message, "dave").find("Subject: secret subject") != std::string::npos);
    }

    void different_ciphers_are_deferred_at_rcpt()
    {
        auto cfg = fixture().config(R"toml(
[[rule]]
name = "dave gets GCM"
to = ["dave@partner.example"]
encrypt = "mandatory"
cipher = "aes256-gcm"

[[rule]]
name = "others"
encrypt = "mandatory"
)toml");
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, Certificates::load(*cfg, nullptr), keys,
                           ConnectionInfo{parse_ip_address("10.1.1.1"), "", "", std::nullopt});
        p.mail_from("<alice@acme.example>", "");
        CPPUNIT_ASSERT(p.rcpt_to("<dave@partner.example>").verdict == Verdict::Continue);
        const Reply second = p.rcpt_to("<frank@partner.example>");
        CPPUNIT_ASSERT_EQUAL(std::string("452 4.5.3"), second.rcode + " " + second.xcode);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), p.recipient_count());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), p.recipients().size());
        CPPUNIT_ASSERT(p.recipients()[1].certificate.has_value());  // looked up, then deferred
    }

    // PRODUCT §2.4 "or, per policy, the message is returned with an explanation".
    std::shared_ptr<const Config> return_config(const std::string& extra_rules = "") const
    {
        test::write_file(fixture().dir.path() / "reinject.secret", "0123456789abcdef0123456789abcdef\n");
        return fixture().config("[reinjection]\naddress = \"127.0.0.1:10027\"\nsecret_file = \"" +
                                (fixture().dir.path() / "reinject.secret").string() + "\"\n" + extra_rules + R"toml(
[[rule]]
name = "partners must be encrypted"
direction = "outbound"
to = ["*@partner.example"]
encrypt = "mandatory"
no_certificate = "return"

[[rule]]
name = "rest"
encrypt = "never"
)toml");
    }

    void no_certificate_return_keeps_the_others()
    {
        auto cfg = return_config();
        TokenKeySource keys(cfg->hsm);
        Run r = run(cfg, keys, "alice@acme.example", {"dave@partner.example", "nobody@partner.example"}, "offer");
        CPPUNIT_ASSERT(r.rcpt[0].verdict == Verdict::Continue && r.rcpt[1].verdict == Verdict::Continue);
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_EQUAL(std::string("encrypt"), r.outcome.action);
        CPPUNIT_ASSERT(!r.outcome.discard);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, r.outcome.returned.size());
        CPPUNIT_ASSERT_EQUAL(std::string("nobody@partner.example"), r.outcome.returned[0].recipient);
        CPPUNIT_ASSERT_MESSAGE(r.outcome.returned[0].reply,
                               r.outcome.returned[0].reply.rfind("550 5.7.1 encryption required for nobody@partner.example", 0) == 0);
        CPPUNIT_ASSERT(r.outcome.detail.find("returned=1") != std::string::npos);
        // dave still gets it, encrypted to him
        CPPUNIT_ASSERT(fixture().decrypt(r.message, "dave").find("the figures") != std::string::npos);
        CPPUNIT_ASSERT(r.notice.find("The other recipients of the message received it.") != std::string::npos);
        CPPUNIT_ASSERT(r.notice.find("Final-Recipient: rfc822; nobody@partner.example\r\n") != std::string::npos);
        const std::string report = r.notice.substr(0, r.notice.find("Content-Type: message/rfc822"));
        CPPUNIT_ASSERT(report.find("dave@partner.example") == std::string::npos);
    }

    void no_certificate_return_alone_discards()
    {
        auto cfg = return_config();
        TokenKeySource keys(cfg->hsm);
        Run r = run(cfg, keys, "alice@acme.example", {"nobody@partner.example"}, "the offer",
                    {{"Message-ID", "<offer-1@acme.example>"}});
        CPPUNIT_ASSERT(r.rcpt[0].verdict == Verdict::Continue);
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT(r.outcome.discard);
        CPPUNIT_ASSERT_EQUAL(std::string("returned"), r.outcome.action);
        CPPUNIT_ASSERT(!r.outcome.new_body);
        CPPUNIT_ASSERT(reinjection_marker_valid(cfg->reinjection, r.outcome.return_marker, "",
                                                {"alice@acme.example"}, std::time(nullptr)));
        const std::string& n = r.notice;
        for (const char* want :
             {"X-SSM-Reinjected: v=1; ", "From: Mail Delivery System <MAILER-DAEMON@", "To: <alice@acme.example>\r\n",
              "Subject: Undelivered Mail Returned to Sender (encryption not possible)\r\n",
              "Message-ID: <return.", "In-Reply-To: <offer-1@acme.example>\r\n", "Auto-Submitted: auto-replied\r\n",
              "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"=_ssm-return-",
              "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; ",
              "Final-Recipient: rfc822; nobody@partner.example\r\nAction: failed\r\nStatus: 5.7.1\r\n"
              "Diagnostic-Code: smtp; 550 5.7.1 encryption required for\r\n nobody@partner.example but no usable",
              "Content-Type: message/rfc822\r\n\r\nFrom: alice@acme.example\r\n", "Subject: the offer\r\n",
              "\r\n\r\nthe figures\r\n\r\n--=_ssm-return-"})
            CPPUNIT_ASSERT_MESSAGE(std::string(want) + " in\n" + n, n.find(want) != std::string::npos);
        CPPUNIT_ASSERT(n.find("The other recipients") == std::string::npos);
        CPPUNIT_ASSERT_EQUAL(n.size() - 2, n.rfind("--\r\n") + 2);  // ends with the close delimiter
        // Our own lines stay within RFC 5322's 78 characters (the original is copied as it is;
        // the marker is removed before delivery).
        const std::string own = n.substr(0, n.find("Content-Type: message/rfc822"));
        std::size_t start = own.find("\r\n") + 2;
        for (std::size_t end; (end = own.find("\r\n", start)) != std::string::npos; start = end + 2)
            CPPUNIT_ASSERT_MESSAGE(own.substr(start, end - start), end - start <= 78);
    }

    void no_certificate_return_never_for_null_sender()
    {
        auto cfg = return_config();
        TokenKeySource keys(cfg->hsm);
        MessageProcessor p(cfg, Certificates::load(*cfg, nullptr), keys,
                           ConnectionInfo{parse_ip_address("10.1.1.1"), "", "", std::nullopt});
        p.mail_from("<>", "");
        const Reply reply = p.rcpt_to("<nobody@partner.example>");
        CPPUNIT_ASSERT(reply.verdict == Verdict::Reject);
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1"), reply.rcode + " " + reply.xcode);
    }

    void no_certificate_return_after_trigger()
    {
        // A header trigger makes encryption mandatory after RCPT: with "return" the recipient
        // leaves the message instead of the whole message being refused.
        auto cfg = return_config(R"toml(
[[rule]]
name = "tagged"
scope = "user"
direction = "outbound"
subject_tag = "[encrypt]"
strip_trigger = true
encrypt = "mandatory"
no_certificate = "return"
)toml");
        TokenKeySource keys(cfg->hsm);
        Run r = run(cfg, keys, "alice@acme.example", {"x@other.example", "y@other2.example"}, "[encrypt] plan");
        CPPUNIT_ASSERT(r.rcpt[0].verdict == Verdict::Continue && r.rcpt[1].verdict == Verdict::Continue);
        CPPUNIT_ASSERT(r.headers.verdict == Verdict::Continue);
        CPPUNIT_ASSERT(r.outcome.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT(r.outcome.discard);
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, r.outcome.returned.size());
        CPPUNIT_ASSERT_EQUAL(std::string("x@other.example"), r.outcome.returned[0].recipient);
        CPPUNIT_ASSERT(r.outcome.returned[0].reply.find("by Subject tag [encrypt]") != std::string::npos);
        CPPUNIT_ASSERT(r.notice.find("Final-Recipient: rfc822; y@other2.example\r\n") != std::string::npos);
    }

    void no_certificate_return_needs_reinjection()
    {
        try {
            fixture().config("[[rule]]\nname = \"r\"\nencrypt = \"mandatory\"\nno_certificate = \"return\"\n");
            CPPUNIT_FAIL("accepted no_certificate = return without [reinjection]");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("replan.toml:") == 0);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("needs [reinjection] address") != std::string::npos);
        }
        try {
            return_config("[policy]\nno_certificate = \"bounce\"\n");
            CPPUNIT_FAIL("accepted no_certificate = bounce");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("must be \"reject\" or \"return\"") != std::string::npos);
        }
        const auto cfg = return_config();
        policy::Treatment t;
        t.encrypt = policy::EncryptMode::Mandatory;
        t.no_certificate = policy::OnNoCertificate::Return;
        CPPUNIT_ASSERT(policy::describe(t, policy::Direction::Outbound).find(" no_certificate=return") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PolicyReplanTest);
