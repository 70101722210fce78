// Unit tests for [outbound] from_must_match_sender: the comparison of From/Sender with the
// envelope sender (policy/sender_check), table-driven, and what MessageProcessor does with it
// on a real SoftHSM token: refuses to sign for an author the envelope sender was not shown to
// be, lets bounces through without a person's key, and leaves unsigned mail alone.
#include <cppunit/extensions/HelperMacros.h>

#include "milter/config.h"
#include "milter/message_processor.h"
#include "policy/sender_check.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;
using Fields = std::vector<smime::mime::HeaderField>;

namespace {

struct Case {
    const char* what;
    Fields headers;
    const char* envelope;  // MAIL FROM without angle brackets
    bool matches;
    const char* reason;    // expected reason ("" when it matches)
    const char* proven;    // expected proven address ("" for none)
};

}  // namespace

class SenderCheckTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SenderCheckTest);
    CPPUNIT_TEST(comparisons);
    CPPUNIT_TEST_SUITE_END();

public:
    void comparisons()
    {
        const Case cases[] = {
            {"plain match", {{"From", "alice@acme.example"}}, "alice@acme.example", true, "", "alice@acme.example"},
            {"display name and angle address", {{"From", "\"Smith, Alice\" <alice@acme.example>"}},
             "alice@acme.example", true, "", "alice@acme.example"},
            {"domain case and local-part case", {{"From", "Alice <ALICE@Acme.EXAMPLE>"}}, "alice@acme.example", true,
             "", "alice@acme.example"},
            {"field name case", {{"fROM", "alice@acme.example"}}, "alice@acme.example", true, "",
             "alice@acme.example"},
            {"needless quotes in From", {{"From", "\"alice\"@acme.example"}}, "alice@acme.example", true, "",
             "alice@acme.example"},
            {"needless quotes in MAIL FROM", {{"From", "alice@acme.example"}}, "\"alice\"@acme.example", true, "",
             "alice@acme.example"},
            {"needed quotes on both sides", {{"From", "<\"a..b\"@acme.example>"}}, "\"a..b\"@acme.example", true,
             "", "\"a..b\"@acme.example"},
            {"needed quotes on one side only", {{"From", "<\"a..b\"@acme.example>"}}, "ab@acme.example", false,
             "From header <\"a..b\"@acme.example> does not match envelope sender <ab@acme.example>", ""},
            {"source route in From", {{"From", "Alice <@relay.example:alice@acme.example>"}}, "alice@acme.example",
             true, "", "alice@acme.example"},
            {"source route in MAIL FROM", {{"From", "alice@acme.example"}}, "@relay.example:alice@acme.example",
             true, "", "alice@acme.example"},
            {"comment with an address in it", {{"From", "alice@acme.example (not ceo@acme.example)"}},
             "alice@acme.example", true, "", "alice@acme.example"},
            {"another person", {{"From", "CEO <ceo@acme.example>"}}, "alice@acme.example", false,
             "From header <ceo@acme.example> does not match envelope sender <alice@acme.example>", ""},
            {"same local part, other domain", {{"From", "alice@acme.example.net"}}, "alice@acme.example", false,
             "From header <alice@acme.example.net> does not match envelope sender <alice@acme.example>", ""},
            {"subdomain is not the domain", {{"From", "alice@lab.acme.example"}}, "alice@acme.example", false,
             "From header <alice@lab.acme.example> does not match envelope sender <alice@acme.example>", ""},
            {"display name claims the sender", {{"From", "alice@acme.example <ceo@acme.example>"}},
             "alice@acme.example", false,
             "From header <ceo@acme.example> does not match envelope sender <alice@acme.example>", ""},
            {"group holding the sender", {{"From", "Team: alice@acme.example;"}}, "alice@acme.example", true, "",
             "alice@acme.example"},
            {"group holding someone else", {{"From", "Team: ceo@acme.example;"}}, "alice@acme.example", false,
             "From header <ceo@acme.example> does not match envelope sender <alice@acme.example>", ""},
            {"empty group", {{"From", "undisclosed-recipients:;"}}, "alice@acme.example", false,
             "From header does not parse as a mailbox list", ""},
            {"From that does not parse", {{"From", "not an address"}}, "alice@acme.example", false,
             "From header does not parse as a mailbox list", ""},
            {"empty From", {{"From", ""}}, "alice@acme.example", false, "From header does not parse as a mailbox list",
             ""},
            // One mailbox, two addresses: the sender's first, another after it. A reader may show
            // the second; neither is taken (base/mailbox_list.h).
            {"second angle address", {{"From", "<alice@acme.example> <ceo@acme.example>"}}, "alice@acme.example",
             false, "From header does not parse as a mailbox list", ""},
            {"address after the angle address", {{"From", "<alice@acme.example>ceo@acme.example"}},
             "alice@acme.example", false, "From header does not parse as a mailbox list", ""},
            {"an address and junk", {{"From", "alice@acme.example, junk"}}, "alice@acme.example", false,
             "From header does not parse as a mailbox list", ""},
            {"unclosed angle address", {{"From", "Alice <alice@acme.example"}}, "alice@acme.example", false,
             "From header does not parse as a mailbox list", ""},
            {"two From fields", {{"From", "alice@acme.example"}, {"From", "ceo@acme.example"}}, "alice@acme.example",
             false, "more than one From header", ""},
            {"no From at all: the envelope sender is the author", {{"Subject", "x"}}, "alice@acme.example", true, "",
             "alice@acme.example"},
            {"several authors, no Sender", {{"From", "alice@acme.example, bob@acme.example"}}, "alice@acme.example",
             false, "From header holds several mailboxes and there is no Sender header", ""},
            {"several authors, Sender is one of them", {{"From", "bob@acme.example, alice@acme.example"},
                                                         {"Sender", "Alice <Alice@acme.example>"}},
             "alice@acme.example", true, "", "alice@acme.example"},
            {"several authors, Sender not one of them (a secretary)",
             {{"From", "bob@acme.example, carol@acme.example"}, {"Sender", "alice@acme.example"}},
             "alice@acme.example", true, "", "alice@acme.example"},
            {"several authors, Sender is someone else",
             {{"From", "alice@acme.example, bob@acme.example"}, {"Sender", "bob@acme.example"}},
             "alice@acme.example", false,
             "Sender header <bob@acme.example> does not match envelope sender <alice@acme.example>", ""},
            {"several authors, Sender does not parse",
             {{"From", "alice@acme.example, bob@acme.example"}, {"Sender", "alice"}}, "alice@acme.example", false,
             "Sender header does not parse as one mailbox", ""},
            {"several authors, Sender holds two mailboxes",
             {{"From", "alice@acme.example, bob@acme.example"}, {"Sender", "alice@acme.example, bob@acme.example"}},
             "alice@acme.example", false, "Sender header does not parse as one mailbox", ""},
            {"several authors, two Sender fields",
             {{"From", "alice@acme.example, bob@acme.example"}, {"Sender", "alice@acme.example"},
              {"Sender", "bob@acme.example"}},
             "alice@acme.example", false, "more than one Sender header", ""},
            {"one author: Sender does not stand in for From",
             {{"From", "ceo@acme.example"}, {"Sender", "alice@acme.example"}}, "alice@acme.example", false,
             "From header <ceo@acme.example> does not match envelope sender <alice@acme.example>", ""},
            {"null envelope sender (a bounce)", {{"From", "MAILER-DAEMON@mx.acme.example"}}, "", true, "", ""},
            {"null envelope sender, From a person", {{"From", "ceo@acme.example"}}, "", true, "", ""},
            {"envelope sender that is no address", {{"From", "alice@acme.example"}}, "alice", false,
             "envelope sender is not an address", ""},
            {"8-bit local part is shown as '?'", {{"From", "j\xc3\xb6rg@acme.example"}}, "alice@acme.example", false,
             "From header <j??rg@acme.example> does not match envelope sender <alice@acme.example>", ""},
        };
        for (const auto& c : cases) {
            const policy::SenderCheck r = policy::check_sender(c.headers, c.envelope);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.what, c.matches, r.matches);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.what, std::string(c.reason), r.reason);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.what, std::string(c.proven), r.proven ? r.proven->str() : std::string());
        }
    }
};

