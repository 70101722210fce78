// Unit tests for policy/match: each rule condition alone (direction, sender and recipient
// patterns, list files, groups, client networks, SMTP AUTH, Subject tag, header patterns),
// how they combine, the Subject tag helpers, and address extensions ([policy]
// recipient_delimiter and the partners' delimiters: the cut itself, which set applies to which
// domain, one-address patterns, rules and groups).
#include <cppunit/extensions/HelperMacros.h>

#include "milter/config_rules.h"
#include "policy/match.h"
#include "tests/unit/test_policy_support.h"

using namespace ssm;
using namespace ssm::policy;
using ssm::test::address;
using ssm::test::ip;
using ssm::test::patterns;

namespace {

MessageContext context(const char* from, Direction d = Direction::Outbound)
{
    MessageContext m;
    m.direction = d;
    m.from = address(from);
    return m;
}

bool matches(const Conditions& c, const MessageContext& m, const char* rcpt,
             const GroupMembership* groups = nullptr)
{
    return match(c, m, *address(rcpt), groups).matched;
}

HeaderPattern header_pattern(const char* s)
{
    auto h = HeaderPattern::parse(s);
    if (!h) throw std::runtime_error(std::string("bad header pattern ") + s);
    return *h;
}

// Ours (acme.example and its subdomains) cut at "-" (a Postfix/qmail site's setting); the
// partner listed.example at "-" too, its own; every other domain at "+" (the partners' default).
AddressExtensions dash_site()
{
    std::vector<AddressExtensions::Partner> partners{{*Domain::parse("listed.example"), *RecipientDelimiter::parse("-")}};
    return AddressExtensions({*Domain::parse("acme.example")}, *RecipientDelimiter::parse("-"), std::move(partners),
                             *RecipientDelimiter::parse("+"));
}

}  // namespace

class PolicyMatchTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PolicyMatchTest);
    CPPUNIT_TEST(no_conditions_match_everything);
    CPPUNIT_TEST(direction);
    CPPUNIT_TEST(sender_patterns_and_lists);
    CPPUNIT_TEST(inbound_sender_is_also_the_from_field);
    CPPUNIT_TEST(recipient_patterns_lists_and_groups_are_one_condition);
    CPPUNIT_TEST(groups);
    CPPUNIT_TEST(client_networks);
    CPPUNIT_TEST(authenticated);
    CPPUNIT_TEST(authenticated_as);
    CPPUNIT_TEST(subject_tag);
    CPPUNIT_TEST(header_patterns);
    CPPUNIT_TEST(bad_header_patterns);
    CPPUNIT_TEST(conditions_combine);
    CPPUNIT_TEST(tag_helpers);
    CPPUNIT_TEST(delimiter_characters);
    CPPUNIT_TEST(extensions_are_cut_as_postfix_cuts_them);
    CPPUNIT_TEST(one_address_patterns_match_their_extensions);
    CPPUNIT_TEST(rules_match_extended_senders_and_recipients);
    CPPUNIT_TEST(groups_are_asked_without_the_extension);
    CPPUNIT_TEST(delimiter_by_domain);
    CPPUNIT_TEST(patterns_and_groups_cut_by_their_domain);
    CPPUNIT_TEST(quoted_and_bare_local_parts_match_alike);
    CPPUNIT_TEST_SUITE_END();

