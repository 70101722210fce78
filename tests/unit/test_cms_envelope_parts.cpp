// EnvelopedData pieces against independent references: X25519 KARI (OpenSSL 3.0 has no
// RFC 8418 support, so the receiving side is openssl pkeyutl -derive + openssl kdf + nettle
// unwrap + openssl enc/GnuTLS AEAD), field-by-field comparison with `openssl cms -encrypt`,
// KDFs against `openssl kdf`, RFC 3394 vectors, OAEP against `openssl pkeyutl`, unusable
// certificates, and parse_smime_capabilities on OpenSSL's and our own attributes.
#include <gnutls/crypto.h>
#include <nettle/aes.h>
#include <nettle/nist-keywrap.h>

#include <iostream>
#include <set>

#include "smime/cms/key_agreement.h"
#include "smime/cms/key_transport.h"
#include "smime/cms/recipient_key.h"
#include "tests/unit/test_cms_envelope_support.h"

using namespace ssm;
using namespace ssm::cmstest;

namespace {

Bytes from_hex(const std::string& hex)
{
    Bytes b;
    std::string h;
    for (char c : hex)
        if (std::isxdigit(static_cast<unsigned char>(c))) h += c;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) b.push_back(std::uint8_t(std::stoi(h.substr(i, 2), nullptr, 16)));
    return b;
}

SecretBytes secret(ByteView b)
{
    SecretBytes s(b.size());
    std::copy(b.begin(), b.end(), s.data());
    return s;
}

// Receiving side of an X25519 KARI with tools other than our encoder.
Bytes x25519_receive(const fs::path& dir, const Bytes& der)
{
    const auto v = decode_enveloped_content_info(der);
    const RecipientInfoView& ri = v.recipients.at(0);
    CPPUNIT_ASSERT_EQUAL(std::string("kari"), ri.kind);
    CPPUNIT_ASSERT_EQUAL(3, ri.version);
    CPPUNIT_ASSERT_EQUAL(std::string(oid::kX25519), ri.originator_algorithm->oid);
    CPPUNIT_ASSERT(!ri.originator_algorithm->parameters);
    CPPUNIT_ASSERT_EQUAL(std::string("1.2.840.113549.1.9.16.3.19"), ri.key_encryption_algorithm.oid);
    const auto wrap = Asn1Node::decode("AlgorithmIdentifier", *ri.key_encryption_algorithm.parameters);
    const bool aes256 = wrap.read_oid("algorithm") == "2.16.840.1.101.3.4.1.45";
    CPPUNIT_ASSERT(aes256 || wrap.read_oid("algorithm") == "2.16.840.1.101.3.4.1.5");
    CPPUNIT_ASSERT(!wrap.has("parameters") || !wrap.read_optional("parameters"));

    // Z with OpenSSL from the ephemeral public key (SubjectPublicKeyInfo, RFC 8410).
    Bytes spki = from_hex("302a300506032b656e032100");
    spki.insert(spki.end(), ri.originator_public_key.begin(), ri.originator_public_key.end());
    CPPUNIT_ASSERT_EQUAL(std::size_t(44), spki.size());
    test::write_file(dir / "eph.der", str(spki));
    const std::string d = dir.string();
    shell("openssl pkey -pubin -inform DER -in " + d + "/eph.der -out " + d + "/eph.pem && openssl pkeyutl -derive -inkey " +
          (extra_pki() / "x25519.key.pem").string() + " -peerkey " + d + "/eph.pem -out " + d + "/z.bin");
    const Bytes z = to_bytes(test::read_file(dir / "z.bin"));
    // ECC-CMS-SharedInfo written out by hand (RFC 5753 §7.2): { {wrap OID}, [2] {bits} }.
    const std::string shared_info = aes256 ? "3015300b060960864801650304012da20604040000 0100"
                                           : "3015300b0609608648016503040105a20604040000 0080";
    const std::size_t kek_len = aes256 ? 32 : 16;
    const Bytes kek = from_hex(shell("openssl kdf -keylen " + std::to_string(kek_len) +
                                     " -kdfopt digest:SHA256 -kdfopt hexkey:" + lower_hex(z) +
                                     " -kdfopt hexinfo:" + lower_hex(from_hex(shared_info)) + " HKDF"));
    CPPUNIT_ASSERT_EQUAL(kek_len, kek.size());
    // RFC 3394 unwrap with nettle directly.
    const Bytes& wrapped = ri.keys.at(0).encrypted_key;
    Bytes cek(wrapped.size() - 8);
    static const std::uint8_t iv[8] = {0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6};
    int ok = 0;
    if (aes256) {
        aes256_ctx a;
        aes256_set_decrypt_key(&a, kek.data());
        ok = aes256_keyunwrap(&a, iv, cek.size(), cek.data(), wrapped.data());
    } else {
        aes128_ctx a;
        aes128_set_decrypt_key(&a, kek.data());
        ok = aes128_keyunwrap(&a, iv, cek.size(), cek.data(), wrapped.data());
    }
    CPPUNIT_ASSERT_MESSAGE("AES key unwrap integrity check", ok);

    const std::string& alg = v.content_encryption_algorithm.oid;
    if (!v.authenticated) {
        const Bytes ivv = Asn1Node::decode("AES-IV", *v.content_encryption_algorithm.parameters).read_bytes("");
        test::write_file(dir / "ct.bin", str(*v.encrypted_content));
        const std::string cipher = alg == oid::kAes256Cbc ? "-aes-256-cbc" : "-aes-128-cbc";
        return to_bytes(shell("openssl enc -d " + cipher + " -K " + lower_hex(cek) + " -iv " + lower_hex(ivv) +
                              " -in " + d + "/ct.bin"));
    }
    const Bytes nonce =
        Asn1Node::decode("GCMParameters", *v.content_encryption_algorithm.parameters).read_bytes("aes-nonce");
    gnutls_aead_cipher_hd_t h = nullptr;
    gnutls_datum_t key{cek.data(), unsigned(cek.size())};
    CPPUNIT_ASSERT(gnutls_aead_cipher_init(&h, alg == oid::kAes256Gcm ? GNUTLS_CIPHER_AES_256_GCM
                                                                        : GNUTLS_CIPHER_AES_128_GCM,
                                           &key) >= 0);
    Bytes in = *v.encrypted_content;
    in.insert(in.end(), v.mac->begin(), v.mac->end());
    Bytes out(in.size());
    std::size_t out_len = out.size();
    const int rc = gnutls_aead_cipher_decrypt(h, nonce.data(), nonce.size(), nullptr, 0, 16, in.data(),
                                              in.size(), out.data(), &out_len);
    gnutls_aead_cipher_deinit(h);
    CPPUNIT_ASSERT_MESSAGE("GCM tag check", rc >= 0);
    out.resize(out_len);
    return out;
}

