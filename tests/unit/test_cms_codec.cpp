// Unit tests for the smime/cms/ codec pieces: DER length helper (against libtasn1), digests
// (FIPS 180 vectors), the cms.asn module, and decoding of OpenSSL-made CMS (DER and BER).
#include <cppunit/extensions/HelperMacros.h>

#include <libtasn1.h>

#include "smime/cms/algorithm_ids.h"
#include "smime/cms/certificate_id.h"
#include "base/name_compare.h"
#include "smime/cms/signed_attributes.h"
#include "tests/unit/test_cms_support.h"

using namespace ssm;
using namespace ssm::cmstest;

namespace {

Bytes from_hex(const std::string& hex)
{
    Bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(std::uint8_t(std::stoul(hex.substr(i, 2), nullptr, 16)));
    return out;
}

}  // namespace

class CmsCodecTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsCodecTest);
    CPPUNIT_TEST(der_length_matches_libtasn1);
    CPPUNIT_TEST(der_header_parse_rejects);
    CPPUNIT_TEST(hasher_known_vectors_and_streaming);
    CPPUNIT_TEST(module_loads_every_type);
    CPPUNIT_TEST(decodes_openssl_detached);
    CPPUNIT_TEST(decodes_openssl_streamed_ber);
    CPPUNIT_TEST(decoder_rejects_garbage);
    CPPUNIT_TEST(module_decodes_openssl_enveloped_and_ess);
    CPPUNIT_TEST(names_compare_as_rfc5280);
    CPPUNIT_TEST_SUITE_END();

