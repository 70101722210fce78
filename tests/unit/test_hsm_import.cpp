// Unit tests for hsm/key_import, hsm/key_generation and hsm/csr on a real SoftHSM2 token made
// by the fixture scripts (alice imported with pkcs11-tool); PKCS#12 files are made by OpenSSL,
// CSRs checked by GnuTLS and OpenSSL, signatures of imported keys verified by GnuTLS with the
// certificate's public key. One token per process (SoftHSM reads SOFTHSM2_CONF once).
#include <cppunit/extensions/HelperMacros.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>

#include <sstream>

#include "base/error.h"
#include "base/gnutls_handles.h"
#include "hsm/key_generation.h"
#include "hsm/key_import.h"
#include "hsm/key_store.h"
#include "tests/unit/test_support.h"
#include "tools/ssmctl_hsm.h"

using namespace ssm;

namespace {

struct Fixture : test::PkiToken {
    hsm::TokenConfig config;
    Fixture() : test::PkiToken("alice")
    {
        config.module = test::softhsm_module;
        config.token_label = "ssm-test";
        config.pin_file = pin_file();
        test::run("cd '" + pki.string() +
                  "' && export OPENSSL_CONF=/dev/null && "
                  "openssl pkcs12 -export -inkey bob.key.pem -in bob.cert.pem -certfile chain.pem "
                  "-passout pass:pw -out bob.p12 && "
                  "openssl pkcs12 -export -legacy -inkey carol.key.pem -in carol.cert.pem "
                  "-passout pass:pw -out carol.p12 && "
                  "openssl pkcs12 -export -inkey alice.key.pem -in alice.cert.pem "
                  "-passout pass:pw -out alice.p12 && head -c 900 bob.p12 > truncated.p12");
    }
    Bytes file(const std::string& name) const { return to_bytes(test::read_file(pki / name)); }
};

Fixture& fixture()
{
    static std::unique_ptr<Fixture> f = std::make_unique<Fixture>();
    return *f;
}

std::size_t object_count()
{
    auto w = hsm::TokenWriter::open(fixture().config);
    return w->objects().size();
}

const hsm::Identity* find(const std::vector<hsm::Identity>& ids, const std::string& email)
{
    for (const auto& i : ids)
        if (!i.email_addresses.empty() && i.email_addresses.front() == email && i.has_private_key)
            return &i;
    return nullptr;
}

}  // namespace

class HsmImportTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HsmImportTest);
    CPPUNIT_TEST(pkcs12_keys_are_found_and_sign);
    CPPUNIT_TEST(refusals_leave_the_token_unchanged);
    CPPUNIT_TEST(keygen_csr_and_attach);
    CPPUNIT_TEST_SUITE_END();

