// Unit tests for hsm/: a real SoftHSM2 token made by the fixture scripts (OpenSSL keys and
// certificates, imported with pkcs11-tool and p11tool), signatures verified by GnuTLS with
// the certificate's public key.
//
// pkcs11-helper is process-wide and SoftHSM reads SOFTHSM2_CONF once, at C_Initialize: the
// token and the main KeyStore are therefore made once per test process (a lazily created
// shared fixture); tests that open further stores (wrong PIN, wrong label) open them on the
// same, already initialised module, which is also what a configuration reload does.
#include <cppunit/extensions/HelperMacros.h>

#include <cctype>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <chrono>
#include <exception>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "base/error.h"
#include "base/gnutls_datum.h"
#include "hsm/key_match.h"
#include "hsm/key_store.h"
#include "hsm/raw_module.h"
#include "hsm/session_pool.h"
#include "hsm/sign_rate.h"
#include "base/spool.h"
#include "base/stream.h"
#include "smime/cms/verify.h"
#include "smime/sign.h"
#include "tests/unit/test_support.h"
#include "tools/ssmctl_hsm.h"

using namespace ssm;
using smime::DigestAlgorithm;
using smime::KeyType;
using smime::SignatureScheme;
namespace fs = std::filesystem;

namespace {

struct TokenFixture : test::PkiToken {
    hsm::TokenConfig config;
    std::unique_ptr<hsm::KeyStore> store;

    TokenFixture()
    {
        add_ed25519_identity();
        add_extractable_identity();
        add_smtp_utf8_identity();
        config.module = test::softhsm_module;
        config.token_label = "ssm-test";
        config.pin_file = pin_file();
        store = hsm::KeyStore::open(config);
    }

    // pkcs11-tool cannot import Ed25519 keys; p11tool (GnuTLS) can, and marks them sensitive
    // and not extractable. The certificate is made by OpenSSL under the test sub-CA.
    void add_ed25519_identity()
    {
        issue_identity("ed", "-algorithm ED25519", "ed@acme.example", "Ed@Acme.Example",
                       "digitalSignature");
        const std::string p = pki.string();
        const std::string p11 = "GNUTLS_PIN=123456 p11tool --provider " +
                                std::string(test::softhsm_module) +
                                " --login --write --label ed --id 06 ";
        test::run(p11 + "--mark-sign --load-privkey '" + p +
                  "/ed.key.pem' 'pkcs11:token=ssm-test' "
                  ">/dev/null 2>&1");
        test::run(p11 + "--load-certificate '" + p +
                  "/ed.cert.pem' 'pkcs11:token=ssm-test' "
                  ">/dev/null 2>&1");
    }

    // An extractable key, to see the start-up warning: the partner domain's encryption-only
    // certificate (keyUsage keyEncipherment), which must never be chosen for signing.
    void add_extractable_identity()
    {
        import_identity("partner-domain", "07", "--usage-sign --usage-decrypt --extractable");
    }

    // A signing identity named by a SmtpUTF8Mailbox alone (RFC 9598), no rfc822Name.
    void add_smtp_utf8_identity()
    {
        issue_identity("eai", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256", "eai", "", "digitalSignature",
                       "@alt\\n[alt]\\notherName.1=1.3.6.1.5.5.7.8.9;FORMAT:UTF8,UTF8:Jürgen@xn--mller-kva.example");
        import_identity("eai", "08", "--usage-sign");
    }
};

TokenFixture& fixture()
{
    static std::unique_ptr<TokenFixture> f = std::make_unique<TokenFixture>();
    return *f;
}

Bytes hash_of(DigestAlgorithm d, std::string_view text)
{
    const gnutls_digest_algorithm_t alg = d == DigestAlgorithm::Sha256   ? GNUTLS_DIG_SHA256
                                          : d == DigestAlgorithm::Sha384 ? GNUTLS_DIG_SHA384
                                                                         : GNUTLS_DIG_SHA512;
    Bytes out(smime::digest_size(d));
    gnutls_hash_fast(alg, text.data(), text.size(), out.data());
    return out;
}

// Verifies with the certificate's public key; true when GnuTLS accepts the signature.
using test::verify_signature;

std::shared_ptr<smime::Signer> signer(const char* address)
{
    return fixture().store->signer_for(*EmailAddress::parse(address));
}

const hsm::Identity* find_identity(const std::vector<hsm::Identity>& ids, const std::string& label)
{
    for (const auto& id : ids)
        if (id.label == label) return &id;
    return nullptr;
}

// Writes the certificate of CERT_NAME under ID with the private key of KEY_NAME (another
// identity's) under the same ID.
void import_foreign(const std::string& cert_name, const std::string& id, const std::string& key_name,
                    const std::string& key_flags)
{
    const std::string p11 = std::string("pkcs11-tool --module ") + test::softhsm_module +
                            " --token-label ssm-test --login --pin 123456 --id " + id + " --label " + cert_name +
                            " --write-object '" + (fixture().pki).string() + "/";
    test::run(p11 + key_name + ".p8.der' --type privkey " + key_flags + " >/dev/null 2>&1");
    test::run(p11 + cert_name + ".cert.der' --type cert >/dev/null 2>&1");
}

std::string schemes_text(const std::vector<SignatureScheme>& v)
{
    std::string out;
    for (auto s : v) out += (out.empty() ? "" : ",") + std::string(smime::scheme_name(s));
    return out;
}

bool contains(const std::vector<SignatureScheme>& v, SignatureScheme s)
{
    return std::find(v.begin(), v.end(), s) != v.end();
}

// pkcs11-tool imports no id-RSASSA-PSS PKCS#8: NAME.p8.der of the PKI folder (`pki`) is
// rewritten as the same RSAPrivateKey under rsaEncryption (on the token an RSA key is CKK_RSA
// either way; the certificate keeps its id-RSASSA-PSS key).
void p8_as_rsa_encryption(const fs::path& pki, const std::string& name)
{
    test::run("cd '" + pki.string() + "' && export OPENSSL_CONF=/dev/null && n='" + name + "' && "
              "at=$(openssl asn1parse -inform DER -in $n.p8.der | grep -m1 'prim: OCTET STRING' | cut -d: -f1) && "
              "openssl asn1parse -inform DER -in $n.p8.der -strparse $at -noout -out $n.rsa.der && "
              "openssl pkcs8 -topk8 -nocrypt -inform DER -in $n.rsa.der -outform DER -out $n.p8.der");
}

// The line of `ssmctl hsm list` (for `config`) that starts with `start`, which must be there.
std::string hsm_list_line(const hsm::TokenConfig& config, const std::string& start)
{
    std::ostringstream out, err;
    CPPUNIT_ASSERT_EQUAL(0, tools::hsm_list({config}, out, err));
    const std::size_t at = out.str().find(start);
    CPPUNIT_ASSERT_MESSAGE(start + " in:\n" + out.str(), at != std::string::npos);
    return out.str().substr(at, out.str().find('\n', at) - at);
}

}  // namespace

class HsmTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HsmTest);
    CPPUNIT_TEST(identities_listed);
    CPPUNIT_TEST(signatures_verify);
    CPPUNIT_TEST(tampered_hash_does_not_verify);
    CPPUNIT_TEST(ed25519_signs_message);
    CPPUNIT_TEST(domain_signing_identity_found);
    CPPUNIT_TEST(unknown_address_has_no_signer);
    CPPUNIT_TEST(smtp_utf8_mailbox_identity_found);
    CPPUNIT_TEST(signer_for_certificate_matches);
    CPPUNIT_TEST(misuse_is_rejected);
    CPPUNIT_TEST(chain_contains_sub_ca_only);
    CPPUNIT_TEST(wrong_pin_is_hsm_unavailable_and_store_recovers);
    CPPUNIT_TEST(wrong_label_is_hsm_unavailable);
    CPPUNIT_TEST(unreadable_pin_file_is_hsm_unavailable);
    CPPUNIT_TEST(concurrent_signatures_verify);
    CPPUNIT_TEST(signatures_run_on_pooled_sessions);
    CPPUNIT_TEST(hsm_list_output);
    CPPUNIT_TEST(hsm_list_fails_clearly);
    CPPUNIT_TEST(sign_rate);
    CPPUNIT_TEST(refused_pin_is_not_offered_again);
    CPPUNIT_TEST(relogin_refusal_is_remembered);
    CPPUNIT_TEST(login_lost_under_warm_sessions);
    CPPUNIT_TEST(pin_file_readable_by_others_is_warned);
    CPPUNIT_TEST(large_keys_and_every_digest_sign);
    CPPUNIT_TEST(key_not_the_certificates_never_used);
    CPPUNIT_TEST(vendor_key_types_are_not_compared);
    CPPUNIT_TEST(twin_keys_under_one_id);
    CPPUNIT_TEST(rsa_pss_key_gnutls_refuses_is_listed_not_used);
    CPPUNIT_TEST(rsa_pss_key_signs_pss_within_its_parameters_only);
    CPPUNIT_TEST(pool_session_left_with_an_operation_recovers);
    CPPUNIT_TEST(key_replaced_under_a_running_store);
    CPPUNIT_TEST(token_removed_and_returned);
    CPPUNIT_TEST_SUITE_END();

