// What the key and content decryption code shares: a branch-free comparison for the checks a
// decryption oracle must not reveal by its timing (PKCS#1 v1.5 and OAEP unpadding, CBC
// padding), and the AES key wrap IV (key agreement wraps with it too).
#pragma once
#include <cstdint>

namespace ssm::smime::cms {

// 0xff when a == b, else 0, without a data-dependent branch.
inline std::uint8_t ct_eq(std::uint8_t a, std::uint8_t b)
{
    return std::uint8_t(0u - ((std::uint32_t(a ^ b) - 1u) >> 31));
}

// RFC 3394 §2.2.3.1: the default initial value of AES key wrap.
inline constexpr std::uint8_t kKeyWrapDefaultIv[8] = {0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6, 0xA6};

}  // namespace ssm::smime::cms