namespace {

struct Fixture : test::PkiToken {
    Fixture() : PkiToken("alice bob carol domain-signing") {}

    std::shared_ptr<const Config> config(const std::string& extra) const
    {
        const std::string text = "[milter]\ninternal_networks = [\"10.0.0.0/8\"]\nspool_dir = \"" +
                                 dir.path().string() + "\"\n"
                                 "[pki]\ntrust_anchors = \"" + (pki / "trust").string() +
                                 "\"\nintermediates = \"" + (pki / "intermediates").string() +
                                 "\"\ncrls = \"\"\nrevocation = \"off\"\n"
                                 "[directory]\nstatic_certificates = \"\"\n"
                                 "[hsm]\ntoken_label = \"ssm-test\"\npin_file = \"" + pin_file() + "\"\n" +
                                 "[[domain]]\nname = \"acme.example\"\n" + extra;
        return parse_config(text, "test.toml");
    }
};

Fixture& fixture()
{
    static Fixture f;
    return f;
}

const char* kRules = R"toml(
[[rule]]
name = "internal unsigned"
direction = "outbound"
to = ["*@acme.example"]
sign = "none"

[[rule]]
name = "partner by the domain"
direction = "outbound"
to = ["*@partner.example"]
sign = "domain"

[[rule]]
name = "sender signs"
direction = "outbound"
sign = "sender"
)toml";

