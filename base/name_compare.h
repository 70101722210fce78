// Comparing two X.501 Names as RFC 5280 §7.1 asks: a peer that re-encodes the issuer of a
// RecipientInfo or SignerInfo (smime/cms), and a CA whose certificates name it in another string
// type, case or spacing than its own certificate does (pki/: path building, CRL issuers), still
// name the same entity. The Names may come from received mail (untrusted): decoding is bounded
// (base/der_tlv.h), and a Name that does not decode equals only its own bytes. In base/ because
// smime/cms/ and pki/ both compare Names, and neither may use the other.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace ssm {

// Names larger than this, with more RDNs, or with more attributes in one RDN are compared byte
// for byte only: an issuer Name is a few hundred octets, and the RDN-by-RDN comparison must
// stay cheap when a message holds many RecipientInfos.
inline constexpr std::size_t kMaxComparedNameBytes = 8192;
inline constexpr int kMaxComparedRdns = 64;
inline constexpr int kMaxComparedRdnAttributes = 16;

// The DER Name `der` prepared for comparison: RDN by RDN (the attributes of a multi-valued RDN in
// a fixed order), each attribute's type and its value. Values of the DirectoryString types
// (TeletexString, PrintableString, UniversalString, UTF8String, BMPString) and of the ASCII
// types IA5String and VisibleString as text whatever type each is written in, prepared as RFC
// 4518 asks: separators and TAB..CR to SPACE, control and format characters (soft hyphen,
// zero-width space) to nothing, Unicode case folding and NFKC, no space at either end and one
// for a run. TeletexString, IA5String and VisibleString beyond ASCII (T.61 is not Latin-1)
// stay their DER, as do values of other types. Two Names are the same when their keys are
// equal. nullopt for a malformed or oversized Name. Never throws but for memory (std::bad_alloc).
std::optional<std::string> name_match_key(ByteView der);

// name_match_key's parts, one per RDN in the Name's order (the most general first): a
// directoryName subtree (RFC 5280 §4.2.1.10) holds the Names whose RDN keys begin with its own
// (pki/name_match.cpp). nullopt as for name_match_key.
std::optional<std::vector<std::string>> rdn_match_keys(ByteView der);

// A key for Names that never fails: name_match_key, or for a Name it does not read, the Name's
// own bytes (marked apart, so that the two forms never meet). Equal keys: same_name.
std::string comparable_name(ByteView der);

// Whether the DER Names `a` and `b` are equal: byte for byte, else by name_match_key. Malformed
// or oversized Names are unequal unless byte-identical. Never throws.
bool same_name(ByteView a, ByteView b) noexcept;

}  // namespace ssm
