// Cursor and LineReader: bounded-memory sequential access to a spooled body. The bytes
// are untrusted; only counts and a capped head of each line are kept.
#include "smime/mime/line_reader.h"

#include <algorithm>
#include <cstring>

namespace ssm::smime::mime {

namespace {
constexpr std::size_t buffer_size = 64 * 1024;
}

Cursor::Cursor(ByteSource& src) : m_src(src), m_buf(buffer_size)
{
    m_src.rewind();
}

bool Cursor::fill()
{
    if (m_eof) return false;
    m_base += m_len;
    m_at = 0;
    m_len = m_src.read(m_buf);
    if (m_len == 0) m_eof = true;
    return m_len > 0;
}

void Cursor::copy_to(std::uint64_t end, ByteSink& sink)
{
    while (pos() < end) {
        if (m_at == m_len && !fill()) return;
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(m_len - m_at, end - pos()));
        sink.write(ByteView(m_buf.data() + m_at, n));
        m_at += n;
    }
}

void Cursor::skip_to(std::uint64_t end)
{
    while (pos() < end) {
        if (m_at == m_len && !fill()) return;
        m_at += static_cast<std::size_t>(std::min<std::uint64_t>(m_len - m_at, end - pos()));
    }
}

namespace {

constexpr std::uint64_t ones = 0x0101010101010101ULL;
constexpr std::uint64_t highs = 0x8080808080808080ULL;

// Non-zero iff some octet of v is 0 (exact as a yes/no answer).
constexpr std::uint64_t zero_octets(std::uint64_t v)
{
    return (v - ones) & ~v & highs;
}

// The content of a line in [p, p + n): returns the index of the first CR or LF (n when
// there is none) and flags 8-bit octets and NULs before it. Eight octets at a time, one
// pass, so the cost is linear in the line whatever the input (no rescans).
// Sixteen octets as one value (GCC vector extension: SSE2 on x86-64, NEON on arm64, plain
// words elsewhere); comparisons give 0xff per matching octet.
using Octets16 = std::uint8_t __attribute__((vector_size(16)));

bool any_set(Octets16 v)
{
    std::uint64_t w[2];
    std::memcpy(w, &v, sizeof w);
    return (w[0] | w[1]) != 0;
}

std::size_t scan_content(const std::uint8_t* p, std::size_t n, Line& line)
{
    std::uint64_t any = 0;
    std::uint64_t zero = 0;
    std::size_t i = 0;
    // Sixteen octets at a time up to the block holding the line end, then eight, then one.
    Octets16 any16 = {};
    Octets16 zero16 = {};
    for (; i + 16 <= n; i += 16) {
        Octets16 v;
        std::memcpy(&v, p + i, 16);
        if (any_set(Octets16((v == '\r') | (v == '\n')))) break;
        any16 |= v;
        zero16 |= Octets16(v == 0);
    }
    if (any_set(any16 & 0x80)) any |= highs;
    if (any_set(zero16)) zero = highs;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t v;
        std::memcpy(&v, p + i, 8);
        if (zero_octets(v ^ (ones * '\r')) | zero_octets(v ^ (ones * '\n'))) break;
        any |= v;
        zero |= zero_octets(v);
    }
    for (; i < n && p[i] != '\r' && p[i] != '\n'; ++i) {
        any |= p[i];
        if (p[i] == 0) zero = highs;
    }
    if (any & highs) line.has_8bit = true;
    if (zero) line.has_nul = true;
    return i;
}

}  // namespace

std::size_t find_cr_or_lf(const std::uint8_t* p, std::size_t n)
{
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        Octets16 v;
        std::memcpy(&v, p + i, 16);
        if (any_set(Octets16((v == '\r') | (v == '\n')))) break;
    }
    for (; i + 8 <= n; i += 8) {
        std::uint64_t v;
        std::memcpy(&v, p + i, 8);
        if (zero_octets(v ^ (ones * '\r')) | zero_octets(v ^ (ones * '\n'))) break;
    }
    while (i < n && p[i] != '\r' && p[i] != '\n') ++i;
    return i;
}

bool LineReader::next(Line& line)
{
    line.begin = m_cur.pos();
    line.length = 0;
    line.eol = Eol::None;
    line.head.clear();
    line.tail_is_wsp = true;
    line.has_8bit = false;
    line.has_nul = false;
    if (m_cur.peek() < 0) return false;
    for (;;) {
        const std::span<const std::uint8_t> w = m_cur.window();
        if (w.empty()) return true;  // a last line without a line end
        // Content octets [0, n): counted, flagged, the head kept, the rest checked for SP/HTAB.
        const std::size_t n = scan_content(w.data(), w.size(), line);
        line.length += n;
        const std::size_t keep = std::min(n, m_head_cap - std::min(m_head_cap, line.head.size()));
        line.head.append(reinterpret_cast<const char*>(w.data()), keep);
        for (std::size_t i = keep; i < n && line.tail_is_wsp; ++i)
            if (w[i] != ' ' && w[i] != '\t') line.tail_is_wsp = false;
        m_cur.advance(n);
        if (n == w.size()) continue;  // the line goes on in the next window
        m_cur.advance(1);
        if (w[n] == '\n') {
            line.eol = Eol::Lf;
            return true;
        }
        if (m_cur.peek() == '\n') {
            m_cur.get();
            line.eol = Eol::Crlf;
        } else {
            line.eol = Eol::Cr;
        }
        return true;
    }
}

}  // namespace ssm::smime::mime
