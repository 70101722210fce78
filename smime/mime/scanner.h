// First pass over a message body: records the MIME tree (offsets, declared types and
// encodings, and what the bytes really are) without keeping any content, so that the
// canonical writer can decide per part and then stream the source a second time.
// The body is untrusted: scanning is liberal and defined for any input; it throws only
// when Limits are exceeded (Failure::MessageTooLarge: too deep, too many parts, a header
// field too long — all configured limits, so 552 rather than "malformed").
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/stream.h"
#include "smime/mime/header.h"
#include "smime/mime/limits.h"

namespace ssm::smime::mime {

// What the bytes of a region turned out to be.
struct LineFacts {
    bool has_8bit = false;
    bool has_nul = false;
    bool has_bare_cr = false;  // a CR not followed by LF
    bool has_lf_only = false;  // a LF not preceded by CR
    std::uint64_t longest_line = 0;  // octets, line end excluded

    bool seven_bit_clean() const { return !has_8bit && !has_nul && longest_line <= 998; }
    void add(const LineFacts& o);
};

struct Part {
    enum class Kind {
        Leaf,       // content copied or re-encoded as a whole
        Multipart,  // multipart/* with a boundary: children between delimiter lines
        Message,    // message/rfc822 or message/global in 7bit/8bit/binary: one child entity
    };
    Kind kind = Kind::Leaf;

    // Byte offsets in the scanned source. The header block is [begin, body_begin) (empty
    // for the top level, whose fields come from the MTA); the body is [body_begin, end).
    // For a body part, `end` is where the line end before the next delimiter starts
    // (RFC 2046: that line end belongs to the delimiter).
    std::uint64_t begin = 0;
    std::uint64_t body_begin = 0;
    std::uint64_t end = 0;
    bool header_complete = true;  // false: the part ended before an empty line (no body)

    // Declared content type (defaults applied: text/plain, or message/rfc822 inside
    // multipart/digest), whether a Content-Type field was present at all, the boundary.
    std::string type = "text";
    std::string subtype = "plain";
    bool has_content_type = false;
    std::string boundary;
    // Content-Type's smime-type parameter (lower-cased) and name parameter, "" when absent:
    // what an application/pkcs7-mime part claims to hold (RFC 8551 §3.2.2, §3.2.1).
    std::string smime_type;
    std::string name;
    // Content-Disposition's filename parameter, "" when absent (a *.p7m name makes
    // application/octet-stream S/MIME, RFC 8551 §3.2.1).
    std::string filename;
    // Content-Type fields in the header block (for the top level: among the MTA's fields).
    // More than one is invalid (RFC 2045 §3): the first counts here, but readers differ.
    std::size_t content_type_fields = 0;
    // A second Content-Type field (invalid, RFC 2045 §3; the first one counts) claims
    // application/pkcs7-mime.
    bool later_type_pkcs7 = false;
    // Declared Content-Transfer-Encoding, lower-cased, "" when absent.
    std::string transfer_encoding;
    // Every Content-Transfer-Encoding field of the header block, [first byte, end of its
    // last line end): the writer replaces them when it re-encodes.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> cte_fields;
    std::uint64_t header_blank_line = 0;  // where the empty line ending the header starts
    // Just past the first Content-Type field's last octet (its line end excluded), 0 when the
    // header block has none (and for the top level, whose fields come from the MTA): where
    // the writer adds a charset parameter.
    std::uint64_t content_type_end = 0;
    // A text type that names no charset (no Content-Type at all, or one that parsed without
    // a charset parameter; RFC 2045 §5.2 / RFC 2046 §4.1.2: us-ascii then). An unparsable
    // Content-Type is not counted: it is left as it came.
    bool charset_missing = false;
    // That Content-Type's value ends in ';' (an empty parameter some mailers write).
    bool content_type_ends_in_semicolon = false;
    // What closes its value when it ends inside a quoted string or comment (value_closer;
    // a value no appended text can close counts as naming a charset: it is not touched).
    std::string content_type_closer;
    // The octets of the field's last line (line end excluded), which ends at content_type_end.
    std::uint64_t content_type_last_line = 0;

    LineFacts header;  // header block lines (for the top level: its Content-* fields)
    LineFacts body;    // Leaf: the body. Multipart: preamble, delimiters, epilogue only.
    bool closing_boundary_missing = false;  // Multipart whose close delimiter never came

    std::vector<Part> children;

    bool is_text() const { return type == "text"; }
};

struct ScanResult {
    Part root;
    std::size_t part_count = 0;
    std::size_t max_depth = 0;
    // Lines of the whole body ended by a bare LF or a lone CR: each becomes CRLF, one octet
    // longer, in the canonical form (canonical_entity_size uses it).
    std::uint64_t bare_line_ends = 0;
};

class BodyFacts;

// Scans `body` (from its first byte; it is rewound) for the entity whose header fields
// are `top_headers` (only Content-Type and Content-Transfer-Encoding are looked at).
// `known`: the facts of `body` gathered while it was spooled (finished); when the entity
// is a single part (no multipart, no embedded message) they are the whole scan result and
// the body is not read at all. Error(Internal) if they describe another size.
ScanResult scan_body(const std::vector<HeaderField>& top_headers, ByteSource& body,
                     const Limits& limits, const BodyFacts* known = nullptr);

}  // namespace ssm::smime::mime
