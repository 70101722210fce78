// decrypt_envelope with the keys in a real SoftHSM token (hsm::KeyStore::decrypters(): raw
// RSA via CKM_RSA_X_509, ECDH via C_DeriveKey), on messages made by openssl cms: the
// partner identities dave (RSA), frank (P-256) and partner-domain (RSA) of the fixture PKI.
// The RFC 3218 cases must fail uniformly without disturbing the token (no re-login).
// One token per process: SoftHSM reads SOFTHSM2_CONF once.
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>

#include "hsm/key_store.h"
#include "smime/cms/decrypt.h"
#include "smime/cms/enveloped_decode.h"
#include "tests/unit/test_cms_decrypt_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::smime::cms;
namespace fs = std::filesystem;

namespace {

struct Token {
    std::unique_ptr<hsm::KeyStore> store;
    Token()
    {
        const fs::path dir = test::scratch_dir() / "token";
        test::run("sh '" + (test::source_dir() / "tests/fixtures/make-token.sh").string() + "' '" +
                  test::pki_dir().string() + "' '" + dir.string() + "' dave frank partner-domain >/dev/null");
        setenv("SOFTHSM2_CONF", (dir / "softhsm2.conf").c_str(), 1);
        hsm::TokenConfig c;
        c.module = "/usr/lib/softhsm/libsofthsm2.so";
        c.token_label = "ssm-test";
        c.pin_file = (dir / "pin").string();
        c.sessions = 2;
        store = hsm::KeyStore::open(c);
    }
};

Token& token()
{
    static Token t;
    return t;
}

Bytes plaintext()
{
    Bytes p(100000);
    for (std::size_t i = 0; i < p.size(); ++i) p[i] = std::uint8_t(i * 7 + 3);
    return p;
}

Bytes make_message(const std::string& args)
{
    const fs::path dir = test::scratch_dir();
    test::write_bytes(dir / "token-plain.bin", plaintext());
    test::openssl("cms -encrypt -binary -outform DER " + args + " -in '" + (dir / "token-plain.bin").string() +
                  "' -out '" + (dir / "token.der").string() + "'");
    return test::read_bytes(dir / "token.der");
}

}  // namespace

class CmsDecryptTokenTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsDecryptTokenTest);
    CPPUNIT_TEST(decrypts_with_token_keys);
    CPPUNIT_TEST(uniform_failures_leave_token_alone);
    CPPUNIT_TEST_SUITE_END();

public:
    void decrypts_with_token_keys()
    {
        const auto keys = token().store->decrypters();
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), keys.size());
        const struct {
            const char* args;
            const char* km;
            const char* cert;
        } cases[] = {
            {"-aes128 -recip dave.cert.pem", "ktri-rsa-pkcs1", "dave"},
            {"-stream -aes-256-gcm -keyid -recip partner-domain.cert.pem", "ktri-rsa-pkcs1", "partner-domain"},
            {"-des3 -recip dave.cert.pem -keyopt rsa_padding_mode:oaep", "ktri-rsa-oaep", "dave"},
            {"-stream -aes256 -recip dave.cert.pem -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256",
             "ktri-rsa-oaep", "dave"},
            {"-aes-128-gcm -recip frank.cert.pem", "kari-ecdh-p256", "frank"},
            {"-stream -aes256 -keyid -recip frank.cert.pem -keyopt ecdh_kdf_md:sha256", "kari-ecdh-p256", "frank"},
            {"-aes256 -recip alice.cert.pem -recip frank.cert.pem", "kari-ecdh-p256", "frank"},
        };
        for (const auto& c : cases) {
            Bytes got;
            const auto o = test::decrypt_bytes(make_message(c.args), keys, got);
            CPPUNIT_ASSERT_MESSAGE(c.args, o.status == DecryptStatus::Decrypted);
            CPPUNIT_ASSERT_MESSAGE(c.args, got == plaintext());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.args, std::string(c.km), o.key_management);
            CPPUNIT_ASSERT_MESSAGE(c.args, o.recipient_certificate_der ==
                                               test::read_bytes(test::pki_dir() / (std::string(c.cert) + ".cert.der")));
        }
        Bytes got;
        const auto o = test::decrypt_bytes(make_message("-aes256 -recip alice.cert.pem -recip bob.cert.pem"), keys, got);
        CPPUNIT_ASSERT(o.status == DecryptStatus::NotForUs);
    }

    void uniform_failures_leave_token_alone()
    {
        const auto keys = token().store->decrypters();
        const std::uint64_t relogins = token().store->relogin_count();
        Bytes random_key = make_message("-aes256 -recip dave.cert.pem");
        const Bytes ek = decode_enveloped_content_info(random_key).recipients.at(0).keys.at(0).encrypted_key;
        Bytes junk(ek.size());
        for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = std::uint8_t(i * 37 + 11);
        junk[0] = 0;
        std::copy(junk.begin(), junk.end(), std::search(random_key.begin(), random_key.end(), ek.begin(), ek.end()));
        Bytes tag = make_message("-aes-256-gcm -recip frank.cert.pem");
        tag.back() ^= 1;
        Bytes point = make_message("-aes-256-gcm -recip frank.cert.pem");
        const Bytes pub = decode_enveloped_content_info(point).recipients.at(0).originator_public_key;
        Bytes off_curve = pub;
        off_curve.back() ^= 1;  // no longer on P-256: refused before the token
        std::copy(off_curve.begin(), off_curve.end(), std::search(point.begin(), point.end(), pub.begin(), pub.end()));
        for (const Bytes* der : {&random_key, &tag, &point}) {
            Bytes got;
            try {
                test::decrypt_bytes(*der, keys, got);
                CPPUNIT_FAIL("decrypted");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::CryptographicFailure);
                CPPUNIT_ASSERT_EQUAL(std::string(kDecryptFailureText), std::string(e.what()));
            }
        }
        CPPUNIT_ASSERT_EQUAL(relogins, token().store->relogin_count());
        Bytes got;  // and the token still works
        CPPUNIT_ASSERT(test::decrypt_bytes(make_message("-aes128 -recip dave.cert.pem"), keys, got).status ==
                       DecryptStatus::Decrypted);
        CPPUNIT_ASSERT(got == plaintext());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsDecryptTokenTest);
