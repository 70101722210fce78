// `ssmctl list members ADDRESS`: the members a [[mail_list]] expansion would deliver to now,
// and where each comes from (the configuration or its members_group in the directory).
// Input: the trusted configuration and the administrator's argument; the group's addresses
// come from the directory (parsed as addresses there). Output: key=value lines.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "milter/config.h"

namespace ssm::tools {

// One "member list=L address=A from=config|group" line per member, then a summary line.
// Returns 0 when the list has a member, 1 none (or more than the expansion allows),
// 2 directory unavailable, 64 usage, 78 when ADDRESS is no [[mail_list]].
int list_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err);

}  // namespace ssm::tools
