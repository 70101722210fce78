// The covering rule of milter/decryption_scope.h: which envelope recipients a key on the token
// may open mail for (a person's key its own address, a domain key every address of the
// domain, a list agent's key the list address), over certificates of the test PKI.
#include <cppunit/extensions/HelperMacros.h>

#include "base/error.h"
#include "milter/config.h"
#include "milter/decryption_scope.h"
#include "pki/certificate.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

const std::string kConfig =
    "[hsm]\ntoken_label = \"t\"\n"
    "[[domain]]\nname = \"acme.example\"\n"
    "[[domain]]\nname = \"sub.acme.example\"\nsigning_identity = \"gateway@sub.acme.example\"\n"
    "[[mail_list]]\naddress = \"team@acme.example\"\nidentity = \"team-agent@acme.example\"\n"
    "members = [\"alice@acme.example\", \"carol@acme.example\"]\n";

EmailAddress addr(const char* s)
{
    auto a = EmailAddress::parse(s);
    if (!a) throw std::runtime_error(std::string("bad address ") + s);
    return *a;
}

// Only the certificate matters here: a key operation would be a test failure.
class CertificateOnly final : public smime::Decrypter {
public:
    explicit CertificateOnly(Bytes der) : m_der(std::move(der)) {}
    const Bytes& certificate_der() const override { return m_der; }
    smime::KeyType key_type() const override { return smime::KeyType::Rsa; }
    Bytes rsa_raw_decrypt(ByteView) override { throw Error(Failure::Internal, "no key operation expected"); }
    Bytes ecdh_derive(ByteView) override { throw Error(Failure::Internal, "no key operation expected"); }

private:
    Bytes m_der;
};

std::shared_ptr<smime::Decrypter> key(const std::string& name)
{
    return std::make_shared<CertificateOnly>(test::pki_der(name));
}

}  // namespace

class DecryptionScopeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(DecryptionScopeTest);
    CPPUNIT_TEST(person_key_covers_its_own_address_only);
    CPPUNIT_TEST(domain_key_covers_every_address_of_its_domain);
    CPPUNIT_TEST(list_key_covers_the_list_address);
    CPPUNIT_TEST(keys_must_cover_every_recipient);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { m_config = parse_config(kConfig, "scope.toml"); }

    void person_key_covers_its_own_address_only()
    {
        const std::vector<std::string> alice = {"alice@acme.example"};
        CPPUNIT_ASSERT(key_covers(alice, addr("alice@acme.example"), *m_config));
        CPPUNIT_ASSERT(key_covers(alice, addr("Alice@ACME.example"), *m_config));
        CPPUNIT_ASSERT(!key_covers(alice, addr("intern@acme.example"), *m_config));
        CPPUNIT_ASSERT(!key_covers(alice, addr("alice@sub.acme.example"), *m_config));
        CPPUNIT_ASSERT(!key_covers(alice, addr("team@acme.example"), *m_config));  // a list she is on
        CPPUNIT_ASSERT(!key_covers({}, addr("alice@acme.example"), *m_config));
    }

    void domain_key_covers_every_address_of_its_domain()
    {
        const std::vector<std::string> dca = {"domain-confidentiality-authority@acme.example"};
        CPPUNIT_ASSERT(key_covers(dca, addr("alice@acme.example"), *m_config));
        CPPUNIT_ASSERT(key_covers(dca, addr("intern@acme.example"), *m_config));
        CPPUNIT_ASSERT(!key_covers(dca, addr("x@sub.acme.example"), *m_config));  // another domain's mail
        CPPUNIT_ASSERT(!key_covers(dca, addr("dave@partner.example"), *m_config));
        // The [[domain]]'s signing identity (default domain-signing-authority@NAME) too.
        const std::vector<std::string> dsa = {"domain-signing-authority@acme.example"};
        CPPUNIT_ASSERT(key_covers(dsa, addr("intern@acme.example"), *m_config));
        CPPUNIT_ASSERT(!key_covers(dsa, addr("x@sub.acme.example"), *m_config));
        const std::vector<std::string> sub = {"gateway@sub.acme.example"};
        CPPUNIT_ASSERT(key_covers(sub, addr("x@sub.acme.example"), *m_config));
        CPPUNIT_ASSERT(!key_covers(sub, addr("x@acme.example"), *m_config));
        // A partner's domain key on our token names no recipient of ours.
        const std::vector<std::string> partner = {"domain-confidentiality-authority@partner.example"};
        CPPUNIT_ASSERT(!key_covers(partner, addr("alice@acme.example"), *m_config));
    }

    void list_key_covers_the_list_address()
    {
        const std::vector<std::string> agent = {"team-agent@acme.example"};
        CPPUNIT_ASSERT(key_covers(agent, addr("team@acme.example"), *m_config));
        CPPUNIT_ASSERT(!key_covers(agent, addr("alice@acme.example"), *m_config));  // a member
        CPPUNIT_ASSERT(!key_covers(agent, addr("intern@acme.example"), *m_config));
    }

    void keys_must_cover_every_recipient()
    {
        const std::vector<std::shared_ptr<smime::Decrypter>> keys = {key("alice"), key("carol"),
                                                                     key("domain-signing"), key("partner-domain")};
        const auto names = [&](const std::vector<EmailAddress>& rcpts) {
            std::string out;
            for (const auto& k : keys_covering(keys, rcpts, *m_config))
                out += pki::facts(*pki::Certificate::parse_der(k->certificate_der())).email_addresses.front() + " ";
            return out;
        };
        CPPUNIT_ASSERT_EQUAL(std::string("alice@acme.example domain-signing-authority@acme.example "),
                             names({addr("alice@acme.example")}));
        CPPUNIT_ASSERT_EQUAL(std::string("domain-signing-authority@acme.example "),
                             names({addr("intern@acme.example")}));
        // alice's key does not cover intern, carol's does not cover alice: only the domain's.
        CPPUNIT_ASSERT_EQUAL(std::string("domain-signing-authority@acme.example "),
                             names({addr("alice@acme.example"), addr("intern@acme.example")}));
        CPPUNIT_ASSERT_EQUAL(std::string("domain-signing-authority@acme.example "),
                             names({addr("alice@acme.example"), addr("carol@acme.example")}));
        const std::vector<std::shared_ptr<smime::Decrypter>> people = {key("alice"), key("carol")};
        CPPUNIT_ASSERT(keys_covering(people, {addr("alice@acme.example"), addr("carol@acme.example")}, *m_config)
                           .empty());
        CPPUNIT_ASSERT(keys_covering(people, {addr("intern@acme.example")}, *m_config).empty());
        CPPUNIT_ASSERT(keys_covering(people, {}, *m_config).empty());  // nobody to read it
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), keys_covering(people, {addr("carol@acme.example")}, *m_config).size());
    }

private:
    std::shared_ptr<const Config> m_config;
};

CPPUNIT_TEST_SUITE_REGISTRATION(DecryptionScopeTest);
