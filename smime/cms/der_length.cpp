// DER length octets for the streaming writer; see der_length.h. Input to parse_der_header
// is treated as untrusted: every byte read is bounds-checked.
#include "smime/cms/der_length.h"

#include <limits>

#include "base/error.h"

namespace ssm::smime::cms {

std::uint64_t checked_add(std::uint64_t a, std::uint64_t b)
{
    if (a > std::numeric_limits<std::uint64_t>::max() - b)
        throw Error(Failure::MessageTooLarge, "DER length exceeds 64 bits");
    return a + b;
}

std::uint64_t der_tlv_size(std::uint64_t content_length)
{
    return checked_add(der_header_size(content_length), content_length);
}

DerHeader parse_der_header(ByteView der)
{
    if (der.size() < 2) throw Error(Failure::MalformedMessage, "truncated DER header");
    DerHeader h;
    h.tag = der[0];
    if ((h.tag & 0x1f) == 0x1f)
        throw Error(Failure::MalformedMessage, "multi-byte DER tags are not expected here");
    std::uint8_t first = der[1];
    if (first < 0x80) {
        h.header_size = 2;
        h.length = first;
        return h;
    }
    std::size_t n = first & 0x7f;
    if (n == 0) throw Error(Failure::MalformedMessage, "indefinite length where DER is required");
    if (n > 8) throw Error(Failure::MalformedMessage, "DER length longer than 64 bits");
    if (der.size() < 2 + n) throw Error(Failure::MalformedMessage, "truncated DER length");
    if (der[2] == 0) throw Error(Failure::MalformedMessage, "non-minimal DER length");
    std::uint64_t len = 0;
    for (std::size_t i = 0; i < n; ++i) len = (len << 8) | der[2 + i];
    if (len < 0x80) throw Error(Failure::MalformedMessage, "non-minimal DER length");
    h.header_size = 2 + n;
    h.length = len;
    return h;
}

}  // namespace ssm::smime::cms
