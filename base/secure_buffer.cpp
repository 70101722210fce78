// Wiping secrets and reading them from files (paths from the configuration: trusted; the
// content is a secret and never appears in an error).
#include "base/secure_buffer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "base/unique_fd.h"

namespace ssm {

void secure_wipe(void* p, std::size_t n) noexcept
{
    // A volatile pointer keeps the compiler from dropping the stores as dead.
    volatile unsigned char* v = static_cast<volatile unsigned char*>(p);
    while (n--) *v++ = 0;
}

SecureString& SecureString::operator=(SecureString&& o) noexcept
{
    if (this != &o) {
        clear();
        m_value = std::move(o.m_value);
        o.clear();
    }
    return *this;
}

void secure_wipe(std::string& s) noexcept
{
    // resize() up to the capacity never allocates, so it cannot throw here; it makes the
    // bytes between size() and capacity() part of the string, which may then be written.
    s.resize(s.capacity());
    secure_wipe(s.data(), s.size());
    s.clear();
}

// open(2)/read(2) straight into the SecureString's buffer, sized once: no stdio or iostream
// buffer and no growing std::string leaves a copy of the secret in freed memory.
// O_NONBLOCK so that opening a FIFO returns at once (it is then refused as not a regular
// file) instead of waiting for a writer; it changes nothing for a regular file. No O_NOFOLLOW:
// the path is the administrator's, and a symbolic link is an ordinary way to place a secret
// (Kubernetes secret volumes, a credential kept elsewhere).
SecureString read_secret_file(const std::string& path)
{
    // The reason (strerror) is part of the message: "cannot read" alone leaves the
    // administrator to guess between a missing file, a folder on the way and permissions.
    const auto failed = [&path](int error) {
        return std::runtime_error("cannot read secret file " + path + ": " + std::strerror(error));
    };
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd.get() < 0) throw failed(errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw failed(errno);
    if (!S_ISREG(st.st_mode))
        throw std::runtime_error("cannot read secret file " + path + ": not a regular file");
    SecureString out;
    std::string& buffer = out.m_value;
    // One byte more than allowed, to tell a full file from a too large one without trusting
    // st_size (the file may change between fstat and read).
    buffer.resize(kMaxSecretFileBytes + 1);
    std::size_t have = 0;
    while (have < buffer.size()) {
        const ssize_t n = ::read(fd.get(), buffer.data() + have, buffer.size() - have);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw failed(errno);
        if (n == 0) break;
        have += static_cast<std::size_t>(n);
    }
    if (have > kMaxSecretFileBytes)
        throw std::runtime_error("cannot read secret file " + path + ": larger than " +
                                 std::to_string(kMaxSecretFileBytes) + " bytes");
    buffer.resize(have);  // shrinking keeps the buffer: clear() still wipes all of it
    while (!buffer.empty() && (buffer.back() == '\n' || buffer.back() == '\r')) buffer.pop_back();
    return out;
}

}  // namespace ssm
