// A branch-free comparison for the checks a decryption oracle must not reveal by its timing:
// PKCS#1 v1.5 and OAEP unpadding (decrypt_key.cpp), CBC padding (decrypt_content.cpp).
#pragma once
#include <cstdint>

namespace ssm::smime::cms {

// 0xff when a == b, else 0, without a data-dependent branch.
inline std::uint8_t ct_eq(std::uint8_t a, std::uint8_t b)
{
    return std::uint8_t(0u - ((std::uint32_t(a ^ b) - 1u) >> 31));
}

}  // namespace ssm::smime::cms
