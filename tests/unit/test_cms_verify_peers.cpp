// SignedData verification against other implementations' output: gpgsm and NSS cmsutil
// (keys imported from PKCS#12, see test_cms_verify_support.h), wolfSSL's PKCS#7 (through
// tests/interop/wolfssl/wolfpkcs7.c, compiled by the fixture script), the RFC 4134 examples
// (RSA/SHA-1, weak digest; DSA, unsupported) and the RFC 9216 cms-examples (RSA, RSA-PSS,
// Ed25519, no certificates). Vectors are read from tests/vectors (third-party data).
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>

#include "smime/cms/oids.h"
#include "tests/unit/test_cms_verify_support.h"

using namespace ssm;
using namespace ssm::smime;
using namespace ssm::smime::cms;
using namespace ssm::verifytest;

namespace {

fs::path vectors() { return test::vectors_dir(); }

Bytes der_of_pem(const fs::path& pem)
{
    return to_bytes(cmsverify_shell("OPENSSL_CONF=/dev/null openssl x509 -in '" + pem.string() + "' -outform DER"));
}

}  // namespace

class CmsVerifyPeersTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsVerifyPeersTest);
    CPPUNIT_TEST(gpgsm_detached_and_opaque);
    CPPUNIT_TEST(nss_detached_and_opaque);
    CPPUNIT_TEST(wolfssl_unreadable_signing_time);
    CPPUNIT_TEST(rfc4134_rsa_sha1);
    CPPUNIT_TEST(rfc4134_dsa_unsupported);
    CPPUNIT_TEST(rfc9216_examples);
    CPPUNIT_TEST_SUITE_END();

