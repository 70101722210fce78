// Streaming base64, quoted-printable and CRLF normalisation. Input is untrusted and of any
// size; state between writes is a few bytes, output is buffered in 16 KiB.
#include "smime/mime/encoders.h"

#include <nettle/base64.h>

namespace ssm::smime::mime {

void BufferedOut::put(ByteView data)
{
    if (m_buf.size() + data.size() > capacity) flush();
    if (data.size() >= capacity) {
        m_next.write(data);
        return;
    }
    m_buf.insert(m_buf.end(), data.begin(), data.end());
}

void BufferedOut::flush()
{
    if (m_buf.empty()) return;
    m_next.write(m_buf);
    m_buf.clear();
}

// ---- base64 ----

void Base64Encoder::encode_group(const std::uint8_t* src, std::size_t len)
{
    char line[BASE64_ENCODE_RAW_LENGTH(57) + 2];
    base64_encode_raw(line, len, src);
    const std::size_t n = BASE64_ENCODE_RAW_LENGTH(len);
    line[n] = '\r';
    line[n + 1] = '\n';
    m_out.put(ByteView(reinterpret_cast<const std::uint8_t*>(line), n + 2));
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
    for (; data.size() - i >= sizeof m_pending; i += sizeof m_pending)
        encode_group(data.data() + i, sizeof m_pending);
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
    std::size_t run = 0;  // start of a run of ordinary bytes, written in one piece
    for (std::size_t i = 0; i < data.size(); ++i) {
        const std::uint8_t c = data[i];
        if (m_pending_cr) {
            m_pending_cr = false;
            m_out.put(std::string_view("\r\n"));
            if (c == '\n') {
                run = i + 1;
                continue;
            }
        }
        if (c == '\r' || c == '\n') {
            m_out.put(data.subspan(run, i - run));
            run = i + 1;
            if (c == '\r')
                m_pending_cr = true;
            else
                m_out.put(std::string_view("\r\n"));
        }
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
