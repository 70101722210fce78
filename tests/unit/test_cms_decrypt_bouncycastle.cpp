// Unit tests for smime/cms/decrypt.h with AuthEnvelopedData made by BouncyCastle 1.72
// (tests/interop/bouncycastle/BcSmime.java, compiled here with javac): authAttrs (RFC 5083
// §2.1), which BouncyCastle's CMSAuthEnvelopedDataGenerator writes when asked and OpenSSL 3.0
// cannot even parse, are GCM's additional authenticated data and follow the content. They
// used to be refused ("AuthEnvelopedData with authAttrs": 554 for valid mail); now the tag is
// checked with them, and an altered attribute is the uniform decryption failure.
// ChaCha20-Poly1305 (RFC 8103) the same way: bcprov's cipher in bcpkix's generator (bcpkix
// 1.72 has no content encryptor for it; see BcSmime.java), with and without authAttrs; and
// ours (EnvelopeEncoder) decrypted by BouncyCastle for every recipient kind.
// Also CompressedData (RFC 3274) as BouncyCastle's SMIMECompressedGenerator writes it.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

#include "smime/cms/decompress.h"
#include "smime/cms/decrypt.h"
#include "smime/cms/envelope.h"
#include "tests/unit/test_cms_decrypt_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::smime::cms;
using ssm::test::soft_key;
namespace fs = std::filesystem;

namespace {

const char* const kClassPath =
    "/usr/share/java/bcprov.jar:/usr/share/java/bcpkix.jar:/usr/share/java/bcutil.jar:"
    "/usr/share/java/bcmail.jar:/usr/share/java/javax.mail.jar:/usr/share/java/javax.activation.jar";

// `java` for BcSmime: each run is one short operation (a JVM start, a key, one message), where
// the client compiler alone and the serial collector use about half the CPU of the defaults.
const char* const kJava = "java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC";

// BcSmime compiled once per process into the scratch folder.
const fs::path& bc_classes()
{
    static const fs::path dir = [] {
        const fs::path d = test::scratch_dir() / "bc";
        fs::create_directories(d);
        test::run(std::string("javac -Xlint:-path -cp '") + kClassPath + "' -d '" + d.string() + "' '" +
                  (test::source_dir() / "tests/interop/bouncycastle/BcSmime.java").string() + "' >/dev/null 2>&1");
        return d;
    }();
    return dir;
}

// The S/MIME entity BouncyCastle encrypts (CRLF, as a MUA hands it over).
const char* const kEntity =
    "Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned off by BouncyCastle.\r\nSecond line.\r\n";

// The CMS object (DER/BER as BouncyCastle writes it) of BcSmime `op` over kEntity.
Bytes bc_object(const std::string& op, const std::string& options)
{
    const fs::path dir = test::scratch_dir();
    const std::string in = (dir / "bc-in.eml").string(), out = (dir / "bc-out.eml").string();
    test::write_file(in, std::string("From: a@partner.example\r\n") + kEntity);
    test::run("cd '" + bc_classes().string() + "' && " + kJava + " -cp '.:" + kClassPath + "' BcSmime " + op + " t in='" + in +
              "' out='" + out + "' " + options + " >/dev/null 2>&1");
    // the base64 body after the header block
    test::run("sed '1,/^\\r\\?$/d' '" + out + "' | OPENSSL_CONF=/dev/null openssl base64 -d > '" +
              (dir / "bc.der").string() + "'");
    return test::read_bytes(dir / "bc.der");
}

// AuthEnvelopedData (DER/BER as BouncyCastle writes it) of kEntity to `who`'s certificate,
// with `options` for BcSmime encrypt (cipher, kt, kdf, authattrs).
Bytes bc_envelope(const std::string& who, const std::string& options)
{
    return bc_object("encrypt", "rcpt='" + (test::pki_dir() / (who + ".cert.pem")).string() + "' " + options);
}

// The authAttrs element BcSmime writes with authattrs=1, [1] { contentType = id-data }, up
// to the last octet of the id-data OID (1.2.840.113549.1.7.1), which follows.
const Bytes kAuthAttrs = {0xA1, 0x1A, 0x30, 0x18, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x09, 0x03,
                          0x31, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07};

}  // namespace

class CmsDecryptBouncyCastleTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsDecryptBouncyCastleTest);
    CPPUNIT_TEST(auth_attrs_are_authenticated_data);
    CPPUNIT_TEST(altered_auth_attrs_fail_uniformly);
    CPPUNIT_TEST(chacha20_poly1305);
    CPPUNIT_TEST(our_chacha20_poly1305_in_bouncycastle);
    CPPUNIT_TEST(compressed_data_inflates);
    CPPUNIT_TEST_SUITE_END();

