// Unit tests for ChaCha20-Poly1305 content decryption (RFC 8103 AuthEnvelopedData): the
// RFC 7539 §2.8.2 AEAD vector through the streaming decryptor and the nettle wrapper; the
// RFC 9216 example message for Bob (third-party, tests/vectors) through
// decrypt_envelope, and altered copies of it failing uniformly; a streamed round trip of a
// large content with and without AAD, where a flipped ciphertext bit, a flipped tag octet,
// other or missing AAD and a short tag are all rejected; the nonce parameter checked (12
// octets, nothing else); misuse of the wrapper is Error(Internal), never nettle's assert.
// Encryption: EnvelopeEncoder's ChaCha20-Poly1305 AuthEnvelopedData (RFC 8103 fields, lengths
// around the 64-octet block and the 64 KiB chunk, every recipient kind) decrypts here; that
// an independent peer reads it is in test_cms_decrypt_bouncycastle.cpp.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cstdlib>
#include <random>

#include "smime/cms/chacha_poly1305.h"
#include "smime/cms/decrypt.h"
#include "smime/cms/decrypt_content.h"
#include "smime/cms/envelope.h"
#include "smime/cms/enveloped_decode.h"
#include "tests/unit/test_cms_decrypt_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::smime::cms;
namespace fs = std::filesystem;

namespace {

constexpr const char* kChaChaOid = "1.2.840.113549.1.9.16.3.18";

Bytes hex(std::string_view h)
{
    Bytes out;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(std::uint8_t(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
    return out;
}

// RFC 7539 §2.8.2 (also RFC 8439 §2.8.2): the AEAD_CHACHA20_POLY1305 example.
const Bytes kKey = hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const Bytes kNonce = hex("070000004041424344454647");
const Bytes kAad = hex("50515253c0c1c2c3c4c5c6c7");
const std::string kPlain =
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen "
    "would be it.";
const Bytes kCipher = hex(
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b"
    "1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116");
const Bytes kTag = hex("1ae10b594f09e26a7e902ecbd0600691");

// AEADChaCha20Poly1305Nonce as DER: OCTET STRING of `n`.
Bytes nonce_parameter(const Bytes& n)
{
    Bytes der{0x04, std::uint8_t(n.size())};
    der.insert(der.end(), n.begin(), n.end());
    return der;
}

ContentAlgorithm chacha_algorithm(const Bytes& nonce)
{
    const auto a = content_algorithm_of({kChaChaOid, nonce_parameter(nonce)});
    CPPUNIT_ASSERT(a.has_value());
    return *a;
}

SecretBytes secret(const Bytes& b)
{
    SecretBytes s(b.size());
    std::copy(b.begin(), b.end(), s.data());
    return s;
}

// Decrypts `cipher` in pieces of `piece` octets; the plaintext lands in `plain`.
bool decrypt(const Bytes& key, const Bytes& nonce, const Bytes& aad, const Bytes& cipher, const Bytes& mac,
             std::size_t piece, Bytes* plain = nullptr)
{
    const SecretBytes k = secret(key);
    MemorySink sink;
    ContentDecryptor dec(chacha_algorithm(nonce), k, sink, aad);
    for (std::size_t at = 0; at < cipher.size(); at += piece)
        dec.write(ByteView(cipher).subspan(at, std::min(piece, cipher.size() - at)));
    const bool ok = dec.finish(mac);
    if (plain) *plain = sink.data();
    return ok;
}

// ChaCha20-Poly1305 encryption in calls of `chunk` octets (a multiple of 64 but the last).
Bytes seal(const Bytes& key, const Bytes& nonce, const Bytes& aad, const Bytes& plain, Bytes& tag,
           std::size_t chunk = 64 * 1024)
{
    ChaChaPoly1305 c(key, nonce);
    if (!aad.empty()) c.authenticate(aad);
    Bytes out(plain.size());
    for (std::size_t at = 0; at < plain.size(); at += chunk)
        c.encrypt(plain.data() + at, std::min(chunk, plain.size() - at), out.data() + at);
    tag = c.tag();
    return out;
}

fs::path vectors() { return test::vectors_dir(); }

std::string uniform_failure(const Bytes& der, const std::vector<std::shared_ptr<smime::Decrypter>>& keys)
{
    MemorySource src(der);
    MemorySink sink;
    try {
        decrypt_envelope(src, keys, sink);
    } catch (const DecryptionFailed& e) {
        CPPUNIT_ASSERT_EQUAL(std::string(kDecryptFailureText), std::string(e.what()));
        CPPUNIT_ASSERT_EQUAL(std::string(), e.public_cause());  // key-dependent: never logged apart
        return e.debug();
    }
    CPPUNIT_FAIL("decrypted");
    return {};
}

}  // namespace

class CmsChaChaTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsChaChaTest);
    CPPUNIT_TEST(rfc7539_aead_vector);
    CPPUNIT_TEST(rfc9216_example_for_bob);
    CPPUNIT_TEST(streamed_round_trip_and_tampering);
    CPPUNIT_TEST(nonce_parameter_is_checked);
    CPPUNIT_TEST(misuse_is_internal);
    CPPUNIT_TEST(encoder_round_trip);
    CPPUNIT_TEST_SUITE_END();

public:
    void rfc7539_aead_vector()
    {
        Bytes tag;
        CPPUNIT_ASSERT(seal(kKey, kNonce, kAad, to_bytes(kPlain), tag, 64) == kCipher);
        CPPUNIT_ASSERT(tag == kTag);
        for (std::size_t piece : {std::size_t(1), std::size_t(7), std::size_t(64), kCipher.size()}) {
            Bytes plain;
            CPPUNIT_ASSERT(decrypt(kKey, kNonce, kAad, kCipher, kTag, piece, &plain));
            CPPUNIT_ASSERT_EQUAL(kPlain, std::string(as_chars(plain)));
        }
        CPPUNIT_ASSERT(!decrypt(kKey, kNonce, {}, kCipher, kTag, 16));  // the AAD counts
    }

