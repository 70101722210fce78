// Streaming transfer decoders (RFC 2045 §6.8 base64, §6.7 quoted-printable), each a ByteSink
// that writes the decoded octets into another sink, for the S/MIME parts of received mail
// (untrusted, any size, any chunking). Call finish() once at the end: it checks the input was
// complete and writes what is pending (destructors write nothing, they cannot report errors).
#pragma once
#include <nettle/base64.h>

#include <cstdint>
#include <functional>
#include <string>

#include "base/stream.h"
#include "smime/mime/encoders.h"

namespace ssm::smime::mime {

// Base64 through nettle's decoder context (which skips whitespace and line ends, so any
// line length or CRLF/LF works). Characters outside the alphabet, data after the padding,
// or a truncated final group are ssm::Error(MalformedMessage): a signature or encrypted
// object with damaged base64 is damaged, and guessing around it would hide that.
class Base64Decoder final : public ByteSink {
public:
    explicit Base64Decoder(ByteSink& next);
    using ByteSink::write;
    void write(ByteView data) override;
    void finish();
    // Ends the base64 read so far, which must be complete (its last group padded or whole,
    // as finish() checks), and reads on as a new base64 text: pieces encoded apart and
    // joined (see Base64BodyDecoder).
    void restart();
    // Writes the octets decoded so far to `next` (finish() does it too).
    void flush() { m_out.flush(); }

private:
    BufferedOut m_out;
    base64_decode_ctx m_ctx{};
};

// The base64 of a body that holds one object and nothing else (application/pkcs7-mime, a
// pkcs7-signature part), up to where the base64 ends: its padding, the first line the decoder
// would refuse where it stands (a character outside the alphabet, a row of '=' that no
// padding can be), or, when the caller can tell (`object_complete`, asked at each line once
// the line's predecessors are written to `next`), the line after the one that completed the
// object. What follows is text a relay appended after the object (an Exchange transport
// rule's disclaimer, a list footer, an AV gateway's note), outside the object and any
// protection in it: it is skipped, and trailing_text() says whether it held anything but
// whitespace, for the log. Blank and whitespace-only lines count for nothing. Lines end at LF,
// CR or both (old Mac line ends). A line is held (up to kMaxHeldLine octets) until it is known
// to be base64; a character outside the alphabet in a line already decoded, or before any
// base64, is malformed as for Base64Decoder. Without `object_complete`, footer text made of
// base64 characters alone after unpadded base64 ("Thanks", "Regards") is decoded with it (no
// decoder can tell it apart from data) and damages the object.
// Padding inside the base64 ("TWFu" "TQ==" "TWFu" on lines of their own: pieces encoded apart
// and joined, as some gateways and Java producers re-chunk; or "TWFuTQ==TWFu" on one line,
// joined with no line break, as a streaming encoder that pads at each flush writes an
// unbroken body) ends it for OpenSSL and Python's email package; JavaMail decodes on. Here
// the base64 letter after a padded group begins a new base64 text, decoded on only when
// `object_complete`, asked there, says the object is not complete yet: cut there, the object
// would be truncated and refused anyway, so nothing that was read before reads otherwise, and
// once the object is complete what follows is the trailer as before (the rest of that line
// too). A held line is decoded only when all of it is base64, each piece from a fresh start
// ("RA==R!UY=" and "RA===RUY=" are not, and are the trailer whole). Without `object_complete`
// nothing tells data from a footer of base64 letters after the padding, and the padding
// still ends it, in a line as at its end.
class Base64BodyDecoder final : public ByteSink {
public:
    static constexpr std::size_t kMaxHeldLine = 1024;
    explicit Base64BodyDecoder(ByteSink& next, std::function<bool()> object_complete = {})
        : m_base64(next), m_object_complete(std::move(object_complete))
    {
    }
    using ByteSink::write;
    void write(ByteView data) override;
    void finish();
    bool trailing_text() const { return m_trailing; }

private:
    void settle_line();  // decides whether the held line is base64 or the start of the trailer
    void decode(std::string_view text);

    // Where the base64 stands: bits of a partial octet held, '=' seen (as nettle counts them).
    struct Position {
        int bits = 0;
        int padding = 0;
        bool advance(char c);  // false where the decoder would refuse `c` here
        bool piece_starts(char c) const;  // `c` begins a piece: a letter after closing padding
        bool takes(std::string_view text);  // advance() over `text`, each piece from a fresh start
    };

    Base64Decoder m_base64;
    std::function<bool()> m_object_complete;
    std::string m_line;            // the current line while it is held
    bool m_line_decoded = false;   // the current line was found to be base64 and goes on decoding
    bool m_seen_data = false;      // a base64 character was decoded
    Position m_position;           // after what was decoded
    bool m_ended = false;          // the rest is trailing text
    bool m_object_ended = false;   // ... because the object was complete (object_complete)
    bool m_trailing = false;       // the trailing text held something other than whitespace
};

// Quoted-printable: =XX becomes the octet, a '=' at the end of a line is a soft break, and
// whitespace at the end of a line is transport padding and dropped (RFC 2045 §6.7 (3)).
// Line ends are kept as received (CRLF or LF). A '=' not followed by two hex digits or a line
// end is passed through literally, as RFC 2045 §6.7 note (1) suggests for robustness; it
// cannot make the decoder emit anything the sender did not write.
class QuotedPrintableDecoder final : public ByteSink {
public:
    explicit QuotedPrintableDecoder(ByteSink& next) : m_out(next) {}
    using ByteSink::write;
    void write(ByteView data) override;
    void finish();

private:
    enum class State { Text, Equals, EqualsHex, EqualsSpace, SoftCr, Cr };
    void byte(std::uint8_t c);
    void flush_space();

    BufferedOut m_out;
    State m_state = State::Text;
    std::string m_space;     // whitespace not yet known to end a line (bounded: see byte())
    std::uint8_t m_hex = 0;  // first hex digit after '='
};

}  // namespace ssm::smime::mime
