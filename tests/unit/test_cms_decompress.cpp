// Unit tests for smime/cms/decompress.h (RFC 3274 CompressedData) on objects built here
// around zlib's own compress2() output: the DER, BER with chunked OCTET STRINGs and
// indefinite lengths, and every refusal: another algorithm or inner type, parameters, a
// corrupt, truncated or over-long zlib stream, trailing bytes, and a decompression bomb
// stopped at the cap. (CompressedData made by BouncyCastle: test_cms_decrypt_bouncycastle.)
#include <cppunit/extensions/HelperMacros.h>
#include <zlib.h>

#include <string>

#include "base/error.h"
#include "smime/cms/content_kind.h"
#include "smime/cms/decompress.h"
#include "smime/cms/der_length.h"
#include "tests/unit/test_cms_decrypt_support.h"

using namespace ssm;
using namespace ssm::smime::cms;

namespace {

const Bytes kCompressedDataOid = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x09};
const Bytes kZlibOid = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x03, 0x08};
const Bytes kDataOid = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
const Bytes kSignedDataOid = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};

Bytes cat(std::initializer_list<Bytes> parts)
{
    Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

Bytes tlv(std::uint8_t tag, const Bytes& body) { return cat({der_header(tag, body.size()), body}); }

Bytes zlib_compress(const std::string& text)
{
    uLongf n = compressBound(text.size());
    Bytes out(n);
    if (compress2(out.data(), &n, reinterpret_cast<const Bytef*>(text.data()), text.size(), 9) != Z_OK)
        throw std::runtime_error("compress2");
    out.resize(n);
    return out;
}

struct Parts {
    Bytes content_type = kCompressedDataOid;
    Bytes version = {0x02, 0x01, 0x00};
    Bytes algorithm = tlv(0x30, kZlibOid);
    Bytes inner_type = kDataOid;
    Bytes econtent;  // the OCTET STRING element (whole TLV)
};

Bytes compressed_data(const Parts& p)
{
    const Bytes eci = tlv(0x30, cat({p.inner_type, tlv(0xA0, p.econtent)}));
    const Bytes cd = tlv(0x30, cat({p.version, p.algorithm, eci}));
    return tlv(0x30, cat({p.content_type, tlv(0xA0, cd)}));
}

Parts parts_of(const Bytes& zlib_stream)
{
    Parts p;
    p.econtent = tlv(0x04, zlib_stream);
    return p;
}

std::string inflate_all(const Bytes& der, std::uint64_t cap = 1 << 20, std::size_t piece = 0)
{
    test::write_bytes(test::scratch_dir() / "cd.der", der);
    test::FileSource src(test::scratch_dir() / "cd.der", piece);
    MemorySink out;
    const std::uint64_t n = decompress_content(src, out, cap);
    if (n != out.data().size()) throw std::runtime_error("count differs from output");
    return out.str();
}

// The failure class and message of inflating `der`, or "ok".
std::string failure_of(const Bytes& der, std::uint64_t cap = 1 << 20)
{
    try {
        inflate_all(der, cap);
        return "ok";
    } catch (const Error& e) {
        return std::string(failure_name(e.failure())) + ": " + e.what();
    }
}

const std::string kEntity =
    "Content-Type: text/plain; charset=us-ascii\r\n\r\nA compressed hello.\r\nLine two, line two, line two.\r\n";

}  // namespace

class CmsDecompressTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsDecompressTest);
    CPPUNIT_TEST(der_inflates_exactly);
    CPPUNIT_TEST(ber_chunks_and_indefinite_lengths);
    CPPUNIT_TEST(null_parameters_tolerated);
    CPPUNIT_TEST(refusals_name_the_problem);
    CPPUNIT_TEST(bomb_stops_at_the_cap);
    CPPUNIT_TEST_SUITE_END();

