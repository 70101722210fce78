// The owner of one file descriptor (a file, a socket, an eventfd): closed when the owner goes,
// on every path. Move-only, so a descriptor is closed exactly once.
// Input: descriptors our own code opened; nothing from outside the process.
#pragma once
#include <unistd.h>

#include <utility>

namespace ssm {

class UniqueFd {
public:
    UniqueFd() noexcept = default;
    // Takes `fd` (a negative one: owns nothing, as open(2)'s failure).
    explicit UniqueFd(int fd) noexcept : m_fd(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : m_fd(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const noexcept { return m_fd; }
    explicit operator bool() const noexcept { return m_fd >= 0; }
    // Gives the descriptor up without closing it.
    int release() noexcept { return std::exchange(m_fd, -1); }
    // Closes the descriptor held (if any) and takes `fd`. close(2)'s error is not reported: the
    // descriptor is gone whatever it says (Linux), and the callers' writes were checked already.
    void reset(int fd = -1) noexcept
    {
        if (m_fd >= 0 && m_fd != fd) ::close(m_fd);
        m_fd = fd;
    }

private:
    int m_fd = -1;
};

}  // namespace ssm
