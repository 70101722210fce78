// Unit tests for the signed attributes and algorithm identifiers smime/cms/ emits, checked
// against OpenSSL's reading of them (cms -print, asn1parse, x509 fingerprints and serials).
#include <cppunit/extensions/HelperMacros.h>

#include <sstream>

#include "smime/cms/algorithm_ids.h"
#include "smime/cms/signed_attributes.h"
#include "smime/cms/verify.h"
#include "tests/unit/test_cms_support.h"

using namespace ssm;
using namespace ssm::cmstest;

class CmsAttributesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsAttributesTest);
    CPPUNIT_TEST(signed_attributes_as_openssl_sees_them);
    CPPUNIT_TEST(signed_attributes_der_order_and_ess_hash);
    CPPUNIT_TEST(algorithm_identifiers);
    CPPUNIT_TEST(encryption_key_preference);
    CPPUNIT_TEST(signer_preferred_encryption_certificate_order);
    CPPUNIT_TEST(signing_time_switches_to_generalized_in_2050);
    CPPUNIT_TEST_SUITE_END();

public:
    void signed_attributes_as_openssl_sees_them()
    {
        test::TempDir dir;
        auto signer = signer_for("alice");
        auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        o.encryption_certificate_der = signer_for("carol").certificate_der();
        auto parts = encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt);
        test::write_file(dir.path() / "sig.der", str(parts.head));
        const std::string printed =
            shell("openssl cms -cmsout -print -inform DER -in " + (dir.path() / "sig.der").string());
        for (const char* o : {oid::kContentType, oid::kSigningTime, oid::kMessageDigest,
                              oid::kSmimeCapabilities, oid::kSigningCertificateV2, oid::kEncrypKeyPref})
            CPPUNIT_ASSERT_MESSAGE(o, printed.find("(" + std::string(o) + ")") != std::string::npos);
        // Our capabilities, in our order of preference, as OpenSSL names them.
        std::size_t at = printed.find("S/MIME Capabilities");
        // (OpenSSL 3.0 has no name for RFC 8103's id-alg-AEADChaCha20Poly1305.)
        for (const char* name : {"aes-256-gcm", "aes-128-gcm", "1.2.840.113549.1.9.16.3.18", "aes-256-cbc",
                                 "aes-128-cbc", "rsaesOaep",
                                 "rsaEncryption", "ecdsa-with-SHA256", "rsassaPss", "ED25519"}) {
            at = printed.find(std::string(":") + name, at);
            CPPUNIT_ASSERT_MESSAGE(name, at != std::string::npos);
        }
        // The messageDigest OpenSSL prints (a hex dump) is the SHA-256 of the content.
        const std::size_t b = printed.find("messageDigest (");
        const std::size_t e = printed.find("object:", b);
        CPPUNIT_ASSERT(b != std::string::npos);
        std::istringstream lines(printed.substr(b, e - b));
        std::string line, dumped;
        while (std::getline(lines, line)) {
            const std::size_t dash = line.find(" - ");
            if (dash == std::string::npos) continue;
            std::string hex = line.substr(dash + 3);
            hex = hex.substr(0, hex.find("   "));  // the ASCII column follows three spaces
            for (char ch : hex)
                if (std::isxdigit(static_cast<unsigned char>(ch))) dumped += ch;
        }
        CPPUNIT_ASSERT_EQUAL(lower_hex(digest_of(DigestAlgorithm::Sha256, as_bytes(kMessage))), dumped);
    }

    void signed_attributes_der_order_and_ess_hash()
    {
        for (const char* id : {"alice", "bob"}) {
            auto signer = signer_for(id);
            auto o = options(std::string(id) == "bob" ? SignatureScheme::Ecdsa : SignatureScheme::RsaPss,
                             DigestAlgorithm::Sha256);
            auto parts = encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt);
            auto sd = decode_signed_content_info(parts.head);
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), sd.signers.size());
            const auto& si = sd.signers[0];
            std::vector<std::string> oids;
            for (const auto& a : si.signed_attributes) oids.push_back(a.oid);
            std::sort(oids.begin(), oids.end());
            std::vector<std::string> expected = {oid::kContentType, oid::kMessageDigest, oid::kSigningTime,
                                                 oid::kSmimeCapabilities, oid::kSigningCertificateV2};
            std::sort(expected.begin(), expected.end());
            CPPUNIT_ASSERT(oids == expected);

            // DER SET OF: element encodings in ascending order (X.690 §11.6).
            auto elems = elements(si.signed_attributes_der);
            CPPUNIT_ASSERT_EQUAL(std::size_t(5), elems.size());
            for (std::size_t i = 1; i < elems.size(); ++i)
                CPPUNIT_ASSERT(!std::lexicographical_compare(elems[i].begin(), elems[i].end(),
                                                             elems[i - 1].begin(), elems[i - 1].end()));

            // ESSCertIDv2: SHA-256 of the certificate (computed by OpenSSL), hashAlgorithm
            // absent (DEFAULT), issuerSerial naming the signer certificate.
            const auto* scv2 = si.find_signed(oid::kSigningCertificateV2);
            CPPUNIT_ASSERT(scv2 && scv2->values.size() == 1);
            auto v = Asn1Node::decode("SigningCertificateV2", scv2->values[0]);
            CPPUNIT_ASSERT_EQUAL(1, v.count("certs"));
            CPPUNIT_ASSERT(!v.read_optional("certs.?1.hashAlgorithm.algorithm"));
            CPPUNIT_ASSERT_EQUAL(openssl_fingerprint_hex(pki() / (std::string(id) + ".cert.pem")),
                                 lower_hex(v.read_bytes("certs.?1.certHash")));
            CPPUNIT_ASSERT_EQUAL(openssl_serial_hex(pki() / (std::string(id) + ".cert.pem")),
                                 serial_hex(v.read_bytes("certs.?1.issuerSerial.serialNumber")));
            CPPUNIT_ASSERT_EQUAL(std::string("directoryName"),
                                 v.read_text("certs.?1.issuerSerial.issuer.?1"));
            CPPUNIT_ASSERT(si.issuer_serial &&
                           v.read_bytes("certs.?1.issuerSerial.issuer.?1.directoryName") ==
                               si.issuer_serial->issuer_der);
            // messageDigest is the content digest.
            const auto* md = si.find_signed(oid::kMessageDigest);
            CPPUNIT_ASSERT(md && Asn1Node::decode("MessageDigest", md->values[0]).read_bytes("") ==
                                     digest_of(o.digest, as_bytes(kMessage)));
        }
    }

    void algorithm_identifiers()
    {
        auto check = [](const Case& c, const AlgorithmId& expect_sig) {
            auto signer = signer_for(c.id);
            auto parts = encode_signed_data(signer, options(c.scheme, c.digest),
                                            digest_of(c.digest, as_bytes(kMessage)), std::nullopt);
            auto sd = decode_signed_content_info(parts.head);
            const auto& si = sd.signers.at(0);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, 1, sd.version);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, 1, si.version);
            CPPUNIT_ASSERT_MESSAGE(c.name, sd.digest_algorithms.size() == 1 &&
                                               sd.digest_algorithms[0] == digest_algorithm_id(c.digest));
            CPPUNIT_ASSERT_MESSAGE(c.name, !si.digest_algorithm.parameters);  // RFC 5754 §2
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(digest_oid(c.digest)), si.digest_algorithm.oid);
            CPPUNIT_ASSERT_MESSAGE(c.name, si.signature_algorithm == expect_sig);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::size_t(2), sd.certificates.size());
        };
        check(kCases[0], {oid::kRsaEncryption, der_null()});
        check(kCases[4], {oid::kEcdsaSha256, std::nullopt});
        check(kCases[5], {oid::kEcdsaSha384, std::nullopt});
        check(kCases[6], {oid::kEd25519, std::nullopt});
        check(kCases[3], {oid::kRsassaPss, rsassa_pss_params(DigestAlgorithm::Sha384)});

        // PSS parameters as OpenSSL reads them: SHA-384, MGF1 SHA-384, salt 48 (0x30).
        test::TempDir dir;
        test::write_file(dir.path() / "p.der", str(rsassa_pss_params(DigestAlgorithm::Sha384)));
        const std::string parsed =
            shell("openssl asn1parse -inform DER -in " + (dir.path() / "p.der").string());
        CPPUNIT_ASSERT(parsed.find("sha384") != std::string::npos);
        CPPUNIT_ASSERT(parsed.find("mgf1") != std::string::npos);
        CPPUNIT_ASSERT(parsed.find(":30") != std::string::npos);  // INTEGER :30
        auto p = Asn1Node::decode("RSASSA-PSS-params", rsassa_pss_params(DigestAlgorithm::Sha384));
        CPPUNIT_ASSERT_EQUAL(48L, p.read_small_int("saltLength"));
    }

    void encryption_key_preference()
    {
        auto alice = signer_for("alice");
        auto carol = signer_for("carol");
        auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        o.encryption_certificate_der = carol.certificate_der();
        auto sd = decode_signed_content_info(
            encode_signed_data(alice, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt).head);
        const auto* pref = sd.signers[0].find_signed(oid::kEncrypKeyPref);
        CPPUNIT_ASSERT(pref && pref->values.size() == 1);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0xA0), pref->values[0][0]);  // [0] issuerAndSerialNumber
        auto v = Asn1Node::decode("SMIMEEncryptionKeyPreference", pref->values[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("issuerAndSerialNumber"), v.read_text(""));
        CPPUNIT_ASSERT_EQUAL(openssl_serial_hex(pki() / "carol.cert.pem"),
                             serial_hex(v.read_bytes("issuerAndSerialNumber.serialNumber")));

        // Read back (harvesting, RFC 8551 §2.5.3): the certificate it names among the message's.
        const std::vector<Bytes> certs = {alice.certificate_der(), carol.certificate_der()};
        CPPUNIT_ASSERT(preferred_encryption_certificate(pref->values[0], certs) == carol.certificate_der());
        const std::vector<Bytes> only_alice = {alice.certificate_der()};
        CPPUNIT_ASSERT(!preferred_encryption_certificate(pref->values[0], only_alice));
        CPPUNIT_ASSERT(!preferred_encryption_certificate(Bytes{0xa0, 0x01, 0x00}, certs));
        // The subjectKeyIdentifier form names it too.
        auto by_ski = Asn1Node::create("SMIMEEncryptionKeyPreference");
        by_ski.write_text("", "subjectAltKeyIdentifier");
        by_ski.write_bytes("subjectAltKeyIdentifier", subject_key_id_of(carol.certificate_der()));
        CPPUNIT_ASSERT(preferred_encryption_certificate(by_ski.encode(), certs) == carol.certificate_der());

        // Microsoft's attribute (Outlook looks for it), beside RFC 8551's: a bare
        // IssuerAndSerialNumber, which names it too.
        const auto* ms = sd.signers[0].find_signed(oid::kMicrosoftEncrypKeyPref);
        CPPUNIT_ASSERT(ms && ms->values.size() == 1);
        CPPUNIT_ASSERT(microsoft_preferred_encryption_certificate(ms->values[0], certs) == carol.certificate_der());
        CPPUNIT_ASSERT(!microsoft_preferred_encryption_certificate(ms->values[0], only_alice));
        CPPUNIT_ASSERT(!microsoft_preferred_encryption_certificate(pref->values[0], certs));  // RFC 8551's form is not
        CPPUNIT_ASSERT(!microsoft_preferred_encryption_certificate(Bytes{0x30, 0x03, 0x02, 0x01}, certs));

        // The same certificate for both: no preference attribute.
        o.encryption_certificate_der = alice.certificate_der();
        sd = decode_signed_content_info(
            encode_signed_data(alice, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt).head);
        CPPUNIT_ASSERT(!sd.signers[0].find_signed(oid::kEncrypKeyPref));
        CPPUNIT_ASSERT(!sd.signers[0].find_signed(oid::kMicrosoftEncrypKeyPref));
    }

    // smime::cms::signer_preferred_encryption_certificate alone: RFC 8551's attribute first,
    // Microsoft's when RFC 8551's is absent, unreadable or names a certificate not carried.
    void signer_preferred_encryption_certificate_order()
    {
        const Bytes alice = signer_for("alice").certificate_der();
        const Bytes carol = signer_for("carol").certificate_der();
        const Bytes dave = signer_for("dave").certificate_der();
        const Bytes unreadable{0xa0, 0x01, 0x00};
        const std::vector<Bytes> carried = {alice, carol, dave};
        const auto rfc = [](const Bytes& c) { return std::optional(encryption_key_preference_value(c)); };
        const auto ms = [](const Bytes& c) { return std::optional(microsoft_encryption_key_preference_value(c)); };
        const std::vector<Bytes> without_carol = {alice, dave};
        struct Case {
            const char* what;
            std::optional<Bytes> rfc8551, microsoft;
            std::vector<Bytes> certs;
            std::optional<Bytes> expected;
        };
        const Case cases[] = {
            {"neither", std::nullopt, std::nullopt, carried, std::nullopt},
            {"rfc 8551 alone", rfc(carol), std::nullopt, carried, carol},
            {"microsoft alone", std::nullopt, ms(dave), carried, dave},
            {"both: rfc 8551 first", rfc(carol), ms(dave), carried, carol},
            {"rfc 8551 names one not carried", rfc(carol), ms(dave), without_carol, dave},
            {"rfc 8551 unreadable", unreadable, ms(dave), carried, dave},
            {"rfc 8551 not carried, no microsoft", rfc(carol), std::nullopt, without_carol, std::nullopt},
            {"microsoft names one not carried", std::nullopt, ms(carol), without_carol, std::nullopt},
            {"microsoft unreadable", std::nullopt, Bytes{0x30, 0x03, 0x02, 0x01}, carried, std::nullopt},
            // Each in the other's form names nothing.
            {"forms swapped", ms(carol), rfc(dave), carried, std::nullopt},
            {"no certificates", rfc(carol), ms(dave), {}, std::nullopt},
        };
        for (const auto& c : cases) {
            smime::cms::SignerVerification signer;
            signer.encryption_key_preference_der = c.rfc8551;
            signer.microsoft_key_preference_der = c.microsoft;
            CPPUNIT_ASSERT_MESSAGE(c.what, smime::cms::signer_preferred_encryption_certificate(signer, c.certs) ==
                                               c.expected);
        }
    }

    void signing_time_switches_to_generalized_in_2050()
    {
        const Bytes before = signing_time_value(2524607999);  // 2049-12-31T23:59:59Z
        const Bytes after = signing_time_value(2524608000);   // 2050-01-01T00:00:00Z
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0x17), before[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("491231235959Z"), str(ByteView(before).subspan(2)));
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0x18), after[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("20500101000000Z"), str(ByteView(after).subspan(2)));
        CPPUNIT_ASSERT_EQUAL(std::uint8_t(0x18), signing_time_value(-631152001)[0]);  // 1949
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsAttributesTest);
