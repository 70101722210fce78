// Exit codes shared by the ssmctl commands (ssmctl(8), EXIT STATUS; sysexits.h where one
// fits), and the one way a command that asks the directory turns configuration and
// directory failures into them.
#pragma once
#include <ostream>

#include "base/error.h"
#include "milter/config.h"

namespace ssm::tools {

constexpr int kExitFound = 0;        // the answer asked for exists
constexpr int kExitNone = 1;         // it does not (no certificate, no member, ...)
constexpr int kExitUnavailable = 2;  // a directory, store or token could not be asked
constexpr int kExitUsage = 64;       // EX_USAGE
constexpr int kExitSoftware = 70;    // EX_SOFTWARE: an internal error
constexpr int kExitConfig = 78;      // EX_CONFIG

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
