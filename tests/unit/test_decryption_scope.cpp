// The covering rule of milter/decryption_scope.h: which envelope recipients a key on the token
// may open mail for (a person's key its own address, a domain key every address of the
// domain, a list agent's key the list address), over certificates of the test PKI; and mail
// to several users with keys of their own (milter/own_keys.h), made by `openssl cms -encrypt`
// and opened with real private keys (in memory: test_cms_decrypt_support.h).
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cctype>

#include "base/error.h"
#include "milter/config.h"
#include "milter/decryption_scope.h"
#include "milter/own_keys.h"
#include "pki/certificate.h"
#include "tests/unit/test_cms_decrypt_support.h"
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

namespace {

// Our users with keys of their own: own1..own10@acme.example, own1..own6 RSA, own7..own10
// P-256 (ECDH), issued by the fixture sub-CA with OpenSSL into test::pki_dir(), once.
constexpr int kUsers = 10;
constexpr int kFirstEc = 7;

std::string user(int i) { return "own" + std::to_string(i); }

void issue_users()
{
    static const bool done = [] {
        std::string cmd = "cd '" + test::pki_dir().string() + "' && export OPENSSL_CONF=/dev/null && for i in";
        for (int i = 1; i <= kUsers; ++i) cmd += " " + std::to_string(i);
        cmd += "; do n=own$i; "
               "if [ $i -ge " + std::to_string(kFirstEc) + " ]; then "
               "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $n.key.pem; ku=keyAgreement; "
               "else openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $n.key.pem; ku=keyEncipherment; fi && "
               "printf '[ee]\\nbasicConstraints=critical,CA:false\\nkeyUsage=critical,%s\\n"
               "extendedKeyUsage=emailProtection\\nsubjectAltName=email:%s@acme.example\\n"
               "subjectKeyIdentifier=hash\\nauthorityKeyIdentifier=keyid\\n' $ku $n > $n.ext && "
               "openssl req -new -key $n.key.pem -subj /CN=$n@acme.example -out $n.csr && "
               "openssl x509 -req -in $n.csr -CA sub-ca.cert.pem -CAkey sub-ca.key.pem "
               "-set_serial 0x$(openssl rand -hex 12) -days 30 -extfile $n.ext -extensions ee -out $n.cert.pem && "
               "openssl x509 -in $n.cert.pem -outform DER -out $n.cert.der || exit 1; done >/dev/null 2>&1";
        test::run(cmd);
        return true;
    }();
    (void)done;
}

// `openssl cms -encrypt` of the file `plain` (in pki_dir) to users `from`..`to` with
// `options` (cipher; -keyopt after a user's -recip applies to that user), DER into `out`.
void encrypt_to(const std::string& out, int from, int to, const std::string& options,
                const std::string& plain = "plain.txt", const std::string& oaep_users = "")
{
    issue_users();
    std::string recips;
    for (int i = from; i <= to; ++i) {
        recips += " -recip " + user(i) + ".cert.pem";
        if (oaep_users.find("," + std::to_string(i) + ",") != std::string::npos)
            recips += " -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256";
    }
    test::openssl("cms -encrypt -binary " + options + " -in " + plain + " -outform DER -out " + out + recips);
}

void write_plain(const std::string& name, const std::string& text)
{
    test::write_bytes(test::pki_dir() / name, to_bytes(text));
}

}  // namespace

class OwnKeysTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(OwnKeysTest);
    CPPUNIT_TEST(ten_recipients_one_key_operation_each);
    CPPUNIT_TEST(rsa_oaep_and_ecdh_auth_enveloped);
    CPPUNIT_TEST(copied_recipient_info_fails);
    CPPUNIT_TEST(invalid_key_block_is_a_mismatch);
    CPPUNIT_TEST(a_recipient_not_named_uses_no_key);
    CPPUNIT_TEST(too_many_recipients_uses_no_key);
    CPPUNIT_TEST(envelope_duplicates_one_key_operation);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override
    {
        m_config = parse_config(kConfig, "scope.toml");
        issue_users();
        m_keys.clear();
        m_soft.clear();
        for (int i = 1; i <= kUsers; ++i) {
            m_soft.push_back(test::SoftDecrypter::load(test::pki_dir() / (user(i) + ".key.pem"),
                                                       test::pki_dir() / (user(i) + ".cert.der")));
            m_keys.push_back(m_soft.back());
        }
        m_keys.push_back(test::soft_key("alice"));  // another user's key on the token
        write_plain("plain.txt", kText);
    }

    void ten_recipients_one_key_operation_each()
    {
        // Above the old limit of 8 (until 2026-12-02 left encrypted); each key used once, the
        // RSA and the ECDH ones alike, and the content is what openssl encrypted.
        encrypt_to("ten-cbc.der", 1, kUsers, "-aes-256-cbc");
        const auto d = open("ten-cbc.der", recipients(1, kUsers));
        CPPUNIT_ASSERT(d.has_value());
        CPPUNIT_ASSERT(d->status == smime::cms::DecryptStatus::Decrypted);
        CPPUNIT_ASSERT_EQUAL(std::string("aes256-cbc"), d->cipher_name);
        CPPUNIT_ASSERT_EQUAL(kText, m_plain);
        for (const auto& k : m_soft) CPPUNIT_ASSERT_EQUAL(1, k->raw_calls);
    }

    void rsa_oaep_and_ecdh_auth_enveloped()
    {
        // AuthEnvelopedData (AES-GCM) to RSA v1.5, RSA-OAEP and ECDH recipients.
        encrypt_to("ten-gcm.der", 1, kUsers, "-aes-128-gcm", "plain.txt", ",2,4,6,");
        auto d = open("ten-gcm.der", recipients(1, kUsers));
        CPPUNIT_ASSERT(d && d->auth_enveloped);
        CPPUNIT_ASSERT_EQUAL(std::string("aes128-gcm"), d->cipher_name);
        CPPUNIT_ASSERT_EQUAL(kText, m_plain);
        for (const auto& k : m_soft) CPPUNIT_ASSERT_EQUAL(1, k->raw_calls);
        // EnvelopedData with OAEP for some and ECDH for others, 9 of them.
        encrypt_to("nine-oaep.der", 2, kUsers, "-aes-192-cbc", "plain.txt", ",3,5,");
        d = open("nine-oaep.der", recipients(2, kUsers));
        CPPUNIT_ASSERT(d && !d->auth_enveloped);
        CPPUNIT_ASSERT_EQUAL(kText, m_plain);
    }

    void copied_recipient_info_fails()
    {
        // own9's RecipientInfo (ECDH) or own3's (RSA) copied in from another message to them:
        // the same recipient, another content key. Held like a bad padding (DecryptionFailed),
        // never opened for the others and never "not for us".
        write_plain("other.txt", "Content-Type: text/plain\r\n\r\nSomething else.\r\n");
        encrypt_to("ten-cbc.der", 1, kUsers, "-aes-256-cbc");
        encrypt_to("ten-gcm.der", 1, kUsers, "-aes-256-gcm");
        for (const int victim : {9, 3}) {
            for (const std::string base : {"ten-cbc", "ten-gcm"}) {
                const std::string cipher = base == "ten-cbc" ? "-aes-256-cbc" : "-aes-256-gcm";
                encrypt_to("donor.der", victim, victim, cipher, "other.txt");
                splice(base + ".der", "donor.der", victim, "spliced.der");
                setUp();
                CPPUNIT_ASSERT_THROW(open("spliced.der", recipients(1, kUsers)), smime::cms::DecryptionFailed);
                for (const auto& k : m_soft) CPPUNIT_ASSERT_EQUAL(1, k->raw_calls);  // all named, all used
            }
        }
    }

    void invalid_key_block_is_a_mismatch()
    {
        // RFC 3218: a PKCS#1 v1.5 block that does not decode yields a random key: one failure
        // like any other, after the whole content.
        encrypt_to("ten-cbc.der", 1, kUsers, "-aes-256-cbc");
        Bytes der = test::read_bytes(test::pki_dir() / "ten-cbc.der");
        // The last octet of own1's encryptedKey: the 256-octet OCTET STRING after its rid.
        const Bytes serial = serial_of(1);
        auto at = std::search(der.begin(), der.end(), serial.begin(), serial.end());
        CPPUNIT_ASSERT(at != der.end());
        const std::uint8_t os256[] = {0x04, 0x82, 0x01, 0x00};
        at = std::search(at, der.end(), std::begin(os256), std::end(os256));
        CPPUNIT_ASSERT(at != der.end());
        at[4 + 255] ^= 0x01;
        test::write_bytes(test::pki_dir() / "bad-block.der", der);
        CPPUNIT_ASSERT_THROW(open("bad-block.der", recipients(1, kUsers)), smime::cms::DecryptionFailed);
    }

    void a_recipient_not_named_uses_no_key()
    {
        // own1..own9 named, own10 not: nothing decrypted, no key used (whether a key is tried
        // must not depend on another recipient's outcome).
        encrypt_to("nine.der", 1, kUsers - 1, "-aes-256-cbc");
        CPPUNIT_ASSERT(!open("nine.der", recipients(1, kUsers)));
        // alice has a key on the token, but the message names not hers.
        auto rcpts = recipients(1, kUsers - 1);
        rcpts.push_back(addr("alice@acme.example"));
        CPPUNIT_ASSERT(!open("nine.der", rcpts));
        for (const auto& k : m_soft) CPPUNIT_ASSERT_EQUAL(0, k->raw_calls);
    }

    void too_many_recipients_uses_no_key()
    {
        // Above kMaxOwnKeyRecipients nothing is tried: the token work is bounded.
        encrypt_to("ten-cbc.der", 1, kUsers, "-aes-256-cbc");
        auto rcpts = recipients(1, kUsers);
        while (rcpts.size() <= kMaxOwnKeyRecipients) rcpts.push_back(rcpts[rcpts.size() % kUsers]);
        CPPUNIT_ASSERT(!open("ten-cbc.der", rcpts));
        for (const auto& k : m_soft) CPPUNIT_ASSERT_EQUAL(0, k->raw_calls);
    }

    void envelope_duplicates_one_key_operation()
    {
        // RCPT TO own1 and own9 twice (the MTA passes duplicates to the milter): still one
        // key operation per key, RSA (own1) and ECDH (own9) alike, not one per envelope entry.
        encrypt_to("ten-cbc.der", 1, kUsers, "-aes-256-cbc");
        auto rcpts = recipients(1, kUsers);
        rcpts.push_back(rcpts[0]);
        rcpts.push_back(rcpts[8]);
        const auto d = open("ten-cbc.der", rcpts);
        CPPUNIT_ASSERT(d && d->status == smime::cms::DecryptStatus::Decrypted);
        CPPUNIT_ASSERT_EQUAL(kText, m_plain);
        for (const auto& k : m_soft) CPPUNIT_ASSERT_EQUAL(1, k->raw_calls);
    }

