// UTF-8 well-formedness (RFC 3629; Unicode table 3-7: no overlong forms, surrogates or code
// points above U+10FFFF), for text from peers and mail: security-label markings, SIO-Label
// values, and the charset of unlabelled 8-bit text. One checker, as a stream (sequences split
// across writes included) and for a whole string.
#pragma once
#include <cstdint>
#include <string_view>

#include "base/stream.h"

namespace ssm {

class Utf8Checker final : public ByteSink {
public:
    using ByteSink::write;
    void write(ByteView data) override;
    // False once an octet broke the rules; at the end also when a sequence is unfinished.
    bool valid() const { return m_valid; }
    bool complete() const { return m_valid && m_need == 0; }

private:
    bool m_valid = true;
    unsigned m_need = 0;  // continuation octets still due
    std::uint8_t m_lo = 0x80, m_hi = 0xbf;  // range of the next continuation octet
};

// Whether all of `text` is well-formed UTF-8.
bool valid_utf8(std::string_view text);

}  // namespace ssm
