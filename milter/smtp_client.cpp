// SMTP client for the reinjection listener (milter/smtp_client.h): connect, replies, dot-stuffing.
// The listener is our own MTA on loopback, yet its replies are read as untrusted text.
#include "milter/smtp_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "base/ascii.h"
#include "base/error.h"

namespace ssm::milter {

namespace {

constexpr std::size_t kMaxLine = 4096;      // RFC 5321 allows 512 for a reply line
constexpr std::size_t kMaxReplyLines = 100;  // an EHLO list is a few dozen at most

struct AddrInfoDeleter {
    void operator()(addrinfo* a) const noexcept { freeaddrinfo(a); }
};

// Waits until `fd` is ready for `events`; false on timeout. EINTR waits again (the whole
// timeout: a signal storm can only lengthen a wait, never turn it into a busy loop).
bool wait_for(int fd, short events, std::chrono::milliseconds timeout)
{
    pollfd p{fd, events, 0};
    for (;;) {
        const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return false;
    }
}

}  // namespace

SmtpSession::SmtpSession(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                         std::string_view helo)
    : m_peer(host + ":" + std::to_string(port)), m_timeout(timeout)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
        throw Error(Failure::Temporary, "reinjection to " + m_peer + ": " + ::gai_strerror(rc));
    std::unique_ptr<addrinfo, AddrInfoDeleter> list(found);
    std::string why = "no address";
    for (const addrinfo* a = list.get(); a && m_socket.get() < 0; a = a->ai_next) {
        UniqueFd s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (s.get() < 0) {
            why = std::strerror(errno);
            continue;
        }
        int err = 0;
        if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            if (err == EINPROGRESS) {
                socklen_t len = sizeof err;
                err = wait_for(s.get(), POLLOUT, m_timeout) ? 0 : ETIMEDOUT;
                if (err == 0 && ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
            }
        }
        if (err == 0) m_socket = std::move(s);
        else why = std::strerror(err);
    }
    if (m_socket.get() < 0) throw Error(Failure::Temporary, "reinjection to " + m_peer + ": cannot connect: " + why);
    const SmtpReply greeting = read_reply();
    if (greeting.code != 220) fail(greeting, "greeting");
    const SmtpReply ehlo = command("EHLO " + std::string(helo));
    if (ehlo.code == 250) {
        // Keywords are the first word of each line after the first (the server's name).
        const std::string lower = ascii_lowercase(ehlo.text);
        m_size = lower.find(" / size") != std::string::npos;
        m_smtputf8 = lower.find(" / smtputf8") != std::string::npos;
    } else if (const SmtpReply h = command("HELO " + std::string(helo)); h.code != 250) {
        fail(h, "HELO");
    }
}

void SmtpSession::fail(const SmtpReply& reply, std::string_view step) const
{
    // A 5xx is final: retrying the original message would meet it again forever.
    const Failure kind = reply.code >= 500 && reply.code < 600 ? Failure::PolicyViolation : Failure::Temporary;
    const std::string what = reply.code == 0 ? reply.text : reply.text.empty() ? "(no text)" : reply.text;
    throw Error(kind, "reinjection to " + m_peer + " failed at " + std::string(step) + " (reply " +
                          std::to_string(reply.code) + "): " + what);
}

void SmtpSession::send_all(std::string_view bytes)
{
    while (!bytes.empty()) {
        if (m_socket.get() < 0) fail({0, "connection closed"}, "write");
        const ssize_t n = ::send(m_socket.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            if (!wait_for(m_socket.get(), POLLOUT, m_timeout)) fail({0, "timeout"}, "write");
        } else {
            const std::string why = std::strerror(errno);
            m_socket.reset();
            fail({0, why}, "write");
        }
    }
}

