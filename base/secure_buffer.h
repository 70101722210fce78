// A string for secrets (PINs, key material) that wipes its memory when destroyed.
#pragma once
#include <cstddef>
#include <string>

namespace ssm {

void secure_wipe(void* p, std::size_t n) noexcept;

class SecureString {
public:
    SecureString() = default;
    explicit SecureString(std::string s) : m_value(std::move(s)) {}
    SecureString(const SecureString&) = delete;
    SecureString& operator=(const SecureString&) = delete;
    SecureString(SecureString&& o) noexcept : m_value(std::move(o.m_value)) { o.clear(); }
    SecureString& operator=(SecureString&& o) noexcept;
    ~SecureString() { clear(); }

    const std::string& value() const { return m_value; }
    bool empty() const { return m_value.empty(); }
    void clear() noexcept;

private:
    std::string m_value;
};

// Reads a secret from a file, dropping one trailing newline. Throws std::runtime_error
// naming the file (never the content) on failure.
SecureString read_secret_file(const std::string& path);

}  // namespace ssm
