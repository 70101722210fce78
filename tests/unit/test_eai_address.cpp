// Unit tests for internationalised addresses (RFC 6531/6532, IDNA2008): UTF-8 local parts,
// U-label domains in their A-label form, local parts in NFC, refusal of invalid UTF-8 and of
// bogus A-labels, and certificate keys.
#include <cppunit/extensions/HelperMacros.h>

#include "base/email_address.h"

using namespace ssm;

class EaiAddressTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(EaiAddressTest);
    CPPUNIT_TEST(utf8_addresses_parse_to_a_labels);
    CPPUNIT_TEST(u_label_and_a_label_domains_are_one);
    CPPUNIT_TEST(invalid_utf8_is_refused);
    CPPUNIT_TEST(idna_refusals);
    CPPUNIT_TEST(non_ascii_local_parts_compare_without_case);
    CPPUNIT_TEST(local_parts_are_kept_in_nfc);
    CPPUNIT_TEST(characters_nfc_replaces_are_refused);
    CPPUNIT_TEST(nfc_holds_for_the_unquoted_spelling);
    CPPUNIT_TEST(bogus_a_labels_are_refused);
    CPPUNIT_TEST(certificate_keys);
    CPPUNIT_TEST(length_limit_holds_for_the_a_label_form);
    CPPUNIT_TEST(keys_are_addresses_with_that_key);
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

    // The local part is compared without case for every letter, as ASCII letters always were
    // (a rule or a certificate for jürgen is JÜRGEN's): Unicode's lower-case mapping, in NFC.
    // Lower-casing, not case folding: ß and ss stay apart. The spelling itself keeps its case.
    void non_ascii_local_parts_compare_without_case()
    {
        const auto lower = EmailAddress::parse("jürgen@müller.example");
        const auto upper = EmailAddress::parse("JÜRGEN@müller.example");
        const auto ascii_upper = EmailAddress::parse("Jürgen@MÜLLER.example");
        CPPUNIT_ASSERT(lower && upper && ascii_upper);
        CPPUNIT_ASSERT(lower->same_as(*upper));
        CPPUNIT_ASSERT(lower->same_as(*ascii_upper));
        CPPUNIT_ASSERT_EQUAL(std::string("JÜRGEN@xn--mller-kva.example"), upper->str());
        struct { const char* a; const char* b; bool same; } cases[] = {
            {"ΟΔΟΣ@acme.example", "οδος@acme.example", true},    // final sigma in its place
            {"ΟΔΟΣ@acme.example", "οδοσ@acme.example", false},
            {"STRAẞE@acme.example", "straße@acme.example", true},  // capital sharp s
            {"STRASSE@acme.example", "straße@acme.example", false},
            {"ДМИТРИЙ@acme.example", "дмитрий@acme.example", true},
            {"İNCİ@acme.example", "inci@acme.example", false},     // i + U+0307 is not i
            {"用户@acme.example", "用户@acme.example", true},
        };
        for (const auto& c : cases) {
            const auto a = EmailAddress::parse(c.a);
            const auto b = EmailAddress::parse(c.b);
            CPPUNIT_ASSERT_MESSAGE(c.a, a && b);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.a) + " / " + c.b, c.same, a->same_as(*b));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.a) + " / " + c.b, c.same, b->same_as(*a));
        }
        // Certificates are found by that key: one naming JÜRGEN is jürgen's, and the reverse.
        CPPUNIT_ASSERT_EQUAL(std::string("jürgen@xn--mller-kva.example"),
                             certificate_address_key("JÜRGEN@xn--mller-kva.example", true).value_or("-"));
        CPPUNIT_ASSERT_EQUAL(std::string("οδος@acme.example"), certificate_address_key("ΟΔΟΣ@acme.example", true).value_or("-"));
        CPPUNIT_ASSERT_EQUAL(std::string("i\u0307nci\u0307@acme.example"),
                             certificate_address_key("İNCİ@acme.example", true).value_or("-"));
    }

    // RFC 6532 §3.1 / RFC 5198: a UTF-8 local part in Unicode NFC. Precomposed ü and u +
    // U+0308 are one mailbox wherever the address comes from (envelope, header, config,
    // certificate): the parsed value and the certificate key are the NFC spelling.
    void local_parts_are_kept_in_nfc()
    {
        struct { const char* in; const char* out; } cases[] = {
            {"ju\u0308rgen@müller.example", "jürgen@xn--mller-kva.example"},
            {"Ju\u0308rgen <ju\u0308rgen@xn--mller-kva.example>", "jürgen@xn--mller-kva.example"},
            {"\"ju\u0308rgen\"@müller.example", "jürgen@xn--mller-kva.example"},  // needless quotes go too
            {"\"ju\u0308rgen..x\"@müller.example", "\"jürgen..x\"@xn--mller-kva.example"},  // needed quotes stay
            {"a\u030Ase@acme.example", "åse@acme.example"},
            {"\u1112\u1161\u11AB@acme.example", "\uD55C@acme.example"},  // conjoining jamo: 한
            {"o\u0308\u0301@acme.example", "\u00F6\u0301@acme.example"},  // composes what it can
            {"jürgen@müller.example", "jürgen@xn--mller-kva.example"},  // NFC already: as it was
        };
        for (auto& c : cases) {
            const auto a = EmailAddress::parse(c.in);
            CPPUNIT_ASSERT_MESSAGE(c.in, a.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.in, std::string(c.out), a->str());
            CPPUNIT_ASSERT_MESSAGE(c.in, EmailAddress::parse(a->str()).has_value());
        }
        const auto composed = EmailAddress::parse("jürgen@müller.example");
        const auto decomposed = EmailAddress::parse("ju\u0308rgen@müller.example");
        CPPUNIT_ASSERT(composed && decomposed && composed->same_as(*decomposed));
        CPPUNIT_ASSERT_EQUAL(std::string("jürgen@xn--mller-kva.example"),
                             certificate_address_key("Ju\u0308rgen@xn--mller-kva.example", true).value_or("-"));
        // Ü and ü are one mailbox in either form, the key in NFC.
        CPPUNIT_ASSERT(EmailAddress::parse("JU\u0308RGEN@müller.example")->same_as(*composed));
        CPPUNIT_ASSERT_EQUAL(std::string("jürgen@xn--mller-kva.example"),
                             certificate_address_key("JU\u0308RGEN@xn--mller-kva.example", true).value_or("-"));
    }

    // A code point NFC replaces on its own is another character, not a spelling of one:
    // KELVIN SIGN would become 'K' and the address kate's. Refused, not folded.
    void characters_nfc_replaces_are_refused()
    {
        const char* bad[] = {
            "\u212Aate@acme.example",  // KELVIN SIGN -> K
            "a\u037Eb@acme.example",   // GREEK QUESTION MARK -> ';'
            "\u212Bse@acme.example",   // ANGSTROM SIGN -> Å
            "\u2126@acme.example",     // OHM SIGN -> Ω
            "\uF900@acme.example",     // CJK COMPATIBILITY IDEOGRAPH -> U+8C48
            "\u0958@acme.example",     // DEVANAGARI QA: excluded from composition
            "\"\u212Aate\"@acme.example",
            // Lower-cased (as every lookup key is) it would compose to U+01F0: one mailbox with
            // two keys. Refused; the small letter is fine and composes.
            "J\u030Cane@acme.example",
        };
        for (auto b : bad) {
            CPPUNIT_ASSERT_MESSAGE(b, !EmailAddress::parse(b).has_value());
            CPPUNIT_ASSERT_MESSAGE(b, !certificate_address_key(b, true).has_value());
        }
        CPPUNIT_ASSERT(EmailAddress::parse("kate@acme.example").has_value());
        CPPUNIT_ASSERT_EQUAL(std::string("\u01F0ane@acme.example"), EmailAddress::parse("j\u030Cane@acme.example")->str());
        CPPUNIT_ASSERT_EQUAL(std::string("\u00C5se@acme.example"), EmailAddress::parse("A\u030Ase@acme.example")->str());
    }

    // A quoted local part is the mailbox of its content (RFC 5321 §4.1.2), and the escapes
    // that go with the quotes can stand between a letter and its combining mark: NFC of the
    // quoted text leaves u, '\', U+0308 apart, and unquoted they are "u" + U+0308. The kept
    // spelling must be NFC (one key per mailbox, the same as "jürgen"), and what NFC refuses
    // is refused however it is quoted.
    void nfc_holds_for_the_unquoted_spelling()
    {
        const auto composed = EmailAddress::parse("jürgen@acme.example");
        const auto quoted = EmailAddress::parse("\"ju\\\u0308rgen\"@acme.example");
        CPPUNIT_ASSERT(composed && quoted);
        CPPUNIT_ASSERT_EQUAL(std::string("jürgen@acme.example"), quoted->str());
        CPPUNIT_ASSERT(quoted->same_as(*composed));
        CPPUNIT_ASSERT_EQUAL(quoted->str(), EmailAddress::parse(quoted->str())->str());
        CPPUNIT_ASSERT_EQUAL(std::string("jürgen@acme.example"),
                             certificate_address_key("\"ju\\\u0308rgen\"@acme.example", true).value_or("-"));
        // Lower-cased, "J" + U+030C composes: refused quoted as it is unquoted.
        CPPUNIT_ASSERT(!EmailAddress::parse("\"J\\\u030Cane\"@acme.example").has_value());
    }

    // RFC 5890 §2.3.2.1: an "xn--" label is an A-label only when it decodes to a valid U-label
    // that encodes back to it. Anything else is no domain, wherever it is parsed.
    void bogus_a_labels_are_refused()
    {
        const char* bad[] = {
            "xn--zz.example",          // no Punycode
            "xn--a.example",           // decodes to U+0080, a C1 control
            "XN--A.EXAMPLE",
            "xn--.example",            // empty
            "mail.xn--zz.example",     // any label
            "xn--mller-kva-.example",  // a trailing hyphen is no Punycode either
            "xn--ls8h.example",        // U+1F4A9: disallowed in IDNA2008
            "xn--u-ccb.example",       // u + U+0308: a U-label must be NFC
            "xn--a-ecp.example",       // a + U+2488: disallowed
            "xn--ab.example",
        };
        for (auto b : bad) {
            CPPUNIT_ASSERT_MESSAGE(b, !Domain::parse(b).has_value());
            // The administrator is told why: which label is no A-label and libidn2's reason
            // (or the LDH rule a trailing hyphen breaks, before libidn2 is asked).
            const std::string why = Domain::refusal(b);
            if (std::string_view(b).find("-.") != std::string_view::npos)
                CPPUNIT_ASSERT_EQUAL_MESSAGE(b, std::string("a label starts or ends with a hyphen"), why);
            else
                CPPUNIT_ASSERT_MESSAGE(std::string(b) + ": " + why, why.find("' is no A-label (libidn2: ") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(why, EmailAddress::domain_refusal(std::string("user@") + b) == "in its domain, " + why);
            CPPUNIT_ASSERT_MESSAGE(b, !EmailAddress::parse(std::string("user@") + b).has_value());
            CPPUNIT_ASSERT_MESSAGE(b, !certificate_address_key(std::string("user@") + b, false).has_value());
        }
        struct { const char* in; const char* out; } good[] = {
            {"xn--mller-kva.example", "xn--mller-kva.example"},
            {"XN--MLLER-KVA.Example", "xn--mller-kva.example"},
            {"xn--55qx5d.example", "xn--55qx5d.example"},
            {"mail.xn--bcher-kva.ch", "mail.xn--bcher-kva.ch"},
            {"r3---sn-abc.example", "r3---sn-abc.example"},  // "--" elsewhere: an ordinary LDH label
            {"_dmarc.acme.example", "_dmarc.acme.example"},
        };
        for (auto& g : good) {
            const auto d = Domain::parse(g.in);
            CPPUNIT_ASSERT_MESSAGE(g.in, d.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(g.in, std::string(), Domain::refusal(g.in));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(g.in, std::string(g.out), d->str());
        }
    }

    void certificate_keys()
    {
        // SmtpUTF8Mailbox (UTF8String): ASCII letters lower case, the domain in A-labels as
        // RFC 9598 §3 writes it. A domain in U-labels is refused, not converted (the mapping
        // would read a fullwidth "ａｃｍｅ" as acme), and so is anything else non-ASCII there.
        CPPUNIT_ASSERT_EQUAL(std::string("jürgen@xn--mller-kva.example"),
                             certificate_address_key("Jürgen@XN--MLLER-KVA.example", true).value_or("-"));
        for (const char* u : {"Jürgen@müller.example", "jürgen@ａｃｍｅ.example", "jürgen@acme\u3002example",
                              "ceo@müller.example"}) {
            CPPUNIT_ASSERT_MESSAGE(u, !certificate_address_key(u, true).has_value());
            CPPUNIT_ASSERT_MESSAGE(u, smtp_utf8_domain_not_a_labels(u));
        }
        CPPUNIT_ASSERT(!smtp_utf8_domain_not_a_labels("jürgen@xn--mller-kva.example"));
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

    // A key is kept as text and parsed again (a rule's signing_identity is signed with at
    // message time), so it must be an address with that key; lower-casing can lengthen a
    // local part (İ, 2 octets, is i + U+0307, 3; Ⱥ is U+2C65, 3 octets for 2), and the
    // limit of 64 octets holds for that form too.
    void keys_are_addresses_with_that_key()
    {
        std::string i_dots, a_strokes;
        for (int i = 0; i < 32; ++i) i_dots += "\u0130";     // 64 octets; lower-cased 96
        for (int i = 0; i < 32; ++i) a_strokes += "\u023A";  // 64 octets; lower-cased 96
        for (const std::string& local : {i_dots, a_strokes}) {
            CPPUNIT_ASSERT_EQUAL(std::size_t{64}, local.size());
            CPPUNIT_ASSERT(!EmailAddress::parse(local + "@acme.example").has_value());
            CPPUNIT_ASSERT(!certificate_address_key(local + "@acme.example", true).has_value());
        }
        for (const char* text : {"İNCİ@acme.example", "ΟΔΟΣ@acme.example", "STRAẞE@acme.example", "JÜRGEN@müller.example",
                                 "\"J\u00DCRGEN..X\"@acme.example", "\u023A@acme.example", "Ab@acme.example"}) {
            const auto a = EmailAddress::parse(text);
            CPPUNIT_ASSERT_MESSAGE(text, a.has_value());
            const auto again = EmailAddress::parse(a->key());
            CPPUNIT_ASSERT_MESSAGE(text, again.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, a->key(), again->key());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, a->key(), again->str());
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EaiAddressTest);
