// Writes a whole message as the MTA would after our header edits and new body: used by
// `ssmctl process` (and tests) to show exactly what the milter makes the MTA deliver.
#pragma once
#include <vector>

#include "base/stream.h"
#include "smime/mime/header.h"
#include "smime/sign.h"

namespace ssm::milter {

// Original fields minus the removed ones (by name and 1-based index among fields of that
// name, as smfi_chgheader counts), then the added ones, an empty line and the body.
void write_rewritten_message(const std::vector<smime::mime::HeaderField>& original,
                             const smime::HeaderEdit& edit, ByteSource& body, ByteSink& out);

}  // namespace ssm::milter