public:
    void auth_attrs_are_authenticated_data()
    {
        struct Case {
            const char* who;
            const char* options;
            const char* km;
        } cases[] = {
            {"alice", "cipher=aes256-gcm kt=v15 authattrs=1", "ktri-rsa-pkcs1"},
            {"carol", "cipher=aes128-gcm kt=oaep authattrs=1", "ktri-rsa-oaep"},
            {"bob", "cipher=aes256-gcm kdf=sha256 authattrs=1", "kari-ecdh-p256"},
            {"alice", "cipher=aes128-gcm kt=v15", "ktri-rsa-pkcs1"},  // and without them
        };
        for (const Case& c : cases) {
            const std::string label = std::string(c.who) + " " + c.options;
            const Bytes der = bc_envelope(c.who, c.options);
            const bool with = std::string(c.options).find("authattrs=1") != std::string::npos;
            CPPUNIT_ASSERT_MESSAGE(label, with == (std::search(der.begin(), der.end(), kAuthAttrs.begin(),
                                                               kAuthAttrs.end()) != der.end()));
            for (std::size_t piece : {0u, 13u}) {  // one read, and uneven reads (rewound for the tag)
                test::write_bytes(test::scratch_dir() / "bc-read.der", der);
                test::FileSource src(test::scratch_dir() / "bc-read.der", piece);
                MemorySink sink;
                const auto o = decrypt_envelope(src, {soft_key("alice"), soft_key("bob"), soft_key("carol")}, sink);
                CPPUNIT_ASSERT_MESSAGE(label, o.status == DecryptStatus::Decrypted);
                CPPUNIT_ASSERT_MESSAGE(label, o.auth_enveloped);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(c.km), o.key_management);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(kEntity), std::string(as_chars(sink.data())));
            }
        }
    }

    // contentType id-data -> id-signedData inside the authAttrs: the tag no longer matches.
    void altered_auth_attrs_fail_uniformly()
    {
        for (const char* who : {"alice", "bob"}) {
            Bytes der = bc_envelope(who, "cipher=aes256-gcm authattrs=1");
            auto it = std::search(der.begin(), der.end(), kAuthAttrs.begin(), kAuthAttrs.end());
            CPPUNIT_ASSERT(it != der.end());
            CPPUNIT_ASSERT(*(it + kAuthAttrs.size()) == 0x01);
            *(it + kAuthAttrs.size()) = 0x02;  // 1.2.840.113549.1.7.2
            MemorySource src(der);
            MemorySink sink;
            try {
                decrypt_envelope(src, {soft_key("alice"), soft_key("bob")}, sink);
                CPPUNIT_FAIL(std::string(who) + ": decrypted with altered authAttrs");
            } catch (const DecryptionFailed& e) {
                CPPUNIT_ASSERT_EQUAL(std::string(kDecryptFailureText), std::string(e.what()));
                CPPUNIT_ASSERT_EQUAL(std::string("GCM tag mismatch"), e.debug());
            }
        }
    }

    void chacha20_poly1305()
    {
        struct Case {
            const char* who;
            const char* options;
            const char* km;
        } cases[] = {
            {"alice", "kt=v15 authattrs=1", "ktri-rsa-pkcs1"},
            {"carol", "kt=oaep", "ktri-rsa-oaep"},
            {"bob", "kdf=sha256 authattrs=1", "kari-ecdh-p256"},
            {"bob", "kdf=sha1", "kari-ecdh-p256"},
        };
        for (const Case& c : cases) {
            const std::string label = std::string(c.who) + " " + c.options;
            const Bytes der = bc_envelope(c.who, std::string("cipher=chacha20-poly1305 ") + c.options);
            const bool with = std::string(c.options).find("authattrs=1") != std::string::npos;
            const auto attrs = std::search(der.begin(), der.end(), kAuthAttrs.begin(), kAuthAttrs.end());
            CPPUNIT_ASSERT_MESSAGE(label, with == (attrs != der.end()));
            for (std::size_t piece : {0u, 13u}) {
                test::write_bytes(test::scratch_dir() / "bc-read.der", der);
                test::FileSource src(test::scratch_dir() / "bc-read.der", piece);
                MemorySink sink;
                const auto o = decrypt_envelope(src, {soft_key("alice"), soft_key("bob"), soft_key("carol")}, sink);
                CPPUNIT_ASSERT_MESSAGE(label, o.status == DecryptStatus::Decrypted && o.auth_enveloped);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string("chacha20-poly1305"), o.cipher_name);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(c.km), o.key_management);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(kEntity), std::string(as_chars(sink.data())));
            }
            // the attributes altered, or the mac (04 10, then the three end-of-contents of the
            // AuthEnvelopedData, [0] and ContentInfo)
            Bytes bad = der;
            if (with) {
                bad[std::size_t(attrs - der.begin()) + kAuthAttrs.size()] = 0x02;
            } else {
                const std::size_t mac = bad.size() - 6 - 16;
                CPPUNIT_ASSERT_MESSAGE(label, bad[mac - 2] == 0x04 && bad[mac - 1] == 0x10);
                bad[mac + 15] ^= 0x01;
            }
            MemorySource src(bad);
            MemorySink sink;
            try {
                decrypt_envelope(src, {soft_key("alice"), soft_key("bob"), soft_key("carol")}, sink);
                CPPUNIT_FAIL(label + ": decrypted when altered");
            } catch (const DecryptionFailed& e) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(kDecryptFailureText), std::string(e.what()));
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string("Poly1305 tag mismatch"), e.debug());
            }
        }
    }

    // EnvelopeEncoder's ChaCha20-Poly1305 as an application/pkcs7-mime message, opened by
    // BcSmime decrypt (bcpkix's recipients, bcprov's cipher). 70 000 octets: more than one
    // 64 KiB chunk of our encryptor, and not a whole number of 64-octet blocks.
    void our_chacha20_poly1305_in_bouncycastle()
    {
        std::string entity = "Content-Type: text/plain; charset=us-ascii\r\n\r\n";
        while (entity.size() < 70000) entity += "ChaCha20 and Poly1305, line " + std::to_string(entity.size()) + "\r\n";
        entity.resize(70000 - 2);
        entity += "\r\n";
        const fs::path dir = test::scratch_dir();
        std::string batch;
        const char* ids[] = {"alice", "carol", "bob", "erin"};
        for (const char* id : ids) {
            RecipientSpec spec;
            spec.certificate_der = test::read_bytes(test::pki_dir() / (std::string(id) + ".cert.der"));
            spec.rsa = std::string(id) == "carol" ? RsaKeyTransport::OaepSha256 : RsaKeyTransport::Pkcs1v15;
            MemorySink der;
            EnvelopeEncoder enc({spec}, ContentCipher::ChaCha20Poly1305, entity.size(), der);
            enc.plaintext().write(as_bytes(entity));
            enc.finish();
            test::write_bytes(dir / "ours.der", der.data());
            const std::string eml = (dir / (std::string("ours-") + id + ".eml")).string();
            test::write_file(eml, "From: a@acme.example\r\nMIME-Version: 1.0\r\n"
                                  "Content-Type: application/pkcs7-mime; smime-type=authEnveloped-data; name=smime.p7m\r\n"
                                  "Content-Transfer-Encoding: base64\r\n\r\n");
            test::run("OPENSSL_CONF=/dev/null openssl base64 -in '" + (dir / "ours.der").string() + "' >> '" + eml + "'");
            batch += std::string("decrypt ") + id + " in=" + eml + " out=" + (dir / (std::string("ours-") + id + ".plain")).string() +
                     " cert=" + (test::pki_dir() / (std::string(id) + ".cert.pem")).string() +
                     " key=" + (test::pki_dir() / (std::string(id) + ".key.pem")).string() + "\n";
        }
        test::write_file(dir / "ours.batch", batch);
        // a FAIL line makes the batch exit 1: the lines are checked below
        std::system(("cd '" + bc_classes().string() + "' && " + kJava + " -cp '.:" + kClassPath + "' BcSmime batch '" +
                     (dir / "ours.batch").string() + "' > '" + (dir / "ours.result").string() + "' 2>&1").c_str());
        const std::string result = test::read_file(dir / "ours.result");
        for (const char* id : ids) {
            const std::string want = std::string("OK ") + id + " type=authEnvelopedData cipher=ChaCha20-Poly1305 ";
            CPPUNIT_ASSERT_MESSAGE(std::string(id) + ": " + result, result.find(want) != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(id, test::read_file(dir / (std::string("ours-") + id + ".plain")) == entity);
        }
    }

    // SMIMECompressedGenerator with ZlibCompressor: BER, indefinite lengths, no parameters.
    void compressed_data_inflates()
    {
        const Bytes der = bc_object("compress", "");
        for (std::size_t piece : {0u, 11u}) {
            test::write_bytes(test::scratch_dir() / "bc-read.der", der);
            test::FileSource src(test::scratch_dir() / "bc-read.der", piece);
            MemorySink sink;
            // JavaMail writes the entity with the transfer encoding it chose
            const std::string expected =
                "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
                "Signed off by BouncyCastle.\r\nSecond line.\r\n";
            CPPUNIT_ASSERT_EQUAL(static_cast<std::uint64_t>(expected.size()), decompress_content(src, sink, 1 << 20));
            CPPUNIT_ASSERT_EQUAL(expected, sink.str());
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsDecryptBouncyCastleTest);
