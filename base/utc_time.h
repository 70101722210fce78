// Times written in UTC for logs, listings and mail header fields: one strftime wrapper, so
// that every place formats (and fails) the same way. Input: times from our clock or from
// decoded certificates and records (any time_t value; one gmtime cannot represent gives "?").
#pragma once
#include <ctime>
#include <string>

namespace ssm {

// `t` in UTC through strftime(3) `format` (at most 63 characters of output).
std::string utc_time(std::time_t t, const char* format);

// 2026-12-01T04:05:06Z (RFC 3339), as logs and ssmctl listings show times.
inline std::string iso8601_utc(std::time_t t)
{
    return utc_time(t, "%Y-%m-%dT%H:%M:%SZ");
}

}  // namespace ssm
