// The streaming BER walker of the CMS readers; see ber_stream.h. Hand-written BER header
// parsing on untrusted input (libtasn1 needs the whole structure in memory), so every length
// is checked against the enclosing element and the budget before anything is read or kept.
#include "smime/cms/ber_stream.h"

#include <algorithm>

#include "base/error.h"
#include "smime/cms/der_length.h"

namespace ssm::smime::cms {

void BerStream::malformed(const std::string& what) const
{
    throw Error(Failure::MalformedMessage, m_context + ": " + what);
}

bool BerStream::fill()
{
    if (m_pos < m_len) return true;
    m_len = m_src.read(m_buf);
    m_pos = 0;
    return m_len > 0;
}

BerHeader BerStream::header()
{
    auto next = [this] {
        if (!fill()) malformed("truncated");
        ++m_consumed;
        return m_buf[m_pos++];
    };
    BerHeader h;
    h.tag = next();
    h.raw.push_back(h.tag);
    // CMS uses only low tag numbers; a multi-byte tag is not ours to follow.
    if ((h.tag & 0x1f) == 0x1f) malformed("multi-byte tag");
    const std::uint8_t first = next();
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
            const std::uint8_t b = next();
            h.raw.push_back(b);
            if (h.length >> 55) malformed("length overflows");
            h.length = (h.length << 8) | b;
        }
    }
    if (h.tag == 0 && (h.indefinite || h.length != 0)) malformed("bad end-of-contents");
    return h;
}

void BerStream::take(std::uint64_t n, ByteSink* sink, Bytes* out)
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

BerFrame BerStream::open(const BerHeader& h, const BerFrame* parent)
{
    if (!h.constructed()) malformed("primitive element where a constructed one belongs");
    if (parent && !parent->indefinite) {
        if (h.indefinite ? m_consumed > parent->end : m_consumed + h.length > parent->end)
            malformed("element longer than its parent");
    }
    BerFrame f;
    f.indefinite = h.indefinite;
    if (!h.indefinite) f.end = checked_add(m_consumed, h.length);
    return f;
}

bool BerStream::at_end(const BerFrame& f)
{
    if (f.indefinite) return false;  // the caller reads the end-of-contents as a header
    if (m_consumed > f.end) malformed("element longer than its parent");
    return m_consumed == f.end;
}

bool BerStream::next_child(BerFrame& f, BerHeader& h)
{
    if (at_end(f)) return false;
    h = header();
    if (h.eoc()) {
        if (!f.indefinite) malformed("end-of-contents inside a definite-length element");
        return false;
    }
    if (!f.indefinite && (h.indefinite ? m_consumed > f.end : m_consumed + h.length > f.end))
        malformed("element longer than its parent");
    return true;
}

void BerStream::expect_end(BerFrame& f, const char* what)
{
    BerHeader h;
    if (next_child(f, h)) malformed(std::string("trailing element in ") + what);
}

void BerStream::copy_element(const BerHeader& h, Bytes* out, std::size_t& budget, int depth)
{
    if (depth > kMaxBerDepth) malformed("nested too deeply");
    auto charge = [&](std::uint64_t n) {
        if (n > budget) throw Error(Failure::MessageTooLarge, m_context + " structures too large");
        budget -= std::size_t(n);
    };
    charge(h.raw.size());
    if (out) out->insert(out->end(), h.raw.begin(), h.raw.end());
    if (!h.indefinite) {
        charge(h.length);
        take(h.length, nullptr, out);
        return;
    }
    BerFrame f = open(h, nullptr);
    BerHeader c;
    while (next_child(f, c)) copy_element(c, out, budget, depth + 1);
    charge(2);
    if (out) out->insert(out->end(), {0, 0});
}

Bytes BerStream::read_child(BerFrame& f, std::uint8_t tag, const char* what, std::size_t& budget,
                            int depth)
{
    BerHeader h;
    if (!next_child(f, h)) malformed(std::string("missing ") + what);
    if (h.tag != tag) malformed(std::string("unexpected tag for ") + what);
    Bytes out;
    copy_element(h, &out, budget, depth);
    return out;
}

void BerStream::stream_octets(const BerHeader& h, const BerFrame* parent, ByteSink& out, int depth)
{
    if (depth > kMaxBerDepth) malformed("content nested too deeply");
    if (!h.constructed()) {
        take(h.length, &out, nullptr);
        return;
    }
    BerFrame f = open(h, parent);
    BerHeader c;
    while (next_child(f, c)) {
        if (c.tag != 0x04 && c.tag != 0x24) malformed("content segment is not an OCTET STRING");
        stream_octets(c, &f, out, depth + 1);
    }
}

}  // namespace ssm::smime::cms
