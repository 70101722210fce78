// `ssmctl process`: one message through the milter's pipeline, offline.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "milter/config.h"

namespace ssm::tools {

// Reads the message from stdin, writes the result to stdout and the decision to stderr.
int process_command(const milter::Config& config, std::shared_ptr<const milter::Config> shared,
                    const std::vector<std::string>& args);

}  // namespace ssm::tools