std::string oaep_part(const Bytes& params, const std::string& field)
{
    const auto p = Asn1Node::decode("RSAES-OAEP-params", params);
    if (field == "mgf-hash")
        return Asn1Node::decode("AlgorithmIdentifier", p.read_bytes("maskGenFunc.parameters")).read_oid("algorithm");
    if (field == "psource") return p.read_optional("pSourceFunc.algorithm") ? "present" : "absent";
    return p.read_oid(field);
}

void expect_refused(const Bytes& cert, const std::string& needle, bool ski = false)
{
    try {
        RecipientSpec s{cert, RsaKeyTransport::Pkcs1v15, ski};
        MemorySink out;
        EnvelopeEncoder e({s}, ContentCipher::Aes256Cbc, 1, out);
        CPPUNIT_FAIL("accepted an unusable certificate (" + needle + ")");
    } catch (const Error& e) {
        CPPUNIT_ASSERT(e.failure() == Failure::PolicyViolation);
        const std::string what = e.what();
        CPPUNIT_ASSERT_MESSAGE(what, what.find(needle) != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(what, what.find("recipient certificate") != std::string::npos);
    }
}

}  // namespace

class CmsEnvelopePartsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsEnvelopePartsTest);
    CPPUNIT_TEST(x25519_decrypts_with_independent_tools);
    CPPUNIT_TEST(fields_match_openssl_encrypt);
    CPPUNIT_TEST(kdfs_match_openssl_kdf);
    CPPUNIT_TEST(key_wrap_rfc3394_vectors);
    CPPUNIT_TEST(oaep_decrypts_with_openssl_pkeyutl);
    CPPUNIT_TEST(unusable_certificates_are_refused);
    CPPUNIT_TEST(certificate_without_ski);
    CPPUNIT_TEST(recipient_identifier_forms_per_recipient);
    CPPUNIT_TEST(smime_capabilities_openssl_and_ours);
    CPPUNIT_TEST(decoder_sees_optional_fields);
    CPPUNIT_TEST_SUITE_END();