    // draft-ireland-examples-cms, made with RFC 9216's keys: RSA-OAEP (SHA-256) for Bob,
    // contentEncryptionAlgorithm id-alg-AEADChaCha20Poly1305, DER.
    void rfc9216_example_for_bob()
    {
        const fs::path d = vectors() / "rfc9216";
        const Bytes der = test::read_bytes(d / "cms-examples/authEnvelopedForBobChaCha20Poly1305.p7m");
        const std::vector<std::shared_ptr<smime::Decrypter>> bob{
            test::SoftDecrypter::load(d / "keys/lamps-bob.decrypt.p8.pem", d / "keys/lamps-bob.encrypt.crt")};
        for (std::size_t piece : {std::size_t(0), std::size_t(5)}) {
            test::write_bytes(test::scratch_dir() / "rfc9216-chacha.der", der);
            test::FileSource src(test::scratch_dir() / "rfc9216-chacha.der", piece);
            MemorySink sink;
            const DecryptOutcome o = decrypt_envelope(src, bob, sink);
            CPPUNIT_ASSERT(o.status == DecryptStatus::Decrypted);
            CPPUNIT_ASSERT(o.auth_enveloped);
            CPPUNIT_ASSERT_EQUAL(std::string("chacha20-poly1305"), o.cipher_name);
            CPPUNIT_ASSERT_EQUAL(std::string("ktri-rsa-oaep"), o.key_management);
            CPPUNIT_ASSERT_EQUAL(std::string("This is some sample content."), sink.str());
        }
        // The mac is the last 16 octets; the 28-octet encryptedContent [0] comes before its
        // header (04 10).
        Bytes tag = der;
        tag.back() ^= 0x80;
        CPPUNIT_ASSERT_EQUAL(std::string("Poly1305 tag mismatch"), uniform_failure(tag, bob));
        Bytes body = der;
        body[body.size() - 18 - 10] ^= 0x01;
        CPPUNIT_ASSERT_EQUAL(std::string("Poly1305 tag mismatch"), uniform_failure(body, bob));
        Bytes nonce = der;  // the nonce OCTET STRING 02 EB 7F ... follows its header 04 0C
        const Bytes head = {0x04, 0x0C, 0x02, 0xEB, 0x7F};
        auto it = std::search(nonce.begin(), nonce.end(), head.begin(), head.end());
        CPPUNIT_ASSERT(it != nonce.end());
        it[2] ^= 0x01;
        CPPUNIT_ASSERT_EQUAL(std::string("Poly1305 tag mismatch"), uniform_failure(nonce, bob));
    }

