// Whole base64 lines for the Base64Encoder (the output stage of every encrypted message):
// 57 octets to 76 characters and CRLF, many lines per call. Input is any bytes; the output
// is checked against coreutils base64 in tests/unit/test_mime*.cpp.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ssm::smime::mime {

constexpr std::size_t kBase64LineIn = 57;   // octets per line
constexpr std::size_t kBase64LineOut = 78;  // 76 characters and CRLF

// Encodes `lines` whole lines from `src` (lines * 57 octets) to `dst` (lines * 78 octets).
// With SSSE3 (checked at run time, x86-64 only) twelve octets take one shuffle-and-multiply
// step (W. Muła's and D. Lemire's method); otherwise a table of the two characters of every
// 12-bit value gives two look-ups per three octets.
void encode_base64_lines(const std::uint8_t* src, std::size_t lines, std::uint8_t* dst);
// The table path alone (what machines without SSSE3 use; tests check it everywhere).
void encode_base64_lines_portable(const std::uint8_t* src, std::size_t lines, std::uint8_t* dst);

}  // namespace ssm::smime::mime
