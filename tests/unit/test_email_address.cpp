// Unit tests for the address syntax the milter meets at RCPT and in header fields, where
// EmailAddress::parse decides what is an address (base/email_address.h): the IDNA full stops
// after a domain, '_' in domain labels, address literals, and quoted local parts with spaces.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "base/email_address.h"

using namespace ssm;

class EmailAddressTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(EmailAddressTest);
    CPPUNIT_TEST(idna_full_stops_end_a_domain_as_a_dot_does);
    CPPUNIT_TEST(underscores_in_domain_labels);
    CPPUNIT_TEST(address_literals_are_told_apart);
    CPPUNIT_TEST(quoted_local_parts_may_hold_spaces);
    CPPUNIT_TEST(one_spelling_for_a_quoted_local_part);
    CPPUNIT_TEST(stray_quotes_are_no_local_part);
    CPPUNIT_TEST(backslash_outside_quotes_is_no_local_part);
    CPPUNIT_TEST(quoted_and_bare_spellings_have_one_key);
    CPPUNIT_TEST_SUITE_END();

public:
    // UTS #46 maps U+3002 IDEOGRAPHIC FULL STOP, U+FF0E FULLWIDTH FULL STOP and U+FF61
    // HALFWIDTH IDEOGRAPHIC FULL STOP to '.', and IDNA2008 (RFC 3490 §3.1, RFC 5895) calls
    // them label separators: written after a domain they are its root, as a '.' is. One of
    // them, like one '.', is dropped; two are an empty label, as ".." is.
    void idna_full_stops_end_a_domain_as_a_dot_does()
    {
        for (const char* stop : {".", "\u3002", "\uff0e", "\uff61"}) {
            const std::string s(stop);
            const auto a = EmailAddress::parse("dave@partner.example" + s);
            CPPUNIT_ASSERT_MESSAGE(s, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(s, std::string("dave@partner.example"), a->str());
            const auto d = Domain::parse("müller.example" + s);
            CPPUNIT_ASSERT_MESSAGE(s, d.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(s, std::string("xn--mller-kva.example"), d->str());
            // Between labels they separate, as before.
            CPPUNIT_ASSERT_EQUAL_MESSAGE(s, std::string("dave@partner.example"),
                                         EmailAddress::parse("dave@partner" + s + "example")->str());
            for (const char* second : {".", "\u3002", "\uff0e", "\uff61"}) {
                const std::string two = s + second;
                CPPUNIT_ASSERT_MESSAGE(two, !EmailAddress::parse("dave@partner.example" + two).has_value());
                CPPUNIT_ASSERT_MESSAGE(two, !Domain::parse("partner.example" + two).has_value());
            }
            CPPUNIT_ASSERT_MESSAGE(s, !Domain::parse(s).has_value());
        }
    }

    // RFC 5321 §4.1.2 (sub-domain = Let-dig [Ldh-str]) has no '_', but DNS names may hold it
    // (RFC 2181 §11) and MTAs deliver to such domains (Postfix's valid_hostname() allows '_'):
    // accepted, as Postfix accepts the RCPT, and kept as written (lower-cased) for rules,
    // look-ups and certificate names, which read '_' alike (pki/name_match.cpp too).
    void underscores_in_domain_labels()
    {
        for (const char* in : {"dave@mail_gw.partner.example", "dave@_mail.partner.example", "dave@mail_.partner.example"}) {
            const auto a = EmailAddress::parse(in);
            CPPUNIT_ASSERT_MESSAGE(in, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(in, ascii_lower(in), a->str());
            CPPUNIT_ASSERT_MESSAGE(in, certificate_address_key(in, false) == a->key());
        }
        CPPUNIT_ASSERT(EmailAddress::parse("dave@Mail_GW.partner.example")->same_as(*EmailAddress::parse("dave@mail_gw.partner.example")));
        CPPUNIT_ASSERT(Domain::parse("mail_gw.partner.example")->is_or_under(*Domain::parse("partner.example")));
        // Still no other punctuation, and a hyphen still neither starts nor ends a label.
        for (const char* bad : {"dave@mail!gw.example", "dave@mail gw.example", "dave@-gw.example", "dave@gw-.example"})
            CPPUNIT_ASSERT_MESSAGE(bad, !EmailAddress::parse(bad).has_value());
    }

    // RFC 5321 §4.1.3 address literals are valid syntax, but no address of ours: rules,
    // [[domain]]s and certificates are for domain names. names_address_literal tells them from
    // addresses that are not understood, so that the refusal can say which it is.
    void address_literals_are_told_apart()
    {
        for (const char* in : {"user@[192.0.2.1]", "<user@[192.0.2.1]>", "\"john smith\"@[192.0.2.1]",
                               "user@[IPv6:2001:db8::1]", "user@[ipv6:2001:DB8::1]", "<@relay.example:user@[192.0.2.1]>",
                               "User <user@[IPv6:::ffff:192.0.2.1]>"}) {
            CPPUNIT_ASSERT_MESSAGE(in, !EmailAddress::parse(in).has_value());
            CPPUNIT_ASSERT_MESSAGE(in, EmailAddress::names_address_literal(in));
        }
        for (const char* in : {"user@[192.0.2]", "user@[192.0.2.256]", "user@[2001:db8::1]", "user@[IPv6:2001:db8::g]",
                               "user@[192.0.2.1", "user@192.0.2.1]", "user@[]", "@[192.0.2.1]", "us er@[192.0.2.1]",
                               "user@[ 192.0.2.1]", "user@[X-foo:bar]", "user@acme.example", "nonsense"})
            CPPUNIT_ASSERT_MESSAGE(in, !EmailAddress::names_address_literal(in));
    }

    // RFC 5321 §4.1.2: a Quoted-string local part may hold spaces (qtextSMTP %d32). Accepted
    // when the whole local part is one quoted string; a space outside quotes (a display name
    // without angle brackets) and other controls stay refused. The key lower-cases it as any
    // local part; a certificate naming it is still not read (certificate_address_key refuses
    // every space: what certificates name is one plain addr-spec), so such a recipient finds no
    // certificate, and a rule that needs one refuses it as any recipient without one.
    void quoted_local_parts_may_hold_spaces()
    {
        struct { const char* in; const char* str; const char* key; } cases[] = {
            {"\"john smith\"@example.org", "\"john smith\"@example.org", "\"john smith\"@example.org"},
            {"<\"John Smith\"@Example.org>", "\"John Smith\"@example.org", "\"john smith\"@example.org"},
            {"John <\"john smith\"@example.org>", "\"john smith\"@example.org", "\"john smith\"@example.org"},
            {"\" john \"@example.org", "\" john \"@example.org", "\" john \"@example.org"},
            {"\"Jürgen Müller\"@example.org", "\"Jürgen Müller\"@example.org", "\"jürgen müller\"@example.org"},
        };
        for (const auto& c : cases) {
            const auto a = EmailAddress::parse(c.in);
            CPPUNIT_ASSERT_MESSAGE(c.in, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, std::string(c.str), a->str());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, std::string(c.key), a->key());
            const auto again = EmailAddress::parse(a->str());
            CPPUNIT_ASSERT_MESSAGE(c.in, again && again->str() == a->str());
            const auto keyed = EmailAddress::parse(a->key());
            CPPUNIT_ASSERT_MESSAGE(c.in, keyed && keyed->str() == a->key());
            CPPUNIT_ASSERT_MESSAGE(c.in, !certificate_address_key(a->str(), true).has_value());
        }
        for (const char* bad : {"john smith@example.org", "\"john\" smith@example.org", "john \"smith\"@example.org",
                                "\"john\" \"smith\"@example.org", "\"john\tsmith\"@example.org",
                                "\"john\x01 smith\"@example.org", "\"john smith@example.org", "\"john \\\"@example.org",
                                "\"john\" \"@example.org", "\"john<smith\"@example.org", "\"john>smith\"@example.org",
                                "\"john,smith\"@example.org", "\"john\x7fsmith\"@example.org", "john\x7fsmith@example.org"})
            CPPUNIT_ASSERT_MESSAGE(bad, !EmailAddress::parse(bad).has_value());
    }

    // A quoted-pair stands for its character (RFC 5321 §4.1.2): "a\ b" and "a b" are one
    // mailbox, as "da\ve" and dave are. Kept needed quotes are written one way, with only '"'
    // and '\' escaped, so that both spellings get one key (rules, certificates, groups).
    void one_spelling_for_a_quoted_local_part()
    {
        struct { const char* in; const char* str; } cases[] = {
            {"\"john\\ smith\"@example.org", "\"john smith\"@example.org"},
            {"\"j\\ohn smith\"@example.org", "\"john smith\"@example.org"},
            {"\"dave\\@x\"@partner.example", "\"dave@x\"@partner.example"},
            {"\"a\\\\b\"@partner.example", "\"a\\\\b\"@partner.example"},
            {"\"a\\\"b\"@partner.example", "\"a\\\"b\"@partner.example"},
        };
        for (const auto& c : cases) {
            const auto a = EmailAddress::parse(c.in);
            CPPUNIT_ASSERT_MESSAGE(c.in, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, std::string(c.str), a->str());
            CPPUNIT_ASSERT_MESSAGE(c.in, a->same_as(*EmailAddress::parse(c.str)));
        }
    }

    // RFC 5321 §4.1.2: a local part is a Dot-string or one Quoted-string. A '"' anywhere else
    // (unbalanced, or a quoted string with text beside it) is neither, and was accepted
    // until 2026-12-04: refused as any address not understood. Still accepted: a whole quoted
    // local part, escaped quotes inside one, and dot-strings with empty atoms (Japanese
    // carriers' a..b, .a, a.), which MTAs deliver to.
    void stray_quotes_are_no_local_part()
    {
        for (const char* bad : {"\"@x.example", "a\"b@x.example", "\"a\"b@x.example", "a\"b\"@x.example",
                                "\"\"\"@x.example", "a\"@x.example", "\"a\".\"b\"@x.example", "\"a\".b@x.example",
                                "<a\"b@x.example>", "Dave <\"dave@x.example>", "\"a\\\"@x.example"}) {
            CPPUNIT_ASSERT_MESSAGE(bad, !EmailAddress::parse(bad).has_value());
            CPPUNIT_ASSERT_MESSAGE(bad, !EmailAddress::names_address_literal(bad));
            CPPUNIT_ASSERT_MESSAGE(bad, !certificate_address_key(bad, true).has_value());
        }
        CPPUNIT_ASSERT(!EmailAddress::names_address_literal("a\"b@[192.0.2.1]"));
        struct { const char* in; const char* str; } good[] = {
            {"a..b@x.example", "a..b@x.example"},
            {".a@x.example", ".a@x.example"},
            {"a.@x.example", "a.@x.example"},
            {"\"a\\\"b\"@x.example", "\"a\\\"b\"@x.example"},
            {"\"a b\"@x.example", "\"a b\"@x.example"},
            {"\"dave\"@x.example", "dave@x.example"},
            // A display name may hold quotes and commas: only the angle address is the mailbox.
            {"\"Doe, John\" <j@x.example>", "j@x.example"},
            {"\"a\\\"b\" <j@x.example>", "j@x.example"},
        };
        for (const auto& c : good) {
            const auto a = EmailAddress::parse(c.in);
            CPPUNIT_ASSERT_MESSAGE(c.in, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, std::string(c.str), a->str());
        }
    }

    // RFC 5321 §4.1.2: atext has no '\'; a backslash is a quoted-pairSMTP, valid only inside a
    // Quoted-string. a\b@x was accepted until 2026-12-04 (one MTA reads it as an escape, a\b
    // naming ab, another as a literal backslash): refused now as every address not
    // understood (553 5.1.3 at RCPT). Escapes inside quotes stay.
    void backslash_outside_quotes_is_no_local_part()
    {
        for (const char* bad : {"a\\b@x.example", "\\a@x.example", "a\\@x.example", "a\\\\b@x.example", "a.\\b@x.example",
                                "<a\\b@x.example>", "Dave <a\\b@x.example>", "a\\b@[192.0.2.1]"}) {
            CPPUNIT_ASSERT_MESSAGE(bad, !EmailAddress::parse(bad).has_value());
            CPPUNIT_ASSERT_MESSAGE(bad, !EmailAddress::names_address_literal(bad));
            CPPUNIT_ASSERT_MESSAGE(bad, !certificate_address_key(bad, true).has_value());
        }
        struct { const char* in; const char* str; } good[] = {
            {"\"a\\\"b\"@x.example", "\"a\\\"b\"@x.example"},
            {"\"a\\\\b\"@x.example", "\"a\\\\b\"@x.example"},
            {"\"a\\b\"@x.example", "ab@x.example"},  // a quoted-pair for a letter is the letter
            {"\"a\\ b\"@x.example", "\"a b\"@x.example"},
            {"\"a\\\\b\" <j@x.example>", "j@x.example"},  // display names are no local parts
        };
        for (const auto& c : good) {
            const auto a = EmailAddress::parse(c.in);
            CPPUNIT_ASSERT_MESSAGE(c.in, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, std::string(c.str), a->str());
        }
        CPPUNIT_ASSERT(EmailAddress::names_address_literal("\"a\\\\b\"@[192.0.2.1]"));
    }

    // A quoted local part and the same text bare are one mailbox (Postfix internalises both
    // to the bare text and quotes on output what needs it), also where the bare text is no
    // dot-atom but parse takes it (a..b, .a, a.: Japanese carriers). str() keeps the spelling
    // received, which is what goes back to the MTA; key() and same_as take them as one, so
    // that a rule, list entry or certificate in either spelling matches the other.
    void quoted_and_bare_spellings_have_one_key()
    {
        struct { const char* quoted; const char* bare; const char* key; } cases[] = {
            {"\"a..b\"@x.example", "a..b@x.example", "a..b@x.example"},
            {"\"A..B\"@X.example", "a..B@x.example", "a..b@x.example"},
            {"\".a\"@x.example", ".a@x.example", ".a@x.example"},
            {"\"a.\"@x.example", "a.@x.example", "a.@x.example"},
            {"\"..\"@x.example", "..@x.example", "..@x.example"},
            {"\"j\\u..rgen\"@x.example", "ju..rgen@x.example", "ju..rgen@x.example"},
            {"\"Jü..rgen\"@x.example", "jü..rgen@x.example", "jü..rgen@x.example"},
        };
        for (const auto& c : cases) {
            const auto q = EmailAddress::parse(c.quoted);
            const auto b = EmailAddress::parse(c.bare);
            CPPUNIT_ASSERT_MESSAGE(c.quoted, q.has_value() && b.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.quoted, std::string(c.key), q->key());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.bare, std::string(c.key), b->key());
            CPPUNIT_ASSERT_MESSAGE(c.quoted, q->same_as(*b) && b->same_as(*q));
            CPPUNIT_ASSERT(certificate_address_key(c.quoted, true) == certificate_address_key(c.bare, true));
            CPPUNIT_ASSERT_EQUAL(address_comparison_key(c.quoted), address_comparison_key(c.bare));
            // The key is an address whose own key it is (it is kept as text and parsed again).
            const auto keyed = EmailAddress::parse(q->key());
            CPPUNIT_ASSERT_MESSAGE(c.quoted, keyed && keyed->str() == q->key() && keyed->key() == q->key());
            // A directory is asked the same question for both spellings (its answers are
            // cached by the key): the bare spelling, in the case received.
            CPPUNIT_ASSERT_MESSAGE(q->directory_form(), q->directory_form().find('"') == std::string::npos);
            const auto asked = EmailAddress::parse(q->directory_form());
            CPPUNIT_ASSERT_MESSAGE(q->directory_form(), asked && asked->key() == c.key);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.quoted, b->str(), b->directory_form());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("\"a b\"@x.example"), EmailAddress::parse("\"a b\"@x.example")->directory_form());
        // What goes back to the MTA is the spelling it sent.
        CPPUNIT_ASSERT_EQUAL(std::string("\"a..b\"@x.example"), EmailAddress::parse("\"a..b\"@x.example")->str());
        CPPUNIT_ASSERT_EQUAL(std::string("a..b@x.example"), EmailAddress::parse("a..b@x.example")->str());
        // Quotes the bare text cannot do without stay in the key, and keep mailboxes apart.
        struct { const char* quoted; const char* other; } apart[] = {
            {"\"a b\"@x.example", "ab@x.example"},
            {"\"a..b\"@x.example", "ab@x.example"},
            {"\"a..b\"@x.example", "a.b@x.example"},
            {"\"a\\\"b\"@x.example", "ab@x.example"},
            {"\"\"@x.example", "x@x.example"},
        };
        for (const auto& c : apart) {
            const auto q = EmailAddress::parse(c.quoted);
            const auto o = EmailAddress::parse(c.other);
            CPPUNIT_ASSERT_MESSAGE(c.quoted, q && o && !q->same_as(*o) && !o->same_as(*q) && q->key() != o->key());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("\"a b\"@x.example"), EmailAddress::parse("\"A B\"@x.example")->key());
        CPPUNIT_ASSERT_EQUAL(std::string("\"\"@x.example"), EmailAddress::parse("\"\"@x.example")->key());
    }

private:
    static std::string ascii_lower(std::string s)
    {
        for (char& c : s)
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        return s;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EmailAddressTest);
