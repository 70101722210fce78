// Streaming base64, quoted-printable and CRLF normalisation. Input is untrusted and of any
// size; state between writes is a few bytes, output is buffered (16 KiB; base64 256 KiB).
#include "smime/mime/encoders.h"

#include <nettle/base64.h>

#include <algorithm>
#include <cstring>

#include "smime/mime/base64_lines.h"
#include "smime/mime/line_reader.h"

namespace ssm::smime::mime {

void BufferedOut::put(ByteView data)
{
    if (m_size - m_fill < data.size()) flush();
    if (data.size() >= m_size) {
        m_next.write(data);
        return;
    }
    if (!data.empty()) std::memcpy(m_buf.get() + m_fill, data.data(), data.size());
    m_fill += data.size();
}

void BufferedOut::flush()
{
    if (m_fill == 0) return;
    m_next.write(ByteView(m_buf.get(), m_fill));
    m_fill = 0;
}

// ---- base64 ----

namespace {
constexpr std::size_t b64_in = kBase64LineIn;
constexpr std::size_t b64_out = kBase64LineOut;
}  // namespace

void Base64Encoder::encode_group(const std::uint8_t* src, std::size_t len)
{
    std::uint8_t* dst = m_out.reserve(b64_out);
    base64_encode_raw(reinterpret_cast<char*>(dst), len, src);
    const std::size_t n = BASE64_ENCODE_RAW_LENGTH(len);
    dst[n] = '\r';
    dst[n + 1] = '\n';
    m_out.commit(n + 2);
}

void Base64Encoder::write(ByteView data)
{
    std::size_t i = 0;
    if (m_npending > 0) {
        while (m_npending < sizeof m_pending && i < data.size()) m_pending[m_npending++] = data[i++];
        if (m_npending < sizeof m_pending) return;
        encode_group(m_pending, m_npending);
        m_npending = 0;
    }
    // Whole lines, as many as the output buffer takes at a time.
    const std::size_t lines_per_block = m_out.capacity() / b64_out;
    while (data.size() - i >= b64_in) {
        const std::size_t lines = std::min((data.size() - i) / b64_in, lines_per_block);
        std::uint8_t* dst = m_out.reserve(lines * b64_out);
        encode_base64_lines(data.data() + i, lines, dst);
        m_out.commit(lines * b64_out);
        i += lines * b64_in;
    }
    while (i < data.size()) m_pending[m_npending++] = data[i++];
}

void Base64Encoder::finish()
{
    if (m_npending > 0) encode_group(m_pending, m_npending);
    m_npending = 0;
    m_out.flush();
}

// ---- quoted-printable ----

namespace {
constexpr std::size_t qp_max = 75;  // characters before a soft break '=' (76 in all)
constexpr char hex_digits[] = "0123456789ABCDEF";

bool qp_literal(std::uint8_t c)
{
    return (c >= 33 && c <= 60) || (c >= 62 && c <= 126);
}
}  // namespace

void QuotedPrintableEncoder::soft_break_for(std::size_t n)
{
    if (m_line + n > qp_max) {
        m_out.put(std::string_view("=\r\n"));
        m_line = 0;
    }
}

void QuotedPrintableEncoder::emit_encoded(std::uint8_t c)
{
    soft_break_for(3);
    m_out.put('=');
    m_out.put(static_cast<std::uint8_t>(hex_digits[c >> 4]));
    m_out.put(static_cast<std::uint8_t>(hex_digits[c & 0xF]));
    m_line += 3;
}

void QuotedPrintableEncoder::emit_literal(std::uint8_t c)
{
    soft_break_for(1);
    if (m_line == 0 && (c == 'F' || c == '.')) {
        emit_encoded(c);
        return;
    }
    m_out.put(c);
    ++m_line;
}

void QuotedPrintableEncoder::byte(std::uint8_t c)
{
    if (m_pending_cr) {
        m_pending_cr = false;
        if (c == '\n') {
            // Hard line break: whitespace before it must not be left at a line end.
            if (m_pending_wsp >= 0) emit_encoded(static_cast<std::uint8_t>(m_pending_wsp));
            m_pending_wsp = -1;
            m_out.put(std::string_view("\r\n"));
            m_line = 0;
            return;
        }
        if (m_pending_wsp >= 0) emit_literal(static_cast<std::uint8_t>(m_pending_wsp));
        m_pending_wsp = -1;
        emit_encoded('\r');
    }
    if (c == '\r') {
        m_pending_cr = true;
        return;
    }
    if (m_pending_wsp >= 0) emit_literal(static_cast<std::uint8_t>(m_pending_wsp));
    m_pending_wsp = -1;
    if (c == ' ' || c == '\t')
        m_pending_wsp = c;
    else if (qp_literal(c))
        emit_literal(c);
    else
        emit_encoded(c);
}

void QuotedPrintableEncoder::write(ByteView data)
{
    for (const std::uint8_t c : data) byte(c);
}

void QuotedPrintableEncoder::finish()
{
    // At the end of the data, whitespace counts as trailing and a CR as lone.
    if (m_pending_cr) {
        if (m_pending_wsp >= 0) emit_literal(static_cast<std::uint8_t>(m_pending_wsp));
        m_pending_wsp = -1;
        emit_encoded('\r');
        m_pending_cr = false;
    }
    if (m_pending_wsp >= 0) emit_encoded(static_cast<std::uint8_t>(m_pending_wsp));
    m_pending_wsp = -1;
    m_out.flush();
}

// ---- CRLF normalisation ----

void CrlfNormaliser::write(ByteView data)
{
    std::size_t i = 0;
    if (m_pending_cr && !data.empty()) {
        m_pending_cr = false;
        m_out.put(std::string_view("\r\n"));
        if (data[0] == '\n') i = 1;
    }
    // Runs of ordinary bytes and CRLF pairs pass in one piece; only a bare LF or CR splits.
    std::size_t run = i;
    while (i < data.size()) {
        const std::size_t j = i + find_cr_or_lf(data.data() + i, data.size() - i);
        if (j == data.size()) break;
        if (data[j] == '\r' && j + 1 < data.size() && data[j + 1] == '\n') {
            i = j + 2;
            continue;
        }
        m_out.put(data.subspan(run, j - run));
        run = i = j + 1;
        if (data[j] == '\r' && j + 1 == data.size())
            m_pending_cr = true;  // resolved by the next write or by finish()
        else
            m_out.put(std::string_view("\r\n"));
    }
    m_out.put(data.subspan(run));
}

void CrlfNormaliser::finish()
{
    if (m_pending_cr) m_out.put(std::string_view("\r\n"));
    m_pending_cr = false;
    m_out.flush();
}

}  // namespace ssm::smime::mime
