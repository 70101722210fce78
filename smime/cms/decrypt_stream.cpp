// Streaming BER reader of (Auth)EnvelopedData; see decrypt_stream.h. Untrusted input: this is
// hand-written BER header parsing, so every length is checked against the enclosing element
// and the structure budget before anything is read or allocated.
#include "smime/cms/decrypt_stream.h"

#include <algorithm>
#include <string>

#include "base/error.h"
#include "smime/cms/decrypt.h"
#include "smime/cms/der_length.h"

namespace ssm::smime::cms {
namespace {

// Nesting depth of BER elements we follow (segments of constructed OCTET STRINGs included).
constexpr int kMaxDepth = 32;

[[noreturn]] void malformed(const std::string& what)
{
    throw Error(Failure::MalformedMessage, "EnvelopedData: " + what);
}

// DER of the two content type OIDs we accept: fixed constants, not computed lengths.
constexpr std::uint8_t kEnvelopedOid[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};
constexpr std::uint8_t kAuthEnvelopedOid[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                                              0x01, 0x09, 0x10, 0x01, 0x17};

bool equals(const Bytes& a, const std::uint8_t* b, std::size_t n)
{
    return a.size() == n && std::equal(a.begin(), a.end(), b);
}

void append(Bytes& to, const Bytes& from)
{
    to.insert(to.end(), from.begin(), from.end());
}

Bytes wrap(std::uint8_t tag, const Bytes& body)
{
    Bytes out = der_header(tag, body.size());
    append(out, body);
    return out;
}

}  // namespace

bool EnvelopedStream::fill()
{
    if (m_pos < m_len) return true;
    m_len = m_src.read(m_buf);
    m_pos = 0;
    return m_len > 0;
}

std::uint8_t EnvelopedStream::byte()
{
    if (!fill()) malformed("truncated");
    ++m_consumed;
    return m_buf[m_pos++];
}

EnvelopedStream::Header EnvelopedStream::header()
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
    if (h.tag == 0 && (h.indefinite || h.length != 0)) malformed("bad end-of-contents");
    return h;
}

void EnvelopedStream::take(std::uint64_t n, ByteSink* sink, Bytes* out)
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

EnvelopedStream::Frame EnvelopedStream::open(const Header& h, const Frame* parent)
{
    if (!h.constructed()) malformed("primitive element where a constructed one belongs");
    if (parent && !parent->indefinite) {
        if (h.indefinite ? m_consumed > parent->end : m_consumed + h.length > parent->end)
            malformed("element longer than its parent");
    }
    Frame f;
    f.indefinite = h.indefinite;
    if (!h.indefinite) f.end = checked_add(m_consumed, h.length);
    return f;
}

bool EnvelopedStream::at_end(const Frame& f)
{
    if (f.indefinite) return false;  // the caller reads the end-of-contents as a header
    if (m_consumed > f.end) malformed("element longer than its parent");
    return m_consumed == f.end;
}

// Reads the next child header of `f` into `h`; false at the end of `f` (its end-of-contents,
// if any, consumed).
bool EnvelopedStream::next_child(Frame& f, Header& h)
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

void EnvelopedStream::expect_end(Frame& f, const char* what)
{
    Header h;
    if (next_child(f, h)) malformed(std::string("trailing element in ") + what);
}

// Reads the rest of the element whose header is `h` into `out` (header included; nullptr:
// skip it), charged to the structure budget.
void EnvelopedStream::copy_element(const Header& h, Bytes* out, int depth)
{
    if (depth > kMaxDepth) malformed("nested too deeply");
    auto charge = [this](std::uint64_t n) {
        if (n > m_budget) throw Error(Failure::MessageTooLarge, "EnvelopedData structures too large");
        m_budget -= std::size_t(n);
    };
    charge(h.raw.size());
    if (out) append(*out, h.raw);
    if (!h.indefinite) {
        charge(h.length);
        take(h.length, nullptr, out);
        return;
    }
    Frame f = open(h, nullptr);
    Header c;
    while (next_child(f, c)) copy_element(c, out, depth + 1);
    charge(2);
    if (out) append(*out, Bytes{0, 0});
}

Bytes EnvelopedStream::read_child(Frame& f, std::uint8_t tag, const char* what)
{
    Header h;
    if (!next_child(f, h)) malformed(std::string("missing ") + what);
    if (h.tag != tag) malformed(std::string("unexpected tag for ") + what);
    Bytes out;
    copy_element(h, &out, 4);
    return out;
}