private:
    inline static const std::string kText =
        "Content-Type: text/plain\r\n\r\nFor all ten of you: the figures for Q3.\r\n";

    std::vector<EmailAddress> recipients(int from, int to)
    {
        std::vector<EmailAddress> out;
        for (int i = from; i <= to; ++i) out.push_back(addr((user(i) + "@acme.example").c_str()));
        return out;
    }

    Bytes serial_of(int i)
    {
        test::openssl("x509 -in " + user(i) + ".cert.pem -noout -serial -out serial.txt");
        std::string hex = test::read_file(test::pki_dir() / "serial.txt");
        hex = hex.substr(hex.find('=') + 1);
        Bytes out;
        for (std::size_t j = 0; j + 1 < hex.size() && std::isxdigit(static_cast<unsigned char>(hex[j])); j += 2)
            out.push_back(std::uint8_t(std::stoi(hex.substr(j, 2), nullptr, 16)));
        return out;
    }

    void splice(const std::string& target, const std::string& donor, int victim, const std::string& out)
    {
        test::openssl("x509 -in " + user(victim) + ".cert.pem -noout -serial -out serial.txt");
        const std::string d = test::pki_dir().string() + "/";
        test::run("python3 '" + (test::source_dir() / "tests/fixtures/splice_recipient_info.py").string() + "' '" +
                  d + target + "' '" + d + donor + "' \"$(cat '" + d + "serial.txt')\" '" + d + out + "'");
    }

    std::optional<smime::cms::DecryptOutcome> open(const std::string& file, const std::vector<EmailAddress>& rcpts)
    {
        Spool der(test::scratch_dir().string(), 1 << 20), plain(test::scratch_dir().string(), 1 << 20);
        der.write(test::read_bytes(test::pki_dir() / file));
        auto d = decrypt_for_each_recipient(der, m_keys, rcpts, *m_config, plain);
        MemorySink sink;
        auto r = plain.reader();
        copy_stream(*r, sink);
        m_plain.assign(sink.data().begin(), sink.data().end());
        return d;
    }

    std::shared_ptr<const Config> m_config;
    std::vector<std::shared_ptr<test::SoftDecrypter>> m_soft;
    std::vector<std::shared_ptr<smime::Decrypter>> m_keys;
    std::string m_plain;
};

CPPUNIT_TEST_SUITE_REGISTRATION(OwnKeysTest);
