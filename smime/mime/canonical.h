// The MIME entity that S/MIME signs (RFC 8551 §3.1, PRODUCT §2.1): the top-level Content-*
// fields, an empty line and the body, all with CRLF line ends, with 8bit/binary leaves
// re-encoded so that a later 8BITMIME downgrade cannot change signed bytes. Two passes over
// the spooled body (scan, then write); the body is untrusted, memory stays bounded.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "base/stream.h"
#include "smime/mime/header.h"
#include "smime/mime/limits.h"
#include "smime/mime/scanner.h"

namespace ssm::smime::mime {

// How one part is written.
enum class Treatment {
    Copy,             // bytes as they are, line ends made CRLF
    QuotedPrintable,  // text re-encoded
    Base64,           // anything else (and text holding NULs) re-encoded
    Rewrap,           // base64 with lines over 998 octets, raw 8-bit octets or NULs: its
                      // alphabet and padding in 76-character lines, the rest dropped
    Requote,          // quoted-printable with lines over 998 octets, raw 8-bit octets or NULs:
                      // decoded and encoded again
    Recurse,          // multipart/* and message/rfc822: children decided one by one
};

struct PartPlan {
    Treatment treatment = Treatment::Copy;
    // The Content-Transfer-Encoding to write instead of the declared one, if it changes.
    std::optional<std::string> new_transfer_encoding;
};

// The rules, per part (see canonical.cpp for the reasoning):
// - leaf declared 8bit or binary, or declared 7bit/absent but holding 8-bit octets, NULs
//   or lines over 998 octets: text/* (and message/* leaves) -> quoted-printable, unless it
//   holds NULs; everything else -> base64. Declared "binary" content is encoded byte for
//   byte; other content is line-oriented by declaration, so its line ends become CRLF
//   first (what SMTP would have carried).
// - leaf already base64/quoted-printable, or with an encoding we do not know: copied; but
//   base64 in lines over 998 octets or holding raw 8-bit octets or NULs is wrapped again
//   without what lies outside its alphabet, and quoted-printable with such lines or octets
//   is decoded and encoded again (same content).
// - multipart/*, message/rfc822, message/global (in 7bit/8bit/binary): recursed into,
//   never encoded (RFC 2046 §5.1, §5.2.1 forbid it); their label is corrected to what the
//   output really is (7bit after re-encoding the leaves; 8bit when, say, the embedded
//   message's own header holds raw UTF-8, which no transfer encoding may fix).
// - a composite type we cannot recurse into (no boundary, encoded message/*),
//   message/partial, message/external-body: copied, label kept.
PartPlan plan_part(const Part& part);

// Whether the written form of `part` (header block included) is 7-bit clean with lines of
// at most 998 octets.
bool output_is_7bit(const Part& part);

// Scans `body` and writes the canonical entity to `out`: the top-level Content-* fields in
// their order (a replaced Content-Transfer-Encoding in place of the first one, appended
// when there was none), an empty line, the body. Without a Content-Type none is invented
// while the octets are 7-bit: the entity then means text/plain; charset=us-ascii by the
// same RFC 2045 default that applied to the message, and an added field would only change
// the signed bytes. When 8-bit octets are re-encoded that default would misname them:
// "Content-Type: text/plain; charset=utf-8" is written first, or charset=unknown-8bit
// (RFC 1428) when they are not UTF-8 (text_charset.h). The same holds for any text part, at
// the top or nested, whose Content-Type names no charset: the parameter is added to it (a
// nested part without a Content-Type gets one).
// Throws Error(MessageTooLarge) over limits, and whatever the source or sink throw.
void write_canonical_entity(const std::vector<HeaderField>& top_headers, ByteSource& body,
                            ByteSink& out, const Limits& limits);

// The same from a scan already made of `body` (it is rewound).
void write_canonical_entity(const std::vector<HeaderField>& top_headers, const ScanResult& scan,
                            ByteSource& body, ByteSink& out);

// The exact number of octets write_canonical_entity(top_headers, scan, body, out) writes, so
// the entity can stream into a definite-length encoding (CMS) without being spooled first.
// When no part is re-encoded or relabelled (the common case) it comes from the scan: the
// top-level Content-* fields as written, the body and one octet per bare line end (each
// becomes CRLF). Otherwise the writer runs once into a counter (one more read of `body`,
// nothing kept).
std::uint64_t canonical_entity_size(const std::vector<HeaderField>& top_headers,
                                    const ScanResult& scan, ByteSource& body);

// A top-level field that moves into the signed entity: all Content-* fields (MIME-Version
// and everything else stay outside). `occurrence` is 1-based among fields of that name,
// as smfi_chgheader's index wants it.
struct TopFieldRef {
    std::size_t index;
    std::string name;
    int occurrence;
};
std::vector<TopFieldRef> canonical_top_headers_to_remove(const std::vector<HeaderField>& top);

}  // namespace ssm::smime::mime
