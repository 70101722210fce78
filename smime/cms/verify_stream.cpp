// Streaming BER walk of an encapsulated SignedData; see verify_stream.h. Untrusted input:
// the one hand-written BER header reader of the verifier, checked at every step.
#include "smime/cms/verify_stream.h"

#include <gnutls/crypto.h>

#include <algorithm>
#include <array>
#include <memory>

#include "base/error.h"
#include "smime/cms/algorithm_ids.h"
#include "smime/cms/asn1.h"
#include "smime/cms/der_length.h"
#include "smime/cms/verify_signature.h"

namespace ssm::smime::cms {
namespace {

[[noreturn]] void malformed(const std::string& what)
{
    throw Error(Failure::MalformedMessage, "SignedData: " + what);
}

struct Header {
    std::uint8_t tag = 0;
    bool indefinite = false;
    std::uint64_t length = 0;
    Bytes raw;  // the header octets as received
    bool constructed() const { return tag & 0x20; }
    bool eoc() const { return tag == 0 && !indefinite && length == 0; }
};

// A buffered reader over a ByteSource that knows its position.
class BerReader {
public:
    explicit BerReader(ByteSource& src) : m_src(src) {}

    std::uint64_t position() const { return m_consumed; }

    bool at_eof()
    {
        return !fill();
    }

    std::uint8_t byte()
    {
        if (!fill()) malformed("truncated");
        ++m_consumed;
        return m_buf[m_pos++];
    }

    Header header()
    {
        Header h;
        h.tag = byte();
        h.raw.push_back(h.tag);
        // CMS uses only low tag numbers; a multi-byte tag is not ours to follow.
        if ((h.tag & 0x1f) == 0x1f) malformed("multi-byte tag");
        const std::uint8_t first = byte();
        h.raw.push_back(first);
        if (first < 0x80) {
            h.length = first;
        } else if (first == 0x80) {
            if (!h.constructed()) malformed("indefinite length on a primitive element");
            h.indefinite = true;
        } else {
            const int n = first & 0x7f;
            if (n > 8) malformed("length too long");
            for (int i = 0; i < n; ++i) {
                const std::uint8_t b = byte();
                h.raw.push_back(b);
                if (h.length >> 55) malformed("length overflows");
                h.length = (h.length << 8) | b;
            }
        }
        return h;
    }

    // Sends the next `n` octets to `sink` (nullptr: into `out`).
    void take(std::uint64_t n, ByteSink* sink, Bytes* out)
    {
        while (n > 0) {
            if (!fill()) malformed("truncated");
            const std::size_t k = std::size_t(std::min<std::uint64_t>(n, m_len - m_pos));
            const ByteView chunk(m_buf.data() + m_pos, k);
            if (sink) sink->write(chunk);
            if (out) out->insert(out->end(), chunk.begin(), chunk.end());
            m_pos += k;
            m_consumed += k;
            n -= k;
        }
    }

private:
    bool fill()
    {
        if (m_pos < m_len) return true;
        m_len = m_src.read(m_buf);
        m_pos = 0;
        return m_len > 0;
    }

