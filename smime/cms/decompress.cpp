// CompressedData reader; see decompress.h. The BER around the content is read with the
// checked BerStream walker; the inflation is zlib's (the RFC 3274 algorithm is the zlib
// format of RFC 1950, which zlib itself reads: nothing of it is written here).
#include "smime/cms/decompress.h"

#include <zlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/error.h"
#include "smime/cms/ber_stream.h"
#include "smime/cms/der_oids.h"

namespace ssm::smime::cms {
namespace {

using der_oid::is;

// DER of id-alg-zlibCompress (1.2.840.113549.1.9.16.3.8), INTEGER 0 and NULL.
constexpr std::uint8_t kZlibOid[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x03, 0x08};
constexpr std::uint8_t kVersion0[] = {0x02, 0x01, 0x00};
constexpr std::uint8_t kNull[] = {0x05, 0x00};

[[noreturn]] void malformed_compressed(const std::string& what)
{
    throw Error(Failure::MalformedMessage, "CompressedData: " + what);
}

// RAII for one z_stream in inflate mode.
class Inflater {
public:
    Inflater()
    {
        if (inflateInit(&m_z) != Z_OK) throw Error(Failure::Temporary, "zlib: inflateInit failed");
    }
    ~Inflater() { inflateEnd(&m_z); }
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    z_stream* get() { return &m_z; }

private:
    z_stream m_z{};
};

// Inflates what is written to it into `out`, counting and capping the output.
class InflateSink final : public ByteSink {
public:
    InflateSink(ByteSink& out, std::uint64_t max_output) : m_out(out), m_max(max_output) {}
    using ByteSink::write;

    void write(ByteView data) override
    {
        if (data.empty()) return;
        if (m_ended) malformed_compressed("data after the end of the zlib stream");
        z_stream* z = m_inflater.get();
        // zlib's next_in is not const in its C interface; it never writes through it.
        z->next_in = const_cast<Bytef*>(reinterpret_cast<const Bytef*>(data.data()));
        std::size_t left = data.size();
        for (;;) {
            if (z->avail_in == 0 && left > 0) {
                const auto n = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));
                z->avail_in = n;
                left -= n;
            }
            z->next_out = m_buf.data();
            z->avail_out = static_cast<uInt>(m_buf.size());
            const int rc = inflate(z, Z_NO_FLUSH);
            const std::size_t produced = m_buf.size() - z->avail_out;
            if (produced > 0) {
                if (m_written + produced > m_max)
                    throw Error(Failure::MessageTooLarge, "CompressedData: the content inflates to more than " +
                                                              std::to_string(m_max) + " bytes");
                m_written += produced;
                m_out.write(ByteView(m_buf.data(), produced));
            }
            if (rc == Z_STREAM_END) {
                m_ended = true;
                if (z->avail_in > 0 || left > 0) malformed_compressed("data after the end of the zlib stream");
                return;
            }
            if (rc == Z_MEM_ERROR) throw Error(Failure::Temporary, "zlib: out of memory");
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                malformed_compressed(std::string("corrupt zlib stream") + (z->msg ? std::string(": ") + z->msg : ""));
            if (z->avail_out == 0) continue;                // the buffer filled: more may be waiting
            if (z->avail_in == 0 && left == 0) return;     // all input taken: wait for more
            if (rc == Z_BUF_ERROR) malformed_compressed("zlib made no progress");  // cannot happen with room on both sides
        }
    }

    std::uint64_t finish()
    {
        if (!m_ended) malformed_compressed("the zlib stream is truncated");
        return m_written;
    }

private:
    ByteSink& m_out;
    std::uint64_t m_max;
    Inflater m_inflater;
    std::vector<std::uint8_t> m_buf = std::vector<std::uint8_t>(64 * 1024);
    std::uint64_t m_written = 0;
    bool m_ended = false;
};

}  // namespace

std::uint64_t decompress_content(ByteSource& der, ByteSink& out, std::uint64_t max_output)
{
    BerStream r(der, "CompressedData");
    std::size_t budget = 4096;  // the structure around the content: OIDs, version, algorithm
    const BerHeader ci_h = r.header();
    if (ci_h.tag != 0x30) malformed_compressed("ContentInfo is not a SEQUENCE");
    BerFrame ci = r.open(ci_h, nullptr);
    if (!is(r.read_child(ci, 0x06, "contentType", budget, 1), der_oid::kCompressedData))
        malformed_compressed("ContentInfo is not CompressedData");
    BerHeader h;
    if (!r.next_child(ci, h) || h.tag != 0xA0) malformed_compressed("missing content [0]");
    BerFrame c0 = r.open(h, &ci);
    if (!r.next_child(c0, h) || h.tag != 0x30) malformed_compressed("content is not a SEQUENCE");
    BerFrame cd = r.open(h, &c0);
    if (!is(r.read_child(cd, 0x02, "version", budget, 3), kVersion0)) malformed_compressed("version is not 0");

    if (!r.next_child(cd, h) || h.tag != 0x30) malformed_compressed("missing compressionAlgorithm");
    BerFrame alg = r.open(h, &cd);
    if (!is(r.read_child(alg, 0x06, "algorithm", budget, 4), kZlibOid))
        malformed_compressed("compression algorithm is not zlib (id-alg-zlibCompress)");
    if (r.next_child(alg, h)) {  // parameters: absent (RFC 3274 §2), tolerated as NULL
        Bytes params;
        r.copy_element(h, &params, budget, 4);
        if (!is(params, kNull)) malformed_compressed("zlib parameters present");
        r.expect_end(alg, "compressionAlgorithm");
    }

    if (!r.next_child(cd, h) || h.tag != 0x30) malformed_compressed("missing encapContentInfo");
    BerFrame eci = r.open(h, &cd);
    if (!is(r.read_child(eci, 0x06, "eContentType", budget, 4), der_oid::kData))
        malformed_compressed("compressed content is not id-data");
    if (!r.next_child(eci, h) || h.tag != 0xA0) malformed_compressed("no eContent (detached compressed content)");
    BerFrame ec = r.open(h, &eci);
    BerHeader os;
    if (!r.next_child(ec, os) || (os.tag != 0x04 && os.tag != 0x24)) malformed_compressed("eContent is not an OCTET STRING");
    InflateSink inflater(out, max_output);
    r.stream_octets(os, &ec, inflater, 6);
    const std::uint64_t written = inflater.finish();
    r.expect_end(ec, "eContent");
    r.expect_end(eci, "encapContentInfo");
    r.expect_end(cd, "CompressedData");
    r.expect_end(c0, "content [0]");
    r.expect_end(ci, "ContentInfo");
    if (!r.at_eof()) malformed_compressed("trailing bytes after ContentInfo");
    return written;
}

}  // namespace ssm::smime::cms