public:
    void pkcs12_keys_are_found_and_sign()
    {
        auto& f = fixture();
        for (const char* name : {"bob.p12", "carol.p12"}) {
            auto w = hsm::TokenWriter::open(f.config);
            const auto r = hsm::import_pkcs12(*w, f.file(name), SecureString("pw"), "");
            CPPUNIT_ASSERT_MESSAGE(name, !r.id.empty());
        }
        auto store = hsm::KeyStore::open(f.config);
        const auto ids = store->identities();
        for (const char* email : {"bob@acme.example", "carol@acme.example"}) {
            const hsm::Identity* id = find(ids, email);
            CPPUNIT_ASSERT_MESSAGE(email, id);
            CPPUNIT_ASSERT_MESSAGE(email, !id->key_extractable);
            CPPUNIT_ASSERT_MESSAGE(email, !id->sign_schemes.empty());
            CPPUNIT_ASSERT_MESSAGE(email, id->decrypt_usable);
            // A signature by the imported key verifies with the certificate's public key.
            auto signer = store->signer_for(*EmailAddress::parse(email));
            CPPUNIT_ASSERT(signer);
            Bytes hash(32, 0x5a);
            const auto scheme = id->sign_schemes.front();
            const Bytes sig = signer->sign_digest(scheme, smime::DigestAlgorithm::Sha256, hash);
            auto crt = new_gnutls_crt();
            const gnutls_datum_t der{const_cast<unsigned char*>(id->certificate_der.data()),
                                     unsigned(id->certificate_der.size())};
            CPPUNIT_ASSERT(gnutls_x509_crt_import(crt.get(), &der, GNUTLS_X509_FMT_DER) >= 0);
            auto pub = new_gnutls_pubkey();
            CPPUNIT_ASSERT(gnutls_pubkey_import_x509(pub.get(), crt.get(), 0) >= 0);
            const gnutls_datum_t h{hash.data(), unsigned(hash.size())};
            const gnutls_datum_t s{const_cast<unsigned char*>(sig.data()), unsigned(sig.size())};
            const auto algo = id->key_type == smime::KeyType::Rsa ? GNUTLS_SIGN_RSA_SHA256
                                                                  : GNUTLS_SIGN_ECDSA_SHA256;
            CPPUNIT_ASSERT_MESSAGE(email, gnutls_pubkey_verify_hash2(pub.get(), algo, 0, &h, &s) >= 0);
        }
        // The bag's sub-CA was already on the token (make-token.sh): not added twice.
        int sub_ca = 0;
        for (const auto& i : ids)
            if (i.is_ca && i.label == "sub-ca") ++sub_ca;
        CPPUNIT_ASSERT_EQUAL(1, sub_ca);
    }

    void refusals_leave_the_token_unchanged()
    {
        auto& f = fixture();
        struct Case {
            const char* name;
            const char* file;
            const char* password;
            const char* label;
            const char* message;
        } cases[] = {
            {"wrong password", "bob.p12", "nope", "", "wrong PKCS#12 password"},
            {"truncated", "truncated.p12", "pw", "", "not a readable PKCS#12"},
            {"same key as pkcs11-tool's alice", "alice.p12", "pw", "", "already on the token"},
            {"certificate without key", "dave.cert.pem", "", "", "not on the token"},
        };
        for (const auto& c : cases) {
            const std::size_t before = object_count();
            auto w = hsm::TokenWriter::open(f.config);
            const Bytes data = f.file(c.file);
            try {
                if (hsm::looks_like_pkcs12(data))
                    hsm::import_pkcs12(*w, data, SecureString(c.password), c.label);
                else
                    hsm::import_certificate(*w, data, c.label);
                CPPUNIT_FAIL(std::string(c.name) + ": no error");
            } catch (const Error& e) {
                CPPUNIT_ASSERT_MESSAGE(std::string(c.name) + ": " + e.what(),
                                       std::string(e.what()).find(c.message) != std::string::npos);
            }
            w.reset();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, before, object_count());
        }
    }

    void keygen_csr_and_attach()
    {
        auto& f = fixture();
        // A subject GnuTLS cannot parse fails after C_GenerateKeyPair: the pair is destroyed.
        {
            const std::size_t before = object_count();
            auto w = hsm::TokenWriter::open(f.config);
            CPPUNIT_ASSERT_THROW(hsm::generate_key(*w, *hsm::parse_key_spec("ec-p256"),
                                                   "NOSUCHATTR=x,,=", {}, ""),
                                 Error);
            w.reset();
            CPPUNIT_ASSERT_EQUAL(before, object_count());
        }
        CPPUNIT_ASSERT(!hsm::parse_key_spec("rsa-1024"));
        CPPUNIT_ASSERT(hsm::parse_key_spec("ec-p521")->kind == hsm::KeyKind::Ecdsa);
        CPPUNIT_ASSERT(hsm::parse_key_spec("ed25519")->kind == hsm::KeyKind::Ed25519);
        hsm::GeneratedKey g;
        {
            auto w = hsm::TokenWriter::open(f.config);
            g = hsm::generate_key(*w, *hsm::parse_key_spec("ec-p256"), "CN=Kim Test,O=Acme",
                                  {"kim@acme.example"}, "");
        }
        test::write_file(f.pki / "kim.csr", g.csr_pem);
        // The request verifies (OpenSSL) and `hsm list` shows the pair as waiting.
        test::run("openssl req -verify -noout -in '" + (f.pki / "kim.csr").string() + "' 2>/dev/null");
        std::ostringstream out, err;
        CPPUNIT_ASSERT_EQUAL(0, tools::hsm_list({f.config}, out, err));
        CPPUNIT_ASSERT_MESSAGE(out.str(), out.str().find("key label=kim@acme.example id=" + to_hex(g.id) +
                                                         " key=ec-p256 certificate=none") !=
                                              std::string::npos);
        test::run("cd '" + f.pki.string() +
                  "' && OPENSSL_CONF=/dev/null openssl x509 -req -in kim.csr -CA sub-ca.cert.pem "
                  "-CAkey sub-ca.key.pem -set_serial 4242 -days 30 -copy_extensions copy "
                  "-out kim.cert.pem 2>/dev/null");
        {
            auto w = hsm::TokenWriter::open(f.config);
            const auto r = hsm::import_certificate(*w, f.file("kim.cert.pem"), "");
            CPPUNIT_ASSERT_EQUAL(to_hex(g.id), to_hex(r.id));
            CPPUNIT_ASSERT_EQUAL(std::string("kim@acme.example"), r.label);
        }
        auto store = hsm::KeyStore::open(f.config);
        const auto ids = store->identities();
        const hsm::Identity* id = find(ids, "kim@acme.example");
        CPPUNIT_ASSERT(id);
        CPPUNIT_ASSERT(!id->key_extractable);
        CPPUNIT_ASSERT(id->decrypt_usable);
        CPPUNIT_ASSERT(store->signer_for(*EmailAddress::parse("kim@acme.example")));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HsmImportTest);