public:
    void der_inflates_exactly()
    {
        const Bytes der = compressed_data(parts_of(zlib_compress(kEntity)));
        for (std::size_t piece : {0u, 1u, 7u}) CPPUNIT_ASSERT_EQUAL(kEntity, inflate_all(der, 1 << 20, piece));
        MemorySource peek(der);  // what the inbound layers see before choosing the reader
        CPPUNIT_ASSERT(peek_content_kind(peek) == ContentKind::CompressedData);
        // a larger entity: output passes the 64 KiB buffer many times over
        std::string big;
        for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + " of a long attachment\r\n";
        CPPUNIT_ASSERT(big == inflate_all(compressed_data(parts_of(zlib_compress(big))), 1 << 22, 4096));
    }

    // As `openssl cms -stream` and BouncyCastle write BER: indefinite lengths everywhere and
    // the eContent as a constructed OCTET STRING of small segments (one nested level too).
    void ber_chunks_and_indefinite_lengths()
    {
        const Bytes z = zlib_compress(kEntity);
        Bytes chunks = {0x24, 0x80};
        for (std::size_t i = 0; i < z.size(); i += 5) {
            const Bytes seg(z.begin() + i, z.begin() + std::min(z.size(), i + 5));
            chunks = cat({chunks, i == 10 ? cat({{0x24, 0x80}, tlv(0x04, seg), {0, 0}}) : tlv(0x04, seg)});
        }
        chunks = cat({chunks, {0, 0}});
        const Bytes eci = cat({{0x30, 0x80}, kDataOid, {0xA0, 0x80}, chunks, {0, 0, 0, 0}});
        const Bytes cd = cat({{0x30, 0x80}, {0x02, 0x01, 0x00}, tlv(0x30, kZlibOid), eci, {0, 0}});
        const Bytes ber = cat({{0x30, 0x80}, kCompressedDataOid, {0xA0, 0x80}, cd, {0, 0, 0, 0}});
        for (std::size_t piece : {0u, 3u}) CPPUNIT_ASSERT_EQUAL(kEntity, inflate_all(ber, 1 << 20, piece));
    }

    void null_parameters_tolerated()
    {
        Parts p = parts_of(zlib_compress(kEntity));
        p.algorithm = tlv(0x30, cat({kZlibOid, {0x05, 0x00}}));
        CPPUNIT_ASSERT_EQUAL(kEntity, inflate_all(compressed_data(p)));
    }

    void refusals_name_the_problem()
    {
        const Bytes z = zlib_compress(kEntity);
        const std::string malformed = "malformed-message: CompressedData: ";
        struct Case {
            const char* label;
            Bytes der;
            std::string expected;  // prefix of failure_of()
        };
        std::vector<Case> cases;
        {
            Parts p = parts_of(z);
            p.content_type = kSignedDataOid;
            cases.push_back({"signed-data", compressed_data(p), malformed + "ContentInfo is not CompressedData"});
        }
        {
            Parts p = parts_of(z);
            p.version = {0x02, 0x01, 0x01};
            cases.push_back({"version 1", compressed_data(p), malformed + "version is not 0"});
        }
        {
            Parts p = parts_of(z);
            p.algorithm = tlv(0x30, kDataOid);
            cases.push_back({"algorithm", compressed_data(p), malformed + "compression algorithm is not zlib"});
        }
        {
            Parts p = parts_of(z);
            p.algorithm = tlv(0x30, cat({kZlibOid, {0x02, 0x01, 0x05}}));
            cases.push_back({"parameters", compressed_data(p), malformed + "zlib parameters present"});
        }
        {
            Parts p = parts_of(z);
            p.inner_type = kSignedDataOid;
            cases.push_back({"inner type", compressed_data(p), malformed + "compressed content is not id-data"});
        }
        {
            Bytes bad = z;
            bad[bad.size() / 2] ^= 0x55;  // inside the deflate data, or the Adler-32 at worst
            cases.push_back({"corrupt", compressed_data(parts_of(bad)), malformed + "corrupt zlib stream"});
        }
        {
            Bytes cut(z.begin(), z.end() - 6);
            cases.push_back({"truncated", compressed_data(parts_of(cut)), malformed + "the zlib stream is truncated"});
        }
        {
            Bytes more = z;
            more.push_back(0x00);
            cases.push_back({"after the stream", compressed_data(parts_of(more)),
                             malformed + "data after the end of the zlib stream"});
        }
        {
            Bytes raw = z;
            raw[0] = 0x00;  // not a zlib header (raw deflate or garbage)
            cases.push_back({"no zlib header", compressed_data(parts_of(raw)), malformed + "corrupt zlib stream"});
        }
        cases.push_back({"trailing bytes", cat({compressed_data(parts_of(z)), {0x00}}),
                         malformed + "trailing bytes after ContentInfo"});
        {
            Parts p = parts_of(z);
            const Bytes eci = tlv(0x30, p.inner_type);  // detached: no eContent
            cases.push_back({"no eContent",
                             tlv(0x30, cat({p.content_type, tlv(0xA0, tlv(0x30, cat({p.version, p.algorithm, eci})))})),
                             malformed + "no eContent"});
        }
        cases.push_back({"garbage", Bytes{0x30, 0x03, 0x02, 0x01}, "malformed-message: CompressedData: "});
        for (const auto& c : cases) {
            const std::string got = failure_of(c.der);
            CPPUNIT_ASSERT_MESSAGE(std::string(c.label) + ": " + got, got.rfind(c.expected, 0) == 0);
        }
    }

    // 64 MiB of zeros compress to ~64 KiB; with a 1 MiB cap inflation stops at the cap.
    void bomb_stops_at_the_cap()
    {
        const std::string zeros(64u << 20, '\0');
        const Bytes der = compressed_data(parts_of(zlib_compress(zeros)));
        CPPUNIT_ASSERT(der.size() < 128 * 1024);
        const std::string got = failure_of(der, 1 << 20);
        CPPUNIT_ASSERT_MESSAGE(got, got.rfind("message-too-large: CompressedData: the content inflates to more than 1048576 bytes", 0) == 0);
        // exactly at the cap is allowed
        const std::string exact(1 << 20, 'x');
        CPPUNIT_ASSERT(exact == inflate_all(compressed_data(parts_of(zlib_compress(exact))), 1 << 20));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsDecompressTest);
