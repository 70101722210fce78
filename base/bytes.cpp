// Small byte helpers.
#include "base/bytes.h"

namespace ssm {

std::string to_hex(ByteView b)
{
    static const char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(b.size() * 2);
    for (auto c : b) {
        out.push_back(digits[c >> 4]);
        out.push_back(digits[c & 0xf]);
    }
    return out;
}

}  // namespace ssm