    // 300 000 octets: several 64 KiB chunks of the decryptor, a partial block at the end.
    void streamed_round_trip_and_tampering()
    {
        std::mt19937 rng(8103);
        Bytes key(32), nonce(12), plain(300000);
        for (auto* b : {&key, &nonce, &plain})
            for (auto& x : *b) x = std::uint8_t(rng());
        const Bytes aad = hex("311a301806092a864886f70d010903310b06092a864886f70d010701");  // DER authAttrs
        for (const Bytes& a : {Bytes(), aad}) {
            Bytes tag;
            const Bytes cipher = seal(key, nonce, a, plain, tag);
            CPPUNIT_ASSERT(cipher != plain);
            for (std::size_t piece : {std::size_t(1000), std::size_t(65537), cipher.size()}) {
                Bytes out;
                CPPUNIT_ASSERT(decrypt(key, nonce, a, cipher, tag, piece, &out));
                CPPUNIT_ASSERT(out == plain);
            }
            for (std::size_t at : {std::size_t(0), std::size_t(65536), cipher.size() - 1}) {
                Bytes bad = cipher;
                bad[at] ^= 0x04;
                CPPUNIT_ASSERT(!decrypt(key, nonce, a, bad, tag, 4096));
            }
            for (std::size_t at : {std::size_t(0), std::size_t(15)}) {
                Bytes bad = tag;
                bad[at] ^= 0x01;
                CPPUNIT_ASSERT(!decrypt(key, nonce, a, cipher, bad, 4096));
            }
            CPPUNIT_ASSERT(!decrypt(key, nonce, a, cipher, Bytes(tag.begin(), tag.end() - 1), 4096));
            Bytes other_aad = a.empty() ? aad : Bytes();
            CPPUNIT_ASSERT(!decrypt(key, nonce, other_aad, cipher, tag, 4096));
            if (!a.empty()) {
                Bytes changed = a;
                changed[changed.size() - 1] = 0x02;  // contentType id-data -> id-signedData
                CPPUNIT_ASSERT(!decrypt(key, nonce, changed, cipher, tag, 4096));
            }
            Bytes other_key = key;
            other_key[31] ^= 0x01;
            CPPUNIT_ASSERT(!decrypt(other_key, nonce, a, cipher, tag, 4096));
        }
    }

