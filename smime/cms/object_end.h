// Where one BER object (a ContentInfo: a SEQUENCE of definite length, or of indefinite length
// closed by its end-of-contents) ends in a stream of octets, found as the octets pass, so that
// a body holding one CMS object can stop there: what a relay appended after it (a disclaimer,
// a list footer) is no part of it. Input is untrusted; the walk keeps a few octets of state
// and a count per open indefinite element, and gives up (passes everything) on what it cannot
// read, leaving the refusal to the CMS decoder.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/stream.h"

namespace ssm::smime::cms {

// A ByteSink that passes on the octets of the first BER element written to it, which must
// open with `outer_tag` (0x30: SEQUENCE, as a ContentInfo), and holds back what follows it:
// complete() says the element ended, trailing_text() that what followed held something other
// than whitespace. When the octets are no such element (another first octet, a header it
// cannot read, nesting beyond kMaxBerDepth, an end-of-contents out of place) it passes
// everything, as a plain copy would. Octets are passed on in blocks (call finish() at the end).
class BerObjectEnd final : public ByteSink {
public:
    explicit BerObjectEnd(ByteSink& next, std::uint8_t outer_tag = 0x30) : m_next(next), m_outer_tag(outer_tag) {}
    using ByteSink::write;
    void write(ByteView data) override;
    // Passes on what is pending. complete() and trailing_text() need no finish(): they say
    // what the octets written so far hold.
    void finish() { flush(); }
    bool complete() const { return m_state == State::Done; }
    bool trailing_text() const { return m_trailing; }

private:
    enum class State { Header, Content, Done, Untracked };
    void header_octet(std::uint8_t c);
    void element_ended();
    void pass(ByteView data);
    void flush();

    ByteSink& m_next;
    std::uint8_t m_outer_tag;
    State m_state = State::Header;
    std::array<std::uint8_t, 10> m_header{};  // a tag and up to 1 + 8 length octets
    std::size_t m_header_size = 0;
    std::uint64_t m_content_left = 0;  // of the definite element being skipped
    int m_open = 0;                    // indefinite elements open (the outer one included)
    bool m_started = false;            // the outer element's header was read
    bool m_trailing = false;
    Bytes m_pending;                   // octets to pass on (bounded: flushed at kBlock)
};

}  // namespace ssm::smime::cms
