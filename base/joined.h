// Lists written for logs and listings as "a,b,c": one helper for every place that writes one.
#pragma once
#include <span>
#include <string>
#include <string_view>

namespace ssm {

// The items separated by commas; `empty` when there are none ("-" in listings).
inline std::string joined(std::span<const std::string> items, std::string_view empty = "")
{
    if (items.empty()) return std::string(empty);
    std::string s;
    for (const auto& item : items) s += (s.empty() ? "" : ",") + item;
    return s;
}

}  // namespace ssm
