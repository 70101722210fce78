// Unit tests for internationalised certificate names (RFC 9598): the SmtpUTF8Mailbox otherName
// read as an address of the certificate beside rfc822Name, A-label rfc822Names matching the
// U-label spelling, names that are no address dropped, and rfc822Name name constraints applied
// to SmtpUTF8Mailbox domains (RFC 9598 §6). Every certificate is made here by openssl.
#include <cppunit/extensions/HelperMacros.h>

#include <ctime>
#include <string>
#include <vector>

#include "base/ascii.h"
#include "base/email_address.h"
#include "pki/certificate.h"
#include "pki/trust_store.h"
#include "tests/unit/test_pki_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fs = std::filesystem;

namespace {

// SAN sections go through a config section ([x] plus [alt]): "FORMAT:UTF8,UTF8:" keeps
// openssl from reading the value as Latin-1 (which would encode "ü" twice), and its comma
// cannot stand in a one-line subjectAltName list.
const char* eai_script = R"SH(
utf8='1.3.6.1.5.5.7.8.9;FORMAT:UTF8,UTF8'
root() { key "$1"; csr "$1" "$2"; self "$1" "$3"; }
issue() { key "$1"; csr "$1" "$2"; cross "$1" "$1" "$3" "$4"; }
leaf() {  # OUT ISSUER ALT-SECTION-LINES
  issue "$1" "/O=EAI/CN=$1" "$2" "$ee\nsubjectAltName=@alt\n[alt]\n$3"
}
root eroot "/O=EAI/CN=EAI-Root" "$ca"
leaf only-utf8 eroot "otherName.1=$utf8:Jürgen@xn--mller-kva.example"
leaf a-label eroot "email.1=User@XN--MLLER-KVA.example"
leaf both eroot "otherName.1=$utf8:jürgen@xn--mller-kva.example\nemail.1=juergen@xn--mller-kva.example"
leaf not-addresses eroot "otherName.1=$utf8:Jürgen <j@xn--mller-kva.example>\notherName.2=$utf8:no-at-sign"
leaf other-othername eroot "otherName.1=1.3.6.1.5.5.7.8.5;UTF8:xmpp@müller.example"
leaf bad-utf8 eroot "otherName.1=1.3.6.1.5.5.7.8.9;IMPLICIT:12U,FORMAT:HEX,OCTETSTRING:6AFC40782E6578616D706C65"
# rfc822Name constraints of a CA over SmtpUTF8Mailbox (RFC 9598 §6): A-label hosts and domains.
issue pmull "/O=EAI/CN=Permit-Mueller" eroot "$caki\nnameConstraints=critical,permitted;email:xn--mller-kva.example"
leaf pmull-in pmull "otherName.1=$utf8:jürgen@xn--mller-kva.example"
leaf pmull-out pmull "otherName.1=$utf8:jürgen@xn--bcker-gra.example"
leaf pmull-below pmull "otherName.1=$utf8:jürgen@mail.xn--mller-kva.example"
# RFC 9598 §3 wants an rfc822Name for an ASCII local part: a SmtpUTF8Mailbox naming one anyway
# is read as that mailbox, and rfc822Name constraints bind it as they bind every other.
leaf ascii-utf8 eroot "otherName.1=$utf8:Ceo@acme.example"
leaf pmull-ascii-out pmull "otherName.1=$utf8:ceo@xn--bcker-gra.example"
leaf pmull-ascii-in pmull "otherName.1=$utf8:ceo@xn--mller-kva.example"
issue xdom "/O=EAI/CN=Exclude-Domain" eroot "$caki\nnameConstraints=critical,excluded;email:.xn--mller-kva.example"
leaf xdom-below xdom "otherName.1=$utf8:jürgen@mail.xn--mller-kva.example"
leaf xdom-other xdom "otherName.1=$utf8:jürgen@xn--bcker-gra.example"
issue pbox "/O=EAI/CN=Permit-Mailbox" eroot "$caki\nnameConstraints=critical,permitted;email:juergen@xn--mller-kva.example"
leaf pbox-utf8 pbox "otherName.1=$utf8:jürgen@xn--mller-kva.example"
leaf pbox-ascii pbox "otherName.1=$utf8:juergen@xn--mller-kva.example"
# An excluded mailbox binds every spelling its certificate is looked up by: names compare
# ASCII case-insensitively in their local parts, as every address of ours does.
issue xbox "/O=EAI/CN=Exclude-Mailbox" eroot "$caki\nnameConstraints=critical,excluded;email:Juergen@xn--mller-kva.example"
leaf xbox-utf8-ascii xbox "otherName.1=$utf8:Juergen@xn--mller-kva.example"
leaf xbox-upper xbox "email.1=JUERGEN@xn--mller-kva.example"
leaf xbox-other xbox "otherName.1=$utf8:jürgen@xn--mller-kva.example"
# Quotes the local part does not need: the same mailbox (the key drops them), bound alike.
leaf xbox-quoted xbox 'email.1=\"juergen\"@xn--mller-kva.example'
)SH";

test::openssl_pki::ScriptedPki& made_pki()
{
    static test::openssl_pki::ScriptedPki pki("eai", eai_script);
    return pki;
}

const fs::path& dir() { return made_pki().dir(); }

Certificate cert(const std::string& name) { return made_pki().cert(name); }

