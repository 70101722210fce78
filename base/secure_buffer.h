// A string for secrets (PINs, key material) that wipes its memory when destroyed.
#pragma once
#include <cstddef>
#include <string>

namespace ssm {

void secure_wipe(void* p, std::size_t n) noexcept;
// Wipes a string's whole buffer, not only its size(): a std::string moved from while short
// keeps its characters in its inline buffer with size 0, and pop_back or resize leave bytes
// past the end. Leaves the string empty.
void secure_wipe(std::string& s) noexcept;

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
    std::string m_value;
};

// Reads a secret from a file, dropping one trailing newline. Throws std::runtime_error
// naming the file (never the content) on failure.
SecureString read_secret_file(const std::string& path);

}  // namespace ssm