public:
    void gpgsm_detached_and_opaque() { peer("gpgsm"); }
    void nss_detached_and_opaque() { peer("nss"); }

    // wolfSSL 5.5.4 signs a signingTime that is not a UTCTime (" 61202134342Z"): the signature
    // is good (OpenSSL agrees), the time is left unread instead of failing the signer.
    void wolfssl_unreadable_signing_time()
    {
        peer("wolf");
        const Bytes content = fixture("content.txt");
        for (const auto& r : {detached(fixture("wolf.p7s"), content), opaque(fixture("wolf.p7m")).result}) {
            const auto& s = r.signers.at(0);
            bool has_time = false;
            for (const auto& [oid, value] : s.signed_attributes) has_time = has_time || oid == oid::kSigningTime;
            CPPUNIT_ASSERT_MESSAGE("wolfSSL wrote no signingTime: the case is not exercised", has_time);
            CPPUNIT_ASSERT_MESSAGE("wolfSSL's signingTime is readable now: the case is no longer exercised", !s.signing_time);
        }
    }

    void rfc4134_rsa_sha1()
    {
        const fs::path d = vectors() / "rfc4134";
        const Bytes alice = file_bytes(d / "AliceRSASignByCarl.cer");
        const Bytes content = file_bytes(d / "ExContent.bin");
        const std::vector<Bytes> extra{file_bytes(d / "CarlRSASelf.cer"), alice};
        for (const char* f : {"4.2.bin", "4.5.bin"}) {
            const Opaque o = opaque(file_bytes(d / f), extra);
            CPPUNIT_ASSERT_MESSAGE(f, o.content == content);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(f, std::size_t(1), o.result.signers.size());
            const auto& s = o.result.signers[0];
            CPPUNIT_ASSERT_MESSAGE(std::string(f) + ": " + s.failure, s.signature_valid);
            CPPUNIT_ASSERT_MESSAGE(f, s.weak_digest);
            CPPUNIT_ASSERT_MESSAGE(f, s.signer_certificate_der == alice);
            // Alice's key has 1024 bits: still verified, and named (RFC 8551 §4).
            CPPUNIT_ASSERT_EQUAL_MESSAGE(f, std::size_t(1), s.notes.size());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(f, std::string("signer-key-weak=rsa1024"), s.notes[0]);
        }
    }

    void rfc4134_dsa_unsupported()
    {
        const fs::path d = vectors() / "rfc4134";
        const Bytes content = file_bytes(d / "ExContent.bin");
        for (const char* f : {"4.1.bin", "4.4.bin", "4.7.bin"}) {
            const Opaque o = opaque(file_bytes(d / f));
            CPPUNIT_ASSERT_MESSAGE(f, o.content == content);
            const auto& s = o.result.signers.at(0);
            CPPUNIT_ASSERT_MESSAGE(f, !s.signature_valid);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(f, std::string("unsupported algorithm dsa-with-sha1"), s.failure);
            CPPUNIT_ASSERT_MESSAGE(f, s.unsupported);  // neither pass nor fail: not checkable
        }
        MemorySource src(content);
        const auto r = verify_detached(file_bytes(d / "4.3.bin"), src);
        CPPUNIT_ASSERT_EQUAL(std::string("unsupported algorithm dsa-with-sha1"), r.signers.at(0).failure);
        // 4.6: several signers, DSA and RSA; each reported on its own.
        const Opaque six = opaque(file_bytes(d / "4.6.bin"));
        CPPUNIT_ASSERT(six.result.signers.size() > 1);
    }

    void rfc9216_examples()
    {
        const fs::path d = vectors() / "rfc9216";
        const Bytes alice = der_of_pem(d / "keys/lamps-alice.crt");
        const Bytes carlos = der_of_pem(d / "keys/lamps-carlos.crt");
        const fs::path ex = d / "cms-examples";
        struct Case { const char* file; const Bytes* cert; SignatureScheme scheme; };
        const Case cases[] = {{"signedByAliceRSA.p7m", &alice, SignatureScheme::RsaPkcs1v15},
                              {"signedByAliceRSAPSS.p7m", &alice, SignatureScheme::RsaPss},
                              {"signedByCarlosEd25519.p7m", &carlos, SignatureScheme::Ed25519}};
        Bytes content;
        for (const auto& c : cases) {
            const Opaque o = opaque(file_bytes(ex / c.file));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.file, std::size_t(1), o.result.signers.size());
            const auto& s = o.result.signers[0];
            CPPUNIT_ASSERT_MESSAGE(std::string(c.file) + ": " + s.failure, s.signature_valid);
            CPPUNIT_ASSERT_MESSAGE(c.file, s.signer_certificate_der == *c.cert);
            CPPUNIT_ASSERT_MESSAGE(c.file, s.scheme == c.scheme);
            content = o.content;
        }
        CPPUNIT_ASSERT(!content.empty());
        MemorySource src(content);
        const auto det = verify_detached(file_bytes(ex / "signedByCarlosDetached.p7m"), src);
        CPPUNIT_ASSERT_MESSAGE(det.signers.at(0).failure, det.signers.at(0).signature_valid);

        const std::vector<Bytes> extra{alice, carlos};
        const Opaque both = opaque(file_bytes(ex / "signedByAliceAndCarlosNoCerts.p7m"), extra);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), both.result.signers.size());
        for (const auto& s : both.result.signers) CPPUNIT_ASSERT_MESSAGE(s.failure, s.signature_valid);
        const Opaque none = opaque(file_bytes(ex / "signedByAliceAndCarlosNoCerts.p7m"));
        for (const auto& s : none.result.signers)
            CPPUNIT_ASSERT_EQUAL(std::string("signer certificate not in message"), s.failure);
    }

private:
    static void peer(const std::string& name)
    {
        const fs::path& f = fixtures();
        CPPUNIT_ASSERT_MESSAGE(name + " could not sign: see " + name + ".log", !fs::exists(f / (name + ".failed")));
        const Bytes content = fixture("content.txt"), alice = pki_cert("alice");
        const auto det = detached(fixture(name + ".p7s"), content);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), det.signers.size());
        CPPUNIT_ASSERT_MESSAGE(name + ": " + det.signers[0].failure, det.signers[0].signature_valid);
        CPPUNIT_ASSERT(det.signers[0].signer_certificate_der == alice);
        const Opaque o = opaque(fixture(name + ".p7m"));
        CPPUNIT_ASSERT(o.content == content);
        CPPUNIT_ASSERT_MESSAGE(name + ": " + o.result.signers.at(0).failure, o.result.signers.at(0).signature_valid);
        CPPUNIT_ASSERT(o.result.signers.at(0).signer_certificate_der == alice);
        Bytes other = content;
        other[0] ^= 1;
        CPPUNIT_ASSERT_EQUAL(std::string("message digest mismatch"), detached(fixture(name + ".p7s"), other).signers.at(0).failure);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsVerifyPeersTest);
