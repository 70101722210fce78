// Unit tests for smime/cms/decrypt.h, success paths: every combination `openssl cms -encrypt`
// makes (content ciphers x key management x DER/-stream BER x -keyid), several recipients,
// our own EnvelopeEncoder, the RFC 4134 and RFC 9216 examples, and a 50 MB -stream message
// decrypted with bounded memory. Keys are real private keys (software Decrypter).
#include <cppunit/extensions/HelperMacros.h>

#include <iostream>

#include "smime/cms/decrypt.h"
#include "smime/cms/digest.h"
#include "smime/cms/envelope.h"
#include "tests/unit/test_cms_decrypt_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::smime::cms;
using ssm::test::soft_key;
namespace fs = std::filesystem;

namespace {

struct KeyCase {
    const char* name;
    const char* recip_args;  // openssl cms arguments naming the recipient
    const char* key;         // fixture identity holding the private key
    const char* key_management;
};

const KeyCase kKeys[] = {
    {"rsa-v15", "-recip alice.cert.pem", "alice", "ktri-rsa-pkcs1"},
    {"rsa-v15-keyid", "-keyid -recip carol.cert.pem", "carol", "ktri-rsa-pkcs1"},
    {"rsa-oaep-sha1", "-recip alice.cert.pem -keyopt rsa_padding_mode:oaep", "alice", "ktri-rsa-oaep"},
    {"rsa-oaep-sha256", "-recip carol.cert.pem -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256",
     "carol", "ktri-rsa-oaep"},
    {"ecdh-p256-sha1kdf", "-recip bob.cert.pem", "bob", "kari-ecdh-p256"},
    {"ecdh-p256-sha256kdf-keyid", "-keyid -recip bob.cert.pem -keyopt ecdh_kdf_md:sha256", "bob",
     "kari-ecdh-p256"},
    {"ecdh-p384-sha1kdf", "-recip erin.cert.pem", "erin", "kari-ecdh-p384"},
    {"ecdh-p384-sha384kdf", "-recip erin.cert.pem -keyopt ecdh_kdf_md:sha384", "erin", "kari-ecdh-p384"},
    {"ecdh-p384-sha512kdf", "-recip erin.cert.pem -keyopt ecdh_kdf_md:sha512", "erin", "kari-ecdh-p384"},
    {"ecdh-p521-sha1kdf", "-recip petra.cert.pem", "petra", "kari-ecdh-p521"},
    {"ecdh-p521-sha512kdf", "-recip petra.cert.pem -keyopt ecdh_kdf_md:sha512", "petra", "kari-ecdh-p521"},
};

struct CipherCase {
    const char* option;
    const char* name;
    bool aead;
};

const CipherCase kCiphers[] = {
    {"-aes128", "aes128-cbc", false},      {"-aes192", "aes192-cbc", false},
    {"-aes256", "aes256-cbc", false},      {"-des3", "des-ede3-cbc", false},
    {"-aes-128-gcm", "aes128-gcm", true},  {"-aes-256-gcm", "aes256-gcm", true},
};

std::vector<std::shared_ptr<smime::Decrypter>> all_keys()
{
    return {soft_key("carol"), soft_key("bob"), soft_key("alice"), soft_key("erin"), soft_key("petra")};
}

// A plaintext that crosses the 64 KiB chunk boundaries at an odd offset.
Bytes sample_plaintext(std::size_t n)
{
    Bytes p(n);
    for (std::size_t i = 0; i < n; ++i) p[i] = std::uint8_t((i * 131 + i / 977) & 0xff);
    return p;
}

}  // namespace

class CmsDecryptTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsDecryptTest);
    CPPUNIT_TEST(openssl_matrix);
    CPPUNIT_TEST(several_recipients);
    CPPUNIT_TEST(triple_des_wrap_of_aes_keys);
    CPPUNIT_TEST(uneven_reads);
    CPPUNIT_TEST(own_encoder_round_trip);
    CPPUNIT_TEST(rfc4134_triple_des_to_bob);
    CPPUNIT_TEST(rfc9216_examples);
    CPPUNIT_TEST(reencoded_issuer_name);
    CPPUNIT_TEST(streams_50_megabytes_in_bounded_memory);
    CPPUNIT_TEST_SUITE_END();

