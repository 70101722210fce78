// The one way a command that asks the directory turns configuration and directory failures
// into ssmctl's exit codes (ssmctl_exit_codes.h, which commands without the milter's
// configuration include alone).
#pragma once
#include <ostream>

#include "base/error.h"
#include "milter/config.h"
#include "tools/ssmctl_exit_codes.h"

namespace ssm::tools {

// Runs `ask` (which loads the configured sources and asks them): a configuration error is
// printed and gives kExitConfig, a directory or token that cannot be asked (ssm::Error)
// kExitUnavailable; otherwise what `ask` returns.
template <class Ask>
int asking_directory(std::ostream& err, Ask&& ask)
{
    try {
        return ask();
    } catch (const milter::ConfigError& e) {
        err << e.what() << "\n";
        return kExitConfig;
    } catch (const Error& e) {
        err << "ssmctl: " << e.what() << "\n";
        return kExitUnavailable;
    }
}

}  // namespace ssm::tools
