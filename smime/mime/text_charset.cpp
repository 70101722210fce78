// The charset label for text that had none (base/utf8.h checks the UTF-8).
#include "smime/mime/text_charset.h"

#include <array>

namespace ssm::smime::mime {

const char* unlabelled_text_charset(ByteSource& text)
{
    text.rewind();
    Utf8Checker utf8;
    bool eight_bit = false;
    std::array<std::uint8_t, 16 * 1024> buf;
    for (;;) {
        const std::size_t n = text.read(buf);
        if (n == 0) break;
        const ByteView chunk(buf.data(), n);
        for (const std::uint8_t b : chunk) eight_bit |= b >= 0x80;
        utf8.write(chunk);
        if (!utf8.valid()) break;
    }
    text.rewind();
    return unlabelled_text_charset(utf8, eight_bit);
}

const char* unlabelled_text_charset(const Utf8Checker& checked, bool eight_bit)
{
    if (!checked.complete()) return "unknown-8bit";
    return eight_bit ? "utf-8" : "us-ascii";
}

}  // namespace ssm::smime::mime
