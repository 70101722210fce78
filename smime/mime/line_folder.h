// Keeps the lines we copy into a signed entity within RFC 5322's 998 octets. An MTA breaks a
// longer line when it relays the message (Postfix's smtp_line_length_limit), after we signed
// it, and the signature with it. Re-encoding fixes leaf bodies (canonical.cpp); this sink
// fixes what is copied as text: header fields (of body parts, of an embedded message, the
// top-level Content-* fields) and the preamble and epilogue of a multipart.
#pragma once
#include <cstdint>
#include <string>

#include "base/stream.h"
#include "smime/mime/encoders.h"

namespace ssm::smime::mime {

// Input: CRLF lines. Output: the same lines, a line over 998 octets folded:
// - Header mode: a CRLF is inserted before white space that follows a non-white octet and
//   is followed by one (RFC 5322 §2.2.3: unfolding takes it out again, so the field means
//   what it meant; no line of white space alone is made). A line with no such place is
//   left as it is: any other break would change the field's value.
// - Text mode (preamble and epilogue, which MIME readers ignore, RFC 2046 §5.1.1): as in
//   header mode where it can, otherwise "CRLF SP" is inserted; a continuation line then
//   starts with a space and can never be read as a boundary delimiter. A line starting
//   with "--" (a delimiter, perhaps with long transport padding) is left as it is.
// Memory is bounded by the line limit, not by the line (a field may be megabytes long).
class LongLineFolder final : public ByteSink {
public:
    enum class Mode { Header, Text };
    static constexpr std::size_t kMaxLine = 998;

    LongLineFolder(ByteSink& next, Mode mode) : m_out(next), m_mode(mode) {}
    using ByteSink::write;
    void write(ByteView data) override;
    // Writes a line still open (the range ended inside it) without a line end.
    void finish();

private:
    void add(std::uint8_t c);
    void end_line();
    // Writes what is held of the current line and `line_end`; the next octet starts a line.
    void write_line(std::string_view line_end);
    void make_room();
    void emit(std::size_t n);  // writes m_line's first n octets onto the current line

    BufferedOut m_out;
    Mode m_mode;
    std::string m_line;             // octets of the current line not written yet
    std::size_t m_written = 0;      // octets of the current line already written
    bool m_last_written_text = false;  // the last octet written on this line is not SP/HTAB
    bool m_pending_cr = false;
    bool m_left_alone = false;      // this line is copied as it is (a delimiter in text mode)
};

}  // namespace ssm::smime::mime
