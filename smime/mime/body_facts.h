// What the structure scan would learn about a body's lines, gathered while the body is
// spooled (MessageProcessor::body), so that a single-part body need not be read a second
// time before it is encrypted. Input is untrusted mail in chunks of any size; state is a
// few counters, memory is constant.
#pragma once
#include <cstdint>

#include "base/stream.h"
#include "smime/mime/scanner.h"

namespace ssm::smime::mime {

// Splits lines as LineReader does (CRLF, LF or a lone CR end a line; a CR at the end of one
// write is resolved by the next) and keeps the union of their LineFacts.
class BodyFacts final : public ByteSink {
public:
    using ByteSink::write;
    void write(ByteView data) override;
    // Ends the last line (a CR still pending is a lone CR). Idempotent; write() after it is
    // an error (Error(Internal)).
    void finish();

    bool finished() const { return m_finished; }
    const LineFacts& facts() const { return m_facts; }
    std::uint64_t bare_line_ends() const { return m_bare; }  // lines ended by LF or lone CR
    std::uint64_t size() const { return m_size; }            // octets written

private:
    void end_line();

    LineFacts m_facts;
    std::uint64_t m_bare = 0;
    std::uint64_t m_size = 0;
    std::uint64_t m_line = 0;  // content octets of the current line so far
    bool m_pending_cr = false;
    bool m_finished = false;
};

}  // namespace ssm::smime::mime
