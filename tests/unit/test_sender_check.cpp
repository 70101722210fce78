// Unit tests for policy/sender_check: the comparison of From/Sender with the envelope sender
// (RFC 5322 §3.6.2), table-driven.
#include <cppunit/extensions/HelperMacros.h>

#include "policy/sender_check.h"

using namespace ssm;
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

CPPUNIT_TEST_SUITE_REGISTRATION(SenderCheckTest);