std::vector<std::string> addresses(const std::string& name)
{
    return facts(cert(name)).email_addresses;
}

// The key every lookup uses for an address as the envelope or a header gives it.
std::string key(const char* address)
{
    const auto a = EmailAddress::parse(address);
    CPPUNIT_ASSERT_MESSAGE(address, a.has_value());
    return a->key();
}

}  // namespace

class PkiEaiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PkiEaiTest);
    CPPUNIT_TEST(smtp_utf8_mailbox_is_an_address);
    CPPUNIT_TEST(a_label_rfc822_name_matches_u_label_address);
    CPPUNIT_TEST(both_forms_are_read);
    CPPUNIT_TEST(names_that_are_no_address_are_dropped);
    CPPUNIT_TEST(quoted_rfc822_name_is_its_mailbox);
    CPPUNIT_TEST(rfc822_constraints_bind_smtp_utf8_mailboxes);
    CPPUNIT_TEST(ascii_smtp_utf8_mailbox_is_its_rfc822_name);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { (void)dir(); }

    void smtp_utf8_mailbox_is_an_address()
    {
        const auto f = facts(cert("only-utf8"));
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, f.email_addresses.size());
        CPPUNIT_ASSERT_EQUAL(std::string("jürgen@xn--mller-kva.example"), f.email_addresses.front());
        CPPUNIT_ASSERT(f.has_address(key("jürgen@müller.example")));
        CPPUNIT_ASSERT(f.has_address(key("Jürgen <jürgen@xn--mller-kva.example>")));
        CPPUNIT_ASSERT(f.has_address(key("JÜRGEN@müller.example")));  // every letter without case
    }

    void a_label_rfc822_name_matches_u_label_address()
    {
        const auto f = facts(cert("a-label"));
        CPPUNIT_ASSERT(f.has_address(key("user@müller.example")));
        CPPUNIT_ASSERT(f.has_address(key("user@xn--mller-kva.example")));
    }

    void both_forms_are_read()
    {
        const std::vector<std::string> want{"jürgen@xn--mller-kva.example", "juergen@xn--mller-kva.example"};
        CPPUNIT_ASSERT(addresses("both") == want);
    }

    // Display names, a value without '@', another otherName type and invalid UTF-8 are no
    // addresses; the subject DN (no emailAddress here) is no fallback for them either.
    // A quoted local part that needs no quotes is the mailbox without them (RFC 5321 §4.1.2).
    void quoted_rfc822_name_is_its_mailbox()
    {
        CPPUNIT_ASSERT(facts(cert("xbox-quoted")).has_address(key("juergen@müller.example")));
    }

    void names_that_are_no_address_are_dropped()
    {
        CPPUNIT_ASSERT(addresses("not-addresses").empty());
        CPPUNIT_ASSERT(addresses("other-othername").empty());
        CPPUNIT_ASSERT(addresses("bad-utf8").empty());
    }

    // RFC 9598 §3 (as RFC 8398 §3): a SmtpUTF8Mailbox MUST NOT be used unless the local part
    // has non-ASCII characters, "due to name constraint compatibility": a verifier that knows
    // only rfc822Name would not constrain it. We constrain it (RFC 9598 §6, above), so the
    // name is what it says, one mailbox, read as its rfc822Name would be (OpenSSL's
    // X509_check_email matches it too; Go and NSS read no SmtpUTF8Mailbox at all). Refusing
    // the certificate, or the name, would only lose a correspondent to a CA's slip.
    void ascii_smtp_utf8_mailbox_is_its_rfc822_name()
    {
        const auto f = facts(cert("ascii-utf8"));
        CPPUNIT_ASSERT(f.email_addresses == std::vector<std::string>{"ceo@acme.example"});
        CPPUNIT_ASSERT(f.has_address(key("CEO@acme.example")));
    }

    void rfc822_constraints_bind_smtp_utf8_mailboxes()
    {
        struct { const char* ee; const char* ca; bool valid; } cases[] = {
            {"pmull-in", "pmull", true},
            {"pmull-out", "pmull", false},
            {"pmull-below", "pmull", false},  // a host subtree: that host only
            {"pmull-ascii-out", "pmull", false},  // an ASCII SmtpUTF8Mailbox is bound too
            {"pmull-ascii-in", "pmull", true},
            {"xdom-below", "xdom", false},
            {"xdom-other", "xdom", true},
            {"pbox-utf8", "pbox", false},  // a mailbox subtree names an ASCII local part
            {"pbox-ascii", "pbox", true},
            // Both are certificates for juergen@müller.example: the exclusion holds for them.
            {"xbox-utf8-ascii", "xbox", false},
            {"xbox-upper", "xbox", false},
            {"xbox-other", "xbox", true},
            {"xbox-quoted", "xbox", false},
        };
        const std::time_t now = std::time(nullptr);
        for (const auto& c : cases) {
            std::vector<Certificate> anchors, intermediates;
            anchors.push_back(cert("eroot"));
            intermediates.push_back(cert(c.ca));
            const TrustStore store(std::move(anchors), std::move(intermediates), Revocation::Off);
            const auto r = store.validate(cert(c.ee), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(c.ee) + ": " + r.describe();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.valid, r.valid());
            if (!c.valid) CPPUNIT_ASSERT_MESSAGE(msg, r.has(Problem::Constraints) && r.problems.size() == 1);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PkiEaiTest);