// One reply: lines "NNN-text" up to "NNN text" (or a bare "NNN"), all with the same code.
SmtpReply SmtpSession::read_reply()
{
    SmtpReply reply;
    for (std::size_t lines = 0;;) {
        std::size_t eol;
        while ((eol = m_in.find("\r\n")) == std::string::npos) {
            if (m_in.size() > kMaxLine) return {0, "reply line too long"};
            if (m_socket.get() < 0 || !wait_for(m_socket.get(), POLLIN, m_timeout))
                return {0, "timeout waiting for a reply"};
            std::array<char, 4096> buf;
            const ssize_t n = ::recv(m_socket.get(), buf.data(), buf.size(), 0);
            if (n > 0) m_in.append(buf.data(), static_cast<std::size_t>(n));
            else if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            else return {0, n == 0 ? "connection closed by the listener" : std::strerror(errno)};
        }
        const std::string line = m_in.substr(0, eol);
        m_in.erase(0, eol + 2);
        const auto malformed = [&line] {
            return SmtpReply{0, "malformed reply: " + with_unprintable_replaced(line.substr(0, 80))};
        };
        if (line.size() < 3 || ++lines > kMaxReplyLines) return malformed();
        int code = 0;
        for (std::size_t i = 0; i < 3; ++i) {
            if (line[i] < '0' || line[i] > '9') return malformed();
            code = code * 10 + (line[i] - '0');
        }
        if (code < 200 || code > 599 || (reply.code != 0 && code != reply.code) ||
            (line.size() > 3 && line[3] != '-' && line[3] != ' '))
            return malformed();
        reply.code = code;
        if (!reply.text.empty() || lines > 1) reply.text += " / ";
        if (line.size() > 4) reply.text += with_unprintable_replaced(line.substr(4));
        if (line.size() == 3 || line[3] == ' ') return reply;
    }
}

SmtpReply SmtpSession::command(const std::string& line)
{
    send_all(line + "\r\n");
    return read_reply();
}

void SmtpSession::stage(std::string_view sender, const std::vector<std::string>& recipients, ByteSource& message)
{
    std::string mail = "MAIL FROM:<" + std::string(sender) + ">";
    if (m_size) mail += " SIZE=" + std::to_string(message.size());
    // Non-ASCII addresses (RFC 6531) need SMTPUTF8 where the listener offers it.
    bool eight_bit = false;
    for (const char c : sender) eight_bit |= static_cast<unsigned char>(c) >= 0x80;
    for (const auto& r : recipients)
        for (const char c : r) eight_bit |= static_cast<unsigned char>(c) >= 0x80;
    if (eight_bit && m_smtputf8) mail += " SMTPUTF8";
    if (const SmtpReply r = command(mail); r.code != 250) fail(r, "MAIL FROM");
    for (const auto& rcpt : recipients)
        if (const SmtpReply r = command("RCPT TO:<" + rcpt + ">"); r.code != 250 && r.code != 251)
            fail(r, "RCPT TO:<" + with_unprintable_replaced(rcpt) + ">");
    if (const SmtpReply r = command("DATA"); r.code != 354) fail(r, "DATA");
    // Dot-stuffing (RFC 5321 §4.5.2): a "." that begins a line is doubled. A line begins after
    // LF, bare or in CRLF (a lone LF is a line end to many MTAs, Postfix among them).
    std::array<std::uint8_t, 65536> in;
    std::string out;
    bool line_start = true;
    char last = 0, before_last = 0;
    for (;;) {
        const std::size_t n = message.read(in);
        if (n == 0) break;
        out.clear();
        for (std::size_t i = 0; i < n; ++i) {
            const char c = static_cast<char>(in[i]);
            if (line_start && c == '.') out.push_back('.');
            out.push_back(c);
            line_start = c == '\n';
            before_last = last;
            last = c;
        }
        send_all(out);
    }
    // The final "." needs a line of its own.
    if (last != 0 && !(before_last == '\r' && last == '\n')) send_all("\r\n");
}

void SmtpSession::commit()
{
    if (const SmtpReply r = command("."); r.code != 250) {
        m_socket.reset();
        fail(r, "end of data");
    }
    // The copy is the listener's now; QUIT is a courtesy whose failure changes nothing.
    try {
        command("QUIT");
    } catch (const Error&) {
    }
    m_socket.reset();
}

}  // namespace ssm::milter
