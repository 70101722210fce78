// The charset that honestly names text which came without one (RFC 2045's default,
// us-ascii, is only true of 7-bit octets). The octets are untrusted mail of any size: they
// are read once, in chunks, with constant state.
#pragma once
#include <cstdint>

#include "base/stream.h"

namespace ssm::smime::mime {

// Checks that the octets written to it are UTF-8 (RFC 3629: no overlong forms, surrogates
// or code points above U+10FFFF), sequences split across writes included.
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

// "us-ascii" when `text` holds no octet over 0x7f, "utf-8" when it is valid UTF-8, else
// "unknown-8bit" (RFC 1428). Reads `text` from its first octet, up to the first octet
// that is not UTF-8; leaves it rewound.
const char* unlabelled_text_charset(ByteSource& text);

}  // namespace ssm::smime::mime
