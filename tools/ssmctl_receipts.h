// `ssmctl receipts ...`: the signed-receipt store (PRODUCT §4.2) seen from the command line:
// which signed messages asked for receipts, which receipts came back and whether they matched.
// Input: the trusted configuration and the administrator's arguments; the store's records are
// read defensively by directory::ReceiptStore. Output is key=value lines for people and scripts.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "milter/config.h"

namespace ssm::tools {

// `ssmctl receipts [list] [--pending]`: one line per request (oldest first) and one indented
// line per receipt received; --pending: only requests no valid receipt has answered yet.
// `ssmctl receipts show ID`: one request by its identifier (hex).
// `ssmctl receipts expire DAYS`: forgets requests made more than DAYS days ago.
// Returns 0; 1 when `show` finds nothing; 2 when the store cannot be opened; 64 usage.
int receipts_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                     std::ostream& err);

}  // namespace ssm::tools
