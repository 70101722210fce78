// Reading a file an administrator names (the configuration, a list file, a certificate or CRL
// file, an input file of ssmctl): all of it up to a bound, or why not in strerror(3)'s words.
// One reader for all of them, so that every message gives the reason ("Permission denied" and
// "No such file or directory" call for different fixes), a folder given in place of a file is
// refused (an ifstream opens it and reads nothing: an empty list, "no certificate"), and an
// oversized file is refused while it is read rather than after. The content is untrusted; this
// only reads it. Secrets have their own reader (secure_buffer.h: locked memory, no copies).
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace ssm {

// Why a file was not read: the system's reason, or that it is over the bound (which the caller
// may name with the setting that sets the bound).
struct FileReadRefusal {
    std::string why;         // "No such file or directory", "Is a directory", "it is larger than 4 MiB"
    bool too_large = false;  // the file is larger than the bound
};

// The content of `path`, at most `max_size` octets; nullopt with `refusal` set otherwise.
std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_size, FileReadRefusal& refusal);

// The same, for callers that only report the reason.
std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_size, std::string& why);

}  // namespace ssm
