// Exit codes of the ssmctl commands (ssmctl(8), EXIT STATUS; sysexits.h where one fits). No
// other dependency, so that commands compiled into unit tests without the milter's headers
// (ssmctl_hsm.cpp in test_hsm*) give the same numbers as the rest.
#pragma once

namespace ssm::tools {

constexpr int kExitFound = 0;        // the answer asked for exists
constexpr int kExitNone = 1;         // it does not (no certificate, no member, ...)
constexpr int kExitUnavailable = 2;  // a directory, store or token could not be asked
constexpr int kExitUsage = 64;       // EX_USAGE
constexpr int kExitSoftware = 70;    // EX_SOFTWARE: an internal error
constexpr int kExitConfig = 78;      // EX_CONFIG

}  // namespace ssm::tools
