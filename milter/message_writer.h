// Writes a whole message as the MTA would after our header edits and new body: used by
// `ssmctl process` (and tests) to show exactly what the milter makes the MTA deliver.
#pragma once
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "base/stream.h"
#include "smime/mime/header.h"
#include "smime/sign.h"

namespace ssm::milter {

// Original fields minus the removed ones (by name and 1-based index among fields of that
// name, as smfi_chgheader counts), then the added ones, an empty line and the body.
// `original_text`, when given, holds each original field as it was received (CRLF line
// ends): a field no edit touches is written as that text, byte for byte, as the MTA keeps it.
void write_rewritten_message(const std::vector<smime::mime::HeaderField>& original,
                             const smime::HeaderEdit& edit, ByteSource& body, ByteSink& out,
                             const std::vector<std::string>* original_text = nullptr);

// A header value as libmilter expects it: folds as "\n\t", and no way for CR or LF from
// an untrusted source (a decrypted inner header) to end the field or the header block:
// every run of CR/LF (with the whitespace after it) becomes one fold; empty lines vanish.
std::string milter_header_value(const std::string& value);

// Hands a new body to `send` (smfi_replacebody) in chunks of at most `max_chunk` bytes. An
// empty body is one empty chunk: without any call the MTA keeps the body it received (a
// ciphertext, say) under the new header fields. Stops and returns false when `send` does.
bool send_body_chunks(ByteSource& body, std::size_t max_chunk, const std::function<bool(ByteView)>& send);

}  // namespace ssm::milter
