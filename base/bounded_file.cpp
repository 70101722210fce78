// Reading administrator-named files (see bounded_file.h): POSIX open/read rather than an
// ifstream, whose failure keeps no reason and which opens a folder as an empty file.
#include "base/bounded_file.h"

#include <fcntl.h>
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

}  // namespace

std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_size, FileReadRefusal& refusal)
{
    refusal = FileReadRefusal{};
    std::string& why = refusal.why;
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return why = std::strerror(errno), std::nullopt;
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

std::optional<std::string> read_bounded_file(const std::string& path, std::size_t max_size, std::string& why)
{
    FileReadRefusal refusal;
    auto data = read_bounded_file(path, max_size, refusal);
    if (!data) why = std::move(refusal.why);
    return data;
}

}  // namespace ssm