EnvelopedStream::Prefix EnvelopedStream::read_prefix()
{
    m_budget = kMaxEnvelopeStructure;
    const Header ci_h = header();
    if (ci_h.tag != 0x30) malformed("ContentInfo is not a SEQUENCE");
    m_ci = open(ci_h, nullptr);
    const Bytes type = read_child(m_ci, 0x06, "contentType");
    if (equals(type, kAuthEnvelopedOid, sizeof kAuthEnvelopedOid))
        m_authenticated = true;
    else if (!equals(type, kEnvelopedOid, sizeof kEnvelopedOid))
        malformed("ContentInfo is not (Auth)EnvelopedData");
    Header h;
    if (!next_child(m_ci, h) || h.tag != 0xA0) malformed("missing content [0]");
    m_c0 = open(h, &m_ci);
    if (!next_child(m_c0, h) || h.tag != 0x30) malformed("content is not a SEQUENCE");
    m_ed = open(h, &m_c0);

    Bytes body = read_child(m_ed, 0x02, "version");
    if (!next_child(m_ed, h)) malformed("missing recipientInfos");
    if (h.tag == 0xA0) {  // originatorInfo
        copy_element(h, &body, 4);
        if (!next_child(m_ed, h)) malformed("missing recipientInfos");
    }
    if (h.tag != 0x31) malformed("recipientInfos is not a SET");
    copy_element(h, &body, 4);

    if (!next_child(m_ed, h) || h.tag != 0x30) malformed("missing encryptedContentInfo");
    m_eci = open(h, &m_ed);
    Bytes eci = read_child(m_eci, 0x06, "contentType");
    append(eci, read_child(m_eci, 0x30, "contentEncryptionAlgorithm"));
    append(body, wrap(0x30, eci));

    Prefix p;
    p.authenticated = m_authenticated;
    if (next_child(m_eci, h)) {
        if (h.tag != 0x80 && h.tag != 0xA0) malformed("unexpected element in encryptedContentInfo");
        m_pending = h;
        p.has_content = true;
    }
    Bytes ci(std::begin(kEnvelopedOid), std::end(kEnvelopedOid));
    append(ci, wrap(0xA0, wrap(0x30, body)));
    p.content_info = wrap(0x30, ci);
    return p;
}

// The value of an OCTET STRING: primitive, or constructed from (nested) segments. `tag` of
// the outermost is the [0] IMPLICIT one.
void EnvelopedStream::stream_octets(const Header& h, const Frame& parent, ByteSink& out, int depth)
{
    if (depth > kMaxDepth) malformed("encryptedContent nested too deeply");
    if (!h.constructed()) {
        take(h.length, &out, nullptr);
        return;
    }
    Frame f = open(h, &parent);
    Header c;
    while (next_child(f, c)) {
        if (c.tag != 0x04 && c.tag != 0x24) malformed("encryptedContent segment is not an OCTET STRING");
        stream_octets(c, f, out, depth + 1);
    }
}

void EnvelopedStream::stream_content(ByteSink& out)
{
    if (!m_pending) malformed("no encryptedContent");
    const Header h = *m_pending;
    m_pending.reset();
    stream_octets(h, m_eci, out, 5);
    expect_end(m_eci, "encryptedContentInfo");
}

EnvelopedStream::Trailer EnvelopedStream::read_trailer()
{
    if (m_pending) malformed("encryptedContent not read");
    m_budget = kMaxEnvelopeStructure;
    Trailer t;
    Header h;
    bool more = next_child(m_ed, h);
    if (!m_authenticated) {
        if (more && h.tag == 0xA1) {  // unprotectedAttrs: nothing in them concerns us
            copy_element(h, nullptr, 4);
            more = next_child(m_ed, h);
        }
    } else {
        if (more && h.tag == 0xA1) {
            t.has_auth_attrs = true;
            copy_element(h, nullptr, 4);
            more = next_child(m_ed, h);
        }
        if (!more || (h.tag != 0x04 && h.tag != 0x24)) malformed("missing mac");
        if (h.tag == 0x24) malformed("constructed mac");
        if (h.length > 64) malformed("mac too long");
        Bytes mac;
        take(h.length, nullptr, &mac);
        t.mac = std::move(mac);
        more = next_child(m_ed, h);
        if (more && h.tag == 0xA2) {  // unauthAttrs
            copy_element(h, nullptr, 4);
            more = next_child(m_ed, h);
        }
    }
    if (more) malformed("unexpected element after encryptedContentInfo");
    expect_end(m_c0, "content [0]");
    expect_end(m_ci, "ContentInfo");
    if (fill()) malformed("trailing bytes after ContentInfo");
    return t;
}

}  // namespace ssm::smime::cms
