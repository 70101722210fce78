// A string for secrets (PINs, key material) that wipes its memory when destroyed, and the
// reader of secret files (PIN, LDAP bind password, reinjection secret: paths from the
// administrator's configuration, trusted; their content is never logged).
#pragma once
#include <cstddef>
#include <string>

namespace ssm {

void secure_wipe(void* p, std::size_t n) noexcept;
// Wipes a string's whole buffer, not only its size(): a std::string moved from while short
// keeps its characters in its inline buffer with size 0, and pop_back or resize leave bytes
// past the end. Leaves the string empty.
void secure_wipe(std::string& s) noexcept;

class SecureString;
SecureString read_secret_file(const std::string& path);

class SecureString {
public:
    SecureString() = default;
    // Takes the secret and wipes what the move leaves in `s` (a short string's inline buffer).
    explicit SecureString(std::string&& s) : m_value(std::move(s)) { secure_wipe(s); }
    SecureString(const SecureString&) = delete;
    SecureString& operator=(const SecureString&) = delete;
    SecureString(SecureString&& o) noexcept : m_value(std::move(o.m_value)) { o.clear(); }
    SecureString& operator=(SecureString&& o) noexcept;
    ~SecureString() { clear(); }

    // A second copy of the secret, itself wiped when destroyed.
    SecureString clone() const { return SecureString(std::string(m_value)); }
    const std::string& value() const { return m_value; }
    bool empty() const { return m_value.empty(); }
    void clear() noexcept { secure_wipe(m_value); }

private:
    // read_secret_file reads into m_value's own buffer, so no other copy of the secret exists.
    friend SecureString read_secret_file(const std::string& path);
    std::string m_value;
};

// The most a secret file may hold (before its line end is dropped): PINs, passwords and the
// reinjection secret are far shorter; a larger file is a wrong path (a log, a key, a device).
inline constexpr std::size_t kMaxSecretFileBytes = 4096;

// Reads a secret from a regular file of at most kMaxSecretFileBytes, dropping every CR and LF
// at its end (a line end, LF or CRLF, and blank lines after it); nothing else is trimmed.
// Throws std::runtime_error naming the file (never the content) when it cannot be read, is
// not a regular file (a directory, a FIFO: refused at once, never waited on) or is too large.

}  // namespace ssm
