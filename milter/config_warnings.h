// What a valid configuration may still get wrong, said at start-up, by `ssm-milter -n` and at
// each reload (one list, so that a SIGHUP warns of what a restart would have warned of).
// Input: a loaded configuration (trusted).
#pragma once
#include <string>
#include <vector>

#include "milter/config.h"

namespace ssm::milter {

// One text per warning, without the file name (the caller adds it or logs it).
std::vector<std::string> configuration_warnings(const Config& config);

}  // namespace ssm::milter
