// Client network matching for direction detection (internal_networks). Networks come
// from configuration; addresses from the MTA's connect callback.
#pragma once
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ssm::milter {

class Network {
public:
    // "192.0.2.0/24", "2001:db8::/32", or a single address.
    static std::optional<Network> parse(std::string_view text);
    bool contains(const sockaddr* addr) const;
    const std::string& text() const { return m_text; }

private:
    int m_family = 0;
    std::array<std::uint8_t, 16> m_bytes{};
    unsigned m_prefix = 0;
    std::string m_text;
};

// This host's name (gethostname), "localhost" when it cannot be read: the authserv-id when
// none is configured, and the domain of a bare <postmaster> when no [[domain]] is.
std::string local_host_name();

// Parses an address written as text (as ssmctl gets it) into a sockaddr_storage.
std::optional<sockaddr_storage> parse_ip_address(std::string_view text);

// The address as text (inet_ntop), parse_ip_address's inverse; empty for another family.
std::string ip_address_text(const sockaddr_storage& address);

}  // namespace ssm::milter
