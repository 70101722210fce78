// Streaming base64 and quoted-printable decoding; see decoders.h. Untrusted input of any
// size; the state kept between writes is a few bytes plus a bounded run of whitespace.
#include "smime/mime/decoders.h"

#include <algorithm>
#include <array>

#include "base/ascii.h"
#include "base/error.h"

namespace ssm::smime::mime {

// ---- base64 ----

Base64Decoder::Base64Decoder(ByteSink& next) : m_out(next) { base64_decode_init(&m_ctx); }

void Base64Decoder::write(ByteView data)
{
    std::array<std::uint8_t, BASE64_DECODE_LENGTH(4096)> out;
    while (!data.empty()) {
        const std::size_t n = std::min<std::size_t>(data.size(), 4096);
        std::size_t produced = out.size();
        if (!base64_decode_update(&m_ctx, &produced, out.data(), n, reinterpret_cast<const char*>(data.data())))
            throw Error(Failure::MalformedMessage, "invalid base64");
        m_out.put(ByteView(out.data(), produced));
        data = data.subspan(n);
    }
}

void Base64Decoder::finish()
{
    if (!base64_decode_final(&m_ctx)) throw Error(Failure::MalformedMessage, "truncated base64");
    m_out.flush();
}

void Base64Decoder::restart()
{
    if (!base64_decode_final(&m_ctx)) throw Error(Failure::MalformedMessage, "truncated base64");
    base64_decode_init(&m_ctx);
}

// ---- base64 of a whole body, text after it skipped ----

namespace {

bool is_base64_data(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

}  // namespace

// As nettle's base64_decode_single moves its bit count and padding (its check that the bits a
// '=' drops are zero aside: that only refuses more): false where nettle would refuse `c`.
bool Base64BodyDecoder::Position::advance(char c)
{
    if (is_ascii_space(c)) return true;
    if (c == '=') {
        if (bits == 0 || padding > 2) return false;
        ++padding;
        bits -= 2;
        return true;
    }
    if (!is_base64_data(c) || padding) return false;
    bits = (bits + 6) % 8;
    return true;
}

// A base64 letter right after a group that padding closed begins a new piece (pieces encoded
// apart and joined; see decoders.h): after its padding a base64 text holds no more data.
bool Base64BodyDecoder::Position::piece_starts(char c) const
{
    return padding > 0 && bits == 0 && is_base64_data(c);
}

bool Base64BodyDecoder::Position::takes(std::string_view text)
{
    for (const char c : text) {
        if (piece_starts(c)) *this = Position{};
        if (!advance(c)) return false;
    }
    return true;
}

void Base64BodyDecoder::decode(std::string_view text)
{
    std::size_t from = 0;  // of `text`, not yet written to the decoder
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (m_position.piece_starts(c)) {
            // The object is asked with what precedes the piece written on. Complete, or
            // nobody to ask: the padding ended the base64, the rest is the trailer.
            m_base64.write(text.substr(from, i - from));
            m_base64.flush();
            if (!m_object_complete || m_object_complete()) {
                m_ended = true;
                m_object_ended = bool(m_object_complete);
                m_trailing = true;  // `c` is a letter
                return;
            }
            m_base64.restart();
            m_position = Position{};
            from = i;
        }
        m_position.advance(c);  // where it refuses, the strict decoder below throws
        m_seen_data = m_seen_data || is_base64_data(c);
    }
    m_base64.write(text.substr(from));
}

void Base64BodyDecoder::settle_line()
{
    const bool text = std::any_of(m_line.begin(), m_line.end(), [](char c) { return !is_ascii_space(c); });
    // After the whole object, any line with text in it is the trailer, whatever its letters,
    // except the padding of the object's last group on a line of its own (base64 re-wrapped
    // at a width that is no multiple of 4 can leave "==" alone there).
    if (text && m_seen_data && m_object_complete) {
        m_base64.flush();
        Position after = m_position;
        const bool padding = m_position.bits != 0 && std::all_of(m_line.begin(), m_line.end(), [&](char c) {
            return (c == '=' || is_ascii_space(c)) && after.advance(c);
        });
        if (!padding && m_object_complete()) {
            m_ended = true;
            m_object_ended = true;
            m_trailing = true;
            m_line.clear();
            return;
        }
    }
    // The line goes on with the base64 when the decoder would take all of it where it stands,
    // each piece after a padding from a fresh start: no character outside the alphabet, no
    // '=' where padding cannot be (a row of '=' under the object: a separator line in a
    // footer). Whether the pieces after a padding (at the start of the line or inside it)
    // belong to the object, decode() asks as it reaches them.
    Position after = m_position;
    const bool continues = after.takes(m_line);
    if (!continues) {
        if (!m_seen_data) throw Error(Failure::MalformedMessage, "invalid base64");
        m_ended = true;
        m_trailing = true;  // the line holds more than white space
    } else {
        decode(m_line);
        m_line_decoded = true;
    }
    m_line.clear();
}

namespace {
bool is_line_end(char c) { return c == '\n' || c == '\r'; }
}  // namespace

void Base64BodyDecoder::write(ByteView data)
{
    for (std::size_t i = 0; i < data.size(); ++i) {
        const char c = static_cast<char>(data[i]);
        if (m_ended) {
            m_trailing = m_trailing || !is_ascii_space(c);
            continue;
        }
        if (m_line_decoded) {
            // The rest of a line known to be base64 goes straight on, up to its end (an
            // unbroken body is one long line).
            const std::uint8_t* from = data.data() + i;
            const std::uint8_t* end = data.data() + data.size();
            const std::uint8_t* eol = std::find_if(from, end, [](std::uint8_t b) { return is_line_end(char(b)); });
            const std::uint8_t* stop = eol == end ? end : eol + 1;
            decode(std::string_view(reinterpret_cast<const char*>(from), std::size_t(stop - from)));
            m_line_decoded = eol == end;
            i += std::size_t(stop - from) - 1;
            continue;
        }
        m_line.push_back(c);
        if (is_line_end(c) || m_line.size() >= kMaxHeldLine) {
            const bool line_end = is_line_end(c);
            settle_line();
            if (line_end) m_line_decoded = false;
        }
    }
}

void Base64BodyDecoder::finish()
{
    if (!m_ended && !m_line.empty()) settle_line();
    // After a complete object, bits left of a last group whose padding was left out are its
    // zero fill, whether a footer or the end of the body came in its place: nothing of the
    // object is missing (asked once what was decoded is written on).
    m_base64.flush();
    if (m_object_ended || (m_object_complete && m_object_complete())) return;
    m_base64.finish();
}

// ---- quoted-printable ----

namespace {

// Whitespace beyond any legal line length is not padding we need to hold back.
constexpr std::size_t kMaxPendingSpace = 1024;

}  // namespace

void QuotedPrintableDecoder::flush_space()
{
    m_out.put(std::string_view(m_space));
    m_space.clear();
}

void QuotedPrintableDecoder::write(ByteView data)
{
    for (const std::uint8_t c : data) byte(c);
}

void QuotedPrintableDecoder::byte(std::uint8_t c)
{
    switch (m_state) {
    case State::Text:
        if (is_wsp(char(c))) {
            if (m_space.size() >= kMaxPendingSpace) flush_space();
            m_space.push_back(char(c));
        } else if (c == '\r') {
            m_state = State::Cr;
        } else if (c == '\n') {
            m_space.clear();  // padding before a line end
            m_out.put(c);
        } else {
            flush_space();
            if (c == '=') m_state = State::Equals;
            else m_out.put(c);
        }
        return;
    case State::Cr:
        m_state = State::Text;
        if (c == '\n') {
            m_space.clear();
            m_out.put(std::string_view("\r\n"));
            return;
        }
        flush_space();
        m_out.put('\r');  // a lone CR is text
        return byte(c);
    case State::Equals:
        // Lower-case hex digits are not canonical, but unambiguous: accepted.
        if (hex_digit_value(static_cast<char>(c)) >= 0) {
            m_hex = c;
            m_state = State::EqualsHex;
        } else if (c == '\r') {
            m_state = State::SoftCr;
        } else if (c == '\n') {
            m_state = State::Text;  // soft line break (LF line ends)
        } else if (is_wsp(char(c))) {
            m_space.push_back(char(c));  // padding after a soft break, or text: see EqualsSpace
            m_state = State::EqualsSpace;
        } else {
            m_out.put('=');
            m_state = State::Text;
            byte(c);
        }
        return;
    case State::EqualsHex:
        m_state = State::Text;
        if (hex_digit_value(static_cast<char>(c)) >= 0) {
            m_out.put(std::uint8_t(hex_digit_value(static_cast<char>(m_hex)) * 16 +
                                   hex_digit_value(static_cast<char>(c))));
            return;
        }
        m_out.put('=');
        m_out.put(m_hex);
        return byte(c);
    case State::EqualsSpace:
        // The blanks are held (m_space) until the line shows what they are: before a line end
        // the padding of a soft break, dropped; before text, text like the '=' ("x = y" from
        // an encoder that left '=' alone): all of it is written, or re-encoding such a part
        // (canonical.cpp, Requote) would change signed content. Beyond any legal line length
        // they are no padding: written as text.
        if (is_wsp(char(c))) {
            if (m_space.size() < kMaxPendingSpace) {
                m_space.push_back(char(c));
                return;
            }
            m_out.put('=');
            flush_space();
            m_state = State::Text;
            return byte(c);
        }
        if (c == '\r' || c == '\n') {
            m_space.clear();
            m_state = c == '\r' ? State::SoftCr : State::Text;
        } else {  // '=' then blanks inside a line: literal text after all
            m_out.put('=');
            flush_space();
            m_state = State::Text;
            byte(c);
        }
        return;
    case State::SoftCr:
        m_state = State::Text;
        if (c != '\n') byte(c);  // "=\r" without LF: the break is taken as given
        return;
    }
}

void QuotedPrintableDecoder::finish()
{
    switch (m_state) {
    case State::Equals: m_out.put('='); break;
    case State::EqualsHex:
        m_out.put('=');
        m_out.put(m_hex);
        break;
    case State::Cr:  // a lone CR at the very end is text
        flush_space();
        m_out.put('\r');
        break;
    default: break;
    }
    m_state = State::Text;
    m_space.clear();  // whitespace at the very end ends the last line: padding
    m_out.flush();
}

}  // namespace ssm::smime::mime
