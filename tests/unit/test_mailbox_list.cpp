// Unit tests for base/mailbox_list.h: RFC 5322 address fields as mail clients and MTAs write
// them. The first rows are the shapes real mail showed to be refused before (2026-12-01):
// Exchange's "Last, First" display names and "addr (comment)" from MTAs and cron.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include "base/mailbox_list.h"

using namespace ssm;

namespace {

std::vector<std::string> addresses(std::string_view value, std::size_t* unparsable = nullptr)
{
    const MailboxList l = parse_mailbox_list(value);
    std::vector<std::string> out;
    for (const auto& a : l.addresses) out.push_back(a.str());
    if (unparsable) *unparsable = l.unparsable;
    return out;
}

using V = std::vector<std::string>;

}  // namespace

class MailboxListTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MailboxListTest);
    CPPUNIT_TEST(quoted_display_names_and_comments);
    CPPUNIT_TEST(lists_groups_and_routes);
    CPPUNIT_TEST(what_is_no_address);
    CPPUNIT_TEST_SUITE_END();

public:
    void quoted_display_names_and_comments()
    {
        const struct {
            const char* value;
            const char* first;
        } rows[] = {
            {"\"Smith, Alice\" <alice@acme.example>", "alice@acme.example"},
            {"\"Pallotta, Jeremy M (US)\" <jeremy@acme.example>", "jeremy@acme.example"},
            {"\"Nowicki, Ed H. via USRP-users\" <usrp-users@lists.example>", "usrp-users@lists.example"},
            {"alice@acme.example (Alice Smith)", "alice@acme.example"},
            {"MAILER-DAEMON@mx.acme.example (Mail Delivery System)", "MAILER-DAEMON@mx.acme.example"},
            {"(Cron Daemon) root@host.acme.example", "root@host.acme.example"},
            {"Alice (Smith, A.) <alice@acme.example>", "alice@acme.example"},
            {"alice@acme.example (nested (comment, with) \\) escapes)", "alice@acme.example"},
            {"\"a \\\"quoted\\\" name, too\" <alice@acme.example>", "alice@acme.example"},
            {"=?utf-8?q?Smith=2C_Alice?= <alice@acme.example>", "alice@acme.example"},
            {"Alice Smith <alice@acme.example>", "alice@acme.example"},
            {"<alice@acme.example>", "alice@acme.example"},
            {"alice@acme.example", "alice@acme.example"},
            {"  alice@ACME.example  ", "alice@acme.example"},
            {"Alice\r\n\t<alice@acme.example>", "alice@acme.example"},  // folded
            {"< alice@acme.example >", "alice@acme.example"},
            {"\"john.doe\"@acme.example", "john.doe@acme.example"},  // needless quotes: one spelling
        };
        for (const auto& r : rows) {
            const auto a = first_mailbox(r.value);
            CPPUNIT_ASSERT_MESSAGE(r.value, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.value, std::string(r.first), a->str());
        }
    }

    void lists_groups_and_routes()
    {
        CPPUNIT_ASSERT(addresses("Bob <bob@acme.example>, Alice <alice@acme.example>") ==
                       (V{"bob@acme.example", "alice@acme.example"}));
        CPPUNIT_ASSERT(addresses("\"Smith, A\" <a@x.example>, b@y.example (B, b), <c@z.example>") ==
                       (V{"a@x.example", "b@y.example", "c@z.example"}));
        CPPUNIT_ASSERT(addresses("team: a@x.example, \"B, b\" <b@y.example>;, c@z.example") ==
                       (V{"a@x.example", "b@y.example", "c@z.example"}));
        CPPUNIT_ASSERT(addresses("undisclosed-recipients:;").empty());
        CPPUNIT_ASSERT(addresses("<@relay.example,@other.example:alice@acme.example>") == (V{"alice@acme.example"}));
        CPPUNIT_ASSERT(addresses("a@x.example,,b@y.example") == (V{"a@x.example", "b@y.example"}));
    }

    void what_is_no_address()
    {
        std::size_t bad = 0;
        // A display name without angle brackets is not an address (never "AliceSmithalice@x").
        CPPUNIT_ASSERT(addresses("Alice Smith alice@acme.example", &bad).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, bad);
        CPPUNIT_ASSERT(addresses("\"Smith, Alice\"", &bad).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, bad);
        CPPUNIT_ASSERT(addresses("Alice <alice@acme.example", &bad).empty());  // unclosed: the rest is the angle
        CPPUNIT_ASSERT(addresses("", &bad).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, bad);
        CPPUNIT_ASSERT(addresses("(only a comment", &bad).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, bad);
        CPPUNIT_ASSERT(addresses("\"unclosed, quote <a@x.example>", &bad).empty());
        CPPUNIT_ASSERT(!first_mailbox("no-at-sign"));
        // Specials from between angle brackets make no address (found by fuzz_mime_header: it
        // would not read back as itself).
        CPPUNIT_ASSERT(addresses("<a;b@x.example>", &bad).empty());
        CPPUNIT_ASSERT(addresses("<a:b@x.example>").empty());
        CPPUNIT_ASSERT(addresses("<a\\b@x.example>").empty());
        CPPUNIT_ASSERT(addresses("<a\"b@x.example>").empty());
        CPPUNIT_ASSERT(addresses("<J\xc3\xbcrgen@x.example>").size() == 1);  // RFC 6532 UTF-8
        CPPUNIT_ASSERT(addresses("<\"\"x:y\"\"@x.example>").empty());  // quotes around, not one quoted string
        CPPUNIT_ASSERT(addresses("<\"a\\\"b\"@x.example>").size() == 1);  // one, with a quoted-pair
        // One entry, two candidate authors: text or a second angle address after the first.
        // Which a mail client shows is not ours to guess; a From check must not compare one while
        // the reader sees the other. A comment after it is fine.
        CPPUNIT_ASSERT(addresses("<alice@acme.example> <ceo@acme.example>", &bad).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, bad);
        CPPUNIT_ASSERT(addresses("<alice@acme.example>ceo@acme.example", &bad).empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, bad);
        CPPUNIT_ASSERT(addresses("Alice <alice@acme.example> \"CEO\" <ceo@acme.example>").empty());
        CPPUNIT_ASSERT(addresses("<alice@acme.example> (Alice), <bob@acme.example>") ==
                       (V{"alice@acme.example", "bob@acme.example"}));
        CPPUNIT_ASSERT(addresses(std::string(100000, '(')).empty());
        CPPUNIT_ASSERT(addresses(std::string(100000, '"')).empty());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MailboxListTest);