public:
    void openssl_matrix()
    {
        const fs::path dir = test::scratch_dir();
        const Bytes plain = sample_plaintext(150001);
        test::write_bytes(dir / "plain.bin", plain);
        int checked = 0;
        for (const auto& k : kKeys) {
            for (const auto& c : kCiphers) {
                // With ECDH, OpenSSL wraps a 3DES content key in the RFC 3217 3DES key wrap.
                for (const char* form : {"", "-stream"}) {
                    const std::string label = std::string(k.name) + " " + c.name + " " + form;
                    const fs::path out = dir / "m.der";
                    test::openssl("cms -encrypt -binary -outform DER " + std::string(form) + " " + c.option +
                                  " -in '" + (dir / "plain.bin").string() + "' " + k.recip_args + " -out '" +
                                  out.string() + "'");
                    Bytes got;
                    const DecryptOutcome o = test::decrypt_bytes(test::read_bytes(out), all_keys(), got);
                    CPPUNIT_ASSERT_MESSAGE(label, o.status == DecryptStatus::Decrypted);
                    CPPUNIT_ASSERT_MESSAGE(label, got == plain);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(c.name), o.cipher_name);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(k.key_management), o.key_management);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(label, c.aead, o.auth_enveloped);
                    CPPUNIT_ASSERT_MESSAGE(label, o.recipient_certificate_der == soft_key(k.key)->certificate_der());
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string("1.2.840.113549.1.7.1"), o.content_type);
                    ++checked;
                }
            }
        }
        CPPUNIT_ASSERT_EQUAL(2 * 11 * 6, checked);  // 11 keys x 6 ciphers, streamed or not
    }

    // A sender that rebuilds the issuer Name it copies into the RecipientInfo (upper case,
    // doubled spaces, PrintableString or BMPString for OpenSSL's UTF8String: the same Name
    // under RFC 5280 §7.1; tests/fixtures/reencode_issuer.py) still names our certificate. These
    // were "not for us" while the issuer was compared byte for byte, until 2026-12-04. A Name
    // that really differs still names nothing of ours.
    void reencoded_issuer_name()
    {
        const fs::path dir = test::scratch_dir();
        const Bytes plain = sample_plaintext(3000);
        test::write_bytes(dir / "plain-issuer.bin", plain);
        const std::string script = (test::source_dir() / "tests/fixtures/reencode_issuer.py").string();
        for (const char* recip : {"-recip alice.cert.pem", "-recip alice.cert.pem -recip carol.cert.pem",
                                  "-recip alice.cert.pem -keyopt rsa_padding_mode:oaep"}) {
            const fs::path in = dir / "issuer.der";
            test::openssl("cms -encrypt -binary -outform DER -aes256 -in '" + (dir / "plain-issuer.bin").string() +
                          "' " + recip + " -out '" + in.string() + "'");
            for (const std::string mode : {"printable", "bmp", "changed"}) {
                const std::string label = std::string(recip) + " " + mode;
                const fs::path out = dir / ("issuer-" + mode + ".der");
                test::run("python3 '" + script + "' " + mode + " '" + in.string() + "' '" + out.string() + "'");
                const Bytes der = test::read_bytes(out);
                CPPUNIT_ASSERT_MESSAGE(label, der != test::read_bytes(in));
                Bytes got;
                const DecryptOutcome o = test::decrypt_bytes(der, all_keys(), got);
                if (mode == "changed") {
                    CPPUNIT_ASSERT_MESSAGE(label, o.status == DecryptStatus::NotForUs);
                    continue;
                }
                CPPUNIT_ASSERT_MESSAGE(label, o.status == DecryptStatus::Decrypted);
                CPPUNIT_ASSERT_MESSAGE(label, got == plain);
                CPPUNIT_ASSERT_MESSAGE(label, o.recipient_certificate_der == soft_key("alice")->certificate_der());
            }
        }
    }

    // `openssl cms -des3-wrap`: the RFC 3217 Triple-DES key wrap around an AES content key (16,
    // 24 or 32 octets, wrapped into the key's length + 16). OpenSSL makes and reads them; they
    // were refused as "3DES key wrap for another cipher" until 2026-12-04.
    void triple_des_wrap_of_aes_keys()
    {
        const fs::path dir = test::scratch_dir();
        const Bytes plain = sample_plaintext(5000);
        test::write_bytes(dir / "plain-wrap.bin", plain);
        for (const char* cipher : {"-aes128", "-aes192", "-aes256", "-aes-256-gcm"}) {
            for (const char* recip : {"-recip bob.cert.pem", "-recip erin.cert.pem -keyopt ecdh_kdf_md:sha384"}) {
                const std::string label = std::string(cipher) + " " + recip;
                const fs::path out = dir / "wrap.der";
                test::openssl("cms -encrypt -binary -outform DER -des3-wrap " + std::string(cipher) + " -in '" +
                              (dir / "plain-wrap.bin").string() + "' " + recip + " -out '" + out.string() + "'");
                Bytes got;
                const DecryptOutcome o = test::decrypt_bytes(test::read_bytes(out), all_keys(), got);
                CPPUNIT_ASSERT_MESSAGE(label, o.status == DecryptStatus::Decrypted);
                CPPUNIT_ASSERT_MESSAGE(label, got == plain);
            }
        }
    }

    // One message to four recipients: each key alone finds its own RecipientInfo.
    void several_recipients()
    {
        const fs::path dir = test::scratch_dir();
        const Bytes plain = sample_plaintext(1000);
        test::write_bytes(dir / "plain-small.bin", plain);
        for (const char* form : {"", "-stream"}) {
            const fs::path out = dir / "multi.der";
            test::openssl("cms -encrypt -binary -outform DER " + std::string(form) + " -aes-256-gcm -in '" +
                          (dir / "plain-small.bin").string() +
                          "' -recip carol.cert.pem -recip bob.cert.pem -keyopt ecdh_kdf_md:sha256"
                          " -recip erin.cert.pem -recip alice.cert.pem -keyopt rsa_padding_mode:oaep -out '" +
                          out.string() + "'");
            const Bytes der = test::read_bytes(out);
            const struct {
                const char* key;
                const char* km;
            } cases[] = {{"carol", "ktri-rsa-pkcs1"},
                         {"bob", "kari-ecdh-p256"},
                         {"erin", "kari-ecdh-p384"},
                         {"alice", "ktri-rsa-oaep"}};
            for (const auto& c : cases) {
                Bytes got;
                const auto o = test::decrypt_bytes(der, {soft_key(c.key)}, got);
                CPPUNIT_ASSERT_MESSAGE(c.key, o.status == DecryptStatus::Decrypted);
                CPPUNIT_ASSERT_MESSAGE(c.key, got == plain);
                CPPUNIT_ASSERT_EQUAL(std::string(c.km), o.key_management);
                CPPUNIT_ASSERT(o.cipher == ContentCipher::Aes256Gcm);
            }
            // Not one of ours among them: dave's key.
            Bytes got;
            const auto o = test::decrypt_bytes(der, {soft_key("dave")}, got);
            CPPUNIT_ASSERT(o.status == DecryptStatus::NotForUs);
            CPPUNIT_ASSERT(got.empty());
            // matching_key names the key decrypt_envelope would use, without using it.
            const auto matched = [&](std::vector<std::shared_ptr<smime::Decrypter>> keys) {
                MemorySource src(der);
                return smime::cms::matching_key(src, keys);
            };
            const auto used = test::decrypt_bytes(der, {soft_key("alice"), soft_key("bob")}, got);
            CPPUNIT_ASSERT(matched({soft_key("alice"), soft_key("bob")}) == used.recipient_certificate_der);
            CPPUNIT_ASSERT(matched({soft_key("bob"), soft_key("alice")}) == used.recipient_certificate_der);
            CPPUNIT_ASSERT(matched({soft_key("alice")}) == soft_key("alice")->certificate_der());
            CPPUNIT_ASSERT(!matched({soft_key("dave")}));
        }
    }

    // The BER reader must not depend on how the source splits its reads.
    void uneven_reads()
    {
        const fs::path dir = test::scratch_dir();
        const Bytes plain = sample_plaintext(70000);
        test::write_bytes(dir / "plain-uneven.bin", plain);
        const fs::path out = dir / "uneven.der";
        test::openssl("cms -encrypt -binary -outform DER -stream -aes128 -in '" + (dir / "plain-uneven.bin").string() +
                      "' -recip bob.cert.pem -out '" + out.string() + "'");
        for (std::size_t piece : {1u, 7u, 4099u}) {
            test::FileSource src(out, piece);
            MemorySink sink;
            const auto o = decrypt_envelope(src, all_keys(), sink);
            CPPUNIT_ASSERT(o.status == DecryptStatus::Decrypted);
            CPPUNIT_ASSERT(sink.data() == plain);
        }
    }

    void own_encoder_round_trip()
    {
        const Bytes plain = sample_plaintext(65536 + 16);  // exactly block-aligned: a full pad block
        for (ContentCipher c : {ContentCipher::Aes128Cbc, ContentCipher::Aes256Cbc, ContentCipher::Aes128Gcm,
                                ContentCipher::Aes256Gcm}) {
            std::vector<RecipientSpec> r(4);
            r[0].certificate_der = soft_key("alice")->certificate_der();
            r[1].certificate_der = soft_key("carol")->certificate_der();
            r[1].rsa = RsaKeyTransport::OaepSha256;
            r[1].use_subject_key_identifier = true;
            r[2].certificate_der = soft_key("bob")->certificate_der();
            r[3].certificate_der = soft_key("erin")->certificate_der();
            r[3].use_subject_key_identifier = true;
            MemorySink der;
            EnvelopeEncoder enc(r, c, plain.size(), der);
            enc.plaintext().write(plain);
            enc.finish();
            for (const char* id : {"alice", "carol", "bob", "erin"}) {
                Bytes got;
                const auto o = test::decrypt_bytes(der.data(), {soft_key(id)}, got);
                CPPUNIT_ASSERT_MESSAGE(id, o.status == DecryptStatus::Decrypted);
                CPPUNIT_ASSERT_MESSAGE(id, got == plain);
                CPPUNIT_ASSERT(o.cipher == c);
            }
        }
    }

    void rfc4134_triple_des_to_bob()
    {
        const fs::path v = test::vectors_dir() / "rfc4134";
        auto bob = test::SoftDecrypter::load(v / "BobPrivRSAEncrypt.pri", v / "BobRSASignByCarl.cer");
        Bytes got;
        const auto o = test::decrypt_bytes(test::read_bytes(v / "5.1.bin"), {bob}, got);
        CPPUNIT_ASSERT(o.status == DecryptStatus::Decrypted);
        CPPUNIT_ASSERT_EQUAL(std::string("des-ede3-cbc"), o.cipher_name);
        CPPUNIT_ASSERT(!o.cipher);
        CPPUNIT_ASSERT_EQUAL(std::string("This is some sample content."), std::string(as_chars(got)));
    }

    // RFC 9216 §4.4/4.5: checked against what openssl cms -decrypt makes of the same files.
    void rfc9216_examples()
    {
        const fs::path v = test::vectors_dir() / "rfc9216";
        auto bob = test::SoftDecrypter::load(v / "keys/lamps-bob.decrypt.p8.pem", v / "keys/lamps-bob.encrypt.crt");
        for (const char* name : {"encryptedForBobRSAOaep.p7m", "encryptedForBobAndDana.p7m"}) {
            const fs::path in = v / "cms-examples" / name;
            const fs::path ref = test::scratch_dir() / (std::string(name) + ".out");
            test::openssl("cms -decrypt -inform DER -in '" + in.string() + "' -inkey '" +
                          (v / "keys/lamps-bob.decrypt.p8.pem").string() + "' -out '" + ref.string() + "'");
            const Bytes der = test::read_bytes(in);
            Bytes got;
            const auto o = test::decrypt_bytes(der, {bob}, got);
            CPPUNIT_ASSERT_MESSAGE(name, o.status == DecryptStatus::Decrypted);
            CPPUNIT_ASSERT_MESSAGE(name, got == test::read_bytes(ref));
            CPPUNIT_ASSERT_MESSAGE(name, !got.empty());
        }
    }

    void streams_50_megabytes_in_bounded_memory()
    {
        const fs::path dir = test::scratch_dir();
        const fs::path big = dir / "big.bin";
        test::run("head -c 52428800 /dev/urandom > '" + big.string() + "'");
        test::run("OPENSSL_CONF=/dev/null openssl dgst -sha256 -binary '" + big.string() + "' > '" + big.string() +
                  ".sha256'");
        const Bytes expected = test::read_bytes(big.string() + ".sha256");
        for (const char* cipher : {"-aes-256-gcm", "-aes256"}) {
            const fs::path out = dir / "big.der";
            test::openssl("cms -encrypt -binary -outform DER -stream " + std::string(cipher) + " -in '" +
                          big.string() + "' -recip alice.cert.pem -out '" + out.string() + "'");
            const long before = test::peak_rss_kib();
            test::FileSource src(out);
            Hasher hash(smime::DigestAlgorithm::Sha256);
            CountingSink count(hash);
            const auto o = decrypt_envelope(src, all_keys(), count);
            const long after = test::peak_rss_kib();
            CPPUNIT_ASSERT(o.status == DecryptStatus::Decrypted);
            CPPUNIT_ASSERT_EQUAL(std::uint64_t(52428800), count.count());
            CPPUNIT_ASSERT(hash.finish() == expected);
            std::cerr << "\n[50 MB " << cipher << ": peak RSS " << before << " -> " << after << " KiB]" << std::endl;
            CPPUNIT_ASSERT(after - before < 8 * 1024);
            std::filesystem::remove(out);
        }
        std::filesystem::remove(big);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsDecryptTest);
