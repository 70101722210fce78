// `ssmctl clearance ...`: recipients' clearances from the directory (PRODUCT §4.1) seen from
// the command line, and the DER an administrator stores there. Input: the trusted
// configuration and the administrator's arguments; directory values are untrusted and decoded
// strictly by smime/cms/clearance. Output is key=value lines for people and scripts (lookup)
// or the DER itself (encode).
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "milter/config.h"

namespace ssm::tools {

// `ssmctl clearance lookup ADDR`: the Clearance values of ADDR's entry in the directory of
// [labels] clearance_attribute, one line each, and how many could not be read. Returns 0 when
// there is at least one readable value, 1 none, 2 directory unavailable, 64 usage, 78 when no
// clearance_attribute is configured.
// `ssmctl clearance encode --policy OID [--class N]... [--category TYPE-OID:HEX]...`: the
// RFC 5755 DER of that clearance on `out` (no --class: the DEFAULT, unclassified). 0, or 64.
int clearance_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                      std::ostream& err);

}  // namespace ssm::tools
