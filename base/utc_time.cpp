// See utc_time.h.
#include "base/utc_time.h"

#include <array>

namespace ssm {

std::string utc_time(std::time_t t, const char* format)
{
    std::tm tm{};
    if (!gmtime_r(&t, &tm)) return "?";
    std::array<char, 64> buf{};
    const std::size_t n = std::strftime(buf.data(), buf.size(), format, &tm);
    return std::string(buf.data(), n);
}

}  // namespace ssm
