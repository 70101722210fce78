// Connecting to our own milter socket after a stop signal (listener_wake.h says why).
#include "milter/listener_wake.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>

#include "base/log.h"

namespace ssm::milter {
namespace {

struct Endpoint {
    bool unix_socket = false;
    std::string path;  // unix
    std::string host;  // inet: numeric or a name; loopback when the spec names none or any
    std::string port;  // inet: a number or a service name (libmilter takes both)
    int family = AF_UNSPEC;
};

// Where to connect, resolved once by remember_listener(): the stop path makes only socket
// and connect calls, never a name lookup (a DNS or NSS call that could hang, or an
// /etc/services the process can no longer read).
struct WakeTarget {
    sockaddr_storage address{};
    socklen_t length = 0;
};

// Written once by remember_listener() before smfi_main starts the signal thread; read-only
// afterwards (the thread start orders the write before every read).
std::optional<WakeTarget> g_target;

// libmilter's spec (smfi_setconn(3)): "{unix|local}:/path", "inet:port@host", "inet6:port@host";
// a bare path is a unix socket. The host may be omitted or a wildcard, which the listener binds
// to every address: we reach it through loopback.
bool parse_endpoint(const std::string& spec, Endpoint& e)
{
    const auto colon = spec.find(':');
    const std::string kind = colon == std::string::npos ? "unix" : spec.substr(0, colon);
    const std::string rest = colon == std::string::npos ? spec : spec.substr(colon + 1);
    if (kind == "unix" || kind == "local") {
        e.unix_socket = true;
        e.path = rest;
        return !rest.empty() && rest.size() < sizeof(sockaddr_un{}.sun_path);
    }
    if (kind != "inet" && kind != "inet6") return false;
    e.family = kind == "inet" ? AF_INET : AF_INET6;
    const auto at = rest.find('@');
    e.port = rest.substr(0, at);
    e.host = at == std::string::npos ? std::string() : rest.substr(at + 1);
    if (e.host.empty() || e.host == "0.0.0.0" || e.host == "INADDR_ANY" || e.host == "::" ||
        e.host == "[::]")
        e.host = e.family == AF_INET ? "127.0.0.1" : "::1";
    if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']')
        e.host = e.host.substr(1, e.host.size() - 2);
    return !e.port.empty();
}

// The address the listener of `e` accepts on. A port may be a service name, as libmilter
// resolves it with getservbyname(port, "tcp") (smfi_setconn(3)): getaddrinfo without
// AI_NUMERICSERV reads the same /etc/services "tcp" entry for a SOCK_STREAM hint.
std::optional<WakeTarget> resolve(const Endpoint& e)
{
    WakeTarget t;
    if (e.unix_socket) {
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, e.path.data(), e.path.size());
        std::memcpy(&t.address, &addr, sizeof addr);
        t.length = sizeof addr;
        return t;
    }
    addrinfo hints{};
    hints.ai_family = e.family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &found) != 0 || !found) return std::nullopt;
    const std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(found, &freeaddrinfo);
    if (found->ai_addrlen > sizeof t.address) return std::nullopt;
    std::memcpy(&t.address, found->ai_addr, found->ai_addrlen);
    t.length = found->ai_addrlen;
    return t;
}

// One connection, closed at once; failures do not matter (the listener may be gone already).
void connect_once(const WakeTarget& t)
{
    const int fd = socket(t.address.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&t.address), t.length);
    close(fd);
}

}  // namespace

void remember_listener(const std::string& socket_spec)
{
    Endpoint e;
    g_target = parse_endpoint(socket_spec, e) ? resolve(e) : std::nullopt;
    if (!g_target)
        log::warning("listener_wake",
                     {{"socket", socket_spec},
                      {"result", "unresolved; a stop waits for libmilter's 5 s listener poll"}});
}

void wake_listener_soon() noexcept
{
    try {
        if (!g_target) return;
        // Detached: the process ends while it sleeps or connects, which is the point. It
        // touches only its own copy of the address and system calls.
        std::thread([t = *g_target] {
            for (int i = 0; i < 100; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                connect_once(t);
            }
        }).detach();
    } catch (...) {
        // No thread: libmilter's poll timeout stops the listener, only later.
    }
}

}  // namespace ssm::milter
