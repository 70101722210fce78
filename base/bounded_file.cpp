// Reading administrator-named files (see bounded_file.h): POSIX open/read rather than an
// ifstream, whose failure keeps no reason, which opens a folder as an empty file and which
// cannot open a FIFO without waiting for its writer.
#include "base/bounded_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "base/unique_fd.h"

namespace ssm {

namespace {

// A limit as a reader would name it: "4 MiB", or "1000 octets".
std::string size_text(std::size_t n)
{
    if (n != 0 && n % (1024 * 1024) == 0) return std::to_string(n / (1024 * 1024)) + " MiB";
    return std::to_string(n) + " octets";
}

// What a path names when it is no regular file, for the refusal.
std::string file_kind(mode_t mode)
{
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "of file type " + std::to_string(mode & S_IFMT);
}

// Reads `path` to its end or past `max_size`. `regular_only`: open with O_NONBLOCK, so that a
// FIFO returns at once instead of waiting for a writer (it changes nothing for a regular
// file), and refuse what fstat(2) does not call a regular file before any read.
std::optional<std::string> read_bounded(const std::string& path, std::size_t max_size, bool regular_only,
                                        FileReadRefusal& refusal)
{
    refusal = FileReadRefusal{};
    std::string& why = refusal.why;
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | (regular_only ? O_NONBLOCK : 0);
    const UniqueFd fd(::open(path.c_str(), flags));
    if (!fd) return why = std::strerror(errno), std::nullopt;
    if (regular_only) {
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) return why = std::strerror(errno), std::nullopt;
        // A folder keeps the system's words ("Is a directory"), as read(2) gives them below.
        if (S_ISDIR(st.st_mode)) return why = std::strerror(EISDIR), std::nullopt;
        if (!S_ISREG(st.st_mode)) return why = "not a regular file (" + file_kind(st.st_mode) + ")", std::nullopt;
    }
    std::string data;
    std::array<char, 64 * 1024> buf{};
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return why = std::strerror(errno), std::nullopt;  // EISDIR for a folder
        if (n == 0) return data;
        if (data.size() + static_cast<std::size_t>(n) > max_size) {
            refusal.too_large = true;
            return why = "it is larger than " + size_text(max_size), std::nullopt;
        }
        data.append(buf.data(), static_cast<std::size_t>(n));
    }
}

}  // namespace

std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_size, FileReadRefusal& refusal)
{
    return read_bounded(path, max_size, true, refusal);
}

std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_size, std::string& why)
{
    FileReadRefusal refusal;
    auto data = read_bounded_file(path, max_size, refusal);
    if (!data) why = std::move(refusal.why);
    return data;
}

std::optional<std::string> read_bounded_input(const std::string& path, std::size_t max_size, std::string& why)
{
    FileReadRefusal refusal;
    auto data = read_bounded(path, max_size, false, refusal);
    if (!data) why = std::move(refusal.why);
    return data;
}

}  // namespace ssm