const char* kOn = "[outbound]\nfrom_must_match_sender = true\n";

MessageOutcome run(const std::shared_ptr<const Config>& cfg, KeySource& keys, const std::string& envelope,
                   const Fields& headers, const std::string& rcpt = "x@other.example")
{
    ConnectionInfo conn;
    conn.client_address = parse_ip_address("10.1.1.1");
    MessageProcessor p(cfg, Certificates::load(*cfg, nullptr), keys, conn);
    CPPUNIT_ASSERT(p.mail_from("<" + envelope + ">", "").verdict == Verdict::Continue);
    CPPUNIT_ASSERT(p.direction() == policy::Direction::Outbound);
    CPPUNIT_ASSERT(p.rcpt_to("<" + rcpt + ">").verdict == Verdict::Continue);
    for (const auto& h : headers) CPPUNIT_ASSERT(p.header(h.name, h.value).verdict == Verdict::Continue);
    CPPUNIT_ASSERT(p.header("Subject", "test").verdict == Verdict::Continue);
    CPPUNIT_ASSERT(p.body(as_bytes(std::string("text\r\n"))).verdict == Verdict::Continue);
    return p.end_of_message();
}

bool has(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

}  // namespace

class FromMustMatchSenderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FromMustMatchSenderTest);
    CPPUNIT_TEST(configuration);
    CPPUNIT_TEST(off_signs_as_the_from_address);
    CPPUNIT_TEST(mismatch_is_refused);
    CPPUNIT_TEST(match_is_signed_by_the_sender);
    CPPUNIT_TEST(null_sender_gets_no_persons_key);
    CPPUNIT_TEST(several_authors);
    CPPUNIT_TEST(unsigned_mail_is_not_checked);
    CPPUNIT_TEST_SUITE_END();