    ByteSource& m_src;
    std::array<std::uint8_t, 64 * 1024> m_buf{};
    std::size_t m_pos = 0, m_len = 0;
    std::uint64_t m_consumed = 0;
};

// Where a constructed element ends: at an end-of-contents or at a known position.
class Frame {
public:
    Frame(BerReader& r, const Header& h) : m_r(r), m_indefinite(h.indefinite)
    {
        if (!h.constructed()) malformed("primitive element where a constructed one belongs");
        m_end = checked_add(r.position(), h.length);
    }
    // Call after reading a child's header: the child must fit inside a definite parent.
    void check_child(const Header& h) const
    {
        if (!m_indefinite && (h.indefinite ? m_r.position() > m_end : m_r.position() + h.length > m_end))
            malformed("element longer than its parent");
    }
    bool at_end()
    {
        if (m_indefinite) return false;  // the caller reads the end-of-contents as a header
        if (m_r.position() > m_end) malformed("element longer than its parent");
        return m_r.position() == m_end;
    }
    bool indefinite() const { return m_indefinite; }

private:
    BerReader& m_r;
    bool m_indefinite;
    std::uint64_t m_end = 0;
};

// Reads the rest of the element whose header is `h` into `out` (header included), within
// the structure budget and depth limit.
void copy_element(BerReader& r, const Header& h, Bytes& out, std::size_t& budget, int depth)
{
    if (depth > kMaxBerDepth) malformed("nested too deeply");
    if (h.raw.size() > budget) throw Error(Failure::MessageTooLarge, "SignedData structures too large");
    budget -= h.raw.size();
    out.insert(out.end(), h.raw.begin(), h.raw.end());
    if (!h.indefinite) {
        if (h.length > budget) throw Error(Failure::MessageTooLarge, "SignedData structures too large");
        budget -= std::size_t(h.length);
        r.take(h.length, nullptr, &out);
        return;
    }
    for (;;) {
        const Header c = r.header();
        if (c.eoc()) {
            if (budget < 2) throw Error(Failure::MessageTooLarge, "SignedData structures too large");
            budget -= 2;
            out.insert(out.end(), c.raw.begin(), c.raw.end());
            return;
        }
        copy_element(r, c, out, budget, depth + 1);
    }
}

// Reads one child of `f` with tag `tag` into `out`.
Bytes read_child(BerReader& r, Frame& f, std::uint8_t tag, const char* what, std::size_t& budget)
{
    if (f.at_end()) malformed(std::string("missing ") + what);
    const Header h = r.header();
    if (h.tag != tag) malformed(std::string("unexpected tag for ") + what);
    f.check_child(h);
    Bytes out;
    copy_element(r, h, out, budget, 3);
    return out;
}

// Does `f` have another child? (For indefinite frames this peeks at an end-of-contents by
// reading it: `h` then holds the child's header when the answer is yes.)
bool next_child(BerReader& r, Frame& f, Header& h)
{
    if (f.at_end()) return false;
    h = r.header();
    if (f.indefinite() && h.eoc()) return false;
    f.check_child(h);
    return true;
}

// No further child in `f` (its end-of-contents, if any, is consumed).
void expect_end(BerReader& r, Frame& f, const char* what)
{
    Header h;
    if (next_child(r, f, h)) malformed(std::string("trailing element in ") + what);
}

// Streams the value of an OCTET STRING, primitive or constructed from segments.
void stream_octets(BerReader& r, const Header& h, ByteSink& out, int depth)
{
    if (depth > kMaxBerDepth) malformed("eContent nested too deeply");
    if (h.tag == 0x04) {
        r.take(h.length, &out, nullptr);
        return;
    }
    if (h.tag != 0x24) malformed("eContent is not an OCTET STRING");
    Frame f(r, h);
    Header c;
    while (next_child(r, f, c)) stream_octets(r, c, out, depth + 1);
}

// Hashes the content with every digest of digestAlgorithms we know. The SET's elements,
// each an AlgorithmIdentifier, are parsed one by one (cms.asn has no type for the SET).
void add_listed_digests(ByteView digest_algorithms_set, DigestSet& hashes)
{
    MemorySource src(digest_algorithms_set);
    BerReader r(src);
    const Header set = r.header();
    Frame f(r, set);
    Header h;
    while (next_child(r, f, h)) {
        Bytes tlv;
        std::size_t budget = digest_algorithms_set.size();
        copy_element(r, h, tlv, budget, 0);
        const AlgorithmId id = read_algorithm_id(Asn1Node::decode("AlgorithmIdentifier", tlv), "");
        std::string ignored;  // a digest we cannot compute fails its SignerInfo later
        if (const auto d = verify_digest_from_id(id, ignored)) hashes.add(id.oid, *d);
    }
}

// DER of OBJECT IDENTIFIER 1.2.840.113549.1.7.2 (id-signedData): a fixed constant.
constexpr std::uint8_t kSignedDataOidDer[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};

}  // namespace

StreamedSignedData read_signed_data_stream(ByteSource& der, ByteSink& content_out)
{
    BerReader r(der);
    std::size_t budget = kMaxSignedDataStructure;

    const Header ci_h = r.header();
    if (ci_h.tag != 0x30) malformed("ContentInfo is not a SEQUENCE");
    Frame ci(r, ci_h);
    const Bytes type = read_child(r, ci, 0x06, "contentType", budget);
    if (!std::equal(type.begin(), type.end(), std::begin(kSignedDataOidDer), std::end(kSignedDataOidDer)))
        malformed("ContentInfo is not signedData");
    if (ci.at_end()) malformed("missing content");
    const Header c0_h = r.header();
    if (c0_h.tag != 0xA0) malformed("missing content [0]");
    ci.check_child(c0_h);
    Frame c0(r, c0_h);
    if (c0.at_end()) malformed("missing SignedData");
    const Header sd_h = r.header();
    if (sd_h.tag != 0x30) malformed("SignedData is not a SEQUENCE");
    c0.check_child(sd_h);
    Frame sd(r, sd_h);

    Bytes body = read_child(r, sd, 0x02, "version", budget);
    const Bytes digest_algorithms = read_child(r, sd, 0x31, "digestAlgorithms", budget);
    body.insert(body.end(), digest_algorithms.begin(), digest_algorithms.end());

    if (sd.at_end()) malformed("missing encapContentInfo");
    const Header eci_h = r.header();
    if (eci_h.tag != 0x30) malformed("encapContentInfo is not a SEQUENCE");
    sd.check_child(eci_h);
    Frame eci(r, eci_h);
    const Bytes econtent_type = read_child(r, eci, 0x06, "eContentType", budget);
    const Bytes eci_der_header = der_header(0x30, econtent_type.size());
    body.insert(body.end(), eci_der_header.begin(), eci_der_header.end());
    body.insert(body.end(), econtent_type.begin(), econtent_type.end());

    StreamedSignedData out;
    DigestSet hashes;
    add_listed_digests(digest_algorithms, hashes);
    Header h;
    if (next_child(r, eci, h)) {
        if (h.tag != 0xA0) malformed("unexpected element in encapContentInfo");
        Frame ec(r, h);
        Header os;
        if (!next_child(r, ec, os)) malformed("empty eContent");
        TeeSink tee(content_out, hashes);
        stream_octets(r, os, tee, 5);
        out.had_content = true;
        expect_end(r, ec, "eContent");
        expect_end(r, eci, "encapContentInfo");
    }
    // certificates [0], crls [1], signerInfos: copied as received.
    while (next_child(r, sd, h)) copy_element(r, h, body, budget, 3);
    expect_end(r, c0, "content [0]");
    expect_end(r, ci, "ContentInfo");
    if (!r.at_eof()) malformed("trailing bytes after ContentInfo");

    out.signed_data = der_header(0x30, body.size());
    out.signed_data.insert(out.signed_data.end(), body.begin(), body.end());
    out.content_digests = hashes.finish();
    return out;
}

}  // namespace ssm::smime::cms
