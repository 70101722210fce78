// Reading a file an administrator names (the configuration, a list file, a certificate or CRL
// file, an input file of ssmctl): all of it up to a bound, or why not in strerror(3)'s words.
// One reader for all of them, so that every message gives the reason ("Permission denied" and
// "No such file or directory" call for different fixes), a folder given in place of a file is
// refused (an ifstream opens it and reads nothing: an empty list, "no certificate"), and an
// oversized file is refused while it is read rather than after. The daemon's files must be
// regular files: a FIFO would block a start or reload until someone writes to it, and a device
// such as /dev/zero never ends. Only an input named on ssmctl's command line may be a pipe
// (/dev/stdin, a shell's <(...)). The content is untrusted; this only reads it. Secrets have
// their own reader (secure_buffer.h: locked memory, no copies).
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace ssm {

// Why a file was not read: the system's reason, or that it is over the bound (which the caller
// may name with the setting that sets the bound).
struct FileReadRefusal {
    std::string why;         // "No such file or directory", "Is a directory", "it is larger than 4 MiB",
                             // "not a regular file (a FIFO)"
    bool too_large = false;  // the file is larger than the bound
};

// The content of the regular file `path`, at most `max_size` octets; nullopt with `refusal`
// set otherwise. Anything else (a FIFO, a device, a socket) is refused at once, without
// waiting for a writer: for the files the daemon reads at start-up and on reload.
std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_size, FileReadRefusal& refusal);

// The same, for callers that only report the reason.
std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_size, std::string& why);

// An input named on ssmctl's command line: a regular file or anything else that can be read
// (a pipe, /dev/stdin, a shell's <(...)), read until its end or refused past `max_size` octets.
// Opening a FIFO waits for its writer, as any command reading a file does. Not for the daemon.
std::optional<std::string> read_bounded_input(const std::string& path, std::size_t max_size, std::string& why);

}  // namespace ssm