public:
    void no_conditions_match_everything()
    {
        Conditions c;
        CPPUNIT_ASSERT(matches(c, context("a@acme.example"), "b@x.example"));
        CPPUNIT_ASSERT(matches(c, context("", Direction::Inbound), "b@x.example"));
        CPPUNIT_ASSERT(!c.uses_headers());
        CPPUNIT_ASSERT(!c.uses_groups());
    }

    void direction()
    {
        Conditions c;
        c.direction = Direction::Inbound;
        CPPUNIT_ASSERT(matches(c, context("a@x.example", Direction::Inbound), "b@acme.example"));
        CPPUNIT_ASSERT(!matches(c, context("a@x.example", Direction::Outbound), "b@acme.example"));
    }

    void sender_patterns_and_lists()
    {
        Conditions c;
        c.from.push_back(patterns({"ceo@acme.example"}, "from"));
        c.from.push_back(parse_address_list("*@board.acme.example\n", "board.txt", AddressExtensions()));
        CPPUNIT_ASSERT(matches(c, context("CEO@acme.example"), "x@y.example"));
        CPPUNIT_ASSERT(matches(c, context("member@board.acme.example"), "x@y.example"));
        CPPUNIT_ASSERT(!matches(c, context("intern@acme.example"), "x@y.example"));
        CPPUNIT_ASSERT(!matches(c, context(""), "x@y.example"));  // bounce: only "*" matches it
        Conditions any;
        any.from.push_back(patterns({"*"}, "from"));
        CPPUNIT_ASSERT(matches(any, context(""), "x@y.example"));
    }

    // The man page's own example, `direction = "inbound"`, `from = ["*@partner.example"]`,
    // require_signature = true, matched MAIL FROM only: an unsigned "From: ceo@partner.example"
    // sent with MAIL FROM <x@evil.example> escaped it and was delivered unchallenged
    // (reproduced with ssmctl process). Inbound, the From field's addresses count too.
    void inbound_sender_is_also_the_from_field()
    {
        test::TableGroups groups;
        groups.add("partners", "lisa@partner2.example");
        Conditions c;
        c.from.push_back(patterns({"*@partner.example"}, "from"));
        c.from_group.push_back("partners");
        const std::vector<smime::mime::HeaderField> forged = {{"From", "\"Chief\" <ceo@partner.example>"},
                                                              {"Subject", "wire the money"}};
        MessageContext in = context("x@evil.example", Direction::Inbound);
        CPPUNIT_ASSERT(!matches(c, in, "alice@acme.example", &groups));  // at RCPT: no header yet
        in.headers = &forged;
        CPPUNIT_ASSERT(matches(c, in, "alice@acme.example", &groups));
        const std::vector<smime::mime::HeaderField> second = {{"From", "a@other.example, ceo@PARTNER.example"}};
        in.headers = &second;
        CPPUNIT_ASSERT(matches(c, in, "alice@acme.example", &groups));
        const std::vector<smime::mime::HeaderField> group_member = {{"From", "lisa@partner2.example"}};
        in.headers = &group_member;
        CPPUNIT_ASSERT(matches(c, in, "alice@acme.example", &groups));
        const std::vector<smime::mime::HeaderField> other = {{"From", "x@evil.example"}, {"Sender", "ceo@partner.example"}};
        in.headers = &other;
        CPPUNIT_ASSERT(!matches(c, in, "alice@acme.example", &groups));
        // Outbound the envelope sender alone: From is the client's free text, MAIL FROM is tied
        // to its login by the MTA (a from_list of the board must not be entered through From).
        MessageContext out = context("intern@acme.example", Direction::Outbound);
        out.headers = &forged;
        CPPUNIT_ASSERT(!matches(c, out, "alice@acme.example", &groups));
    }

    void recipient_patterns_lists_and_groups_are_one_condition()
    {
        test::TableGroups groups;
        groups.add("cn=partners", "lisa@partner2.example");
        Conditions c;
        c.to.push_back(patterns({"*@partner.example"}));
        c.to.push_back(parse_address_list("# extra\nbob@other.example\n", "to.txt", AddressExtensions()));
        c.to_group.push_back("cn=partners");
        const MessageContext m = context("a@acme.example");
        CPPUNIT_ASSERT(matches(c, m, "x@partner.example", &groups));
        CPPUNIT_ASSERT(matches(c, m, "bob@other.example", &groups));
        CPPUNIT_ASSERT(matches(c, m, "lisa@partner2.example", &groups));
        CPPUNIT_ASSERT(!matches(c, m, "eve@partner2.example", &groups));
        // A pattern hit answers before the directory is asked.
        groups.questions = 0;
        CPPUNIT_ASSERT(matches(c, m, "x@partner.example", &groups));
        CPPUNIT_ASSERT_EQUAL(0, groups.questions);
    }

    void groups()
    {
        test::TableGroups groups;
        groups.add("sales", "s@acme.example");
        Conditions c;
        c.from_group.push_back("sales");
        CPPUNIT_ASSERT(c.uses_groups());
        CPPUNIT_ASSERT(matches(c, context("s@acme.example"), "x@y.example", &groups));
        CPPUNIT_ASSERT(!matches(c, context("t@acme.example"), "x@y.example", &groups));
        CPPUNIT_ASSERT(!matches(c, context(""), "x@y.example", &groups));  // null sender: no group
        // No directory, or one that is down: an error (451 4.7.1), never a silent non-match.
        try {
            matches(c, context("s@acme.example"), "x@y.example", nullptr);
            CPPUNIT_FAIL("no directory accepted");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
        }
        Conditions down;
        down.to_group.push_back("unreachable");
        try {
            matches(down, context("s@acme.example"), "x@y.example", &groups);
            CPPUNIT_FAIL("unreachable directory accepted");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
        }
    }

    void client_networks()
    {
        Conditions c;
        c.client.push_back(milter::client_network(*milter::Network::parse("192.0.2.0/24")));
        c.client.push_back(milter::client_network(*milter::Network::parse("2001:db8::/32")));
        MessageContext m = context("a@acme.example");
        CPPUNIT_ASSERT(!matches(c, m, "x@y.example"));  // no client address known
        struct { const char* ip; bool inside; } cases[] = {
            {"192.0.2.55", true}, {"192.0.3.1", false}, {"2001:db8:5::1", true},
            {"2001:db9::1", false}, {"::ffff:192.0.2.9", true},
        };
        for (auto& k : cases) {
            m.client = ip(k.ip);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(k.ip, k.inside, matches(c, m, "x@y.example"));
        }
        CPPUNIT_ASSERT_EQUAL(std::string("192.0.2.0/24"), c.client.front()->text());
    }

    void authenticated()
    {
        Conditions yes, no;
        yes.authenticated = true;
        no.authenticated = false;
        MessageContext m = context("a@acme.example");
        CPPUNIT_ASSERT(!matches(yes, m, "x@y.example"));
        CPPUNIT_ASSERT(matches(no, m, "x@y.example"));
        m.auth_user = "alice";
        CPPUNIT_ASSERT(matches(yes, m, "x@y.example"));
        CPPUNIT_ASSERT(!matches(no, m, "x@y.example"));
    }

    // SASL login names are exact (Cyrus SASL and Dovecot tell "alice" from "ALICE" unless the
    // administrator folds them there): a rule for one account never matches another.
    void authenticated_as()
    {
        Conditions c;
        c.authenticated_as = {"alice", "Bob"};
        MessageContext m = context("a@acme.example");
        CPPUNIT_ASSERT(!matches(c, m, "x@y.example"));
        const std::vector<std::pair<const char*, bool>> cases = {
            {"alice", true}, {"Bob", true}, {"ALICE", false}, {"Alice", false},
            {"bob", false},  {"BOB", false}, {"mallory", false}, {"alice ", false},
        };
        for (const auto& [user, expected] : cases) {
            m.auth_user = user;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(user, expected, matches(c, m, "x@y.example"));
        }
    }

    void subject_tag()
    {
        Conditions c;
        c.subject_tag = "[encrypt]";
        CPPUNIT_ASSERT(c.uses_headers());
        MessageContext m = context("a@acme.example");
        CPPUNIT_ASSERT(!matches(c, m, "x@y.example"));  // RCPT time: headers not known yet
        std::vector<smime::mime::HeaderField> h{{"From", "a@acme.example"}, {"subject", "Re: [ENCRYPT] offer"}};
        m.headers = &h;
        auto r = match(c, m, *address("x@y.example"), nullptr);
        CPPUNIT_ASSERT(r.matched);
        CPPUNIT_ASSERT_EQUAL(std::string("Subject tag [encrypt]"), r.trigger);
        h[1].value = "Re: [encrypted] offer";
        CPPUNIT_ASSERT(!matches(c, m, "x@y.example"));
        h[1].value = "offer encrypt";
        CPPUNIT_ASSERT(!matches(c, m, "x@y.example"));
        h.pop_back();  // no Subject at all
        CPPUNIT_ASSERT(!matches(c, m, "x@y.example"));
    }

    void header_patterns()
    {
        Conditions c;
        c.header.push_back(header_pattern("Sensitivity: Private"));
        c.header.push_back(header_pattern("SIO-Label: *SECRET*"));
        MessageContext m = context("a@acme.example");
        struct { const char* name; const char* value; bool match; const char* trigger; } cases[] = {
            {"Sensitivity", "Private", true, "Sensitivity: Private"},
            {"sensitivity", "  private ", true, "Sensitivity: Private"},
            {"Sensitivity", "Company-Confidential", false, ""},
            {"Sensitivity", "Private-ish", false, ""},
            {"SIO-Label", "policy=1.2.3; classification=TOP SECRET", true, "SIO-Label: *SECRET*"},
            {"SIO-Label", "classification=\r\n\tsecret", true, "SIO-Label: *SECRET*"},
            {"SIO-Label", "classification=unclassified", false, ""},
            {"X-Sensitivity", "Private", false, ""},
            {"Sensitivity", "=?us-ascii?Q?Private?=", true, "Sensitivity: Private"},  // RFC 2047
            {"SIO-Label", "=?utf-8?q?classification=3Dstreng_geheim_=28SECRET=29?=", true, "SIO-Label: *SECRET*"},
        };
        for (auto& k : cases) {
            std::vector<smime::mime::HeaderField> h{{"Subject", "s"}, {k.name, k.value}};
            m.headers = &h;
            auto r = match(c, m, *address("x@y.example"), nullptr);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(k.name) + ": " + k.value, k.match, r.matched);
            CPPUNIT_ASSERT_EQUAL(std::string(k.trigger), r.trigger);
        }
        CPPUNIT_ASSERT(header_pattern("X-Class: ?").matches({{"x-class", "A"}}));
        CPPUNIT_ASSERT(!header_pattern("X-Class: ?").matches({{"x-class", "AB"}}));
    }

    void bad_header_patterns()
    {
        for (const char* s : {"Sensitivity", ": Private", "Bad Name: x", "Sensitivity:", "Sensitivity:   "})
            CPPUNIT_ASSERT_MESSAGE(s, !HeaderPattern::parse(s).has_value());
    }

    void conditions_combine()
    {
        // Every condition must hold; the header check comes before any group question.
        test::TableGroups groups;
        groups.add("vip", "boss@partner.example");
        Conditions c;
        c.direction = Direction::Outbound;
        c.from.push_back(patterns({"*@acme.example"}, "from"));
        c.to_group.push_back("vip");
        c.authenticated = true;
        c.subject_tag = "[secure]";
        std::vector<smime::mime::HeaderField> h{{"Subject", "[secure] plan"}};
        MessageContext m = context("a@acme.example");
        m.auth_user = "a";
        m.headers = &h;
        CPPUNIT_ASSERT(matches(c, m, "boss@partner.example", &groups));
        CPPUNIT_ASSERT(!matches(c, m, "clerk@partner.example", &groups));
        MessageContext other = m;
        other.from = address("a@elsewhere.example");
        CPPUNIT_ASSERT(!matches(c, other, "boss@partner.example", &groups));
        other = m;
        other.auth_user.clear();
        CPPUNIT_ASSERT(!matches(c, other, "boss@partner.example", &groups));
        std::vector<smime::mime::HeaderField> plain{{"Subject", "plan"}};
        other = m;
        other.headers = &plain;
        groups.questions = 0;
        CPPUNIT_ASSERT(!matches(c, other, "boss@partner.example", &groups));
        CPPUNIT_ASSERT_EQUAL(0, groups.questions);
    }

    void tag_helpers()
    {
        struct { const char* subject; const char* tag; const char* stripped; } cases[] = {
            {"[encrypt] figures", "[encrypt]", "figures"},
            {"figures [ENCRYPT]", "[encrypt]", "figures"},
            {"Re: [Encrypt]  figures", "[encrypt]", "Re: figures"},
            {"[encrypt]", "[encrypt]", ""},
            {"figures", "[encrypt]", "figures"},
            {"[encrypt] a [encrypt] b", "[encrypt]", "a [encrypt] b"},
        };
        for (auto& c : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.subject, std::string(c.stripped), strip_tag(c.subject, c.tag));
        CPPUNIT_ASSERT(has_tag("Re: [x]", "[X]"));
        CPPUNIT_ASSERT(!has_tag("[x", "[x]"));
        // RFC 2047: clients encode the whole Subject once it holds one non-ASCII character; the
        // tag must be found there too (it used to be missed: the mail left unencrypted).
        const struct { const char* subject; const char* stripped; } encoded[] = {
            // Outlook, ISO-8859-1 quoted-printable: "[encrypt] Vertragsänderung"
            {"=?iso-8859-1?Q?=5Bencrypt=5D_Vertrags=E4nderung?=", "=?UTF-8?B?VmVydHJhZ3PDpG5kZXJ1bmc=?="},
            // Thunderbird, UTF-8 base64: "[ENCRYPT] Grüße"
            {"=?UTF-8?B?W0VOQ1JZUFRdIEdyw7zDn2U=?=", "=?UTF-8?B?R3LDvMOfZQ==?="},
            // two encoded-words, folded: the space between them is no text (RFC 2047 §6.2)
            {"=?utf-8?q?=5Benc?=\r\n =?utf-8?q?rypt=5D_ok?=", "ok"},
            // the tag outside the encoded-word: cut from the raw value, the word left alone
            {"[encrypt] =?utf-8?q?Gr=C3=BC=C3=9Fe?=", "=?utf-8?q?Gr=C3=BC=C3=9Fe?="},
            // an unknown charset or a broken word is no text to search
            {"=?x-unknown?Q?=5Bencrypt=5D?=", "=?x-unknown?Q?=5Bencrypt=5D?="},
            {"=?utf-8?Q?=5Bencrypt=5?=", "=?utf-8?Q?=5Bencrypt=5?="},
        };
        for (const auto& c : encoded) {
            const bool found = std::string(c.subject) != c.stripped;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.subject, found, has_tag(c.subject, "[encrypt]"));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.subject, std::string(c.stripped), strip_tag(c.subject, "[encrypt]"));
        }
        std::vector<smime::mime::HeaderField> h{{"To", "t"}, {"SUBJECT", "one"}, {"Subject", "two"}};
        CPPUNIT_ASSERT_EQUAL(std::string("one"), subject_field(h)->value);
    }

    void delimiter_characters()
    {
        for (const char* ok : {"", "+", "+-", "-", ".", "_=#"})
            CPPUNIT_ASSERT_MESSAGE(ok, RecipientDelimiter::parse(ok).has_value());
        for (const char* bad : {" ", "+ ", "@", "\"", "\\", "<", ">", ",", "*", "\t", "\x7f", "\xc3\xa4"})
            CPPUNIT_ASSERT_MESSAGE(bad, !RecipientDelimiter::parse(bad).has_value());
        CPPUNIT_ASSERT(RecipientDelimiter().off());
        CPPUNIT_ASSERT(!RecipientDelimiter().base_of(*address("ceo+x@partner.example")));
    }

    void extensions_are_cut_as_postfix_cuts_them()
    {
        // delimiter set, address, its base ("" when it has no extension)
        struct { const char* delimiter; const char* address; const char* base; } cases[] = {
            {"+", "ceo+x@partner.example", "ceo@partner.example"},
            {"+", "ceo+x+y@partner.example", "ceo@partner.example"},   // the first delimiter
            {"+", "ceo+@partner.example", "ceo@partner.example"},      // an empty extension
            {"+", "CEO+Tag@Partner.Example", "CEO@partner.example"},   // case kept, domain lowered
            {"+", "ceo@partner.example", ""},
            {"+", "ceo-x@partner.example", ""},
            {"", "ceo+x@partner.example", ""},                         // off
            {"+", "+x@partner.example", ""},                           // starts with it: no extension
            {"+", "+@partner.example", ""},
            {"-+", "ceo-x@partner.example", "ceo@partner.example"},    // each character is one
            {"-+", "ceo+x-y@partner.example", "ceo@partner.example"},
            {"-", "mailer-daemon@partner.example", ""},                // reserved names stay whole
            {"-", "Double-Bounce@partner.example", ""},
            {"-", "postmaster-x@partner.example", "postmaster@partner.example"},  // not one of them
            {"+", "MAILER-DAEMON+x@partner.example", "MAILER-DAEMON@partner.example"},
            {"-", "owner-list@acme.example", ""},                      // list conventions with '-'
            {"-", "list-request@acme.example", ""},
            {"-", "list-x@acme.example", "list@acme.example"},
            {"+", "owner-list+x@acme.example", "owner-list@acme.example"},
            {"+", "list-request+x@acme.example", "list-request@acme.example"},
            {"+", "\"ceo+x\"@partner.example", "ceo@partner.example"},  // quotes it does not need
            {"+", "\"a..b+x\"@partner.example", "\"a..b\"@partner.example"},  // cut inside the quotes
            {"+", "\"a+b..c\"@partner.example", "a@partner.example"},
            {"+", "\"a\\\"b+x\"@partner.example", "\"a\\\"b\"@partner.example"},
        };
        for (const auto& c : cases) {
            const auto base = RecipientDelimiter::parse(c.delimiter)->base_of(*address(c.address));
            const std::string what = std::string(c.delimiter) + " " + c.address;
            if (*c.base == '\0') {
                CPPUNIT_ASSERT_MESSAGE(what + " -> " + (base ? base->str() : ""), !base);
            } else {
                CPPUNIT_ASSERT_MESSAGE(what, base.has_value());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(c.base), base->str());
            }
        }
    }

    void one_address_patterns_match_their_extensions()
    {
        struct { const char* pattern; const char* delimiter; const char* address; bool match; } cases[] = {
            {"ceo@partner.example", "+", "ceo@partner.example", true},
            {"ceo@partner.example", "+", "ceo+x@partner.example", true},
            {"ceo@partner.example", "+", "CEO+X@PARTNER.example", true},
            {"ceo@partner.example", "+", "ceo+x+y@partner.example", true},
            {"ceo@partner.example", "+", "\"ceo+x\"@partner.example", true},
            {"ceo@partner.example", "", "ceo+x@partner.example", false},   // off: as before
            {"ceo@partner.example", "+", "ceo-x@partner.example", false},
            {"ceo@partner.example", "+-", "ceo-x@partner.example", true},
            {"ceo@partner.example", "+", "ceox@partner.example", false},
            {"ceo@partner.example", "+", "ceo+x@other.example", false},
            {"ceo@partner.example", "+", "+ceo@partner.example", false},
            {"ceo+x@partner.example", "+", "ceo+x@partner.example", true},  // exact first
            {"ceo+x@partner.example", "+", "ceo+y@partner.example", false},
            {"ceo+x@partner.example", "+", "ceo@partner.example", false},
            {"ceo+x@partner.example", "+", "ceo+x+y@partner.example", false},  // base is ceo
            {"+x@partner.example", "+", "+x@partner.example", true},
            {"+x@partner.example", "+", "+x+y@partner.example", false},   // not an extension of +x
            {"mailer-daemon@partner.example", "-", "mailer-daemon@partner.example", true},
            {"mailer@partner.example", "-", "mailer-daemon@partner.example", false},
            {"owner@acme.example", "-", "owner-list@acme.example", false},
            {"\"a..b\"@partner.example", "+", "\"a..b+x\"@partner.example", true},
            {"*@partner.example", "+", "ceo+x@partner.example", true},     // domains: unchanged
            {"*@*.partner.example", "+", "ceo+x@partner.example", false},
        };
        for (const auto& c : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.pattern) + " [" + c.delimiter + "] vs " + c.address, c.match,
                                         test::pattern(c.pattern, c.delimiter).matches(address(c.address)));
        CPPUNIT_ASSERT(!test::pattern("ceo@partner.example", "+").matches(std::nullopt));
        // list files use the delimiter they are read with
        const auto plus = test::extensions("+");
        CPPUNIT_ASSERT(parse_address_list("ceo@partner.example\n", "vips.txt", plus)
                           .matches(address("ceo+x@partner.example")));
        CPPUNIT_ASSERT(!parse_address_list("ceo@partner.example\n", "vips.txt", AddressExtensions())
                            .matches(address("ceo+x@partner.example")));
    }

    // "a..b"@x and a..b@x are one mailbox (Postfix internalises both as a..b and quotes it on
    // output): a rule, or a list file line, written in one spelling matches the other, in
    // either direction, and so does an extension of it (whose base is made quoted).
    void quoted_and_bare_local_parts_match_alike()
    {
        for (const char* rule : {"a..b@partner.example", "\"a..b\"@partner.example", "\"A..B\"@Partner.example"}) {
            for (const char* rcpt : {"a..b@partner.example", "\"a..b\"@partner.example", "A..b@partner.example",
                                     "a..b+x@partner.example", "\"a..b+x\"@partner.example"}) {
                const std::string what = std::string(rule) + " vs " + rcpt;
                Conditions to;
                to.to.push_back(AddressList{"to", {test::pattern(rule, "+")}});
                CPPUNIT_ASSERT_MESSAGE(what, matches(to, context("s@acme.example"), rcpt));
                Conditions from;
                from.direction = Direction::Inbound;
                from.from.push_back(parse_address_list(std::string(rule) + "\n", "from.txt", test::extensions("+")));
                CPPUNIT_ASSERT_MESSAGE(what, matches(from, context(rcpt, Direction::Inbound), "s@acme.example"));
            }
            Conditions to;
            to.to.push_back(AddressList{"to", {test::pattern(rule, "+")}});
            for (const char* other : {"ab@partner.example", "a.b@partner.example", "\"a b\"@partner.example",
                                      "a..b@other.example"})
                CPPUNIT_ASSERT_MESSAGE(std::string(rule) + " vs " + other, !matches(to, context("s@acme.example"), other));
        }
    }

    void rules_match_extended_senders_and_recipients()
    {
        const char* plus = "+";
        Conditions to;
        to.to.push_back(AddressList{"to", {test::pattern("ceo@partner.example", plus)}});
        CPPUNIT_ASSERT(matches(to, context("a@acme.example"), "ceo+x@partner.example"));
        Conditions from;
        from.direction = Direction::Inbound;
        from.from.push_back(AddressList{"from", {test::pattern("ceo@partner.example", plus)}});
        CPPUNIT_ASSERT(matches(from, context("ceo+x@partner.example", Direction::Inbound), "a@acme.example"));
        // inbound, the From field's authors too
        MessageContext m = context("bounce@elsewhere.example", Direction::Inbound);
        const std::vector<smime::mime::HeaderField> h{{"From", " CEO <ceo+news@partner.example>"}};
        CPPUNIT_ASSERT(!matches(from, m, "a@acme.example"));
        m.headers = &h;
        CPPUNIT_ASSERT(matches(from, m, "a@acme.example"));
    }

    void groups_are_asked_without_the_extension()
    {
        test::TableGroups groups;
        groups.add("partners", "ceo@partner.example");
        groups.add("partners", "ceo+x@partner.example.org");
        Conditions c;
        c.to_group.push_back("partners");
        c.extensions = test::extensions("+");
        CPPUNIT_ASSERT(matches(c, context("a@acme.example"), "ceo+x@partner.example", &groups));
        CPPUNIT_ASSERT_EQUAL(2, groups.questions);  // the full address first, then the base
        groups.questions = 0;
        CPPUNIT_ASSERT(matches(c, context("a@acme.example"), "ceo@partner.example", &groups));
        CPPUNIT_ASSERT_EQUAL(1, groups.questions);  // no extension: one question
        // a member written with its extension is found as written
        CPPUNIT_ASSERT(matches(c, context("a@acme.example"), "ceo+x@partner.example.org", &groups));
        CPPUNIT_ASSERT(!matches(c, context("a@acme.example"), "ceo+y@partner.example.org", &groups));
        CPPUNIT_ASSERT(!matches(c, context("a@acme.example"), "+ceo@partner.example", &groups));
        // the sender's groups alike
        Conditions from;
        from.from_group.push_back("partners");
        from.extensions = c.extensions;
        CPPUNIT_ASSERT(matches(from, context("ceo+y@partner.example"), "a@acme.example", &groups));
        // off: as before
        c.extensions = AddressExtensions();
        CPPUNIT_ASSERT(!matches(c, context("a@acme.example"), "ceo+x@partner.example", &groups));
    }

    // Our MTA's delimiter is ours: "alice-smith" at a partner is a person of its own unless
    // that partner is said to cut at "-". Each domain gets its own set.
    void delimiter_by_domain()
    {
        const AddressExtensions x = dash_site();
        // address, its base under x ("" when it has no extension there)
        struct { const char* address; const char* base; } cases[] = {
            {"alice-tag@acme.example", "alice@acme.example"},        // ours: "-"
            {"alice-tag@lab.acme.example", "alice@lab.acme.example"},  // under ours: ours
            {"alice+tag@acme.example", ""},                          // "+" is not ours
            {"alice-smith@partner.example", ""},                     // not ours, not listed: "+"
            {"alice+tag@partner.example", "alice@partner.example"},
            {"alice-smith@listed.example", "alice@listed.example"},  // listed: its own "-"
            {"alice+tag@listed.example", ""},
            {"alice-smith@sub.listed.example", ""},                  // a listed domain exactly
            {"alice+tag@sub.listed.example", "alice@sub.listed.example"},
            {"alice-smith@acme.example.partner.example", ""},        // ends like ours, is not
        };
        for (const auto& c : cases) {
            const auto base = x.base_of(*address(c.address));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.address, std::string(c.base), base ? base->str() : std::string());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("-"), x.delimiter_for(*Domain::parse("ACME.example")).chars());
        CPPUNIT_ASSERT_EQUAL(std::string("+"), x.delimiter_for(*Domain::parse("partner.example")).chars());
        // no extensions anywhere by default; everywhere() is one set for every domain
        CPPUNIT_ASSERT(!AddressExtensions().base_of(*address("alice+tag@acme.example")));
        CPPUNIT_ASSERT(AddressExtensions::everywhere(*RecipientDelimiter::parse("-"))
                           .base_of(*address("alice-smith@partner.example")));
    }

    // A one-address pattern keeps its own domain's set, and a group is asked about the base
    // its domain's set makes: rules and the certificate look-up cut alike.
    void patterns_and_groups_cut_by_their_domain()
    {
        const AddressExtensions x = dash_site();
        const auto pat = [&](const char* s) { return *AddressPattern::parse(s, x); };
        CPPUNIT_ASSERT(pat("ceo@acme.example").matches(address("ceo-x@acme.example")));
        CPPUNIT_ASSERT(!pat("ceo@acme.example").matches(address("ceo+x@acme.example")));
        CPPUNIT_ASSERT(!pat("alice@partner.example").matches(address("alice-smith@partner.example")));
        CPPUNIT_ASSERT(pat("alice@partner.example").matches(address("alice+x@partner.example")));
        CPPUNIT_ASSERT(pat("alice@listed.example").matches(address("alice-smith@listed.example")));
        const AddressList l = parse_address_list("alice@partner.example\nalice@acme.example\n", "l.txt", x);
        CPPUNIT_ASSERT(!l.matches(address("alice-smith@partner.example")));
        CPPUNIT_ASSERT(l.matches(address("alice-smith@acme.example")));
        test::TableGroups groups;
        groups.add("people", "alice@partner.example");
        groups.add("people", "bob@acme.example");
        Conditions c;
        c.to_group.push_back("people");
        c.extensions = x;
        CPPUNIT_ASSERT(!matches(c, context("a@acme.example"), "alice-smith@partner.example", &groups));
        CPPUNIT_ASSERT_EQUAL(1, groups.questions);  // no cut for a partner without "-": one question
        CPPUNIT_ASSERT(matches(c, context("a@acme.example"), "alice+x@partner.example", &groups));
        CPPUNIT_ASSERT(matches(c, context("a@acme.example"), "bob-lists@acme.example", &groups));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PolicyMatchTest);
