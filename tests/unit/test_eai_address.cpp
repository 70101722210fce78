// Unit tests for internationalised addresses (RFC 6531/6532, IDNA2008): UTF-8 local parts,
// U-label domains in their A-label form, refusal of invalid UTF-8, and certificate keys.
#include <cppunit/extensions/HelperMacros.h>

#include "base/email_address.h"

using namespace ssm;

class EaiAddressTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(EaiAddressTest);
    CPPUNIT_TEST(utf8_addresses_parse_to_a_labels);
    CPPUNIT_TEST(u_label_and_a_label_domains_are_one);
    CPPUNIT_TEST(invalid_utf8_is_refused);
    CPPUNIT_TEST(idna_refusals);
    CPPUNIT_TEST(non_ascii_local_parts_compare_exactly);
    CPPUNIT_TEST(certificate_keys);
    CPPUNIT_TEST(length_limit_holds_for_the_a_label_form);
    CPPUNIT_TEST_SUITE_END();

public:
    void utf8_addresses_parse_to_a_labels()
    {
        struct { const char* in; const char* out; } cases[] = {
            {"jürgen@müller.example", "jürgen@xn--mller-kva.example"},
            {"Jürgen Müller <jürgen@MÜLLER.example>", "jürgen@xn--mller-kva.example"},
            {"user@xn--mller-kva.example", "user@xn--mller-kva.example"},
            {"用户@例え.テスト", "用户@xn--r8jz45g.xn--zckzah"},
            {"\"jürgen\"@müller.example", "jürgen@xn--mller-kva.example"},  // needless quotes go
            {"δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@xn--hxajbheg2az3al.xn--jxalpdlp"},
            {"ascii@acme.example", "ascii@acme.example"},
        };
        for (auto& c : cases) {
            auto a = EmailAddress::parse(c.in);
            CPPUNIT_ASSERT_MESSAGE(c.in, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, std::string(c.out), a->str());
        }
    }

    void u_label_and_a_label_domains_are_one()
    {
        const auto u = Domain::parse("müller.example");
        const auto a = Domain::parse("XN--MLLER-KVA.example");
        CPPUNIT_ASSERT(u && a);
        CPPUNIT_ASSERT(*u == *a);
        CPPUNIT_ASSERT_EQUAL(std::string("xn--mller-kva.example"), u->str());
        CPPUNIT_ASSERT(Domain::parse("mail.müller.example")->is_or_under(*a));
        CPPUNIT_ASSERT(EmailAddress::parse("User@müller.example")->same_as(
            *EmailAddress::parse("user@xn--mller-kva.example")));
        CPPUNIT_ASSERT(Domain::parse("müller.example.")->str() == "xn--mller-kva.example");
    }

    // RFC 6531 §3.3 allows UTF8-non-ascii, i.e. well-formed UTF-8 (RFC 3629): a Latin-1 octet,
    // overlong forms, surrogates, a cut sequence, code points above U+10FFFF and C1 controls
    // are not mail addresses, in the local part or in the domain.
    void invalid_utf8_is_refused()
    {
        const std::string bad[] = {
            "j\xfcrgen@acme.example",          // Latin-1
            "\xc0\xaf" "x@acme.example",       // overlong '/'
            "\xe0\x80\xaf" "x@acme.example",   // overlong, 3 octets
            "\xed\xa0\x80" "x@acme.example",   // surrogate U+D800
            "x\xc3@acme.example",              // cut sequence
            "\xf4\x90\x80\x80@acme.example",   // above U+10FFFF
            "x\xc2\x85y@acme.example",         // C1 control NEL
            "x\xc2\x9b@acme.example",          // C1 control CSI
            "\"x\xc2\x85\"@acme.example",      // C1 in a quoted string
            "x\x80@acme.example",              // lone continuation octet
            "user@m\xfcller.example",          // Latin-1 domain
            "user@m\xc3\xbc\xc3.example",      // cut sequence in the domain
            "user@\xc2\x85.example",           // C1 control in the domain
        };
        for (const auto& b : bad) {
            CPPUNIT_ASSERT_MESSAGE(b, !EmailAddress::parse(b).has_value());
            CPPUNIT_ASSERT_MESSAGE(b, !certificate_address_key(b, true).has_value());
        }
        CPPUNIT_ASSERT(!Domain::parse("m\xfcller.example").has_value());
    }

    // IDNA2008 through libidn2: contextual rules and unassigned code points refuse a domain.
    void idna_refusals()
    {
        const char* bad[] = {"x\u200dy.example", "\u0300a.example", "a\uffff.example",
                             "b\u0628a.example"};
        for (auto b : bad) CPPUNIT_ASSERT_MESSAGE(b, !Domain::parse(b).has_value());
        // An A-label result longer than a domain may be: refused after the conversion.
        std::string long_domain;
        for (int i = 0; i < 5; ++i) long_domain += std::string(20, 'a') + "ü" + ".";
        long_domain += std::string(20, 'a') + "ü" + std::string(40, 'b') + ".example";
        CPPUNIT_ASSERT(!Domain::parse(long_domain + long_domain).has_value());
    }

    // RFC 9598 §5: non-ASCII characters of a local part compare exactly; ASCII letters keep
    // the case-insensitive compare every mail system applies.
    void non_ascii_local_parts_compare_exactly()
    {
        const auto lower = EmailAddress::parse("jürgen@müller.example");
        const auto upper = EmailAddress::parse("JÜRGEN@müller.example");
        const auto ascii_upper = EmailAddress::parse("Jürgen@MÜLLER.example");
        CPPUNIT_ASSERT(lower && upper && ascii_upper);
        CPPUNIT_ASSERT(!lower->same_as(*upper));
        CPPUNIT_ASSERT(lower->same_as(*ascii_upper));
        // Precomposed ü and u + combining diaeresis are different local parts (no normalising).
        const auto decomposed = EmailAddress::parse("ju\u0308rgen@müller.example");
        CPPUNIT_ASSERT(decomposed && !lower->same_as(*decomposed));
    }

    void certificate_keys()
    {
        // SmtpUTF8Mailbox (UTF8String): U-labels become A-labels, ASCII letters lower case.
        CPPUNIT_ASSERT_EQUAL(std::string("jürgen@xn--mller-kva.example"),
                             certificate_address_key("Jürgen@müller.example", true).value_or("-"));
        // rfc822Name (IA5String): ASCII only; an A-label domain gives the same key.
        CPPUNIT_ASSERT_EQUAL(std::string("user@xn--mller-kva.example"),
                             certificate_address_key("User@XN--MLLER-KVA.example", false).value_or("-"));
        CPPUNIT_ASSERT(!certificate_address_key("jürgen@acme.example", false).has_value());
        CPPUNIT_ASSERT(!certificate_address_key("user@müller.example", false).has_value());
        // One plain addr-spec only: no display names, routes, spaces or controls.
        const char* bad[] = {"Jürgen <j@acme.example>", "@relay:j@acme.example", "j @acme.example",
                             "j\x01@acme.example", "acme.example", ""};
        for (auto b : bad) CPPUNIT_ASSERT_MESSAGE(b, !certificate_address_key(b, true).has_value());
    }

    // RFC 5321's 254 octets hold for the spelling we keep: U-labels within the limit whose
    // A-label form exceeds it would give a value that does not parse again (fuzz_address).
    void length_limit_holds_for_the_a_label_form()
    {
        std::string domain;
        for (int i = 0; i < 30; ++i) domain += "ä.";  // 3 octets a label, 8 as "xn--4ca."
        domain += "example";
        const std::string address = std::string(60, 'u') + "@" + domain;
        CPPUNIT_ASSERT(address.size() <= 254);
        const auto d = Domain::parse(domain);
        CPPUNIT_ASSERT(d && d->str().size() == 247);  // the domain alone fits
        const auto a = EmailAddress::parse(address);
        CPPUNIT_ASSERT_MESSAGE(a ? a->str() : "-", !a || EmailAddress::parse(a->str()).has_value());
        // What fits in either form is kept.
        CPPUNIT_ASSERT(EmailAddress::parse("user@äöüäöü.äöüäöü.example").has_value());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EaiAddressTest);
