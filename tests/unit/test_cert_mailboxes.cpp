// Unit tests for the addresses a certificate is for, as pki/ (trust, directory look-ups) and
// hsm/ (our own keys on the token) read them: one rule (base/certificate_mailboxes.h), the
// same answer from both for every shape of certificate. Every certificate is made by openssl.
#include <cppunit/extensions/HelperMacros.h>

#include <string>
#include <vector>

#include <gnutls/crypto.h>

#include "base/certificate_mailboxes.h"
#include "hsm/cert_facts.h"
#include "pki/certificate.h"
#include "tests/unit/test_pki_support.h"

using namespace ssm;

namespace {

// leaf NAME SUBJECT [SAN-SECTION-LINES]: an end-entity certificate under mroot.
const char* mailbox_script = R"SH(
utf8='1.3.6.1.5.5.7.8.9;FORMAT:UTF8,UTF8'
key mroot; csr mroot "/O=Mailboxes/CN=Mailbox-Root"; self mroot "$ca"
leaf() {
  key "$1"; csr "$1" "$2"
  if [ $# -ge 3 ]; then cross "$1" "$1" mroot "$ee\nsubjectAltName=@alt\n[alt]\n$3"; else cross "$1" "$1" mroot "$ee"; fi
}
leaf san-and-dn "/CN=A/emailAddress=dn@acme.example" "email.1=San@acme.example"
leaf dn-only "/CN=B/emailAddress=Legacy@acme.example/emailAddress=second@acme.example"
leaf dns-only-san "/CN=C/emailAddress=dn@acme.example" "DNS.1=host.acme.example"
leaf display-name-san "/CN=D/emailAddress=dave@acme.example" "email.1=dave partner@partner.example"
leaf bogus-a-label-san "/CN=E/emailAddress=dave@acme.example" "email.1=dave@xn--zz.example"
# u + U+0308 (decomposed), and KELVIN SIGN + "ate"
leaf utf8-decomposed "/CN=F/emailAddress=dn@acme.example" "otherName.1=$utf8:jürgen@xn--mller-kva.example"
leaf utf8-ascii "/CN=G" "otherName.1=$utf8:Juergen@xn--mller-kva.example"
leaf kelvin "/CN=H/emailAddress=kate@acme.example" "otherName.1=$utf8:Kate@acme.example"
leaf dn-bogus "/CN=I/emailAddress=dave@xn--a.example"
# RFC 9598 3: a SmtpUTF8Mailbox's domain is A-labels. U-labels are refused, not converted:
# the UTS 46 mapping would read the fullwidth one as acme.example.
leaf utf8-u-label-domain "/CN=J/emailAddress=dn@acme.example" "otherName.1=$utf8:jürgen@müller.example"
leaf utf8-fullwidth-domain "/CN=K" "otherName.1=$utf8:jürgen@ａｃｍｅ.example\nemail.1=ok@acme.example"
# Read only by refusal_logged_once_per_certificate (the log remembers certificates per process).
leaf logged-once-a "/CN=L" "otherName.1=$utf8:lena@bücher.example\notherName.2=$utf8:lars@bücher.example"
leaf logged-once-b "/CN=M" "otherName.1=$utf8:mia@bücher.example"
)SH";

test::openssl_pki::ScriptedPki& made_pki()
{
    static test::openssl_pki::ScriptedPki pki("mailboxes", mailbox_script);
    return pki;
}

std::vector<std::string> pki_addresses(const std::string& name)
{
    return pki::facts(made_pki().cert(name)).email_addresses;
}

std::vector<std::string> hsm_addresses(const std::string& name)
{
    const auto cert = hsm::X509Cert::parse_der(made_pki().cert(name).der());
    CPPUNIT_ASSERT_MESSAGE(name, cert.has_value());
    return hsm::cert_facts(*cert).email_addresses;
}

std::string join(const std::vector<std::string>& v)
{
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
    return out;
}

}  // namespace

class CertMailboxesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CertMailboxesTest);
    CPPUNIT_TEST(pki_and_hsm_read_the_same_addresses);
    CPPUNIT_TEST(refusal_logged_once_per_certificate);
    CPPUNIT_TEST_SUITE_END();

public:
    void pki_and_hsm_read_the_same_addresses()
    {
        struct { const char* cert; const char* addresses; } cases[] = {
            {"san-and-dn", "san@acme.example"},  // the SAN speaks; the DN's address is not added
            {"dn-only", "legacy@acme.example second@acme.example"},  // no SAN: the legacy DN
            {"dns-only-san", "dn@acme.example"},  // a SAN that names no address: the DN
            // The SAN names an address we drop (no addr-spec; a bogus A-label): the DN's
            // address, which that CA may not have checked, does not stand in for it.
            {"display-name-san", ""},
            {"bogus-a-label-san", ""},
            {"utf8-decomposed", "jürgen@xn--mller-kva.example"},  // NFC key
            // RFC 9598 §3 wants an rfc822Name for an ASCII local part; a SmtpUTF8Mailbox
            // naming one is read as that same mailbox (see ssm-milter.toml(5)).
            {"utf8-ascii", "juergen@xn--mller-kva.example"},
            {"kelvin", ""},  // KELVIN SIGN: no alias of kate, and no DN fallback either
            {"dn-bogus", ""},
            {"utf8-u-label-domain", ""},  // dropped, and the DN's address does not stand in
            {"utf8-fullwidth-domain", "ok@acme.example"},  // never jürgen@acme.example
        };
        for (const auto& c : cases) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string("pki: ") + c.cert, std::string(c.addresses), join(pki_addresses(c.cert)));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string("hsm: ") + c.cert, std::string(c.addresses), join(hsm_addresses(c.cert)));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string("base: ") + c.cert, std::string(c.addresses),
                                         join(certificate_mailbox_keys(made_pki().cert(c.cert).get())));
        }
    }

    // A refused SmtpUTF8Mailbox (U-label domain) is logged once per certificate and process,
    // however often the certificate is read (every look-up reads cached certificates again):
    // each of its refused names once (non-ASCII octets escaped), with its SHA-256 fingerprint.
    void refusal_logged_once_per_certificate()
    {
        test::TempDir dir;
        test::StderrCapture capture(dir.path() / "log");
        for (int round = 0; round < 2; ++round) {
            for (const char* name : {"logged-once-a", "logged-once-b"}) {
                CPPUNIT_ASSERT_EQUAL(std::string(), join(certificate_mailbox_keys(made_pki().cert(name).get())));
                CPPUNIT_ASSERT_EQUAL(std::string(), join(pki_addresses(name)));
            }
        }
        const std::string log = capture.finish();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t{3}, count(log, "certificate_address_refused"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t{1}, count(log, "name=lena@b"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t{1}, count(log, "name=lars@b"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t{1}, count(log, "name=mia@b"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t{2}, count(log, "certificate=" + sha256_of("logged-once-a")));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(log, std::size_t{1}, count(log, "certificate=" + sha256_of("logged-once-b")));
    }

private:
    static std::size_t count(const std::string& text, const std::string& needle)
    {
        std::size_t n = 0;
        for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
        return n;
    }

    // The certificate's SHA-256 fingerprint, by GnuTLS's hash of its DER (not the code under test).
    static std::string sha256_of(const std::string& name)
    {
        const Bytes der = made_pki().cert(name).der();
        std::array<unsigned char, 32> digest{};
        CPPUNIT_ASSERT_EQUAL(0, gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data(), der.size(), digest.data()));
        return to_hex(ByteView(digest.data(), digest.size()));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CertMailboxesTest);
