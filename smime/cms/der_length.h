// DER tag-and-length headers with 64-bit definite lengths: used only by the streaming
// SignedData writer, which must announce the length of content it never holds in memory
// (the one place hand-counted DER lengths are allowed). parse_der_header reads our own
// libtasn1 output; it still checks every bound because it is also fed by tests and fuzzers.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/bytes.h"
#include "base/der_tlv.h"

namespace ssm::smime::cms {

// der_header_size and der_header: base/der_tlv.h.
// header + content for a TLV whose content is `content_length` octets; throws
// ssm::Error(MessageTooLarge) when the total does not fit in 64 bits.
std::uint64_t der_tlv_size(std::uint64_t content_length);
// a + b, or ssm::Error(MessageTooLarge) on overflow.
std::uint64_t checked_add(std::uint64_t a, std::uint64_t b);

struct DerHeader {
    std::uint8_t tag = 0;
    std::size_t header_size = 0;   // tag + length octets
    std::uint64_t length = 0;      // content octets
};
// Parses a single-byte tag and a DER definite length (minimal form enforced). Throws
// ssm::Error(MalformedMessage) for indefinite, non-minimal or truncated headers; does not
// check that the content is present.
DerHeader parse_der_header(ByteView der);

}  // namespace ssm::smime::cms
