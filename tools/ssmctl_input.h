// Reading an input file an administrator names on ssmctl's command line (a certificate, a
// bundle, a PKCS#12 file): all of it up to a bound, or why not in strerror(3)'s words, so that
// every command says the reason and gives the one exit status ssmctl(8) names for a file that
// cannot be read (kExitUsage, 64). The content is untrusted; this only reads it.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace ssm::tools {

// The content of `path`, at most `max_size` octets; nullopt with `why` set otherwise
// ("No such file or directory", "Is a directory", "it is larger than 4 MiB").
std::optional<std::string> read_input_file(const std::string& path, std::size_t max_size, std::string& why);

}  // namespace ssm::tools
