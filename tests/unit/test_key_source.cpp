// Several tokens at once ([hsm] and [[hsm.token]], PRODUCT §5): keys are found on each token in
// order, and a token that cannot be used makes every answer that may depend on it a temporary
// failure (451), never "no key". Two real SoftHSM2 tokens of one module in a temp folder.
#include <cppunit/extensions/HelperMacros.h>

#include "base/error.h"
#include "milter/config.h"
#include "milter/key_source.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

// Token "ssm-test" with alice and the domain key, token "ssm-second" with dave (same module,
// same token folder, same PIN).
struct TwoTokens : test::PkiToken {
    TwoTokens() : PkiToken("alice domain-signing")
    {
        test::run("SSM_TOKEN_LABEL=ssm-second sh '" + (test::source_dir() / "tests/fixtures/make-token.sh").string() +
                  "' '" + pki.string() + "' '" + token.string() + "' dave >/dev/null");
    }

    std::string config_text(const std::string& second_pin) const
    {
        return "[hsm]\ntoken_label = \"ssm-test\"\npin_file = \"" + pin_file() +
               "\"\n[[hsm.token]]\ntoken_label = \"ssm-second\"\npin_file = \"" + second_pin + "\"\n";
    }
};

TwoTokens& tokens()
{
    static TwoTokens t;
    return t;
}

bool throws_hsm_unavailable(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.failure() == Failure::HsmUnavailable;
    }
    return false;
}

}  // namespace

class KeySourceTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(KeySourceTest);
    CPPUNIT_TEST(configuration);
    CPPUNIT_TEST(keys_on_either_token);
    CPPUNIT_TEST(missing_token_is_temporary);
    CPPUNIT_TEST_SUITE_END();

public:
    void configuration()
    {
        const auto c = parse_config(tokens().config_text(tokens().pin_file()), "t.toml");
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, c->tokens().size());
        CPPUNIT_ASSERT_EQUAL(std::string("ssm-second"), c->tokens()[1].token_label);
        CPPUNIT_ASSERT_EQUAL(std::string("/usr/lib/softhsm/libsofthsm2.so"), c->tokens()[1].module);
        const std::pair<std::string, std::string> bad[] = {
            {"[hsm]\ntoken_label = \"a\"\n[[hsm.token]]\npin_file = \"/p\"\n", "needs token_label or token_serial"},
            {"[hsm]\ntoken_label = \"a\"\n[[hsm.token]]\ntoken_label = \"b\"\n", "needs pin_file or pin_credential"},
            {"[hsm]\ntoken_label = \"a\"\n[[hsm.token]]\ntoken_label = \"a\"\npin_file = \"/p\"\n",
             "names a token already configured"},
            {"[hsm]\ntoken_label = \"a\"\n[[hsm.token]]\ntoken_label = \"b\"\npin_file = \"/p\"\nlabel = \"x\"\n",
             "unknown key 'label' in [[hsm.token]]"},
            {"[hsm]\ntoken_label = \"a\"\n[hsm.token]\ntoken_label = \"b\"\n", "must be written [[hsm.token]]"},
        };
        for (const auto& [text, want] : bad) {
            try {
                parse_config(text, "t.toml");
                CPPUNIT_FAIL("accepted: " + text);
            } catch (const ConfigError& e) {
                CPPUNIT_ASSERT_MESSAGE(std::string(e.what()) + " / want " + want,
                                       std::string(e.what()).find(want) != std::string::npos);
            }
        }
    }

    void keys_on_either_token()
    {
        const auto c = parse_config(tokens().config_text(tokens().pin_file()), "t.toml");
        const auto keys = make_key_source(c->tokens());
        keys->ensure_available();
        const auto alice = keys->signer_for(*EmailAddress::parse("alice@acme.example"));
        const auto dave = keys->signer_for(*EmailAddress::parse("dave@partner.example"));
        CPPUNIT_ASSERT(alice && dave);
        CPPUNIT_ASSERT(alice->certificate_der() != dave->certificate_der());
        // Each key signs in its own token.
        const Bytes hash(32, 0x5a);
        CPPUNIT_ASSERT(!dave->sign_digest(smime::SignatureScheme::RsaPkcs1v15, smime::DigestAlgorithm::Sha256, hash).empty());
        CPPUNIT_ASSERT(!alice->sign_digest(smime::SignatureScheme::RsaPkcs1v15, smime::DigestAlgorithm::Sha256, hash).empty());
        CPPUNIT_ASSERT(!keys->signer_for(*EmailAddress::parse("nobody@acme.example")));
        // The decrypters of both tokens (alice's and dave's RSA keys at least).
        std::size_t with_dave = 0;
        for (const auto& d : keys->decrypters()) with_dave += d->certificate_der() == dave->certificate_der();
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, with_dave);
    }

    void missing_token_is_temporary()
    {
        // The second token's PIN file does not exist: that token cannot be opened.
        const auto c = parse_config(tokens().config_text("/nonexistent/pin"), "t.toml");
        const auto keys = make_key_source(c->tokens());
        // A key on the working token is still found (asked first) ...
        CPPUNIT_ASSERT(keys->signer_for(*EmailAddress::parse("alice@acme.example")));
        // ... but a key that may be on the missing one is a temporary failure, not "none".
        CPPUNIT_ASSERT(throws_hsm_unavailable([&] { keys->signer_for(*EmailAddress::parse("dave@partner.example")); }));
        CPPUNIT_ASSERT(throws_hsm_unavailable([&] { keys->signer_for(*EmailAddress::parse("nobody@acme.example")); }));
        CPPUNIT_ASSERT(throws_hsm_unavailable([&] { keys->decrypters(); }));
        CPPUNIT_ASSERT(throws_hsm_unavailable([&] { keys->ensure_available(); }));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KeySourceTest);
