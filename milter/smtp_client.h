// A small SMTP client for the reinjection listener (milter/reinjection.h), ours rather than
// libcurl's: libcurl runs a transaction from MAIL to the final dot in one call, so it cannot
// stop a copy just before its dot while the other copies of the same message are prepared.
// Here each session stops there (stage) and sends the dot only when told (commit); a session
// dropped before that is a transaction the server must not deliver (RFC 5321 §4.1.1.4).
// Loopback only, plain TCP, no AUTH, no TLS, no PIPELINING. Input: the listener's replies are
// untrusted text (length-limited lines, bounded count); every read and write has a timeout.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/stream.h"
#include "base/unique_fd.h"

namespace ssm::milter {

struct SmtpReply {
    int code = 0;      // 0: none (connection lost, timeout)
    std::string text;  // the reply's lines joined with " / ", without the code
};

class SmtpSession final {
public:
    // Connects to host:port (each address in turn), reads the greeting and says EHLO `helo`.
    // Throws ssm::Error: Failure::Temporary when the listener cannot be reached or answers
    // 4xx, Failure::PolicyViolation when it answers 5xx.
    SmtpSession(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout,
                std::string_view helo);
    // Destroying a session closes the connection: before commit(), the staged transaction is
    // abandoned.
    SmtpSession(SmtpSession&&) noexcept = default;
    SmtpSession& operator=(SmtpSession&&) noexcept = default;

    // MAIL FROM:<sender> (SIZE when offered), RCPT TO:<r> for each recipient, DATA, and the
    // message dot-stuffed with a final CRLF: everything but the final ".". The addresses must
    // be free of control characters (the caller checks). Throws as the constructor does, or
    // what `message` throws.
    void stage(std::string_view sender, const std::vector<std::string>& recipients, ByteSource& message);
    // Sends the final "." and expects 250: the listener has the copy. Then QUIT (its answer
    // is not needed). Throws as the constructor does.
    void commit();

private:
    void send_all(std::string_view bytes);
    SmtpReply read_reply();
    SmtpReply command(const std::string& line);
    [[noreturn]] void fail(const SmtpReply& reply, std::string_view step) const;

    // The connection's descriptor, closed by its destructor (also when the constructor
    // throws after connecting: a member's destructor runs then, the session's would not).
    UniqueFd m_socket;
    std::string m_peer;  // host:port, for messages
    std::chrono::milliseconds m_timeout;
    std::string m_in;  // bytes read and not yet taken as a reply line
    bool m_size = false;      // the listener offered SIZE
    bool m_smtputf8 = false;  // ... and SMTPUTF8
};

}  // namespace ssm::milter
