// Cursor and LineReader: bounded-memory sequential access to a spooled body. The bytes
// are untrusted; only counts and a capped head of each line are kept.
#include "smime/mime/line_reader.h"

#include <algorithm>

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
        const int c = m_cur.get();
        if (c < 0) return true;
        if (c == '\n') {
            line.eol = Eol::Lf;
            return true;
        }
        if (c == '\r') {
            if (m_cur.peek() == '\n') {
                m_cur.get();
                line.eol = Eol::Crlf;
            } else {
                line.eol = Eol::Cr;
            }
            return true;
        }
        ++line.length;
        if (c >= 0x80) line.has_8bit = true;
        if (c == 0) line.has_nul = true;
        if (line.head.size() < m_head_cap)
            line.head.push_back(static_cast<char>(c));
        else if (c != ' ' && c != '\t')
            line.tail_is_wsp = false;
    }
}

}  // namespace ssm::smime::mime
