// Dropping root after the listening socket is open (the Postfix pre-jail/post-jail split).
#pragma once
#include <string>

namespace ssm::milter {

// When running as root and `user` is neither empty nor "root", switches to that user
// (and its groups). Returns an error message, or "" on success.
std::string drop_privileges(const std::string& user);

}  // namespace ssm::milter