public:
    void identities_listed()
    {
        const auto ids = fixture().store->identities();
        struct {
            const char* label;
            const char* email;
            KeyType type;
            unsigned bits;
            std::uint8_t id;
        } expected[] = {
            {"alice", "alice@acme.example", KeyType::Rsa, 2048, 0x01},
            {"bob", "bob@acme.example", KeyType::Ec, 256, 0x02},
            {"carol", "carol@acme.example", KeyType::Rsa, 2048, 0x03},
            {"erin", "erin@acme.example", KeyType::Ec, 384, 0x04},
            {"domain-signing", "domain-signing-authority@acme.example", KeyType::Rsa, 2048, 0x05},
            {"ed", "ed@acme.example", KeyType::Ed25519, 256, 0x06},
            {"eai", "jürgen@xn--mller-kva.example", KeyType::Ec, 256, 0x08},  // a SmtpUTF8Mailbox
        };
        for (const auto& e : expected) {
            const hsm::Identity* id = find_identity(ids, e.label);
            CPPUNIT_ASSERT_MESSAGE(e.label, id != nullptr);
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, id->email_addresses.size());
            CPPUNIT_ASSERT_EQUAL(std::string(e.email), id->email_addresses[0]);
            CPPUNIT_ASSERT_MESSAGE(e.label, id->key_type == e.type);
            CPPUNIT_ASSERT_EQUAL(e.bits, id->key_bits);
            CPPUNIT_ASSERT_EQUAL(to_hex(Bytes{e.id}), to_hex(id->id));
            CPPUNIT_ASSERT_MESSAGE(e.label, id->has_private_key && id->key_can_sign);
            CPPUNIT_ASSERT_MESSAGE(e.label, !id->is_ca);
            CPPUNIT_ASSERT(id->not_after > std::time(nullptr));
        }
        const hsm::Identity* alice = find_identity(ids, "alice");
        CPPUNIT_ASSERT(contains(alice->sign_schemes, SignatureScheme::RsaPkcs1v15));
        CPPUNIT_ASSERT(contains(alice->sign_schemes, SignatureScheme::RsaPss));
        CPPUNIT_ASSERT(contains(find_identity(ids, "bob")->sign_schemes, SignatureScheme::Ecdsa));
        CPPUNIT_ASSERT(find_identity(ids, "bob")->key_can_derive);
        CPPUNIT_ASSERT(alice->key_can_decrypt);
        // Both import routes (p11tool, pkcs11-tool) make sensitive, non-extractable keys.
        CPPUNIT_ASSERT(!find_identity(ids, "ed")->key_extractable);
        CPPUNIT_ASSERT(!alice->key_extractable);  // pkcs11-tool imports sensitive keys too
        const hsm::Identity* partner = find_identity(ids, "partner-domain");
        CPPUNIT_ASSERT(partner != nullptr);
        CPPUNIT_ASSERT(partner->has_private_key && partner->key_can_sign &&
                       partner->key_extractable);
        CPPUNIT_ASSERT(partner->sign_schemes.empty());  // keyUsage keyEncipherment only

        const hsm::Identity* ca = find_identity(ids, "sub-ca");
        CPPUNIT_ASSERT(ca != nullptr);
        CPPUNIT_ASSERT(ca->is_ca && !ca->has_private_key && ca->sign_schemes.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("ff"), to_hex(ca->id));
        CPPUNIT_ASSERT_EQUAL(std::size_t{9}, ids.size());
    }

    void signatures_verify()
    {
        struct {
            const char* who;
            SignatureScheme scheme;
            DigestAlgorithm digest;
            gnutls_sign_algorithm_t gnutls;
            std::size_t size;  // 0: variable (DER)
        } cases[] = {
            {"alice@acme.example", SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256,
             GNUTLS_SIGN_RSA_SHA256, 256},
            {"alice@acme.example", SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha512,
             GNUTLS_SIGN_RSA_SHA512, 256},
            {"alice@acme.example", SignatureScheme::RsaPss, DigestAlgorithm::Sha256,
             GNUTLS_SIGN_RSA_PSS_SHA256, 256},
            {"alice@acme.example", SignatureScheme::RsaPss, DigestAlgorithm::Sha384,
             GNUTLS_SIGN_RSA_PSS_SHA384, 256},
            {"bob@acme.example", SignatureScheme::Ecdsa, DigestAlgorithm::Sha256,
             GNUTLS_SIGN_ECDSA_SHA256, 0},
            {"erin@acme.example", SignatureScheme::Ecdsa, DigestAlgorithm::Sha384,
             GNUTLS_SIGN_ECDSA_SHA384, 0},
        };
        for (const auto& c : cases) {
            const std::string what =
                std::string(c.who) + " " + std::string(smime::scheme_name(c.scheme));
            auto s = signer(c.who);
            CPPUNIT_ASSERT_MESSAGE(what, s != nullptr);
            for (int i = 0; i < 3; ++i) {  // ECDSA: several, so both r/s sign bits occur
                const Bytes hash = hash_of(c.digest, "message " + std::to_string(i));
                const Bytes sig = s->sign_digest(c.scheme, c.digest, hash);
                if (c.size)
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, c.size, sig.size());
                else
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::uint8_t{0x30}, sig.at(0));
                CPPUNIT_ASSERT_MESSAGE(what,
                                       verify_signature(s->certificate_der(), c.gnutls, hash, sig));
            }
        }
    }

    void tampered_hash_does_not_verify()
    {
        auto s = signer("alice@acme.example");
        Bytes hash = hash_of(DigestAlgorithm::Sha256, "x");
        const Bytes sig = s->sign_digest(SignatureScheme::RsaPss, DigestAlgorithm::Sha256, hash);
        hash[0] ^= 1;
        CPPUNIT_ASSERT(
            !verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_PSS_SHA256, hash, sig));
        // Bob's key does not verify Alice's signature.
        hash[0] ^= 1;
        CPPUNIT_ASSERT(
            verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_PSS_SHA256, hash, sig));
        CPPUNIT_ASSERT(!verify_signature(signer("carol@acme.example")->certificate_der(),
                                         GNUTLS_SIGN_RSA_PSS_SHA256, hash, sig));
    }

    void ed25519_signs_message()
    {
        auto s = signer("ed@acme.example");
        CPPUNIT_ASSERT(s != nullptr);
        CPPUNIT_ASSERT(s->key_type() == KeyType::Ed25519);
        const Bytes msg = to_bytes("signed attributes stand-in");
        const Bytes sig = s->sign_message(SignatureScheme::Ed25519, msg);
        CPPUNIT_ASSERT_EQUAL(std::size_t{64}, sig.size());
        CPPUNIT_ASSERT(
            verify_signature(s->certificate_der(), GNUTLS_SIGN_EDDSA_ED25519, msg, sig, false));
        CPPUNIT_ASSERT(!verify_signature(s->certificate_der(), GNUTLS_SIGN_EDDSA_ED25519,
                                         to_bytes("other"), sig, false));
    }

    void domain_signing_identity_found()
    {
        auto s = signer("domain-signing-authority@ACME.example");
        CPPUNIT_ASSERT(s != nullptr);
        const Bytes expected = to_bytes(test::read_file(fixture().pki / "domain-signing.cert.der"));
        CPPUNIT_ASSERT(s->certificate_der() == expected);
        // The same signer object is handed out again (one helper certificate per key).
        CPPUNIT_ASSERT(s == signer("domain-signing-authority@acme.example"));
    }

    void unknown_address_has_no_signer()
    {
        CPPUNIT_ASSERT(signer("nobody@acme.example") == nullptr);
        CPPUNIT_ASSERT(signer("dave@partner.example") == nullptr);  // not on the token
        // On the token with its key, but its keyUsage does not allow signatures.
        CPPUNIT_ASSERT(signer("domain-confidentiality-authority@partner.example") == nullptr);
    }

    // The token identity whose certificate names its address only as a SmtpUTF8Mailbox signs
    // for it, whether the domain is written with U-labels or A-labels.
    void smtp_utf8_mailbox_identity_found()
    {
        auto s = signer("jürgen@müller.example");
        CPPUNIT_ASSERT(s != nullptr);
        const Bytes expected = to_bytes(test::read_file(fixture().pki / "eai.cert.der"));
        CPPUNIT_ASSERT(s->certificate_der() == expected);
        CPPUNIT_ASSERT(s == signer("Jürgen@xn--mller-kva.example"));
        CPPUNIT_ASSERT(s == signer("JÜRGEN@müller.example"));  // every letter compares without case
    }

    void signer_for_certificate_matches()
    {
        const Bytes bob = to_bytes(test::read_file(fixture().pki / "bob.cert.der"));
        auto s = fixture().store->signer_for_certificate(bob);
        CPPUNIT_ASSERT(s != nullptr && s->key_type() == KeyType::Ec);
        const Bytes ca = to_bytes(test::read_file(fixture().pki / "sub-ca.cert.der"));
        CPPUNIT_ASSERT(fixture().store->signer_for_certificate(ca) == nullptr);  // no key
    }

    void misuse_is_rejected()
    {
        auto rsa = signer("alice@acme.example");
        const Bytes h256 = hash_of(DigestAlgorithm::Sha256, "m");
        CPPUNIT_ASSERT_THROW(
            rsa->sign_digest(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256, h256), Error);
        CPPUNIT_ASSERT_THROW(
            rsa->sign_digest(SignatureScheme::RsaPss, DigestAlgorithm::Sha384, h256), Error);
        CPPUNIT_ASSERT_THROW(rsa->sign_message(SignatureScheme::Ed25519, h256), Error);
        CPPUNIT_ASSERT_THROW(
            signer("ed@acme.example")
                ->sign_digest(SignatureScheme::Ed25519, DigestAlgorithm::Sha256, h256),
            Error);
        // The failures above never reached the token: the key still works.
        CPPUNIT_ASSERT(verify_signature(
            rsa->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h256,
            rsa->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h256)));
    }

    void chain_contains_sub_ca_only()
    {
        const Bytes sub = to_bytes(test::read_file(fixture().pki / "sub-ca.cert.der"));
        for (const char* who : {"alice@acme.example", "bob@acme.example", "ed@acme.example"}) {
            const auto chain = signer(who)->chain_der();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(who, std::size_t{1}, chain.size());
            CPPUNIT_ASSERT_MESSAGE(who, chain[0] == sub);
        }
    }

    void wrong_pin_is_hsm_unavailable_and_store_recovers()
    {
        auto& f = fixture();
        const fs::path bad = f.dir.path() / "bad.pin";
        test::write_file(bad, "999999\n");
        hsm::TokenConfig c = f.config;
        c.pin_file = bad.string();
        // Every key used once first, so each signer caches a key handle of the current login.
        for (const char* who : {"alice@acme.example", "bob@acme.example", "erin@acme.example"})
            signer(who)->sign_digest(
                signer(who)->key_type() == KeyType::Ec ? SignatureScheme::Ecdsa
                                                       : SignatureScheme::RsaPss,
                DigestAlgorithm::Sha256, hash_of(DigestAlgorithm::Sha256, who));
        const auto relogins_before = f.store->relogin_count();
        try {
            hsm::KeyStore::open(c);
            CPPUNIT_FAIL("opened with a wrong PIN");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::HsmUnavailable);
            const std::string m = e.what();
            CPPUNIT_ASSERT_MESSAGE(m, m.find("CKR_PIN_INCORRECT") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(m, m.find("'ssm-test'") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(m, m.find(test::softhsm_module) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(m, m.find(bad.string()) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(m, m.find("999999") == std::string::npos);
        }
        // The failed login closed the helper session the main store uses: every key must
        // still sign, with one re-login through the PIN hook. Without the login epochs of
        // helper_key.cpp each key fails once and logs in again, invalidating the others'
        // handles: measured 185 re-logins over this suite instead of 1.
        for (const char* who : {"alice@acme.example", "bob@acme.example", "erin@acme.example",
                                "alice@acme.example", "bob@acme.example"}) {
            auto s = signer(who);
            const Bytes h = hash_of(DigestAlgorithm::Sha256, who);
            const bool ec = s->key_type() == KeyType::Ec;
            const Bytes sig =
                s->sign_digest(ec ? SignatureScheme::Ecdsa : SignatureScheme::RsaPkcs1v15,
                               DigestAlgorithm::Sha256, h);
            CPPUNIT_ASSERT_MESSAGE(
                who,
                verify_signature(s->certificate_der(),
                                 ec ? GNUTLS_SIGN_ECDSA_SHA256 : GNUTLS_SIGN_RSA_SHA256, h, sig));
        }
        CPPUNIT_ASSERT_EQUAL(relogins_before + 1, f.store->relogin_count());
    }

    void wrong_label_is_hsm_unavailable()
    {
        hsm::TokenConfig c = fixture().config;
        c.token_label = "no-such-token";
        try {
            hsm::KeyStore::open(c);
            CPPUNIT_FAIL("opened a token that does not exist");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::HsmUnavailable);
            const std::string m = e.what();
            CPPUNIT_ASSERT_MESSAGE(m, m.find("'no-such-token'") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(m, m.find("not found") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(m, m.find("'ssm-test'") != std::string::npos);  // what is there
        }
        c = fixture().config;
        c.token_serial = "0000";
        CPPUNIT_ASSERT_THROW(hsm::KeyStore::open(c), Error);
        // The serial alone picks the token (PRODUCT §5: by label or serial), and a wrong one
        // is named in the error.
        const std::string serial = hsm::KeyStore::open(fixture().config)->token().serial;
        CPPUNIT_ASSERT(!serial.empty());
        c = fixture().config;
        c.token_label.clear();
        c.token_serial = serial;
        const auto by_serial = hsm::KeyStore::open(c);
        CPPUNIT_ASSERT_EQUAL(std::string("ssm-test"), by_serial->token().label);
        CPPUNIT_ASSERT(!by_serial->identities().empty());
        // A serial is hex as a rule: written in the other case it still names the token.
        std::string other_case = serial;
        for (char& ch : other_case) ch = std::isupper(static_cast<unsigned char>(ch)) ? char(std::tolower(ch)) : char(std::toupper(ch));
        CPPUNIT_ASSERT(hsm::token_matches("", other_case, "ssm-test", serial));
        CPPUNIT_ASSERT(!hsm::token_matches("SSM-TEST", "", "ssm-test", serial));  // labels are exact
        c.token_serial = "0000";
        try {
            hsm::KeyStore::open(c);
            CPPUNIT_FAIL("opened a token by a serial it does not have");
        } catch (const Error& e) {
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("serial 0000") != std::string::npos);
        }
        c = fixture().config;
        c.module = "/nonexistent/libpkcs11.so";
        try {
            hsm::KeyStore::open(c);
            CPPUNIT_FAIL("loaded a module that does not exist");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::HsmUnavailable);
            CPPUNIT_ASSERT(std::string(e.what()).find("/nonexistent/libpkcs11.so") !=
                           std::string::npos);
        }
    }

    void unreadable_pin_file_is_hsm_unavailable()
    {
        hsm::TokenConfig c = fixture().config;
        c.pin_file = (fixture().dir.path() / "missing.pin").string();
        try {
            hsm::KeyStore::open(c);
            CPPUNIT_FAIL("opened without a PIN");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::HsmUnavailable);
            CPPUNIT_ASSERT(std::string(e.what()).find(c.pin_file) != std::string::npos);
        }
        // A systemd credential instead (PRODUCT §5): $CREDENTIALS_DIRECTORY/NAME.
        c = fixture().config;
        c.pin_credential = "token.pin";
        ::unsetenv("CREDENTIALS_DIRECTORY");
        try {
            hsm::KeyStore::open(c);
            CPPUNIT_FAIL("opened a credential outside systemd");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::HsmUnavailable);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("CREDENTIALS_DIRECTORY") != std::string::npos);
        }
        const fs::path credentials = fixture().dir.path() / "credentials";
        fs::create_directories(credentials);
        fs::copy_file(fixture().config.pin_file, credentials / "token.pin", fs::copy_options::overwrite_existing);
        ::setenv("CREDENTIALS_DIRECTORY", credentials.c_str(), 1);
        c.pin_file = (fixture().dir.path() / "missing.pin").string();  // not read
        CPPUNIT_ASSERT(!hsm::KeyStore::open(c)->identities().empty());
        ::unsetenv("CREDENTIALS_DIRECTORY");
    }

    void concurrent_signatures_verify()
    {
        const int good = test::count_true_in_threads(4, 50, [&](int t, int i) {
            const int kind = (t + i) % 3;
            const char* who = kind == 0   ? "alice@acme.example"
                              : kind == 1 ? "bob@acme.example"
                                          : "carol@acme.example";
            auto s = signer(who);
            const Bytes h = hash_of(DigestAlgorithm::Sha256, std::to_string(t * 1000 + i));
            const auto scheme = kind == 1 ? SignatureScheme::Ecdsa
                                : i % 2   ? SignatureScheme::RsaPss
                                          : SignatureScheme::RsaPkcs1v15;
            const auto alg = kind == 1 ? GNUTLS_SIGN_ECDSA_SHA256
                             : i % 2   ? GNUTLS_SIGN_RSA_PSS_SHA256
                                       : GNUTLS_SIGN_RSA_SHA256;
            const Bytes sig = s->sign_digest(scheme, DigestAlgorithm::Sha256, h);
            return verify_signature(s->certificate_der(), alg, h, sig);
        });
        CPPUNIT_ASSERT_EQUAL(200, good);  // 4 threads x 50 signatures, none failed or threw
    }

    void signatures_run_on_pooled_sessions()
    {
        // PRODUCT §5: signatures of several threads run on the pool of our own sessions, not
        // queued on pkcs11-helper's one session: each one is an operation of the pool.
        auto& store = *fixture().store;
        const auto ops = store.token_operations();
        const auto relogins = store.relogin_count();
        const int good = test::count_true_in_threads(4, 10, [&](int t, int i) {
            auto s = signer("alice@acme.example");
            const Bytes h = hash_of(DigestAlgorithm::Sha256, "pooled " + std::to_string(t * 100 + i));
            const Bytes sig = s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h);
            return verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h, sig);
        });
        CPPUNIT_ASSERT_EQUAL(40, good);
        CPPUNIT_ASSERT_EQUAL(ops + 40, store.token_operations());
        CPPUNIT_ASSERT_EQUAL(relogins, store.relogin_count());
    }

    void hsm_list_output()
    {
        std::ostringstream out, err;
        CPPUNIT_ASSERT_EQUAL(0, tools::hsm_list({fixture().config}, out, err));
        const std::string s = out.str();
        const char* expected[] = {
            "token label=ssm-test serial=",
            "manufacturer=\"SoftHSM project\" model=\"SoftHSM v2\"",
            "certificate label=alice id=01 key=rsa-2048 email=alice@acme.example not_after=",
            "private_key=yes key_attributes=sign,decrypt extractable=no sign=rsa-pkcs1,rsa-pss "
            "decrypt=rsa-pkcs1,rsa-oaep\n",
            "certificate label=bob id=02 key=ec-p256 email=bob@acme.example",
            "key_attributes=sign,decrypt,derive extractable=no sign=ecdsa decrypt=ecdh\n",
            "certificate label=partner-domain id=07 key=rsa-2048 "
            "email=domain-confidentiality-authority@partner.example",
            "key_attributes=sign,decrypt extractable=yes sign=none decrypt=rsa-pkcs1,rsa-oaep\n",
            "certificate label=erin id=04 key=ec-p384 email=erin@acme.example",
            "certificate label=ed id=06 key=ed25519 email=ed@acme.example",
            "extractable=no sign=ed25519 decrypt=none\n",
            "certificate label=sub-ca id=ff key=rsa-2048 email=- not_after=",
            "ca=yes private_key=no sign=none decrypt=none\n",
        };
        for (auto e : expected)
            CPPUNIT_ASSERT_MESSAGE(std::string(e) + " in:\n" + s, s.find(e) != std::string::npos);
        CPPUNIT_ASSERT(s.find("label=alice id=01") < s.find("label=bob id=02"));  // by CKA_ID
        CPPUNIT_ASSERT(s.find("label=partner-domain id=07") < s.find("label=sub-ca id=ff"));
        CPPUNIT_ASSERT(err.str().empty());
    }

    void hsm_list_fails_clearly()
    {
        hsm::TokenConfig c = fixture().config;
        c.token_label = "absent";
        std::ostringstream out, err;
        CPPUNIT_ASSERT_EQUAL(2, tools::hsm_list({c}, out, err));
        CPPUNIT_ASSERT(out.str().empty());
        CPPUNIT_ASSERT(err.str().find("'absent'") != std::string::npos);
        CPPUNIT_ASSERT(err.str().find(test::softhsm_module) != std::string::npos);
        c = fixture().config;
        c.pin_file = "/nonexistent/pin";
        std::ostringstream out2, err2;
        CPPUNIT_ASSERT_EQUAL(2, tools::hsm_list({c}, out2, err2));
        CPPUNIT_ASSERT(err2.str().find("/nonexistent/pin") != std::string::npos);
    }

    void sign_rate()
    {
        using namespace std::chrono_literals;
        const double rsa =
            hsm::measure_sign_rate(*signer("alice@acme.example"), DigestAlgorithm::Sha256,
                                   SignatureScheme::RsaPkcs1v15, 500ms);
        const double pss = hsm::measure_sign_rate(
            *signer("alice@acme.example"), DigestAlgorithm::Sha256, SignatureScheme::RsaPss, 500ms);
        const double p256 = hsm::measure_sign_rate(
            *signer("bob@acme.example"), DigestAlgorithm::Sha256, SignatureScheme::Ecdsa, 500ms);
        std::cout << "  sign rate (SoftHSM, one session): rsa-2048 pkcs1 " << static_cast<int>(rsa)
                  << "/s, rsa-2048 pss " << static_cast<int>(pss) << "/s, p-256 ecdsa "
                  << static_cast<int>(p256) << "/s\n";
        CPPUNIT_ASSERT(rsa > 10 && pss > 10 && p256 > 10);
    }

    // A wrong PIN counts towards the token locking its user PIN, and the daemon reopens the
    // token for every message while it cannot be used: the same refused PIN is offered once,
    // then again only when the PIN file changes. SoftHSM 2.6.1 never locks, but it raises
    // CKF_USER_PIN_COUNT_LOW at a wrong try and clears it at a good login: the flag shows
    // whether the token was asked.
    void refused_pin_is_not_offered_again()
    {
        auto& f = fixture();
        auto module = hsm::RawModule::attach(test::softhsm_module);
        const auto slot = module.find_slot("ssm-test", "");
        CPPUNIT_ASSERT(slot.has_value());
        auto count_low = [&] {
            CK_TOKEN_INFO info{};
            CPPUNIT_ASSERT_EQUAL(CK_RV(CKR_OK), module.functions()->C_GetTokenInfo(*slot, &info));
            return (info.flags & CKF_USER_PIN_COUNT_LOW) != 0;
        };
        const fs::path file = f.dir.path() / "refused.pin";
        test::write_file(file, "888888\r\n");
        hsm::TokenConfig c = f.config;
        c.pin_file = file.string();
        auto open_fails = [&](const std::string& expected) {
            try {
                hsm::KeyStore::open(c);
                CPPUNIT_FAIL("opened with " + expected);
            } catch (const Error& e) {
                const std::string m = e.what();
                CPPUNIT_ASSERT_MESSAGE(m, e.failure() == Failure::HsmUnavailable);
                CPPUNIT_ASSERT_MESSAGE(m + " lacks " + expected, m.find(expected) != std::string::npos);
                CPPUNIT_ASSERT_MESSAGE(m, m.find(file.string()) != std::string::npos);
                CPPUNIT_ASSERT_MESSAGE(m, m.find("888888") == std::string::npos);
            }
        };
        open_fails("CKR_PIN_INCORRECT");
        CPPUNIT_ASSERT(count_low());
        hsm::KeyStore::open(f.config);  // the good PIN: the token forgets the wrong try
        CPPUNIT_ASSERT(!count_low());
        for (int i = 0; i < 3; ++i) open_fails("login not tried");
        CPPUNIT_ASSERT_MESSAGE("the refused PIN was offered again", !count_low());
        // The file changes (here only its time, as `touch` does): one more try.
        fs::last_write_time(file, fs::last_write_time(file) + std::chrono::seconds(2));
        open_fails("CKR_PIN_INCORRECT");
        CPPUNIT_ASSERT(count_low());
        open_fails("login not tried");
        // The right PIN in the file, CRLF and all: the store opens.
        test::write_file(file, "123456\r\n");
        CPPUNIT_ASSERT(!hsm::KeyStore::open(c)->identities().empty());
        CPPUNIT_ASSERT(!count_low());
        // An empty file (a truncated write) is never offered.
        test::write_file(file, "\n");
        open_fails("is empty");
        CPPUNIT_ASSERT(!count_low());
        // The fixture's store still signs (one re-login at most).
        auto s = signer("alice@acme.example");
        const Bytes h = hash_of(DigestAlgorithm::Sha256, "after refusals");
        CPPUNIT_ASSERT(verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h,
                                        s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h)));
    }

    // The token's user PIN changed under a running store (an officer's C_SetPIN; the PIN file
    // not yet rewritten) and the login lost: the helper's re-login offers the PIN read at open,
    // which the token refuses, one wrong try. That refusal is remembered like one at open:
    // a reopen with the unchanged PIN file does not offer it again (a second wrong try), nor
    // does the hook at the next signature; once the file changes, the token opens again.
    void relogin_refusal_is_remembered()
    {
        auto& f = fixture();
        auto module = hsm::RawModule::attach(test::softhsm_module);
        const auto slot = module.find_slot("ssm-test", "");
        CPPUNIT_ASSERT(slot.has_value());
        CK_FUNCTION_LIST_PTR fn = module.functions();
        CK_SESSION_HANDLE rw = CK_INVALID_HANDLE;
        CPPUNIT_ASSERT_EQUAL(CK_RV(CKR_OK),
                             fn->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &rw));
        auto count_low = [&] {
            CK_TOKEN_INFO info{};
            CPPUNIT_ASSERT_EQUAL(CK_RV(CKR_OK), fn->C_GetTokenInfo(*slot, &info));
            return (info.flags & CKF_USER_PIN_COUNT_LOW) != 0;
        };
        auto set_pin = [&](std::string from, std::string to) {
            const CK_RV login = fn->C_Login(rw, CKU_USER, reinterpret_cast<CK_UTF8CHAR*>(from.data()), from.size());
            CPPUNIT_ASSERT_MESSAGE(hsm::rv_name(login), login == CKR_OK || login == CKR_USER_ALREADY_LOGGED_IN);
            CPPUNIT_ASSERT_EQUAL(CK_RV(CKR_OK),
                                 fn->C_SetPIN(rw, reinterpret_cast<CK_UTF8CHAR*>(from.data()), from.size(),
                                              reinterpret_cast<CK_UTF8CHAR*>(to.data()), to.size()));
            // A logout ends the login of every session of this process (the store's too).
            CPPUNIT_ASSERT_EQUAL(CK_RV(CKR_OK), fn->C_Logout(rw));
        };
        auto s = signer("alice@acme.example");
        const Bytes h = hash_of(DigestAlgorithm::Sha256, "pin changed");
        CPPUNIT_ASSERT(verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h,
                                        s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h)));
        CPPUNIT_ASSERT(!count_low());
        // A second store of the token, as a reload leaves while messages still use the first:
        // after the logout below, its first signature logs in again through the hook.
        auto other = hsm::KeyStore::open(f.config);
        auto fresh = other->signer_for(*EmailAddress::parse("alice@acme.example"));
        CPPUNIT_ASSERT(fresh != nullptr);
        set_pin("123456", "654321");
        std::exception_ptr failed;  // rethrown once the token's PIN is restored
        try {
            // The re-login offers the old PIN: refused, one wrong try.
            CPPUNIT_ASSERT_THROW(fresh->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h), Error);
            CPPUNIT_ASSERT(count_low());
            // The daemon reopens the token after the failure; the file still holds that PIN.
            for (int i = 0; i < 2; ++i) {
                try {
                    hsm::KeyStore::open(f.config);
                    CPPUNIT_FAIL("opened with the old PIN");
                } catch (const Error& e) {
                    const std::string m = e.what();
                    CPPUNIT_ASSERT_MESSAGE(m, e.failure() == Failure::HsmUnavailable);
                    CPPUNIT_ASSERT_MESSAGE(m, m.find("login not tried") != std::string::npos);
                }
                // Nor does the hook offer it at the next signature.
                CPPUNIT_ASSERT_THROW(fresh->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h), Error);
            }
        } catch (...) {
            failed = std::current_exception();
        }
        // The token's PIN back as the file has it, the file touched (one try re-armed): the
        // token opens again, and the fixture's store is the reopened one.
        set_pin("654321", "123456");
        CPPUNIT_ASSERT_EQUAL(CK_RV(CKR_OK), fn->C_CloseSession(rw));
        const fs::path pin = f.config.pin_file;
        fs::last_write_time(pin, fs::last_write_time(pin) + std::chrono::seconds(2));
        s.reset();
        fresh.reset();
        other.reset();
        f.store = hsm::KeyStore::open(f.config);
        s = signer("alice@acme.example");
        CPPUNIT_ASSERT(verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h,
                                        s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h)));
        CPPUNIT_ASSERT(!count_low());
        if (failed) std::rethrow_exception(failed);
    }

    // The token forgets the login (a network HSM that reconnected, an idle logout; here
    // C_Logout, which ends the login of every session of the process) while the pooled
    // sessions hold key handles: the next use fails on the handle, then on the login; both
    // are repaired (one re-login through the PIN hook) and the signature is made, instead of
    // a failed message and a reopened token.
    void login_lost_under_warm_sessions()
    {
        auto& f = fixture();
        auto s = signer("carol@acme.example");
        const Bytes h = hash_of(DigestAlgorithm::Sha256, "login lost");
        auto sign = [&] { return s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h); };
        for (int i = 0; i < 4; ++i)  // every pooled session holds the key's handle
            CPPUNIT_ASSERT(verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h, sign()));
        auto module = hsm::RawModule::attach(test::softhsm_module);
        const auto slot = module.find_slot("ssm-test", "");
        CPPUNIT_ASSERT(slot.has_value());
        hsm::RawSession session(module, *slot);
        CPPUNIT_ASSERT_EQUAL(CK_RV(CKR_OK), module.functions()->C_Logout(session.handle()));
        const auto relogins = f.store->relogin_count();
        std::string failure;
        try {
            CPPUNIT_ASSERT(verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h, sign()));
        } catch (const Error& e) {
            failure = e.what();
        }
        CPPUNIT_ASSERT_EQUAL(std::string(), failure);
        CPPUNIT_ASSERT_EQUAL(relogins + 1, f.store->relogin_count());
        for (int i = 0; i < 4; ++i)
            CPPUNIT_ASSERT(verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h, sign()));
        CPPUNIT_ASSERT_EQUAL(relogins + 1, f.store->relogin_count());
    }

    // A PIN file others may read still opens the token (refusing would stop the mail of a
    // site that chmods wrong), but the start-up log says so; group-readable (0640, the
    // daemon's group) is the packaged layout and stays quiet.
    void pin_file_readable_by_others_is_warned()
    {
        auto& f = fixture();
        const fs::path file = f.dir.path() / "mode.pin";
        fs::copy_file(f.config.pin_file, file, fs::copy_options::overwrite_existing);
        hsm::TokenConfig c = f.config;
        c.pin_file = file.string();
        auto log_of_open = [&](fs::perms mode) {
            fs::permissions(file, mode);
            test::StderrCapture capture(f.dir.path() / "mode.log");
            CPPUNIT_ASSERT(!hsm::KeyStore::open(c)->identities().empty());
            return capture.finish();
        };
        const std::string loose = log_of_open(fs::perms::owner_read | fs::perms::owner_write |
                                              fs::perms::group_read | fs::perms::others_read);
        CPPUNIT_ASSERT_MESSAGE(loose, loose.find("hsm_pin_file_readable_by_others") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(loose, loose.find(file.string()) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(loose, loose.find("mode=0644") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(loose, loose.find("123456") == std::string::npos);
        const std::string tight = log_of_open(fs::perms::owner_read | fs::perms::group_read);
        CPPUNIT_ASSERT_MESSAGE(tight, tight.find("hsm_pin_file_readable_by_others") == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(tight, tight.find("hsm_token_opened") != std::string::npos);
    }

    // Signature sizes at the top of what we sign with (RSA-4096: 512 octets; P-521: r||s of
    // 2 x 66 octets) and every digest with every curve: each signature verifies, so neither
    // the buffer nor the check of each signature refuses a good one.
    void large_keys_and_every_digest_sign()
    {
        auto& f = fixture();
        f.issue_identity("big-rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:4096", "big-rsa", "big-rsa@acme.example",
                         "digitalSignature");
        f.import_identity("big-rsa", "31", "--usage-sign");
        f.issue_identity("big-ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-521", "big-ec", "big-ec@acme.example",
                         "digitalSignature");
        f.import_identity("big-ec", "32", "--usage-sign");
        const auto store = hsm::KeyStore::open(f.config);
        const struct {
            const char* who;
            SignatureScheme scheme;
            std::size_t size;  // 0: DER
        } keys[] = {
            {"big-rsa@acme.example", SignatureScheme::RsaPkcs1v15, 512},
            {"big-rsa@acme.example", SignatureScheme::RsaPss, 512},
            {"big-ec@acme.example", SignatureScheme::Ecdsa, 0},
            {"bob@acme.example", SignatureScheme::Ecdsa, 0},
            {"erin@acme.example", SignatureScheme::Ecdsa, 0},
        };
        for (const auto& k : keys) {
            auto s = store->signer_for(*EmailAddress::parse(k.who));
            CPPUNIT_ASSERT_MESSAGE(k.who, s != nullptr);
            for (DigestAlgorithm d : {DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512}) {
                const std::string what = std::string(k.who) + " " + std::string(smime::digest_name(d));
                const gnutls_digest_algorithm_t gd = d == DigestAlgorithm::Sha256   ? GNUTLS_DIG_SHA256
                                                     : d == DigestAlgorithm::Sha384 ? GNUTLS_DIG_SHA384
                                                                                    : GNUTLS_DIG_SHA512;
                const gnutls_pk_algorithm_t pk = k.scheme == SignatureScheme::Ecdsa ? GNUTLS_PK_ECDSA
                                                 : k.scheme == SignatureScheme::RsaPss ? GNUTLS_PK_RSA_PSS
                                                                                       : GNUTLS_PK_RSA;
                const Bytes h = hash_of(d, what);
                const Bytes sig = s->sign_digest(k.scheme, d, h);
                if (k.size) CPPUNIT_ASSERT_EQUAL_MESSAGE(what, k.size, sig.size());
                CPPUNIT_ASSERT_MESSAGE(what, verify_signature(s->certificate_der(), gnutls_pk_to_sign(pk, gd), h, sig));
            }
        }
    }

    // Key selection goes by CKA_ID, and pkcs11-tool writes whatever id it is given: a
    // certificate whose CKA_ID holds another key (a copy-paste slip, a token re-initialised
    // and filled again) must never yield a signature or a decryption with that other key.
    // RSA: the key's CKA_MODULUS is the certificate's or the key is not its; EC: the key's
    // curve is the certificate's, and a key of the same curve is caught by a test signature at
    // start (hsm/key_proof.h) and, should it change later, by checking each signature with the
    // certificate before it leaves (key_replaced_under_a_running_store).
    // Older tokens (before PKCS#11 3.0) mark Ed25519 keys with vendor codes: such a key is not
    // refused for its type (the type check as first added refused it, and the certificate lost
    // its key).
    void vendor_key_types_are_not_compared()
    {
        CPPUNIT_ASSERT(hsm::key_type_matches(CKK_RSA, CKK_RSA));
        CPPUNIT_ASSERT(hsm::key_type_matches(CKK_EC_EDWARDS, CKK_EC_EDWARDS));
        CPPUNIT_ASSERT(!hsm::key_type_matches(CKK_EC, CKK_RSA));
        CPPUNIT_ASSERT(!hsm::key_type_matches(CKK_RSA, CKK_EC_EDWARDS));
        CPPUNIT_ASSERT(hsm::key_type_matches(CKK_VENDOR_DEFINED | 0x4, CKK_EC_EDWARDS));
        CPPUNIT_ASSERT(hsm::key_type_matches(CKK_VENDOR_DEFINED, CKK_RSA));
    }

    void key_not_the_certificates_never_used()
    {
        auto& f = fixture();
        const std::string ec256 = "-algorithm EC -pkeyopt ec_paramgen_curve:P-256";
        f.issue_identity("mism-rsa", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "mism-rsa", "mism-rsa@acme.example",
                         "digitalSignature,keyEncipherment");
        f.issue_identity("mism-ec", ec256, "mism-ec", "mism-ec@acme.example", "digitalSignature,keyAgreement");
        f.issue_identity("mism-curve", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384", "mism-curve",
                         "mism-curve@acme.example", "digitalSignature,keyAgreement");
        // Each certificate under its id, and under that id another identity's key.
        import_foreign("mism-rsa", "21", "carol", "--usage-sign --usage-decrypt");
        import_foreign("mism-ec", "22", "bob", "--usage-sign --usage-derive");
        import_foreign("mism-curve", "23", "bob", "--usage-sign --usage-derive");
        const auto store = hsm::KeyStore::open(f.config);  // a reload: the objects are found
        const auto ids = store->identities();
        // RSA: the key's CKA_MODULUS; another curve: the key's CKA_EC_PARAMS; the same curve
        // (bob's P-256 key under mism-ec's id): nothing on SoftHSM's private key object tells,
        // its test signature does, at start (the lone key of the right curve was listed as the
        // certificate's, and only its first signature failed).
        for (const char* label : {"mism-rsa", "mism-curve", "mism-ec"}) {
            const hsm::Identity* id = find_identity(ids, label);
            CPPUNIT_ASSERT_MESSAGE(label, id != nullptr);
            CPPUNIT_ASSERT_MESSAGE(label, !id->has_private_key && id->sign_schemes.empty() && !id->decrypt_usable);
            CPPUNIT_ASSERT_MESSAGE(label, store->signer_for(*EmailAddress::parse(std::string(label) + "@acme.example")) ==
                                              nullptr);
        }
        const Bytes rsa_der = to_bytes(test::read_file(f.pki / "mism-rsa.cert.der"));
        CPPUNIT_ASSERT(store->decrypter_for_certificate(rsa_der) == nullptr);
        // The other keys of the store are untouched.
        const Bytes h = hash_of(DigestAlgorithm::Sha256, "wrong key");
        auto alice = store->signer_for(*EmailAddress::parse("alice@acme.example"));
        CPPUNIT_ASSERT(verify_signature(alice->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h,
                                        alice->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h)));
    }

    // Two keys under one CKA_ID (the certificate's own and another): the certificate's is the
    // one used, every time, for signatures and for decryption.
    void twin_keys_under_one_id()
    {
        auto& f = fixture();
        f.issue_identity("twin", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "twin", "twin@acme.example",
                         "digitalSignature,keyEncipherment");
        f.import_identity("twin", "24", "--usage-sign --usage-decrypt");
        for (const char* other : {"carol", "alice", "domain-signing"})
            test::run("pkcs11-tool --module " + std::string(test::softhsm_module) +
                      " --token-label ssm-test --login --pin 123456 --id 24 --label twin-" + other +
                      " --write-object '" + (f.pki / other).string() +
                      ".p8.der' --type privkey --usage-sign --usage-decrypt >/dev/null 2>&1");
        const auto store = hsm::KeyStore::open(f.config);
        const auto ids = store->identities();
        const hsm::Identity* id = find_identity(ids, "twin");
        CPPUNIT_ASSERT(id != nullptr && id->has_private_key && !id->sign_schemes.empty() && id->decrypt_usable);
        auto s = store->signer_for(*EmailAddress::parse("twin@acme.example"));
        CPPUNIT_ASSERT(s != nullptr);
        const int good = test::count_true_in_threads(4, 5, [&](int t, int i) {
            const Bytes h = hash_of(DigestAlgorithm::Sha256, "twin " + std::to_string(t * 10 + i));
            return verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h,
                                    s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h));
        });
        CPPUNIT_ASSERT_EQUAL(20, good);
        // Decryption: OpenSSL encrypts a block to the certificate; the token gives it back.
        const fs::path plain = f.dir.path() / "twin.plain", cipher = f.dir.path() / "twin.cipher";
        std::string block(256, 'x');
        block[0] = 0;
        test::write_file(plain, block);
        test::run("OPENSSL_CONF=/dev/null openssl pkeyutl -encrypt -certin -inkey '" + (f.pki / "twin.cert.pem").string() +
                  "' -pkeyopt rsa_padding_mode:none -in '" + plain.string() + "' -out '" + cipher.string() + "'");
        auto d = store->decrypter_for_certificate(s->certificate_der());
        CPPUNIT_ASSERT(d != nullptr);
        for (int i = 0; i < 4; ++i)
            CPPUNIT_ASSERT(d->rsa_raw_decrypt(to_bytes(test::read_file(cipher))) == to_bytes(block));
    }

    // An id-RSASSA-PSS key whose parameters name MGF1 over another hash than theirs (RFC 4055
    // §3.1 allows it; OpenSSL's rsa_pss_keygen_mgf1_md): GnuTLS 3.7.9 refuses the certificate's
    // key, and `ssmctl hsm list` showed it as "unsupported" with no size. It names the key
    // (RSA-PSS and its modulus bits, as pki facts() does), and the key is still never chosen
    // for signing (we do not sign with such keys): no scheme, no signer, no crash.
    void rsa_pss_key_gnutls_refuses_is_listed_not_used()
    {
        auto& f = fixture();
        f.issue_identity("pss-mgf512",
                         "-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 "
                         "-pkeyopt rsa_pss_keygen_mgf1_md:sha512",
                         "pss-mgf512", "pss-mgf512@acme.example", "digitalSignature");
        p8_as_rsa_encryption(f.pki, "pss-mgf512");
        f.import_identity("pss-mgf512", "2a", "--usage-sign");
        const auto store = hsm::KeyStore::open(f.config);
        const auto ids = store->identities();
        const hsm::Identity* id = find_identity(ids, "pss-mgf512");
        CPPUNIT_ASSERT(id != nullptr);
        CPPUNIT_ASSERT_EQUAL(2048u, id->key_bits);
        CPPUNIT_ASSERT(id->has_private_key);  // found beside it, and still not used
        CPPUNIT_ASSERT(id->sign_schemes.empty() && !id->decrypt_usable);
        CPPUNIT_ASSERT(store->signer_for(*EmailAddress::parse("pss-mgf512@acme.example")) == nullptr);
        CPPUNIT_ASSERT(store->signer_for_certificate(id->certificate_der) == nullptr);

        const std::string listed =
            hsm_list_line(f.config, "certificate label=pss-mgf512 id=2a key=rsa-pss-2048 email=pss-mgf512@acme.example");
        CPPUNIT_ASSERT_MESSAGE(listed, listed.find(" sign=none decrypt=none") != std::string::npos);
    }

    // An id-RSASSA-PSS key GnuTLS reads, restricted by its parameters to SHA-256, MGF1 over
    // SHA-256 and a salt of 32 (RFC 4055 §1.2, §3.1): it signs RSASSA-PSS only (PKCS#1 v1.5 with
    // it is forbidden, and verifiers refuse it), only with SHA-256 (signatures over another hash
    // verify nowhere), and never decrypts, even with keyUsage keyEncipherment and CKA_DECRYPT.
    // The signing code asks the signer which scheme and digest it must use.
    void rsa_pss_key_signs_pss_within_its_parameters_only()
    {
        auto& f = fixture();
        f.issue_identity("pss-256",
                         "-algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 "
                         "-pkeyopt rsa_pss_keygen_mgf1_md:sha256 -pkeyopt rsa_pss_keygen_saltlen:32",
                         "pss-256", "pss-256@acme.example", "digitalSignature,keyEncipherment");
        p8_as_rsa_encryption(f.pki, "pss-256");
        f.import_identity("pss-256", "2b", "--usage-sign --usage-decrypt");
        const auto store = hsm::KeyStore::open(f.config);
        const auto ids = store->identities();
        const hsm::Identity* id = find_identity(ids, "pss-256");
        CPPUNIT_ASSERT(id != nullptr && id->rsa_pss && id->key_type == KeyType::Rsa);
        CPPUNIT_ASSERT(id->has_private_key && id->key_can_sign && id->key_can_decrypt);
        CPPUNIT_ASSERT_EQUAL(std::string("rsa-pss"), schemes_text(id->sign_schemes));
        CPPUNIT_ASSERT(!id->decrypt_usable);
        CPPUNIT_ASSERT(store->decrypter_for_certificate(id->certificate_der) == nullptr);

        auto s = store->signer_for(*EmailAddress::parse("pss-256@acme.example"));
        CPPUNIT_ASSERT(s != nullptr);
        // What the signing code chooses for it under [signing] rsa_scheme = pkcs1, digest = sha512.
        const SignatureScheme scheme = smime::scheme_for(*s, SignatureScheme::RsaPkcs1v15);
        CPPUNIT_ASSERT_EQUAL(std::string("rsa-pss"), std::string(smime::scheme_name(scheme)));
        const DigestAlgorithm digest = smime::digest_for(*s, scheme, DigestAlgorithm::Sha512);
        CPPUNIT_ASSERT_EQUAL(std::string("sha-256"), std::string(smime::digest_name(digest)));
        const Bytes h = hash_of(DigestAlgorithm::Sha256, "pss within its parameters");
        CPPUNIT_ASSERT(verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_PSS_SHA256, h,
                                        s->sign_digest(SignatureScheme::RsaPss, DigestAlgorithm::Sha256, h)));
        // A whole message signed under that configuration verifies with OpenSSL and names SHA-256.
        {
            const std::vector<smime::mime::HeaderField> headers{{"From", "pss-256@acme.example"},
                                                                {"Content-Type", "text/plain"}};
            const Bytes text = to_bytes(std::string_view("Signed by a key restricted to SHA-256.\r\n"));
            MemorySource body(text);
            smime::SignParameters params;
            params.rsa_scheme = SignatureScheme::RsaPkcs1v15;
            params.digest = DigestAlgorithm::Sha512;
            Spool scratch(f.dir.path().string(), 1 << 20);
            MemorySink out;
            const auto r = smime::sign_message(headers, body, *s, params, scratch, out);
            CPPUNIT_ASSERT(r.scheme == SignatureScheme::RsaPss && r.digest == DigestAlgorithm::Sha256);
            std::string content_type;
            for (const auto& h : r.headers.add)
                if (h.name == "Content-Type") content_type = h.value;
            CPPUNIT_ASSERT_MESSAGE(content_type, content_type.find("micalg=sha-256;") != std::string::npos);
            const fs::path eml = f.dir.path() / "pss-256.eml";
            test::write_file(eml, "MIME-Version: 1.0\r\nContent-Type: " + content_type + "\r\n\r\n" + out.str());
            test::run("OPENSSL_CONF=/dev/null openssl cms -verify -noverify -in '" + eml.string() +
                      "' -out /dev/null 2>/dev/null");
            // Opaque, through our own verifier: valid, rsa-pss over SHA-256.
            params.format = smime::SignatureFormat::Opaque;
            Spool scratch2(f.dir.path().string(), 1 << 20);
            MemorySink opaque;
            smime::sign_message(headers, body, *s, params, scratch2, opaque);
            const fs::path b64 = f.dir.path() / "pss-256.p7m.b64", der = f.dir.path() / "pss-256.p7m";
            test::write_file(b64, opaque.str());
            test::run("OPENSSL_CONF=/dev/null openssl base64 -d -in '" + b64.string() + "' -out '" + der.string() + "'");
            const Bytes der_bytes = to_bytes(test::read_file(der));
            MemorySource der_source(der_bytes);
            MemorySink content;
            const auto v = smime::cms::verify_encapsulated(der_source, content);
            CPPUNIT_ASSERT_EQUAL(std::size_t{1}, v.signers.size());
            CPPUNIT_ASSERT_MESSAGE(v.signers[0].failure, v.signers[0].signature_valid);
            CPPUNIT_ASSERT(v.signers[0].scheme == SignatureScheme::RsaPss &&
                           v.signers[0].digest == DigestAlgorithm::Sha256);
        }
        // Asked anyway for what the key forbids: refused before the token signs.
        const std::uint64_t before = store->token_operations();
        for (const auto& [sch, dig] : {std::pair{SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256},
                                       std::pair{SignatureScheme::RsaPss, DigestAlgorithm::Sha512}}) {
            const std::string what = std::string(smime::scheme_name(sch)) + "/" + std::string(smime::digest_name(dig));
            try {
                s->sign_digest(sch, dig, hash_of(dig, "outside"));
                CPPUNIT_FAIL(what + " signed with a key restricted to rsa-pss/sha-256");
            } catch (const Error& e) {
                CPPUNIT_ASSERT_MESSAGE(what + ": " + e.what(), e.failure() == Failure::Internal);
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("RSASSA-PSS") != std::string::npos);
            }
        }
        CPPUNIT_ASSERT_EQUAL(before, store->token_operations());

        const std::string listed =
            hsm_list_line(f.config, "certificate label=pss-256 id=2b key=rsa-pss-2048 email=pss-256@acme.example");
        CPPUNIT_ASSERT_MESSAGE(listed, listed.find(" sign=rsa-pss decrypt=none") != std::string::npos);
    }

    // A pooled session handed back with an operation still active (an exception between
    // C_SignInit and C_Sign, a module that keeps the operation after an error) is closed and
    // opened again at its next use, instead of failing every later Init with
    // CKR_OPERATION_ACTIVE: with a pool of one session, the pool would be lost for good.
    void pool_session_left_with_an_operation_recovers()
    {
        auto& f = fixture();
        auto library = hsm::Pkcs11Library::acquire();
        auto auth = library->find_token("ssm-test", f.store->token().serial);
        CPPUNIT_ASSERT(auth != nullptr);
        auto module = hsm::RawModule::attach(test::softhsm_module);
        const auto slot = module.find_slot("ssm-test", "");
        CPPUNIT_ASSERT(slot.has_value());
        hsm::SessionPool pool(std::make_shared<hsm::TokenContext>(hsm::TokenContext{library, auth, "ssm-test"}),
                              std::move(module), *slot, nullptr, 1);
        const Bytes alice = to_bytes(test::read_file(f.pki / "alice.cert.der"));
        const hsm::KeyMatch key = hsm::key_match_for(alice, Bytes{0x01});
        CK_MECHANISM mech{CKM_RSA_PKCS, nullptr, 0};
        // The first use starts a signature and gives up (an error of its own).
        CPPUNIT_ASSERT_EQUAL(CK_RV(CKR_FUNCTION_FAILED),
                             pool.run(key, [&](CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
                                 const CK_RV rv = fn->C_SignInit(s, &mech, k);
                                 return rv == CKR_OK ? CK_RV(CKR_FUNCTION_FAILED) : rv;
                             }));
        // Every later use signs on the pool's one session.
        const Bytes digest = hash_of(DigestAlgorithm::Sha256, "after an abandoned operation");
        GnutlsDatum info;
        const gnutls_datum_t h{const_cast<unsigned char*>(digest.data()), static_cast<unsigned>(digest.size())};
        CPPUNIT_ASSERT(gnutls_encode_ber_digest_info(GNUTLS_DIG_SHA256, &h, &info.d) >= 0);
        for (int i = 0; i < 3; ++i) {
            Bytes sig(256);
            CK_ULONG size = sig.size();
            const CK_RV rv = pool.run(key, [&](CK_FUNCTION_LIST_PTR fn, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE k) {
                const CK_RV r = fn->C_SignInit(s, &mech, k);
                size = sig.size();
                return r != CKR_OK ? r : fn->C_Sign(s, info.d.data, info.d.size, sig.data(), &size);
            });
            CPPUNIT_ASSERT_EQUAL_MESSAGE("use " + std::to_string(i) + ": " + hsm::rv_name(rv), CK_RV(CKR_OK), rv);
            CPPUNIT_ASSERT_EQUAL(CK_ULONG(256), size);
            CPPUNIT_ASSERT(verify_signature(alice, GNUTLS_SIGN_RSA_SHA256, digest, sig));
        }
    }

    // The token refilled while the daemon runs (another process deletes a key and writes
    // another one under the same CKA_ID): the running store's signer must fail (the daemon
    // then reopens the token and sees the new certificates), never sign with the new key
    // for the old certificate.
    void key_replaced_under_a_running_store()
    {
        auto& f = fixture();
        // RSA: the key's modulus tells; EC: another key of the curve, told only by checking
        // each signature before it leaves.
        const struct {
            const char* name;
            const char* algorithm;
            const char* id;
            const char* other;  // whose key replaces the certificate's
            SignatureScheme scheme;
            gnutls_sign_algorithm_t check;
        } cases[] = {
            {"swap", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "41", "carol", SignatureScheme::RsaPkcs1v15,
             GNUTLS_SIGN_RSA_SHA256},
            {"swap-ec", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256", "25", "bob", SignatureScheme::Ecdsa,
             GNUTLS_SIGN_ECDSA_SHA256},
        };
        const std::string p11 = "pkcs11-tool --module " + std::string(test::softhsm_module) +
                                " --token-label ssm-test --login --pin 123456 ";
        for (const auto& c : cases) {
            const std::string address = std::string(c.name) + "@acme.example";
            f.issue_identity(c.name, c.algorithm, c.name, address, "digitalSignature");
            f.import_identity(c.name, c.id, "--usage-sign");
            const auto store = hsm::KeyStore::open(f.config);
            auto s = store->signer_for(*EmailAddress::parse(address));
            CPPUNIT_ASSERT_MESSAGE(c.name, s != nullptr);
            const Bytes h = hash_of(DigestAlgorithm::Sha256, c.name);
            for (int i = 0; i < 4; ++i)  // every pooled session holds the key's handle
                CPPUNIT_ASSERT_MESSAGE(c.name, verify_signature(s->certificate_der(), c.check, h,
                                                                s->sign_digest(c.scheme, DigestAlgorithm::Sha256, h)));
            test::run(p11 + "--delete-object --type privkey --id " + c.id + " >/dev/null 2>&1");
            test::run(p11 + "--id " + c.id + " --label " + c.name + " --write-object '" + (f.pki / c.other).string() +
                      ".p8.der' --type privkey --usage-sign >/dev/null 2>&1");
            for (int i = 0; i < 4; ++i) {
                try {
                    const Bytes sig = s->sign_digest(c.scheme, DigestAlgorithm::Sha256, h);
                    CPPUNIT_FAIL(std::string(c.name) + ": signed after the key was replaced (verifies: " +
                                 std::to_string(verify_signature(s->certificate_der(), c.check, h, sig)) + ")");
                } catch (const Error& e) {
                    CPPUNIT_ASSERT_MESSAGE(e.what(), e.failure() == Failure::HsmUnavailable);
                }
            }
            // Reopened (what the daemon does after HsmUnavailable): the certificate has no key now.
            const auto reopened = hsm::KeyStore::open(f.config);
            CPPUNIT_ASSERT_MESSAGE(c.name, reopened->signer_for(*EmailAddress::parse(address)) == nullptr);
        }
    }

    // SoftHSM's way to "pull the token": move its folder away. Signing must fail cleanly
    // (HsmUnavailable) or keep working from SoftHSM's memory; after the folder is back the
    // same signer must work again without reopening the store.
    void token_removed_and_returned()
    {
        auto s = signer("carol@acme.example");
        const Bytes h = hash_of(DigestAlgorithm::Sha256, "removal");
        const fs::path tokens = fixture().dir.path() / "token" / "tokens";
        const fs::path away = fixture().dir.path() / "tokens-away";
        fs::rename(tokens, away);
        std::string during = "signed";
        try {
            s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h);
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::HsmUnavailable);
            during = e.what();
        }
        std::cout << "  while the token folder was away: " << during << "\n";
        fs::rename(away, tokens);
        // SoftHSM 2.6.1 marks the token invalid for good (CKR_TOKEN_NOT_PRESENT) until the
        // module is initialised again; pkcs11h_plugAndPlay would do that but calls
        // C_Initialize(NULL), dropping CKF_OS_LOCKING_OK, without holding session locks.
        // What works: let go of every store and signer (the helper terminates) and open again.
        bool back = true;
        try {
            s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h);
        } catch (const Error& e) {
            back = false;
            CPPUNIT_ASSERT(e.failure() == Failure::HsmUnavailable);
        }
        std::cout << "  same store after the folder returned: "
                  << (back ? "signs" : "still unavailable") << "\n";
        s.reset();
        fixture().store.reset();
        fixture().store = hsm::KeyStore::open(fixture().config);
        s = signer("carol@acme.example");
        const Bytes sig = s->sign_digest(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256, h);
        CPPUNIT_ASSERT(verify_signature(s->certificate_der(), GNUTLS_SIGN_RSA_SHA256, h, sig));
        // SoftHSM 2.6.1 segfaults in C_Finalize at process exit once its token folder vanished
        // and came back in this process (seen with pkcs11h_removeProvider -> C_Finalize). The
        // store reopened here is therefore kept alive to the end, so the module is never
        // finalised; the crash is SoftHSM's and is recorded in the issue notes.
        // A static raw pointer keeps it reachable (so LeakSanitizer does not count it).
        [[maybe_unused]] static hsm::KeyStore* kept_to_exit = nullptr;
        kept_to_exit = fixture().store.release();
        fixture().store = hsm::KeyStore::open(fixture().config);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HsmTest);