public:
    void configuration()
    {
        CPPUNIT_ASSERT(!fixture().config("")->outbound.from_must_match_sender);
        CPPUNIT_ASSERT(fixture().config(kOn)->outbound.from_must_match_sender);
        CPPUNIT_ASSERT_THROW(fixture().config("[outbound]\nfrom_must_match_sender = \"yes\"\n"), ConfigError);
        CPPUNIT_ASSERT_THROW(fixture().config("[outbound]\nfrom_must_match = true\n"), ConfigError);
    }

    // The problem the option solves: without it, alice's message claiming bob's address is
    // signed with bob's key.
    void off_signs_as_the_from_address()
    {
        auto cfg = fixture().config(kRules);
        TokenKeySource keys(cfg->hsm);
        const MessageOutcome out = run(cfg, keys, "alice@acme.example", {{"From", "bob@acme.example"}});
        CPPUNIT_ASSERT(out.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "identity=bob@acme.example"));
    }

    void mismatch_is_refused()
    {
        auto cfg = fixture().config(std::string(kOn) + kRules);
        TokenKeySource keys(cfg->hsm);
        for (const char* rcpt : {"x@other.example", "x@partner.example"}) {  // sign = "sender", "domain"
            const MessageOutcome out = run(cfg, keys, "alice@acme.example", {{"From", "Bob <bob@acme.example>"}}, rcpt);
            CPPUNIT_ASSERT(out.reply.verdict == Verdict::Reject);
            CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1 From header <bob@acme.example> does not match envelope "
                                             "sender <alice@acme.example>"),
                                 out.reply.str());
            CPPUNIT_ASSERT_EQUAL(std::string("reject"), out.action);
            CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "reason=from-mismatch"));
            CPPUNIT_ASSERT(!out.header_edit && !out.new_body);
        }
        // A From that does not parse is no better.
        const MessageOutcome out = run(cfg, keys, "alice@acme.example", {{"From", "undisclosed-recipients:;"}});
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1 From header does not parse as a mailbox list"), out.reply.str());
    }

    void match_is_signed_by_the_sender()
    {
        auto cfg = fixture().config(std::string(kOn) + kRules);
        TokenKeySource keys(cfg->hsm);
        MessageOutcome out = run(cfg, keys, "alice@acme.example", {{"From", "Alice <Alice@ACME.example>"}});
        CPPUNIT_ASSERT_MESSAGE(out.reply.str(), out.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_EQUAL(std::string("sign"), out.action);
        // alice's key (the local part is compared without regard to case and kept as written).
        CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "identity=Alice@acme.example "));
        // No From: the envelope sender is the author and signs.
        out = run(cfg, keys, "alice@acme.example", {});
        CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "identity=alice@acme.example "));
    }

    // A bounce is delivered, but its From proves no one: neither a person's key nor the From
    // domain's signs it. MAIL FROM:<> is open to any submitting user (Postfix's
    // reject_sender_login_mismatch leaves the null sender alone), so a domain signature here
    // would put the domain's name under any From a user writes, the very thing a mismatch is
    // refused for; with sign = "domain" it is not a 451 either (a bounce must not wait forever).
    void null_sender_gets_no_persons_key()
    {
        auto cfg = fixture().config(std::string(kOn) + kRules);
        TokenKeySource keys(cfg->hsm);
        for (const char* rcpt : {"x@other.example", "x@partner.example"}) {  // sign = "sender", "domain"
            const MessageOutcome out = run(cfg, keys, "", {{"From", "bob@acme.example"}}, rcpt);
            CPPUNIT_ASSERT_MESSAGE(out.reply.str(), out.reply.verdict == Verdict::Accept);
            CPPUNIT_ASSERT_EQUAL(std::string("none"), out.action);
            CPPUNIT_ASSERT_MESSAGE(out.detail, !has(out.detail, "identity="));
            CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "person_key=null-sender domain_key=null-sender"));
            CPPUNIT_ASSERT(!out.header_edit && !out.new_body);
        }
    }

    void several_authors()
    {
        auto cfg = fixture().config(std::string(kOn) + kRules);
        TokenKeySource keys(cfg->hsm);
        // The Sender is one of the authors and the envelope sender: it signs (RFC 5322 §3.6.2).
        MessageOutcome out = run(cfg, keys, "alice@acme.example",
                                 {{"From", "bob@acme.example, alice@acme.example"}, {"Sender", "alice@acme.example"}});
        CPPUNIT_ASSERT_MESSAGE(out.reply.str(), out.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "identity=alice@acme.example "));
        // A secretary (Sender, envelope sender) for two authors: no author's key, the domain signs.
        out = run(cfg, keys, "alice@acme.example",
                  {{"From", "bob@acme.example, carol@acme.example"}, {"Sender", "alice@acme.example"}});
        CPPUNIT_ASSERT_MESSAGE(out.reply.str(), out.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "identity=domain-signing-authority@acme.example "));
        CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "person_key=not-the-sender"));
        // ...and the domain is the secretary's, not one the authors name (health.example has
        // no key on the token: choosing it would be 451 4.7.0).
        auto two = fixture().config(std::string(kOn) + "[[domain]]\nname = \"health.example\"\n" + kRules);
        out = run(two, keys, "alice@acme.example",
                  {{"From", "bob@health.example, carol@health.example"}, {"Sender", "alice@acme.example"}});
        CPPUNIT_ASSERT_MESSAGE(out.reply.str(), out.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_MESSAGE(out.detail, has(out.detail, "identity=domain-signing-authority@acme.example "));
        // Several authors without a Sender field.
        out = run(cfg, keys, "alice@acme.example", {{"From", "alice@acme.example, bob@acme.example"}});
        CPPUNIT_ASSERT_EQUAL(std::string("550 5.7.1 From header holds several mailboxes and there is no Sender header"),
                             out.reply.str());
    }

    // The gateway adds no signature to this one, so it makes no claim to guard.
    void unsigned_mail_is_not_checked()
    {
        auto cfg = fixture().config(std::string(kOn) + kRules);
        TokenKeySource keys(cfg->hsm);
        const MessageOutcome out = run(cfg, keys, "alice@acme.example", {{"From", "bob@acme.example"}}, "x@acme.example");
        CPPUNIT_ASSERT_MESSAGE(out.reply.str(), out.reply.verdict == Verdict::Accept);
        CPPUNIT_ASSERT_EQUAL(std::string("none"), out.action);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SenderCheckTest);
CPPUNIT_TEST_SUITE_REGISTRATION(FromMustMatchSenderTest);
