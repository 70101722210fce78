// Streaming transfer decoders (RFC 2045 §6.8 base64, §6.7 quoted-printable), each a ByteSink
// that writes the decoded octets into another sink, for the S/MIME parts of received mail
// (untrusted, any size, any chunking). Call finish() once at the end: it checks the input was
// complete and writes what is pending (destructors write nothing, they cannot report errors).
#pragma once
#include <nettle/base64.h>

#include <cstdint>
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

private:
    BufferedOut m_out;
    base64_decode_ctx m_ctx{};
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