public:
    void x25519_decrypts_with_independent_tools()
    {
        test::TempDir dir;
        for (ContentCipher c : kCiphers)
            for (std::size_t len : {0, 1, 16, 17, 3000})
                for (bool ski : {false, true}) {
                    const Bytes content = pattern(len);
                    const Bytes der = encrypt({spec("x25519", RsaKeyTransport::Pkcs1v15, ski)}, c, content);
                    const std::string what = std::string(cipher_name(c)) + " len=" + std::to_string(len);
                    CPPUNIT_ASSERT_MESSAGE(what, x25519_receive(dir.path(), der) == content);
                    const auto v = decode_enveloped_content_info(der);
                    CPPUNIT_ASSERT_EQUAL(ski, v.recipients[0].keys[0].rid.subject_key_id.has_value());
                    CPPUNIT_ASSERT_EQUAL(is_aead(c) ? 0 : 2, v.version);
                }
        // The shared info we compute is the one written by hand above.
        CPPUNIT_ASSERT_EQUAL(std::string("3015300b060960864801650304012da206040400000100"),
                             lower_hex(ecc_cms_shared_info(oid::kAes256Wrap, 32)));
    }

    // Decodes our object and OpenSSL's for the same algorithms with our decoder and compares
    // them field by field (values that are random per message only by size).
    void fields_match_openssl_encrypt()
    {
        struct Case {
            const char* name;
            ContentCipher cipher;
            const char* id;
            RsaKeyTransport rsa;
            bool ski;
            const char* openssl_args;
        };
        const Case cases[] = {
            {"cbc256-rsa15", ContentCipher::Aes256Cbc, "alice", RsaKeyTransport::Pkcs1v15, false, "-aes-256-cbc"},
            {"cbc256-rsa15-ski", ContentCipher::Aes256Cbc, "alice", RsaKeyTransport::Pkcs1v15, true,
             "-aes-256-cbc -keyid"},
            {"gcm128-oaep", ContentCipher::Aes128Gcm, "carol", RsaKeyTransport::OaepSha256, false,
             "-aes-128-gcm -keyopt rsa_padding_mode:oaep -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256"},
            {"gcm256-p256-ski", ContentCipher::Aes256Gcm, "bob", RsaKeyTransport::Pkcs1v15, true,
             "-aes-256-gcm -keyid -keyopt ecdh_kdf_md:sha256"},
            {"cbc128-p384", ContentCipher::Aes128Cbc, "erin", RsaKeyTransport::Pkcs1v15, false,
             "-aes-128-cbc -keyopt ecdh_kdf_md:sha384"},
            {"cbc256-p256", ContentCipher::Aes256Cbc, "bob", RsaKeyTransport::Pkcs1v15, false,
             "-aes-256-cbc -keyopt ecdh_kdf_md:sha256"},
        };
        test::TempDir dir;
        const Bytes content = pattern(777);
        test::write_file(dir.path() / "m.bin", str(content));
        for (const Case& k : cases) {
            const std::string cert = (extra_pki() / (std::string(k.id) + ".cert.pem")).string();
            // -recip before -keyopt: the key options apply to the recipient named just before.
            std::string args = k.openssl_args;
            const std::size_t ko = args.find(" -keyopt");
            const std::string head = ko == std::string::npos ? args : args.substr(0, ko);
            const std::string keyopts = ko == std::string::npos ? "" : args.substr(ko);
            shell("openssl cms -encrypt -binary " + head + " -recip " + cert + keyopts + " -in " +
                  (dir.path() / "m.bin").string() + " -outform DER -out " + (dir.path() / "o.der").string() + " 2>&1");
            const auto theirs = decode_enveloped_content_info(as_bytes(test::read_file(dir.path() / "o.der")));
            const Bytes der = encrypt({spec(k.id, k.rsa, k.ski)}, k.cipher, content);
            const auto ours = decode_enveloped_content_info(der);
            const std::string n = k.name;
#define SAME(field) CPPUNIT_ASSERT_EQUAL_MESSAGE(n + " " #field, theirs.field, ours.field)
            SAME(authenticated);
            SAME(version);
            SAME(has_originator_info);
            SAME(has_attributes);
            SAME(content_type);
            SAME(content_encryption_algorithm.oid);
            SAME(recipients.size());
            SAME(encrypted_content->size());
            SAME(mac.has_value());
            if (ours.mac) SAME(mac->size());
            const char* params_type = ours.authenticated ? "GCMParameters" : "AES-IV";
            const auto tp = Asn1Node::decode(params_type, *theirs.content_encryption_algorithm.parameters);
            const auto op = Asn1Node::decode(params_type, *ours.content_encryption_algorithm.parameters);
            if (ours.authenticated) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(n, tp.read_bytes("aes-nonce").size(), op.read_bytes("aes-nonce").size());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(n, tp.read_small_int("aes-ICVlen"), op.read_small_int("aes-ICVlen"));
            } else {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(n, tp.read_bytes("").size(), op.read_bytes("").size());
            }
            SAME(recipients[0].kind);
            SAME(recipients[0].version);
            SAME(recipients[0].key_encryption_algorithm.oid);
            SAME(recipients[0].keys.size());
            SAME(recipients[0].keys[0].encrypted_key.size());
            SAME(recipients[0].keys[0].rid.issuer_serial.has_value());
            SAME(recipients[0].keys[0].rid.subject_key_id.has_value());
            if (ours.recipients[0].keys[0].rid.issuer_serial)
                CPPUNIT_ASSERT_MESSAGE(n, *theirs.recipients[0].keys[0].rid.issuer_serial ==
                                              *ours.recipients[0].keys[0].rid.issuer_serial);
            else
                CPPUNIT_ASSERT_MESSAGE(n + " SKI", *theirs.recipients[0].keys[0].rid.subject_key_id ==
                                                      *ours.recipients[0].keys[0].rid.subject_key_id);
            const Bytes& tparams = *theirs.recipients[0].key_encryption_algorithm.parameters;
            const Bytes& oparams = *ours.recipients[0].key_encryption_algorithm.parameters;
            if (ours.recipients[0].kind == "kari") {
                SAME(recipients[0].originator_kind);
                SAME(recipients[0].originator_algorithm->oid);
                SAME(recipients[0].originator_algorithm->parameters.has_value());
                SAME(recipients[0].originator_public_key.size());
                SAME(recipients[0].ukm.has_value());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(n + " wrap", Asn1Node::decode("AlgorithmIdentifier", tparams).read_oid("algorithm"),
                                             Asn1Node::decode("AlgorithmIdentifier", oparams).read_oid("algorithm"));
                CPPUNIT_ASSERT_MESSAGE(n + " wrap DER", tparams == oparams);
            } else if (ours.recipients[0].key_encryption_algorithm.oid == oid::kRsaesOaep) {
                for (const char* f : {"hashFunc.algorithm", "maskGenFunc.algorithm", "mgf-hash", "psource"})
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(n + " " + f, oaep_part(tparams, f), oaep_part(oparams, f));
                if (tparams != oparams)
                    std::cout << "  note: OAEP params DER differ (openssl " << lower_hex(tparams) << ", ours "
                              << lower_hex(oparams) << ")" << std::endl;
            } else {
                CPPUNIT_ASSERT_MESSAGE(n + " rsaEncryption NULL", tparams == oparams);
            }
#undef SAME
            // And OpenSSL decrypts ours (the decoder agreeing is not enough).
            CPPUNIT_ASSERT_MESSAGE(n, openssl_decrypt(dir.path(), der, k.id) == str(content));
        }
    }

    void kdfs_match_openssl_kdf()
    {
        const Bytes z = pattern(48);
        const Bytes info = ecc_cms_shared_info(oid::kAes128Wrap, 16);
        for (std::size_t len : {16, 32, 40, 80}) {
            for (auto [d, name] : {std::pair{DigestAlgorithm::Sha256, "SHA256"}, std::pair{DigestAlgorithm::Sha384, "SHA384"}}) {
                const std::string want = shell("openssl kdf -keylen " + std::to_string(len) + " -kdfopt digest:" + name +
                                               " -kdfopt hexsecret:" + lower_hex(z) + " -kdfopt hexinfo:" +
                                               lower_hex(info) + " X963KDF");
                CPPUNIT_ASSERT_EQUAL(lower_hex(from_hex(want)), lower_hex(x963_kdf(d, z, info, len).view()));
            }
            const std::string want = shell("openssl kdf -keylen " + std::to_string(len) +
                                           " -kdfopt digest:SHA256 -kdfopt hexkey:" + lower_hex(z) +
                                           " -kdfopt hexinfo:" + lower_hex(info) + " HKDF");
            CPPUNIT_ASSERT_EQUAL(lower_hex(from_hex(want)), lower_hex(hkdf_sha256(z, info, len).view()));
        }
    }

    void key_wrap_rfc3394_vectors()
    {
        // RFC 3394 §4.1 (128-bit KEK, 128-bit key) and §4.6 (256-bit KEK, 256-bit key).
        const SecretBytes kek128 = secret(from_hex("000102030405060708090A0B0C0D0E0F"));
        const SecretBytes key128 = secret(from_hex("00112233445566778899AABBCCDDEEFF"));
        CPPUNIT_ASSERT_EQUAL(std::string("1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5"),
                             lower_hex(aes_key_wrap(kek128, key128)));
        const SecretBytes kek256 = secret(from_hex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"));
        const SecretBytes key256 = secret(from_hex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F"));
        const Bytes w = aes_key_wrap(kek256, key256);
        CPPUNIT_ASSERT_EQUAL(std::string("28c9f404c4b810f4cbccb35cfb87f8263f5786e2d80ed326cbc7f0e71a99f43bfb988b9b7a02dd21"),
                             lower_hex(w));
        CPPUNIT_ASSERT(aes_key_unwrap(kek256, w) == Bytes(key256.view().begin(), key256.view().end()));
        Bytes bad = w;
        bad[5] ^= 1;
        CPPUNIT_ASSERT(!aes_key_unwrap(kek256, bad));
    }

    void oaep_decrypts_with_openssl_pkeyutl()
    {
        test::TempDir dir;
        const RecipientKey key = recipient_key_of(cert_der("carol"));
        // RSA-2048: k = 256, so the longest OAEP-SHA256 message is 256 - 66 = 190 octets.
        for (std::size_t len : {1, 16, 32, 190}) {
            const Bytes m = pattern(len);
            const Bytes c = rsa_oaep_sha256_encrypt(key, secret(m));
            CPPUNIT_ASSERT_EQUAL(std::size_t(256), c.size());
            test::write_file(dir.path() / "c.bin", str(c));
            const std::string plain = shell(
                "openssl pkeyutl -decrypt -inkey " + (extra_pki() / "carol.key.pem").string() +
                " -pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in " +
                (dir.path() / "c.bin").string());
            CPPUNIT_ASSERT(plain == str(m));
        }
        CPPUNIT_ASSERT_THROW(rsa_oaep_sha256_encrypt(key, secret(pattern(191))), Error);
        // Two encryptions of one key differ (random seed).
        const Bytes m = pattern(32);
        CPPUNIT_ASSERT(rsa_oaep_sha256_encrypt(key, secret(m)) != rsa_oaep_sha256_encrypt(key, secret(m)));
    }

    void unusable_certificates_are_refused()
    {
        expect_refused(cert_der("dsa"), "DSA");
        expect_refused(cert_der("ed"), "signing");
        expect_refused(Bytes{0x30, 0x03, 0x02, 0x01, 0x00}, "not an X.509 certificate");
        expect_refused(Bytes{}, "empty");
        const Bytes alice = cert_der("alice");
        expect_refused(Bytes(alice.begin(), alice.begin() + 200), "not an X.509 certificate");
        // secp256k1: GnuTLS cannot read the key at all; the message still says why.
        expect_refused(cert_der("k256"), "recipient certificate");
        // A P-256 point moved off the curve (the signature no longer matters to us here).
        Bytes bob = cert_der("bob");
        const Bytes point = recipient_key_of(bob).ec_y;
        auto at = std::search(bob.begin(), bob.end(), point.begin(), point.end());
        CPPUNIT_ASSERT(at != bob.end());
        at[31] ^= 1;
        expect_refused(bob, "curve");
        for (const char* id : {"alice", "bob", "erin", "petra", "x25519"})
            CPPUNIT_ASSERT_NO_THROW_MESSAGE(id, recipient_key_of(cert_der(id)));
        CPPUNIT_ASSERT(recipient_key_of(cert_der("x25519")).type == RecipientKeyType::X25519);
        CPPUNIT_ASSERT(recipient_key_of(cert_der("erin")).type == RecipientKeyType::EcP384);
        CPPUNIT_ASSERT(recipient_key_of(cert_der("petra")).type == RecipientKeyType::EcP521);
        CPPUNIT_ASSERT_EQUAL(std::size_t(66), recipient_key_of(cert_der("petra")).ec_x.size());
    }

    // A key id asked for a certificate without the SKI extension: never one of our making
    // (RFC 5652 §6.2.1: only the extension's value can be matched), issuerAndSerialNumber
    // instead, KTRI version 0, and the encoder says which recipient fell back.
    void certificate_without_ski()
    {
        test::TempDir dir;
        const Bytes content = pattern(100);
        for (ContentCipher c : {ContentCipher::Aes256Cbc, ContentCipher::Aes256Gcm}) {
            MemorySink out;
            EnvelopeEncoder enc({spec("alice", RsaKeyTransport::Pkcs1v15, true), spec("noski", RsaKeyTransport::Pkcs1v15, true)},
                                c, content.size(), out);
            enc.plaintext().write(content);
            enc.finish();
            CPPUNIT_ASSERT(enc.issuer_serial_fallbacks() == std::vector<std::size_t>{1});
            const auto v = decode_enveloped_content_info(out.data());
            CPPUNIT_ASSERT_EQUAL(is_aead(c) ? 0 : 2, v.version);  // alice's KTRI is version 2
            CPPUNIT_ASSERT_EQUAL(2, v.recipients.at(0).version);
            CPPUNIT_ASSERT(v.recipients.at(0).keys.at(0).rid.subject_key_id);
            CPPUNIT_ASSERT_EQUAL(0, v.recipients.at(1).version);
            CPPUNIT_ASSERT(v.recipients.at(1).keys.at(0).rid.issuer_serial);
            CPPUNIT_ASSERT(!v.recipients.at(1).keys.at(0).rid.subject_key_id);
            CPPUNIT_ASSERT(openssl_decrypt(dir.path(), out.data(), "noski") == str(content));
            CPPUNIT_ASSERT(openssl_decrypt(dir.path(), out.data(), "alice") == str(content));
            // Alone, asked for its key id: version 0 throughout (RFC 5652 §6.1).
            MemorySink alone;
            EnvelopeEncoder one({spec("noski", RsaKeyTransport::Pkcs1v15, true)}, c, content.size(), alone);
            one.plaintext().write(content);
            one.finish();
            CPPUNIT_ASSERT(one.issuer_serial_fallbacks() == std::vector<std::size_t>{0});
            CPPUNIT_ASSERT_EQUAL(0, decode_enveloped_content_info(alone.data()).version);
            CPPUNIT_ASSERT(openssl_decrypt(dir.path(), alone.data(), "noski") == str(content));
        }
    }

    // Each recipient's own form in one object: the rid CHOICE and the RecipientInfo version
    // per recipient (KTRI 0/2, KARI 3 with issuerAndSerialNumber or rKeyId), the object's
    // version from RFC 5652 §6.1 (EnvelopedData: 0 only when every RecipientInfo is 0) or
    // RFC 5083 §2.1 (AuthEnvelopedData: 0), and every recipient OpenSSL 3.0 can read decrypts with it (X25519: the test above).
    void recipient_identifier_forms_per_recipient()
    {
        test::TempDir dir;
        const Bytes content = pattern(777);
        struct Case {
            const char* id;
            RsaKeyTransport rsa;
            bool kari;
        };
        const Case cases[] = {{"alice", RsaKeyTransport::Pkcs1v15, false}, {"carol", RsaKeyTransport::OaepSha256, false},
                              {"bob", RsaKeyTransport::Pkcs1v15, true},     {"erin", RsaKeyTransport::Pkcs1v15, true},
                              {"petra", RsaKeyTransport::Pkcs1v15, true},   {"x25519", RsaKeyTransport::Pkcs1v15, true}};
        std::vector<std::string> ski_hex, serial;
        for (const auto& k : cases) {
            ski_hex.push_back(openssl_ski_hex(k.id));
            serial.push_back(openssl_serial_hex(extra_pki() / (std::string(k.id) + ".cert.pem")));
        }
        for (ContentCipher c : {ContentCipher::Aes128Cbc, ContentCipher::Aes256Gcm})
            for (int mask = 0; mask < 4; ++mask) {  // bit 0: RSA by key id, bit 1: EC by key id
                std::vector<RecipientSpec> specs;
                for (const auto& k : cases) specs.push_back(spec(k.id, k.rsa, (mask >> (k.kari ? 1 : 0)) & 1));
                const Bytes der = encrypt(specs, c, content);
                const auto v = decode_enveloped_content_info(der);
                const std::string what = std::string(cipher_name(c)) + " mask=" + std::to_string(mask);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, is_aead(c) ? 0 : 2, v.version);  // KARIs present
                CPPUNIT_ASSERT_EQUAL(std::size_t(6), v.recipients.size());
                // DER sorts the SET OF RecipientInfo: each one is found by the name it carries.
                std::set<std::size_t> seen;
                for (const auto& ri : v.recipients) {
                    const auto& rid = ri.keys.at(0).rid;
                    std::size_t i = 0;
                    for (; i < 6; ++i)
                        if (rid.subject_key_id ? lower_hex(*rid.subject_key_id) == ski_hex[i]
                                               : rid.issuer_serial && serial_hex(rid.issuer_serial->serial) == serial[i])
                            break;
                    CPPUNIT_ASSERT_MESSAGE(what + ": a RecipientInfo names no recipient", i < 6);
                    CPPUNIT_ASSERT_MESSAGE(what, seen.insert(i).second);
                    const bool key_id = specs[i].use_subject_key_identifier;
                    const std::string who = what + " " + cases[i].id;
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(who, key_id, rid.subject_key_id.has_value());
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(who, std::string(cases[i].kari ? "kari" : "ktri"), ri.kind);
                    CPPUNIT_ASSERT_EQUAL_MESSAGE(who, cases[i].kari ? 3 : key_id ? 2 : 0, ri.version);
                }
                for (const char* id : {"alice", "carol", "bob", "erin", "petra"})
                    CPPUNIT_ASSERT_MESSAGE(what + " " + id, openssl_decrypt(dir.path(), der, id) == str(content));
            }
        // The rid of a KARI is inside its RecipientEncryptedKey, as the [0] rKeyId SEQUENCE
        // (no date, no other): the DER names it, not only our decoder.
        const Bytes der = encrypt({spec("bob", RsaKeyTransport::Pkcs1v15, true)}, ContentCipher::Aes256Cbc, content);
        const Bytes ski = from_hex(openssl_ski_hex("bob"));
        Bytes rkeyid = {0xA0, std::uint8_t(ski.size() + 2), 0x04, std::uint8_t(ski.size())};
        rkeyid.insert(rkeyid.end(), ski.begin(), ski.end());
        CPPUNIT_ASSERT(std::search(der.begin(), der.end(), rkeyid.begin(), rkeyid.end()) != der.end());
    }

    void smime_capabilities_openssl_and_ours()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "m.txt", kMessage);
        const fs::path& d = pki();
        shell("openssl cms -sign -binary -in " + (dir.path() / "m.txt").string() + " -signer " +
              (d / "alice.cert.pem").string() + " -inkey " + (d / "alice.key.pem").string() +
              " -outform DER -out " + (dir.path() / "s.der").string() + " 2>&1");
        const auto sd = decode_signed_content_info(as_bytes(test::read_file(dir.path() / "s.der")));
        const Attribute* caps = sd.signers.at(0).find_signed(oid::kSmimeCapabilities);
        CPPUNIT_ASSERT(caps && caps->values.size() == 1);
        const auto theirs = parse_smime_capabilities(caps->values[0]);
        test::write_file(dir.path() / "caps.der", str(caps->values[0]));
        const std::string parsed = shell("openssl asn1parse -inform DER -in " + (dir.path() / "caps.der").string());
        std::size_t objects = 0;
        for (std::size_t p = 0; (p = parsed.find("OBJECT", p)) != std::string::npos; ++p) ++objects;
        CPPUNIT_ASSERT_EQUAL(objects, theirs.size());
        CPPUNIT_ASSERT(objects >= 3);
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAes256Cbc), theirs.at(0));  // OpenSSL's first choice
        CPPUNIT_ASSERT(std::find(theirs.begin(), theirs.end(), oid::kAes128Cbc) != theirs.end());

        const auto ours = parse_smime_capabilities(smime_capabilities_value());
        const std::vector<std::string> head(ours.begin(), ours.begin() + std::min<std::size_t>(6, ours.size()));
        CPPUNIT_ASSERT(head == (std::vector<std::string>{oid::kAes256Gcm, oid::kAes128Gcm, oid::kChaCha20Poly1305,
                                                         oid::kAes256Cbc, oid::kAes128Cbc, oid::kRsaesOaep}));

        // Malformed input: empty, no throw.
        const Bytes good = smime_capabilities_value();
        CPPUNIT_ASSERT(parse_smime_capabilities(ByteView(good).first(good.size() - 1)).empty());
        CPPUNIT_ASSERT(parse_smime_capabilities(ByteView{}).empty());
        CPPUNIT_ASSERT(parse_smime_capabilities(as_bytes("garbage")).empty());
        CPPUNIT_ASSERT(parse_smime_capabilities(from_hex("3000")).empty());  // valid, empty list
        CPPUNIT_ASSERT(parse_smime_capabilities(from_hex("3003020100")).empty());
    }

    // Our objects never carry originatorInfo, attributes or ukm; the decoder must still see
    // them when a sender adds them (libtasn1 reports constructed OPTIONALs by node presence).
    void decoder_sees_optional_fields()
    {
        const Bytes der = encrypt({spec("bob")}, ContentCipher::Aes256Cbc, pattern(10));
        const auto plain = decode_enveloped_content_info(der);
        CPPUNIT_ASSERT(!plain.has_originator_info && !plain.has_attributes && !plain.recipients[0].ukm);
        // Built from scratch: a decoded node has no place left for absent OPTIONALs.
        auto env = Asn1Node::create("EnvelopedData");
        env.write_uint("version", 2);
        env.append("originatorInfo.certs");
        env.write_bytes("originatorInfo.certs.?LAST", cert_der("alice"));
        env.remove("originatorInfo.crls");
        env.append("recipientInfos");
        env.write_text("recipientInfos.?LAST", "kari");
        const std::string k = "recipientInfos.?LAST.kari";
        env.write_uint(k + ".version", 3);
        env.write_text(k + ".originator", "subjectKeyIdentifier");
        env.write_bytes(k + ".originator.subjectKeyIdentifier", from_hex("0a0b"));
        env.write_bytes(k + ".ukm", from_hex("0102030405"));
        write_algorithm_id(env, k + ".keyEncryptionAlgorithm", {oid::kEcdhStdSha256Kdf, std::nullopt});
        env.append(k + ".recipientEncryptedKeys");
        env.write_text(k + ".recipientEncryptedKeys.?LAST.rid", "issuerAndSerialNumber");
        write_issuer_serial(env, k + ".recipientEncryptedKeys.?LAST.rid.issuerAndSerialNumber",
                            issuer_serial_of(cert_der("bob")));
        env.write_bytes(k + ".recipientEncryptedKeys.?LAST.encryptedKey", pattern(40));
        env.write_oid("encryptedContentInfo.contentType", oid::kData);
        write_algorithm_id(env, "encryptedContentInfo.contentEncryptionAlgorithm",
                           plain.content_encryption_algorithm);
        env.write_bytes("encryptedContentInfo.encryptedContent", *plain.encrypted_content);
        write_attributes(env, "unprotectedAttrs", {{oid::kContentType, {content_type_value(oid::kData)}}});
        auto ci = Asn1Node::create("ContentInfo");
        ci.write_oid("contentType", oid::kEnvelopedData);
        ci.write_bytes("content", env.encode());
        const auto v = decode_enveloped_content_info(ci.encode());
        CPPUNIT_ASSERT(v.has_originator_info && v.has_attributes);
        CPPUNIT_ASSERT(v.recipients[0].ukm && lower_hex(*v.recipients[0].ukm) == "0102030405");
        CPPUNIT_ASSERT(v.encrypted_content == plain.encrypted_content);
        CPPUNIT_ASSERT_EQUAL(std::string("subjectKeyIdentifier"), v.recipients[0].originator_kind);
        CPPUNIT_ASSERT(!v.recipients[0].originator_algorithm);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsEnvelopePartsTest);
