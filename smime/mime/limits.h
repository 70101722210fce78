// Structure limits for the MIME layer, set from configuration by the caller. They bound
// what untrusted mail can make us allocate or recurse into; exceeding one is reported as
// ssm::Error(Failure::MessageTooLarge) (552 5.3.4): a configured limit, not a parse failure.
#pragma once
#include <cstddef>

namespace ssm::smime::mime {

struct Limits {
    std::size_t max_header_field = 64 * 1024;  // one field, folded lines and line ends included
    std::size_t max_depth = 32;                // nesting of multipart/* and message/rfc822
    std::size_t max_parts = 10000;             // entities in one message, the top level included
    // Whole top-level header block read from a raw message file (parse_header_block only:
    // the milter receives header fields one by one and applies the MTA's own limit).
    std::size_t max_header_block = 1024 * 1024;
};

}  // namespace ssm::smime::mime
