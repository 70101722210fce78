// Lists written for logs and listings as "a,b,c" (or with another separator, "a; b; c"): one
// helper for every place that writes one.
#pragma once
#include <span>
#include <string>
#include <string_view>

namespace ssm {

// The items separated by `separator` (commas by default); `empty` when there are none ("-" in
// listings).
inline std::string joined(std::span<const std::string> items, std::string_view empty = "",
                          std::string_view separator = ",")
{
    if (items.empty()) return std::string(empty);
    std::string s;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) s.append(separator);
        s.append(items[i]);
    }
    return s;
}

}  // namespace ssm
