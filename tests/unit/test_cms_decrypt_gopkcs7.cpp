// Unit tests for smime/cms/decrypt.h with EnvelopedData made by Go's pkcs7 library
// (github.com/fullsailor/pkcs7, tests/interop/gopkcs7/main.go, built here with go). Its AES-CBC
// envelopes (encryptedContent a constructed [0] holding one definite-length OCTET STRING)
// decrypt. Its AES-GCM goes into an EnvelopedData, which RFC 5084 §3 does not allow (GCM only
// in AuthEnvelopedData, whose mac carries the tag), with malformed GCMParameters (wrapped in a
// primitive SEQUENCE, the nonce tagged [4] instead of OCTET STRING): refused, the uniform
// decryption failure, and refused all the same when the parameters are repaired ("content
// cipher does not fit the content type"): a product decision (PRODUCT §2.2/§3.1), not a
// limitation of the parser. Single DES is not read.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

#include "smime/cms/decrypt.h"
#include "tests/unit/test_cms_decrypt_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::smime::cms;
using ssm::test::soft_key;
namespace fs = std::filesystem;

namespace {

// gopkcs7 built once per process into the scratch folder (GOPATH mode on Debian's layout,
// offline, the build cache there too).
const fs::path& gopkcs7()
{
    static const fs::path exe = [] {
        const fs::path d = test::scratch_dir() / "go";
        fs::create_directories(d);
        test::run("cd '" + d.string() + "' && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE='" +
                  (d / "cache").string() + "' GOFLAGS= GOPROXY=off GOENV=off go build -o gopkcs7 '" +
                  (test::source_dir() / "tests/interop/gopkcs7/main.go").string() + "' >/dev/null 2>&1");
        return d / "gopkcs7";
    }();
    return exe;
}

const char* const kEntity = "Content-Type: text/plain; charset=us-ascii\r\n\r\nEncrypted by Go.\r\nSecond line.\r\n";

// The EnvelopedData (DER) Go makes of kEntity for `who`'s certificate with `cipher`.
Bytes go_envelope(const std::string& who, const std::string& cipher)
{
    const fs::path dir = test::scratch_dir();
    const std::string in = (dir / "go-in.eml").string(), out = (dir / "go-out.eml").string();
    test::write_file(in, std::string("From: a@partner.example\r\n") + kEntity);
    test::run("'" + gopkcs7().string() + "' encrypt t in='" + in + "' out='" + out + "' rcpt='" +
              (test::pki_dir() / (who + ".cert.pem")).string() + "' cipher=" + cipher + " >/dev/null 2>&1");
    test::run("sed '1,/^\\r\\?$/d' '" + out + "' | OPENSSL_CONF=/dev/null openssl base64 -d > '" +
              (dir / "go.der").string() + "'");
    return test::read_bytes(dir / "go.der");
}

// The debug reason decrypt_envelope gives for `der` (which must fail, writing nothing).
std::string refusal(const Bytes& der, const std::string& label)
{
    MemorySource src(der);
    MemorySink sink;
    try {
        decrypt_envelope(src, {soft_key("alice")}, sink);
    } catch (const DecryptionFailed& e) {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(kDecryptFailureText), std::string(e.what()));
        CPPUNIT_ASSERT_MESSAGE(label, sink.data().empty());
        return e.debug();
    }
    CPPUNIT_FAIL(label + ": decrypted");
    return "";
}

