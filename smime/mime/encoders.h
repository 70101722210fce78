// Streaming transfer encoders (RFC 2045 §6.7 quoted-printable, §6.8 base64) and a line-end
// normaliser, each a ByteSink that writes into another sink. They accept any bytes in any
// chunking; output depends only on the byte sequence. Call finish() once at the end: it
// writes what is still pending (destructors write nothing, they cannot report errors).
#pragma once
#include <cstdint>
#include <memory>

#include "base/stream.h"

namespace ssm::smime::mime {

// Gathers small writes into larger ones for the next sink. Encoders that produce whole
// blocks write straight into the buffer: reserve(n) gives room for n octets (n at most
// capacity()), commit(k) keeps the first k written there.
class BufferedOut {
public:
    // The buffer is not zeroed (make_unique_for_overwrite): only [0, m_fill) is ever read,
    // and clearing 256 KiB per message showed in the signing profile.
    explicit BufferedOut(ByteSink& next, std::size_t capacity = 16 * 1024)
        : m_next(next), m_buf(std::make_unique_for_overwrite<std::uint8_t[]>(capacity)), m_size(capacity)
    {
    }
    void put(std::uint8_t c)
    {
        if (m_fill == m_size) flush();
        m_buf[m_fill++] = c;
    }
    void put(ByteView data);
    void put(std::string_view s) { put(as_bytes(s)); }
    std::uint8_t* reserve(std::size_t n)
    {
        if (m_size - m_fill < n) flush();
        return m_buf.get() + m_fill;
    }
    void commit(std::size_t n) { m_fill += n; }
    std::size_t capacity() const { return m_size; }
    void flush();

private:
    ByteSink& m_next;
    std::unique_ptr<std::uint8_t[]> m_buf;  // m_size octets; [0, m_fill) pending
    std::size_t m_size;
    std::size_t m_fill = 0;
};

// Base64 in lines of 76 characters, each ended by CRLF (the last one too). Every 57-octet
// group is one line, so no state is kept across calls but the pending octets of a line, and
// the line length falls out of the grouping. Whole lines (the bulk of a message: this is
// the output stage of every encrypted one) go through encode_base64_lines (SSSE3 or a pair
// table, base64_lines.h); the last, partial line through nettle's base64_encode_raw, which
// pads with '='. Tests compare the output with coreutils base64. Lines are encoded straight
// into a 256 KiB output buffer, which reaches the next sink (the output spool or the CMS
// encoder) in large writes.
class Base64Encoder final : public ByteSink {
public:
    explicit Base64Encoder(ByteSink& next) : m_out(next, 256 * 1024) {}
    using ByteSink::write;
    void write(ByteView data) override;
    void finish();

private:
    void encode_group(const std::uint8_t* src, std::size_t len);

    BufferedOut m_out;
    std::uint8_t m_pending[57] = {};
    std::size_t m_npending = 0;
};

// Quoted-printable for text: an input CRLF is a hard line break (emitted as CRLF); a lone
// CR or LF is encoded (=0D, =0A) so binary line ends survive; '=', controls, 8-bit octets
// and whitespace before a line break or at the end are encoded; soft breaks keep every line
// at most 76 characters. An 'F' or '.' that would start an output line is encoded too
// (=46, =2E): mbox "From " munging and dot handling by broken relays would otherwise
// change signed text, and deciding per character needs no look-ahead.
class QuotedPrintableEncoder final : public ByteSink {
public:
    explicit QuotedPrintableEncoder(ByteSink& next) : m_out(next) {}
    using ByteSink::write;
    void write(ByteView data) override;
    void finish();

private:
    void byte(std::uint8_t c);
    void emit_literal(std::uint8_t c);
    void emit_encoded(std::uint8_t c);
    void soft_break_for(std::size_t n);

    BufferedOut m_out;
    std::size_t m_line = 0;     // characters on the current output line
    int m_pending_wsp = -1;     // a SP/TAB not yet known to be followed by a line break
    bool m_pending_cr = false;  // a CR not yet known to be part of CRLF
};

// Turns LF and lone CR into CRLF and leaves CRLF alone, across chunk boundaries (a CR at
// the end of one write is resolved by the next write or by finish()).
class CrlfNormaliser final : public ByteSink {
public:
    explicit CrlfNormaliser(ByteSink& next) : m_out(next) {}
    using ByteSink::write;
    void write(ByteView data) override;
    void finish();

private:
    BufferedOut m_out;
    bool m_pending_cr = false;
};

}  // namespace ssm::smime::mime
