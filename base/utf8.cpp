// UTF-8 checking as a stream (Unicode 15, table 3-7, well-formed byte sequences).
#include "base/utf8.h"

namespace ssm {

void Utf8Checker::write(ByteView data)
{
    for (const std::uint8_t b : data) {
        if (!m_valid) return;
        if (m_need > 0) {
            if (b < m_lo || b > m_hi) {
                m_valid = false;
                return;
            }
            --m_need;
            m_lo = 0x80;
            m_hi = 0xbf;
            continue;
        }
        if (b < 0x80) continue;
        if (b >= 0xc2 && b <= 0xdf) {
            m_need = 1;
        } else if (b >= 0xe0 && b <= 0xef) {
            m_need = 2;
            if (b == 0xe0) m_lo = 0xa0;  // no overlong forms
            if (b == 0xed) m_hi = 0x9f;  // no surrogates
        } else if (b >= 0xf0 && b <= 0xf4) {
            m_need = 3;
            if (b == 0xf0) m_lo = 0x90;  // no overlong forms
            if (b == 0xf4) m_hi = 0x8f;  // nothing above U+10FFFF
        } else {
            m_valid = false;  // a continuation octet out of place, C0, C1, F5-FF
        }
    }
}

bool valid_utf8(std::string_view text)
{
    Utf8Checker checker;
    checker.write(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
    return checker.complete();
}

}  // namespace ssm
