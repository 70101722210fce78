// Comparing two X.501 Names as RFC 5280 §7.1 asks, for issuerAndSerialNumber matching: a peer
// that re-encodes the issuer of a RecipientInfo or SignerInfo (another string type, case or
// spacing) still names our certificate. Both Names may come from received mail (untrusted):
// decoding is bounded, and a Name that does not decode equals only its own bytes.
#pragma once
#include <cstddef>

#include "base/bytes.h"

namespace ssm::smime::cms {

// Names larger than this, with more RDNs, or with more attributes in one RDN are compared byte
// for byte only: an issuer Name is a few hundred octets, and the RDN-by-RDN comparison must
// stay cheap when a message holds many RecipientInfos.
inline constexpr std::size_t kMaxComparedNameBytes = 8192;
inline constexpr int kMaxComparedRdns = 64;
inline constexpr int kMaxComparedRdnAttributes = 16;

// Whether the DER Names `a` and `b` are equal: byte for byte, else RDN by RDN (the attributes of
// a multi-valued RDN in any order) with the same attribute types and equal values. Values of
// the DirectoryString types (TeletexString, PrintableString, UniversalString, UTF8String,
// BMPString) compare as text whatever type each is written in, after RFC 4518 insignificant
// space handling (no space at either end, one for a run) and case folding of ASCII letters;
// other letters, and TeletexString beyond ASCII, as written. Other values byte for byte.
// Malformed or oversized Names are unequal unless byte-identical. Never throws.
bool same_name(ByteView a, ByteView b) noexcept;

}  // namespace ssm::smime::cms