// `der` re-encoded (definite lengths recomputed) with every primitive SEQUENCE (0x10, Go's
// wrapping of GCMParameters: a SEQUENCE without the constructed bit around the real SEQUENCE)
// replaced by the TLV it holds.
Bytes unwrap_primitive_sequences(const Bytes& der, std::size_t& pos, std::size_t end)
{
    Bytes out;
    while (pos < end) {
        const std::size_t start = pos;
        const std::uint8_t tag = der.at(pos++);
        std::size_t len = der.at(pos++);
        if (len & 0x80) {
            const std::size_t n = len & 0x7F;
            len = 0;
            for (std::size_t i = 0; i < n; ++i) len = (len << 8) | der.at(pos++);
        }
        const std::size_t stop = pos + len;
        if (tag == 0x10 || (tag & 0x20)) {
            Bytes inner = unwrap_primitive_sequences(der, pos, stop);
            if (tag == 0x10) {
                out.insert(out.end(), inner.begin(), inner.end());
                continue;
            }
            out.push_back(tag);
            if (inner.size() < 0x80) {
                out.push_back(std::uint8_t(inner.size()));
            } else {
                Bytes l;
                for (std::size_t v = inner.size(); v; v >>= 8) l.insert(l.begin(), std::uint8_t(v));
                out.push_back(std::uint8_t(0x80 | l.size()));
                out.insert(out.end(), l.begin(), l.end());
            }
            out.insert(out.end(), inner.begin(), inner.end());
        } else {
            out.insert(out.end(), der.begin() + std::ptrdiff_t(start), der.begin() + std::ptrdiff_t(stop));
            pos = stop;
        }
    }
    return out;
}

}  // namespace

class CmsDecryptGoTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsDecryptGoTest);
    CPPUNIT_TEST(cbc_envelopes_decrypt);
    CPPUNIT_TEST(gcm_in_enveloped_data_is_refused);
    CPPUNIT_TEST(single_des_is_refused);
    CPPUNIT_TEST_SUITE_END();

public:
    void cbc_envelopes_decrypt()
    {
        for (const char* cipher : {"aes128-cbc", "aes256-cbc"}) {
            const Bytes der = go_envelope("alice", cipher);
            MemorySource src(der);
            MemorySink sink;
            const auto o = decrypt_envelope(src, {soft_key("alice")}, sink);
            CPPUNIT_ASSERT_MESSAGE(cipher, o.status == DecryptStatus::Decrypted);
            CPPUNIT_ASSERT_MESSAGE(cipher, !o.auth_enveloped);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(cipher, std::string(cipher), o.cipher_name);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(cipher, std::string(kEntity), std::string(as_chars(sink.data())));
        }
    }

    void gcm_in_enveloped_data_is_refused()
    {
        for (const auto& [cipher, arc] : {std::pair<const char*, std::uint8_t>{"aes128-gcm", 0x06}, {"aes256-gcm", 0x2E}}) {
            const Bytes der = go_envelope("alice", cipher);
            // as Go sends it: the parameters do not parse, and the refusal says so
            CPPUNIT_ASSERT_EQUAL_MESSAGE(cipher,
                                         "unsupported content encryption 2.16.840.1.101.3.4.1." + std::to_string(arc) +
                                             ": malformed parameters",
                                         refusal(der, cipher));
            // with well-formed GCMParameters: still refused
            std::size_t pos = 0;
            Bytes fixed = unwrap_primitive_sequences(der, pos, der.size());
            CPPUNIT_ASSERT_MESSAGE(cipher, fixed.size() == der.size() - 2);
            // and the nonce an OCTET STRING, not Go's [4] IMPLICIT (its struct tag "tag:4")
            const Bytes params = {0x30, 0x11, 0x84, 0x0C};
            auto it = std::search(fixed.begin(), fixed.end(), params.begin(), params.end());
            CPPUNIT_ASSERT_MESSAGE(cipher, it != fixed.end());
            *(it + 2) = 0x04;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(cipher, std::string("content cipher does not fit the content type"),
                                         refusal(fixed, std::string(cipher) + " (well-formed parameters)"));
        }
    }

    void single_des_is_refused()
    {
        CPPUNIT_ASSERT_EQUAL(std::string("unsupported content encryption 1.3.14.3.2.7"),
                             refusal(go_envelope("alice", "des-cbc"), "des-cbc"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsDecryptGoTest);
