// ASCII case handling for protocol text (header field names, addresses, domains, tags):
// locale-independent, unlike std::tolower, whose answer follows the process's C locale.
// Also the one place that makes untrusted text printable for a reply, reason or log.
#pragma once
#include <algorithm>
#include <string>
#include <string_view>

namespace ssm {

constexpr char ascii_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lowercase(std::string_view s)
{
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

// White space as C's isspace reads it in the C locale (HT, LF, VT, FF, CR, SP): what nettle's
// base64 decoder skips, and what may follow a CMS object in a body without being text.
constexpr bool is_ascii_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

// RFC 5322 WSP: space or horizontal tab.
constexpr bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

// The octets of RFC 5322 folding white space (FWS): WSP, or the CR and LF of a fold that a
// header value read with its line breaks still holds.
constexpr bool is_folding_space(char c)
{
    return is_wsp(c) || c == '\r' || c == '\n';
}

// The value of a hexadecimal digit (either case), or -1 (QP, RFC 2047 Q, RFC 2231 %XX).
constexpr int hex_digit_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Equal but for ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

// Printable ASCII (space to '~'), not empty, at most `max` octets: text from a peer that may
// be copied into a header field we write (no line break or control character reaches it).
inline bool plain_printable(std::string_view s, std::size_t max)
{
    return !s.empty() && s.size() <= max && std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

// `s` with every octet outside printable ASCII (control characters, DEL, 8-bit) replaced by
// '?': untrusted text quoted in a reason, SMTP reply or log line, so no line break or control
// character reaches it. Callers that must bound the text cut it themselves.
inline std::string with_unprintable_replaced(std::string_view s)
{
    std::string out(s);
    for (char& c : out) {
        const auto u = static_cast<unsigned char>(c);  // char may be signed
        if (u < 0x20 || u >= 0x7f) c = '?';
    }
    return out;
}

}  // namespace ssm
