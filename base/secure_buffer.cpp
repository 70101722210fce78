// Wiping secrets and reading them from files.
#include "base/secure_buffer.h"

#include <fstream>
#include <iterator>
#include <stdexcept>

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

SecureString read_secret_file(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read secret file " + path);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    SecureString out(std::move(s));
    return out;
}

}  // namespace ssm
