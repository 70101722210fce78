// Unit tests for smime/sign.h (sign_message): the digest follows the key where a standard
// fixes it. RFC 8419 §3.1: Ed25519 with signed attributes uses SHA-512, whatever [signing]
// digest says for the RSA and ECDSA keys of the same gateway. With the default sha256 an
// Ed25519 sender's mail used to end in "451 4.3.0 internal error" (found with BouncyCastle,
// the first peer here that verifies Ed25519 in CMS: tests/integration/test_interop_bouncycastle.sh).
#include <cppunit/extensions/HelperMacros.h>

#include "base/spool.h"
#include "smime/cms/oids.h"
#include "smime/mime/decoders.h"
#include "smime/sign.h"
#include "tests/unit/test_cms_support.h"

using namespace ssm;
using namespace ssm::cmstest;

namespace {

const std::string kBody = "Signed with the configured digest, or the one the key requires.\r\n";

struct Signed {
    SignResult result;
    std::string body;
};

Signed sign_with(const std::string& id, SignatureFormat format, DigestAlgorithm digest)
{
    test::TempDir spool;
    auto signer = signer_for(id);
    SignParameters p;
    p.format = format;
    p.digest = digest;
    p.signing_time = 1796122800;
    const std::vector<mime::HeaderField> headers = {{"From", "<" + id + "@acme.example>"},
                                                    {"Content-Type", "text/plain; charset=us-ascii"}};
    MemorySource body(as_bytes(kBody));
    Spool scratch(spool.path().string(), 1 << 20);
    MemorySink out;
    Signed s;
    s.result = sign_message(headers, body, signer, p, scratch, out);
    s.body = std::string(as_chars(out.data()));
    return s;
}

std::string added_content_type(const SignResult& r)
{
    for (const auto& f : r.headers.add)
        if (f.name == "Content-Type") return f.value;
    return {};
}

}  // namespace

class SignTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SignTest);
    CPPUNIT_TEST(ed25519_signs_with_sha512_whatever_the_configuration);
    CPPUNIT_TEST(other_keys_keep_the_configured_digest);
    CPPUNIT_TEST_SUITE_END();

public:
    void ed25519_signs_with_sha512_whatever_the_configuration()
    {
        for (DigestAlgorithm configured : {DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512}) {
            const Signed d = sign_with("ed", SignatureFormat::Detached, configured);
            CPPUNIT_ASSERT(d.result.scheme == SignatureScheme::Ed25519);
            CPPUNIT_ASSERT(d.result.digest == DigestAlgorithm::Sha512);
            CPPUNIT_ASSERT(added_content_type(d.result).find("micalg=sha-512;") != std::string::npos);

            const Signed o = sign_with("ed", SignatureFormat::Opaque, configured);
            CPPUNIT_ASSERT(o.result.digest == DigestAlgorithm::Sha512);
            MemorySink der;
            mime::Base64Decoder b64(der);
            b64.write(as_bytes(o.body));
            b64.finish();
            const auto sd = decode_signed_content_info(der.data());
            CPPUNIT_ASSERT_EQUAL(std::string(oid::kSha512), sd.signers.at(0).digest_algorithm.oid);
            CPPUNIT_ASSERT_NO_THROW(gnutls_verify(der.data(), signer_for("ed").certificate_der(), nullptr));
        }
    }

    void other_keys_keep_the_configured_digest()
    {
        for (const char* id : {"alice", "bob"}) {
            const Signed d = sign_with(id, SignatureFormat::Detached, DigestAlgorithm::Sha256);
            CPPUNIT_ASSERT(d.result.digest == DigestAlgorithm::Sha256);
            CPPUNIT_ASSERT(added_content_type(d.result).find("micalg=sha-256;") != std::string::npos);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SignTest);
