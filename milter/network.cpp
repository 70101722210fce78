// CIDR parsing and matching for IPv4, IPv6 and IPv4-mapped IPv6 client addresses.
#include "milter/network.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ssm::milter {

std::optional<Network> Network::parse(std::string_view text)
{
    Network n;
    n.m_text = std::string(text);
    std::string addr(text);
    unsigned prefix = 0;
    bool has_prefix = false;
    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        addr = std::string(text.substr(0, slash));
        const auto p = text.substr(slash + 1);
        const auto r = std::from_chars(p.data(), p.data() + p.size(), prefix);
        if (r.ec != std::errc() || r.ptr != p.data() + p.size()) return std::nullopt;
        has_prefix = true;
    }
    if (inet_pton(AF_INET, addr.c_str(), n.m_bytes.data()) == 1) {
        n.m_family = AF_INET;
        n.m_prefix = has_prefix ? prefix : 32;
        if (n.m_prefix > 32) return std::nullopt;
    } else if (inet_pton(AF_INET6, addr.c_str(), n.m_bytes.data()) == 1) {
        n.m_family = AF_INET6;
        n.m_prefix = has_prefix ? prefix : 128;
        if (n.m_prefix > 128) return std::nullopt;
        // An IPv4 network written IPv4-mapped (::ffff:192.0.2.0/120) is that IPv4 network: the
        // MTA names an IPv4 client by its IPv4 address (Postfix does even on a dual-stack
        // socket), which an IPv6 network never contains, and mail from the hosts it names would
        // be taken for inbound, neither signed nor encrypted.
        static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (n.m_prefix >= 96 && std::memcmp(n.m_bytes.data(), kMapped, sizeof kMapped) == 0) {
            std::memmove(n.m_bytes.data(), n.m_bytes.data() + 12, 4);
            std::fill(n.m_bytes.begin() + 4, n.m_bytes.end(), std::uint8_t{0});
            n.m_family = AF_INET;
            n.m_prefix -= 96;
        }
    } else {
        return std::nullopt;
    }
    return n;
}

namespace {

bool prefix_equal(const std::uint8_t* a, const std::uint8_t* b, unsigned bits)
{
    const unsigned whole = bits / 8;
    if (std::memcmp(a, b, whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rest));
    return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

bool Network::contains(const sockaddr* addr) const
{
    if (!addr) return false;
    if (addr->sa_family == AF_INET && m_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
        return prefix_equal(reinterpret_cast<const std::uint8_t*>(&in->sin_addr), m_bytes.data(),
                            m_prefix);
    }
    if (addr->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(addr);
        const auto* b = reinterpret_cast<const std::uint8_t*>(&in6->sin6_addr);
        if (m_family == AF_INET6) return prefix_equal(b, m_bytes.data(), m_prefix);
        // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d).
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return prefix_equal(b + 12, m_bytes.data(), m_prefix);
    }
    return false;
}

std::optional<sockaddr_storage> parse_ip_address(std::string_view text)
{
    sockaddr_storage ss{};
    const std::string s(text);
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    if (inet_pton(AF_INET, s.c_str(), &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        return ss;
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET6, s.c_str(), &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        return ss;
    }
    return std::nullopt;
}

std::string ip_address_text(const sockaddr_storage& address)
{
    char text[INET6_ADDRSTRLEN] = {};
    const void* bytes = address.ss_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&address)->sin_addr)
                        : address.ss_family == AF_INET6
                            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&address)->sin6_addr)
                            : nullptr;
    if (!bytes || !inet_ntop(address.ss_family, bytes, text, sizeof text)) return {};
    return text;
}

std::string local_host_name()
{
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
    return buf;
}

}  // namespace ssm::milter
