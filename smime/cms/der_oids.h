// The content-type OBJECT IDENTIFIERs the streaming CMS readers compare against, as whole DER
// elements (tag, length, value: fixed constants, not computed), and the comparison they use
// on an element read with BerStream::read_child. Dotted forms for libtasn1 are in oids.h.
#pragma once
#include <algorithm>
#include <cstdint>
#include <iterator>

#include "base/bytes.h"

namespace ssm::smime::cms::der_oid {

inline constexpr std::uint8_t kData[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
inline constexpr std::uint8_t kSignedData[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02};
inline constexpr std::uint8_t kEnvelopedData[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};
// RFC 5083
inline constexpr std::uint8_t kAuthEnvelopedData[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                      0x0d, 0x01, 0x09, 0x10, 0x01, 0x17};
// RFC 3274
inline constexpr std::uint8_t kCompressedData[] = {0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                                   0x0d, 0x01, 0x09, 0x10, 0x01, 0x09};

// Whether `element` is exactly that DER element.
template <std::size_t N>
bool is(const Bytes& element, const std::uint8_t (&der)[N])
{
    return std::equal(element.begin(), element.end(), std::begin(der), std::end(der));
}

}  // namespace ssm::smime::cms::der_oid