public:
    void der_length_matches_libtasn1()
    {
        const std::uint64_t lengths[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 0xFFFFFF,
                                         0x1000000, 0xFFFFFFFFull, 0x100000000ull,
                                         0xFFFFFFFFFFFFFFFFull};
        for (auto len : lengths) {
            unsigned char ref[ASN1_MAX_LENGTH_SIZE];
            int ref_len = 0;
            asn1_length_der(static_cast<unsigned long>(len), ref, &ref_len);
            Bytes h = der_header(0x04, len);
            CPPUNIT_ASSERT_EQUAL(std::size_t(ref_len) + 1, h.size());
            CPPUNIT_ASSERT(std::equal(ref, ref + ref_len, h.begin() + 1));
            CPPUNIT_ASSERT_EQUAL(h.size(), der_header_size(len));
            DerHeader p = parse_der_header(h);
            CPPUNIT_ASSERT_EQUAL(std::uint8_t(0x04), p.tag);
            CPPUNIT_ASSERT_EQUAL(h.size(), p.header_size);
            CPPUNIT_ASSERT_EQUAL(len, p.length);
        }
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(130), der_tlv_size(127) + 1);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(131), der_tlv_size(128));
        CPPUNIT_ASSERT_THROW(der_tlv_size(0xFFFFFFFFFFFFFFF8ull), Error);
        CPPUNIT_ASSERT_THROW(checked_add(0xFFFFFFFFFFFFFFFFull, 1), Error);
    }

    void der_header_parse_rejects()
    {
        const std::vector<Bytes> bad = {
            {}, {0x30}, {0x30, 0x80}, {0x30, 0x81, 0x7f}, {0x30, 0x82, 0x00, 0x80},
            {0x30, 0x89, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {0x30, 0x82, 0x01}, {0x1f, 0x01},
        };
        for (const auto& b : bad) CPPUNIT_ASSERT_THROW(parse_der_header(b), Error);
    }

    void hasher_known_vectors_and_streaming()
    {
        // FIPS 180-2 examples for "abc".
        CPPUNIT_ASSERT_EQUAL(std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
                             lower_hex(digest_of(DigestAlgorithm::Sha256, as_bytes("abc"))));
        CPPUNIT_ASSERT_EQUAL(std::string("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                                         "8086072ba1e7cc2358baeca134c825a7"),
                             lower_hex(digest_of(DigestAlgorithm::Sha384, as_bytes("abc"))));
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), digest_of(DigestAlgorithm::Sha512, as_bytes("")).size());
        Hasher h(DigestAlgorithm::Sha256);
        h.write(std::string_view("a"));
        h.write(ByteView{});
        h.write(std::string_view("bc"));
        CPPUNIT_ASSERT(h.finish() == digest_of(DigestAlgorithm::Sha256, as_bytes("abc")));
        CPPUNIT_ASSERT_THROW(h.finish(), Error);
    }

    void module_loads_every_type()
    {
        const char* types[] = {"ContentInfo", "SignedData", "SignerInfo", "Attribute",
                               "RSASSA-PSS-params", "RSAES-OAEP-params", "ECDSA-Sig-Value",
                               "IssuerAndSerialNumber", "SMIMECapabilities",
                               "SMIMEEncryptionKeyPreference", "SigningCertificateV2",
                               "ESSSecurityLabel", "ReceiptRequest", "Receipt",
                               "MLExpansionHistory", "EnvelopedData", "AuthEnvelopedData",
                               "RecipientInfo", "KeyAgreeRecipientInfo", "OriginatorPublicKey",
                               "KEKRecipientInfo", "PasswordRecipientInfo", "EncryptedContentInfo",
                               "GCMParameters", "ECC-CMS-SharedInfo", "Time", "RDNSequence",
                               "DirectoryString"};
        for (auto t : types) CPPUNIT_ASSERT_NO_THROW_MESSAGE(t, Asn1Node::create(t));
        CPPUNIT_ASSERT_THROW(Asn1Node::create("NoSuchType"), Error);
    }

    void decodes_openssl_detached()
    {
        test::TempDir dir;
        test::write_file(dir.path() / "m.txt", kMessage);
        const fs::path& d = pki();
        shell("openssl cms -sign -binary -md sha384 -in " + (dir.path() / "m.txt").string() +
              " -signer " + (d / "alice.cert.pem").string() + " -inkey " + (d / "alice.key.pem").string() +
              " -certfile " + (d / "sub-ca.cert.pem").string() + " -outform DER -out " +
              (dir.path() / "o.der").string() + " 2>&1");
        const std::string der = test::read_file(dir.path() / "o.der");
        auto sd = decode_signed_content_info(as_bytes(der));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kData), sd.econtent_type);
        CPPUNIT_ASSERT(!sd.econtent);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), sd.certificates.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), sd.signers.size());
        const auto& si = sd.signers[0];
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kSha384), si.digest_algorithm.oid);
        CPPUNIT_ASSERT(digest_from_oid(si.digest_algorithm.oid) == DigestAlgorithm::Sha384);
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kRsaEncryption), si.signature_algorithm.oid);
        CPPUNIT_ASSERT(si.issuer_serial);
        CPPUNIT_ASSERT_EQUAL(openssl_serial_hex(d / "alice.cert.pem"), serial_hex(si.issuer_serial->serial));
        CPPUNIT_ASSERT(si.issuer_serial->issuer_der == issuer_serial_of(signer_for("alice").certificate_der()).issuer_der);
        for (const char* o : {oid::kContentType, oid::kSigningTime, oid::kMessageDigest, oid::kSmimeCapabilities})
            CPPUNIT_ASSERT_MESSAGE(o, si.find_signed(o) != nullptr);
        const auto* md = si.find_signed(oid::kMessageDigest);
        CPPUNIT_ASSERT(Asn1Node::decode("MessageDigest", md->values[0]).read_bytes("") ==
                       digest_of(DigestAlgorithm::Sha384, as_bytes(kMessage)));
        // signed_attributes_der is what OpenSSL signed: check it with GnuTLS-free means —
        // the sorted SET re-encoding of the attributes equals it.
        auto attrs = Asn1Node::create("Attributes");
        write_attributes(attrs, "", si.signed_attributes);
        CPPUNIT_ASSERT(attrs.encode() == si.signed_attributes_der);
        CPPUNIT_ASSERT(!si.signature.empty());
    }

    void decodes_openssl_streamed_ber()
    {
        test::TempDir dir;
        std::string big;
        for (int i = 0; i < 3000; ++i) big += "line " + std::to_string(i) + "\r\n";
        test::write_file(dir.path() / "m.txt", big);
        const fs::path& d = pki();
        shell("openssl cms -sign -binary -nodetach -stream -in " + (dir.path() / "m.txt").string() +
              " -signer " + (d / "bob.cert.pem").string() + " -inkey " + (d / "bob.key.pem").string() +
              " -outform DER -out " + (dir.path() / "o.ber").string() + " 2>&1");
        const std::string ber = test::read_file(dir.path() / "o.ber");
        CPPUNIT_ASSERT_EQUAL(char(0x80), ber[1]);  // indefinite length: really BER
        auto sd = decode_signed_content_info(as_bytes(ber));
        CPPUNIT_ASSERT(sd.econtent && str(*sd.econtent) == big);
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kEcdsaSha256), sd.signers.at(0).signature_algorithm.oid);
    }

    void decoder_rejects_garbage()
    {
        auto signer = signer_for("alice");
        const auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        Bytes good = encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt).head;
        auto expect_malformed = [](ByteView b) {
            try {
                decode_signed_content_info(b);
                CPPUNIT_FAIL("decoded garbage");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::MalformedMessage);
            }
        };
        expect_malformed(ByteView(good).first(good.size() - 1));
        Bytes trailing = good;
        trailing.push_back(0);
        expect_malformed(trailing);
        expect_malformed(as_bytes("not DER at all"));
        expect_malformed(ByteView{});
        // A ContentInfo of another type.
        auto ci = Asn1Node::create("ContentInfo");
        ci.write_oid("contentType", oid::kData);
        ci.write_bytes("content", message_digest_value(as_bytes("x")));
        expect_malformed(ci.encode());
    }

    // cms.asn covers what later work needs: OpenSSL's EnvelopedData (KTRI + KARI),
    // AuthEnvelopedData (GCM) and a ReceiptRequest decode field by field.
    void module_decodes_openssl_enveloped_and_ess()
    {
        test::TempDir dir;
        const fs::path& d = pki();
        const std::string m = (dir.path() / "m.txt").string();
        test::write_file(m, kMessage);
        shell("openssl cms -encrypt -aes256 -binary -in " + m + " -outform DER -out " +
              (dir.path() / "env.der").string() + " " + (d / "alice.cert.pem").string() + " " +
              (d / "bob.cert.pem").string() + " 2>&1");
        shell("openssl cms -encrypt -aes-256-gcm -binary -in " + m + " -outform DER -out " +
              (dir.path() / "aenv.der").string() + " " + (d / "alice.cert.pem").string() + " 2>&1");
        shell("openssl cms -sign -binary -in " + m + " -signer " + (d / "alice.cert.pem").string() +
              " -inkey " + (d / "alice.key.pem").string() +
              " -receipt_request_all -receipt_request_to bob@acme.example -outform DER -out " +
              (dir.path() / "rr.der").string() + " 2>&1");

        auto env_ci = decode_content_info(as_bytes(test::read_file(dir.path() / "env.der")));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kEnvelopedData), env_ci.content_type);
        auto env = Asn1Node::decode("EnvelopedData", env_ci.content);
        CPPUNIT_ASSERT_EQUAL(2, env.count("recipientInfos"));
        std::vector<std::string> kinds = {env.read_text("recipientInfos.?1"), env.read_text("recipientInfos.?2")};
        std::sort(kinds.begin(), kinds.end());
        CPPUNIT_ASSERT(kinds == (std::vector<std::string>{"kari", "ktri"}));
        const std::string kari = env.read_text("recipientInfos.?1") == "kari" ? "recipientInfos.?1.kari"
                                                                              : "recipientInfos.?2.kari";
        CPPUNIT_ASSERT_EQUAL(3L, env.read_small_int(kari + ".version"));
        CPPUNIT_ASSERT_EQUAL(std::string("originatorKey"), env.read_text(kari + ".originator"));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kEcPublicKey),
                             env.read_oid(kari + ".originator.originatorKey.algorithm.algorithm"));
        // OpenSSL 3.0's default KDF for ECDH key agreement is the SHA-1 X9.63 one.
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kEcdhStdSha1Kdf), env.read_oid(kari + ".keyEncryptionAlgorithm.algorithm"));
        auto wrap = Asn1Node::decode("AlgorithmIdentifier", env.read_bytes(kari + ".keyEncryptionAlgorithm.parameters"));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAes256Wrap), wrap.read_oid("algorithm"));
        CPPUNIT_ASSERT_EQUAL(1, env.count(kari + ".recipientEncryptedKeys"));
        CPPUNIT_ASSERT_EQUAL(std::string("issuerAndSerialNumber"),
                             env.read_text(kari + ".recipientEncryptedKeys.?1.rid"));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAes256Cbc),
                             env.read_oid("encryptedContentInfo.contentEncryptionAlgorithm.algorithm"));
        auto iv = Asn1Node::decode("AES-IV", env.read_bytes("encryptedContentInfo.contentEncryptionAlgorithm.parameters"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), iv.read_bytes("").size());
        // A ciphertext of whole blocks, longer than the content (PKCS#7 padding).
        const auto ct = env.read_bytes("encryptedContentInfo.encryptedContent");
        CPPUNIT_ASSERT(ct.size() % 16 == 0 && ct.size() > kMessage.size());

        auto aenv_ci = decode_content_info(as_bytes(test::read_file(dir.path() / "aenv.der")));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAuthEnvelopedData), aenv_ci.content_type);
        auto aenv = Asn1Node::decode("AuthEnvelopedData", aenv_ci.content);
        CPPUNIT_ASSERT_EQUAL(std::string("ktri"), aenv.read_text("recipientInfos.?1"));
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kAes256Gcm),
                             aenv.read_oid("authEncryptedContentInfo.contentEncryptionAlgorithm.algorithm"));
        auto gcm = Asn1Node::decode("GCMParameters",
                                    aenv.read_bytes("authEncryptedContentInfo.contentEncryptionAlgorithm.parameters"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(12), gcm.read_bytes("aes-nonce").size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(16), aenv.read_bytes("mac").size());

        auto sd = decode_signed_content_info(as_bytes(test::read_file(dir.path() / "rr.der")));
        const auto* rr_attr = sd.signers.at(0).find_signed(oid::kReceiptRequest);
        CPPUNIT_ASSERT(rr_attr && rr_attr->values.size() == 1);
        auto rr = Asn1Node::decode("ReceiptRequest", rr_attr->values[0]);
        CPPUNIT_ASSERT(!rr.read_bytes("signedContentIdentifier").empty());
        CPPUNIT_ASSERT_EQUAL(std::string("allOrFirstTier"), rr.read_text("receiptsFrom"));
        CPPUNIT_ASSERT_EQUAL(0L, rr.read_small_int("receiptsFrom.allOrFirstTier"));
        CPPUNIT_ASSERT_EQUAL(std::string("rfc822Name"), rr.read_text("receiptsTo.?1.?1"));
        CPPUNIT_ASSERT_EQUAL(std::string("bob@acme.example"), rr.read_text("receiptsTo.?1.?1.rfc822Name"));
    }

    // same_name (name_compare.h): RFC 5280 §7.1 for the DirectoryString types (string type,
    // case, NFKC forms and insignificant spaces do not matter), byte for byte for the others; a
    // malformed or oversized Name equals only its own bytes.
    void names_compare_as_rfc5280()
    {
        const auto tlv = [](std::uint8_t tag, const Bytes& v) {
            Bytes out = der_header(tag, v.size());
            out.insert(out.end(), v.begin(), v.end());
            return out;
        };
        const auto str = [&](std::uint8_t tag, const std::string& t) { return tlv(tag, Bytes(t.begin(), t.end())); };
        const auto wide = [&](std::uint8_t tag, const std::string& ascii, std::size_t width) {
            Bytes v;
            for (char c : ascii) {
                v.insert(v.end(), width - 1, 0);
                v.push_back(std::uint8_t(c));
            }
            return tlv(tag, v);
        };
        // A BMPString of UTF-8 text in the Basic Multilingual Plane (two octets per character).
        const auto bmp = [&](const std::string& utf8) {
            Bytes v;
            for (std::size_t i = 0; i < utf8.size();) {
                const auto c = static_cast<unsigned char>(utf8[i]);
                const std::size_t n = c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
                unsigned cp = n == 3 ? (c & 0x0fu) : n == 2 ? (c & 0x1fu) : c;
                for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3f);
                v.push_back(std::uint8_t(cp >> 8));
                v.push_back(std::uint8_t(cp));
                i += n;
            }
            return tlv(0x1e, v);
        };
        const Bytes cn = from_hex("0603550403"), org = from_hex("060355040a"), ou = from_hex("060355040b");
        const Bytes email = from_hex("06092a864886f70d010901");
        const auto ava = [&](const Bytes& type, const Bytes& value) {
            Bytes b = type;
            b.insert(b.end(), value.begin(), value.end());
            return tlv(0x30, b);
        };
        const auto set = [&](std::initializer_list<Bytes> avas) {
            Bytes b;
            for (const auto& a : avas) b.insert(b.end(), a.begin(), a.end());
            return tlv(0x31, b);
        };
        const auto name = [&](std::initializer_list<Bytes> rdns) {
            Bytes b;
            for (const auto& r : rdns) b.insert(b.end(), r.begin(), r.end());
            return tlv(0x30, b);
        };
        const Bytes base = name({set({ava(org, str(0x0c, "SSM Test"))}), set({ava(cn, str(0x0c, "Issuing CA"))})});
        Bytes truncated = base;
        truncated.pop_back();
        Bytes big_value(kMaxComparedNameBytes, 'a');
        const Bytes big_utf8 = name({set({ava(cn, tlv(0x0c, big_value))})});
        const Bytes big_printable = name({set({ava(cn, tlv(0x13, big_value))})});
        struct Case {
            const char* what;
            Bytes a, b;
            bool same;
        };
        const Case cases[] = {
            {"identical", base, base, true},
            {"PrintableString, case, spaces",
             name({set({ava(org, str(0x13, "  ssm   TEST "))}), set({ava(cn, str(0x13, "ISSUING\tca"))})}), base, true},
            {"BMPString", name({set({ava(org, wide(0x1e, "SSM Test", 2))}), set({ava(cn, wide(0x1e, "issuing ca", 2))})}),
             base, true},
            {"UniversalString", name({set({ava(org, wide(0x1c, "SSM Test", 4))}), set({ava(cn, wide(0x1c, "Issuing CA", 4))})}),
             base, true},
            {"TeletexString, ASCII", name({set({ava(org, str(0x14, "SSM Test"))}), set({ava(cn, str(0x14, "Issuing CA"))})}),
             base, true},
            {"another value", name({set({ava(org, str(0x0c, "SSM Test"))}), set({ava(cn, str(0x0c, "Issuing CB"))})}), base,
             false},
            {"a space that is not insignificant",
             name({set({ava(org, str(0x0c, "SSMTest"))}), set({ava(cn, str(0x0c, "Issuing CA"))})}), base, false},
            {"another attribute type", name({set({ava(ou, str(0x0c, "SSM Test"))}), set({ava(cn, str(0x0c, "Issuing CA"))})}),
             base, false},
            {"RDNs in another order", name({set({ava(cn, str(0x0c, "Issuing CA"))}), set({ava(org, str(0x0c, "SSM Test"))})}),
             base, false},
            {"one RDN fewer", name({set({ava(cn, str(0x0c, "Issuing CA"))})}), base, false},
            {"multi-valued RDN in another order",
             name({set({ava(org, str(0x0c, "SSM Test")), ava(cn, str(0x0c, "Issuing CA"))})}),
             name({set({ava(cn, str(0x13, "issuing ca")), ava(org, str(0x13, "ssm test"))})}), true},
            {"multi-valued RDN against two RDNs",
             name({set({ava(org, str(0x0c, "SSM Test")), ava(cn, str(0x0c, "Issuing CA"))})}), base, false},
            // IA5String and VisibleString are text too (until 2026-12-06 their DER): as OpenSSL
            // compares Names, and as LDAP matches emailAddress and domainComponent values
            // (caseIgnoreIA5Match); beyond ASCII they stay their DER.
            {"IA5String without regard to case", name({set({ava(email, str(0x16, "CA@acme.example"))})}),
             name({set({ava(email, str(0x16, "ca@acme.example"))})}), true},
            {"IA5String against UTF8String", name({set({ava(email, str(0x16, "ca@acme.example"))})}),
             name({set({ava(email, str(0x0c, "ca@acme.example"))})}), true},
            {"VisibleString against PrintableString", name({set({ava(org, str(0x1a, "SSM  test"))})}),
             name({set({ava(org, str(0x13, "ssm test"))})}), true},
            {"IA5String beyond ASCII", name({set({ava(cn, str(0x16, "Caf\xe9"))})}),
             name({set({ava(cn, str(0x0c, "Caf\xc3\xa9"))})}), false},
            {"Unicode case folding (UTF8String, BMPString)", name({set({ava(cn, str(0x0c, "M\xc3\xbcller CA"))})}),
             name({set({ava(cn, bmp("M\xc3\x9cLLER CA"))})}), true},
            {"full case folding: sharp s", name({set({ava(cn, str(0x0c, "Stra\xc3\x9f" "e"))})}),
             name({set({ava(cn, str(0x0c, "STRASSE"))})}), true},
            {"NFKC: decomposed and composed", name({set({ava(cn, str(0x0c, "Mu\xcc\x88ller"))})}),
             name({set({ava(cn, str(0x0c, "M\xc3\xbcller"))})}), true},
            {"no-break space, soft hyphen", name({set({ava(cn, str(0x0c, "Issuing\xc2\xa0" "C\xc2\xad" "A"))})}),
             name({set({ava(cn, str(0x13, "Issuing CA"))})}), true},
            {"another letter beyond ASCII", name({set({ava(cn, str(0x0c, "M\xc3\xbcller"))})}),
             name({set({ava(cn, str(0x0c, "M\xc3\xb6ller"))})}), false},
            {"TeletexString beyond ASCII", name({set({ava(cn, str(0x14, "Caf\xe9"))})}),
             name({set({ava(cn, str(0x0c, "Caf\xc3\xa9"))})}), false},
            {"UTF8String that is not UTF-8", name({set({ava(cn, str(0x0c, "Caf\xe9"))})}),
             name({set({ava(cn, str(0x13, "CAF\xe9"))})}), false},
            {"malformed", truncated, name({set({ava(org, str(0x13, "SSM Test"))}), set({ava(cn, str(0x13, "Issuing CA"))})}),
             false},
            {"malformed, identical bytes", truncated, truncated, true},
            {"not a Name", from_hex("0500"), from_hex("0400"), false},
            {"empty", Bytes{}, base, false},
            {"over kMaxComparedNameBytes", big_utf8, big_printable, false},
        };
        for (const auto& c : cases) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.what, c.same, same_name(c.a, c.b));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.what, c.same, same_name(c.b, c.a));
        }
        // Under the bound the same long value in two string types is one Name.
        big_value.resize(kMaxComparedNameBytes - 64);
        CPPUNIT_ASSERT(same_name(name({set({ava(cn, tlv(0x0c, big_value))})}), name({set({ava(cn, tlv(0x13, big_value))})})));
        // IssuerSerial: the serial as a value, the issuer as a Name.
        const IssuerSerial ours{base, from_hex("1234")};
        CPPUNIT_ASSERT(ours == (IssuerSerial{cases[1].a, from_hex("001234")}));
        CPPUNIT_ASSERT(!(ours == (IssuerSerial{cases[1].a, from_hex("1235")})));
        CPPUNIT_ASSERT(!(ours == (IssuerSerial{cases[5].a, from_hex("1234")})));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsCodecTest);