    void nonce_parameter_is_checked()
    {
        const ContentAlgorithm a = chacha_algorithm(kNonce);
        CPPUNIT_ASSERT_EQUAL(std::string("chacha20-poly1305"), a.name);
        CPPUNIT_ASSERT(a.aead);
        CPPUNIT_ASSERT_EQUAL(std::size_t(32), a.key_size);
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), a.tag_size);
        CPPUNIT_ASSERT(a.iv == kNonce);
        for (std::size_t n : {0u, 8u, 11u, 13u, 16u, 24u})
            CPPUNIT_ASSERT_MESSAGE(std::to_string(n), !content_algorithm_of({kChaChaOid, nonce_parameter(Bytes(n, 7))}));
        CPPUNIT_ASSERT(!content_algorithm_of({kChaChaOid, std::nullopt}));
        // GCMParameters { nonce, 16 } is not the RFC 8103 parameter
        Bytes gcm{0x30, 0x11};
        const Bytes p = nonce_parameter(kNonce);
        gcm.insert(gcm.end(), p.begin(), p.end());
        gcm.insert(gcm.end(), {0x02, 0x01, 0x10});
        CPPUNIT_ASSERT(!content_algorithm_of({kChaChaOid, gcm}));
        CPPUNIT_ASSERT(!content_algorithm_of({kChaChaOid, Bytes{0x05, 0x00}}));  // NULL
    }

    void misuse_is_internal()
    {
        auto internal = [](const char* what, auto f) {
            try {
                f();
            } catch (const Error& e) {
                CPPUNIT_ASSERT_MESSAGE(what, e.failure() == Failure::Internal);
                return;
            }
            CPPUNIT_FAIL(std::string(what) + ": accepted");
        };
        Bytes buf(200);
        internal("short key", [] { ChaChaPoly1305(Bytes(16), kNonce); });
        internal("long nonce", [] { ChaChaPoly1305(kKey, Bytes(16)); });
        internal("after a partial block", [&] {
            ChaChaPoly1305 c(kKey, kNonce);
            c.encrypt(buf.data(), 65, buf.data());
            c.encrypt(buf.data(), 64, buf.data());
        });
        internal("AAD after content", [&] {
            ChaChaPoly1305 c(kKey, kNonce);
            c.decrypt(buf.data(), 64, buf.data());
            c.authenticate(kAad);
        });
        internal("tag twice", [] {
            ChaChaPoly1305 c(kKey, kNonce);
            c.tag();
            c.tag();
        });
        const SecretBytes short_key(16);
        MemorySink sink;
        internal("content key of the wrong size", [&] { ContentDecryptor(chacha_algorithm(kNonce), short_key, sink); });
    }

    void encoder_round_trip()
    {
        struct Rcpt {
            const char* id;
            RsaKeyTransport rsa;
            const char* km;
        } rcpts[] = {{"alice", RsaKeyTransport::Pkcs1v15, "ktri-rsa-pkcs1"},
                     {"carol", RsaKeyTransport::OaepSha256, "ktri-rsa-oaep"},
                     {"bob", RsaKeyTransport::Pkcs1v15, "kari-ecdh-p256"},
                     {"erin", RsaKeyTransport::Pkcs1v15, "kari-ecdh-p384"}};
        const std::size_t lengths[] = {0, 1, 63, 64, 65, 127, 129, 65535, 65536, 65537, 65600, 200001};
        std::mt19937 rng(7539);
        std::size_t i = 0;
        Bytes first_nonce;
        for (std::size_t len : lengths) {
            const Rcpt& r = rcpts[i++ % 4];
            const std::string what = std::string(r.id) + " len=" + std::to_string(len);
            Bytes content(len);
            for (auto& b : content) b = std::uint8_t(rng());
            RecipientSpec spec;
            spec.certificate_der = test::read_bytes(test::pki_dir() / (std::string(r.id) + ".cert.der"));
            spec.rsa = r.rsa;
            MemorySink out;
            EnvelopeEncoder enc({spec}, ContentCipher::ChaCha20Poly1305, len, out);
            // uneven writes: partial blocks must wait for the next write
            const std::size_t pieces[] = {1, 7, 100, 70000, 64, 63, 65536};
            for (std::size_t at = 0, k = 0; at < len; ++k) {
                const std::size_t n = std::min(pieces[k % 7], len - at);
                enc.plaintext().write(ByteView(content).subspan(at, n));
                at += n;
            }
            enc.finish();
            const Bytes& der = out.data();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, enc.total_size(), std::uint64_t(der.size()));

            const EnvelopedDataView v = decode_enveloped_content_info(der);
            CPPUNIT_ASSERT_MESSAGE(what, v.authenticated);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, 0, v.version);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(kChaChaOid), v.content_encryption_algorithm.oid);
            const Bytes& p = *v.content_encryption_algorithm.parameters;
            CPPUNIT_ASSERT_MESSAGE(what, p.size() == 14 && p[0] == 0x04 && p[1] == 0x0C);  // OCTET STRING (SIZE(12))
            CPPUNIT_ASSERT_MESSAGE(what, Bytes(p.begin() + 2, p.end()) != first_nonce);
            first_nonce.assign(p.begin() + 2, p.end());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, len, v.encrypted_content->size());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::size_t(16), v.mac->size());
            CPPUNIT_ASSERT_MESSAGE(what, !v.has_attributes);

            Bytes plain;
            const DecryptOutcome o = test::decrypt_bytes(der, {test::soft_key(r.id)}, plain);
            CPPUNIT_ASSERT_MESSAGE(what, o.status == DecryptStatus::Decrypted);
            CPPUNIT_ASSERT_MESSAGE(what, o.cipher == ContentCipher::ChaCha20Poly1305);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("chacha20-poly1305"), o.cipher_name);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(r.km), o.key_management);
            CPPUNIT_ASSERT_MESSAGE(what, plain == content);
            Bytes bad = der;
            bad[bad.size() - 1] ^= 0x01;  // DER: the mac is last
            CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("Poly1305 tag mismatch"),
                                         uniform_failure(bad, {test::soft_key(r.id)}));
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsChaChaTest);
