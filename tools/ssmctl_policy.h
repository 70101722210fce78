// `ssmctl policy test`: what the milter would decide for an envelope and header fields given
// on the command line, through the same MessageProcessor, Certificates and token the daemon
// uses. Arguments come from the administrator; the output is for people and scripts.
#pragma once
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "milter/config.h"

namespace ssm::tools {

// args: "test" --from ADDR --to ADDR [--to ADDR]... [--header 'Name: value']...
//       [--direction in|out] [--client IP] [--auth USER]
// Prints per recipient the deciding rule, the plan, the certificate lookup (the chosen
// certificate's subject, serial and source, or why candidates were refused) and the SMTP
// reply, then what the header fields changed. Exit: 0 every recipient accepted, 1 something
// rejected, 2 something deferred (452 4.5.3, 451), 64 usage error.
int policy_command(const milter::Config& config, std::shared_ptr<const milter::Config> shared,
                   const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ssm::tools
