// Unit tests for smime/cms/ SignedData output, verified by real peers: `openssl cms -verify`
// (detached, and encapsulated content streamed through head/tail), GnuTLS's PKCS#7 verifier,
// for RSA PKCS#1 v1.5, RSA-PSS, ECDSA P-256/P-384 and Ed25519; length boundaries and 20 MB.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <fstream>

#include "tests/unit/test_cms_support.h"

using namespace ssm;
using namespace ssm::cmstest;

class CmsSignTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsSignTest);
    CPPUNIT_TEST(detached_verifies_with_openssl);
    CPPUNIT_TEST(encapsulated_verifies_with_openssl);
    CPPUNIT_TEST(encapsulated_length_boundaries);
    CPPUNIT_TEST(encapsulated_20mb_streamed);
    CPPUNIT_TEST(without_chain_and_other_content_type);
    CPPUNIT_TEST(option_mismatches_throw);
    CPPUNIT_TEST(splice_checks_lengths_and_input);
    CPPUNIT_TEST_SUITE_END();

public:
    void detached_verifies_with_openssl()
    {
        for (const auto& c : kCases) {
            test::TempDir dir;
            auto signer = signer_for(c.id);
            auto parts = encode_signed_data(signer, options(c.scheme, c.digest),
                                            digest_of(c.digest, as_bytes(kMessage)), std::nullopt);
            CPPUNIT_ASSERT_MESSAGE(c.name, parts.tail.empty());
            const std::string changed = kMessage + "x";
            if (c.scheme == SignatureScheme::Ed25519) {
                CPPUNIT_ASSERT_NO_THROW_MESSAGE(c.name, openssl_verify_ed25519(dir.path(), parts.head, kMessage, true));
                CPPUNIT_ASSERT_THROW_MESSAGE(c.name, openssl_verify_ed25519(dir.path(), parts.head, changed, true),
                                             std::runtime_error);
            } else {
                CPPUNIT_ASSERT_NO_THROW_MESSAGE(c.name, openssl_verify(dir.path(), parts.head, &kMessage));
                // A changed content must not verify.
                CPPUNIT_ASSERT_THROW_MESSAGE(c.name, openssl_verify(dir.path(), parts.head, &changed),
                                             std::runtime_error);
            }
            if (gnutls_can_verify(c)) {
                CPPUNIT_ASSERT_NO_THROW_MESSAGE(c.name, gnutls_verify(parts.head, signer.certificate_der(), &kMessage));
                CPPUNIT_ASSERT_THROW_MESSAGE(c.name, gnutls_verify(parts.head, signer.certificate_der(), &changed),
                                             std::runtime_error);
            }
            auto sd = decode_signed_content_info(parts.head);
            CPPUNIT_ASSERT_MESSAGE(c.name, !sd.econtent.has_value());
            // What a signed receipt names: the attributes as signed (SET OF) and the value.
            CPPUNIT_ASSERT_MESSAGE(c.name, parts.signed_attributes_der == sd.signers.at(0).signed_attributes_der);
            CPPUNIT_ASSERT_MESSAGE(c.name, parts.signature == sd.signers.at(0).signature);
        }
    }

    void encapsulated_verifies_with_openssl()
    {
        for (const auto& c : kCases) {
            test::TempDir dir;
            auto signer = signer_for(c.id);
            auto parts = encode_signed_data(signer, options(c.scheme, c.digest),
                                            digest_of(c.digest, as_bytes(kMessage)), kMessage.size());
            Bytes all = cat(parts, as_bytes(kMessage));
            const std::string out = c.scheme == SignatureScheme::Ed25519
                                        ? openssl_verify_ed25519(dir.path(), all, kMessage, false)
                                        : openssl_verify(dir.path(), all, nullptr);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, kMessage, out);
            if (gnutls_can_verify(c))
                CPPUNIT_ASSERT_NO_THROW_MESSAGE(c.name, gnutls_verify(all, signer.certificate_der(), nullptr));
            auto sd = decode_signed_content_info(all);
            CPPUNIT_ASSERT_MESSAGE(c.name, sd.econtent && str(*sd.econtent) == kMessage);
            CPPUNIT_ASSERT_MESSAGE(c.name, parts.signed_attributes_der == sd.signers.at(0).signed_attributes_der);
            CPPUNIT_ASSERT_MESSAGE(c.name, parts.signature == sd.signers.at(0).signature);
        }
    }

    void encapsulated_length_boundaries()
    {
        auto signer = signer_for("alice");
        const auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        for (std::uint64_t n : {0, 1, 127, 128, 255, 256, 65535, 65536}) {
            const std::string msg = "n=" + std::to_string(n);
            PatternSource src(n);
            Bytes content(n);
            std::size_t got = 0;
            while (got < n) got += src.read(std::span(content).subspan(got));
            auto parts = encode_signed_data(signer, o, digest_of(o.digest, content), n);
            Bytes all = cat(parts, content);
            // libtasn1 decodes it and re-encodes the very same bytes: every length is right
            // and the result is DER.
            auto ci = Asn1Node::decode("ContentInfo", all);
            CPPUNIT_ASSERT_MESSAGE(msg, ci.encode() == all);
            auto sd_der = ci.read_bytes("content");
            CPPUNIT_ASSERT_MESSAGE(msg, Asn1Node::decode("SignedData", sd_der).encode() == sd_der);
            auto sd = decode_signed_data(sd_der);
            CPPUNIT_ASSERT_MESSAGE(msg, sd.econtent && *sd.econtent == content);
            test::TempDir dir;
            CPPUNIT_ASSERT_MESSAGE(msg, openssl_verify(dir.path(), all, nullptr) == str(content));
        }
    }

    void encapsulated_20mb_streamed()
    {
        const std::uint64_t n = 20ull * 1024 * 1024;
        auto signer = signer_for("bob");
        const auto o = options(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256);
        PatternSource src(n);
        Hasher h(o.digest);
        copy_stream(src, h);
        const Bytes digest = h.finish();
        auto parts = encode_signed_data(signer, o, digest, n);
        CPPUNIT_ASSERT(parts.head.size() < 100);  // no content in memory, only headers
        test::TempDir dir;
        {
            std::ofstream out(dir.path() / "big.der", std::ios::binary);
            out.write(reinterpret_cast<const char*>(parts.head.data()), std::streamsize(parts.head.size()));
            src.rewind();
            std::array<std::uint8_t, 65536> buf;
            while (std::size_t k = src.read(buf))
                out.write(reinterpret_cast<const char*>(buf.data()), std::streamsize(k));
            out.write(reinterpret_cast<const char*>(parts.tail.data()), std::streamsize(parts.tail.size()));
            CPPUNIT_ASSERT(out.good());
        }
        CPPUNIT_ASSERT_EQUAL(parts.head.size() + n + parts.tail.size(),
                             std::size_t(fs::file_size(dir.path() / "big.der")));
        shell("openssl cms -verify -binary -inform DER -in " + (dir.path() / "big.der").string() +
              " -CAfile " + (pki() / "root-ca.cert.pem").string() + " -out " +
              (dir.path() / "big.out").string() + " 2>&1");
        CPPUNIT_ASSERT_EQUAL(std::uintmax_t(n), fs::file_size(dir.path() / "big.out"));
        const std::string sum = shell("openssl dgst -sha256 -r " + (dir.path() / "big.out").string());
        CPPUNIT_ASSERT_EQUAL(lower_hex(digest), sum.substr(0, 64));
    }

    void without_chain_and_other_content_type()
    {
        auto signer = signer_for("alice");
        auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        o.include_chain = false;
        o.content_type_oid = oid::kReceipt;
        auto parts = encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), kMessage.size());
        Bytes all = cat(parts, as_bytes(kMessage));
        auto sd = decode_signed_content_info(all);
        CPPUNIT_ASSERT_EQUAL(3, sd.version);  // RFC 5652 §5.1: eContentType other than id-data
        CPPUNIT_ASSERT_EQUAL(std::string(oid::kReceipt), sd.econtent_type);
        CPPUNIT_ASSERT(sd.certificates.empty());
        const auto* ct = sd.signers[0].find_signed(oid::kContentType);
        CPPUNIT_ASSERT(ct && ct->values[0] == content_type_value(oid::kReceipt));
        // OpenSSL verifies it when given the certificates separately.
        test::TempDir dir;
        test::write_file(dir.path() / "sig.der", str(all));
        shell("openssl cms -verify -binary -inform DER -in " + (dir.path() / "sig.der").string() +
              " -certfile " + (pki() / "alice.cert.pem").string() + " -CAfile " +
              (pki() / "chain.pem").string() + " -out /dev/null 2>&1");
    }

    void option_mismatches_throw()
    {
        auto alice = signer_for("alice");
        auto ed = signer_for("ed");
        const Bytes d256 = digest_of(DigestAlgorithm::Sha256, as_bytes(kMessage));
        auto expect_internal = [](auto&& f) {
            try {
                f();
                CPPUNIT_FAIL("no exception");
            } catch (const Error& e) {
                CPPUNIT_ASSERT(e.failure() == Failure::Internal);
            }
        };
        expect_internal([&] { encode_signed_data(alice, options(SignatureScheme::Ecdsa, DigestAlgorithm::Sha256), d256, std::nullopt); });
        expect_internal([&] { encode_signed_data(alice, options(SignatureScheme::RsaPss, DigestAlgorithm::Sha384), d256, std::nullopt); });
        expect_internal([&] { encode_signed_data(ed, options(SignatureScheme::Ed25519, DigestAlgorithm::Sha256), d256, std::nullopt); });
        auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        o.extra_signed_attributes.push_back({oid::kSigningTime, signing_time_value(0)});
        expect_internal([&] { encode_signed_data(alice, o, d256, std::nullopt); });
        // An extra attribute that is new is carried, as given.
        o.extra_signed_attributes = {{oid::kContentIdentifier, message_digest_value(as_bytes("id-1"))}};
        auto sd = decode_signed_content_info(encode_signed_data(alice, o, d256, std::nullopt).head);
        const auto* cid = sd.signers[0].find_signed(oid::kContentIdentifier);
        CPPUNIT_ASSERT(cid && cid->values[0] == message_digest_value(as_bytes("id-1")));
    }

    void splice_checks_lengths_and_input()
    {
        auto signer = signer_for("alice");
        const auto o = options(SignatureScheme::RsaPkcs1v15, DigestAlgorithm::Sha256);
        const Bytes detached =
            encode_signed_data(signer, o, digest_of(o.digest, as_bytes(kMessage)), std::nullopt).head;
        // Lengths whose enclosing headers no longer fit in 64 bits are refused, not wrapped.
        try {
            splice_encapsulated(detached, 0xFFFFFFFFFFFFFFF0ull);
            CPPUNIT_FAIL("no exception");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::MessageTooLarge);
        }
        // 2^40 octets still splice: the headers carry 6 length octets.
        auto big = splice_encapsulated(detached, 1ull << 40);
        CPPUNIT_ASSERT(std::search(big.head.begin(), big.head.end(), std::begin(kOctets40),
                                   std::end(kOctets40)) != big.head.end());
        // Content already present: a caller bug.
        Bytes with_content = cat(splice_encapsulated(detached, 3), as_bytes("abc"));
        CPPUNIT_ASSERT_THROW(splice_encapsulated(with_content, 3), Error);
        CPPUNIT_ASSERT_THROW(splice_encapsulated(as_bytes("junk"), 3), Error);
    }

private:
    // OCTET STRING header for 2^40 content octets.
    static constexpr std::uint8_t kOctets40[] = {0x04, 0x86, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00};
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsSignTest);
