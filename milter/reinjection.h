// Splitting a message whose recipients need different treatments (PRODUCT §2.4, issue 5): a
// milter cannot split a message, and deferring the other recipients with 452 4.5.3 makes them
// wait for the client's retry timer (Postfix defaults: 5 minutes or more, measured in
// bench/results.md). With [reinjection] configured, ssm-milter instead accepts them, removes
// them from the message, and resubmits a copy of the original message for each other
// treatment to a dedicated loopback SMTP listener of the MTA that runs the milter again.
// The copy carries a marker header authenticated with a secret only the gateway knows (HMAC-
// SHA256 over the envelope), so a copy is recognised (outbound, never split again) and a
// marker sent from outside grants nothing: it is removed and the message treated normally.
// Input: the marker value is untrusted text and parsed strictly.
#pragma once
#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/stream.h"

namespace ssm::milter {

inline constexpr std::string_view kReinjectionHeader = "X-SSM-Reinjected";

struct ReinjectionSettings {
    std::string host;            // loopback listener of the MTA, e.g. 127.0.0.1
    std::uint16_t port = 0;      // 0: reinjection off (defer with 452 4.5.3)
    Bytes secret;                // HMAC key, read from secret_file (at least 16 bytes)
    std::chrono::seconds timeout{60};
    std::chrono::seconds marker_lifetime{5 * 86400};  // a copy may wait in a queue this long
    bool enabled() const { return port != 0; }
};

// The marker header value for one copy: "v=1; t=TIME; n=NONCE; mac=HEX".
// The MAC covers the time, the nonce, the envelope sender and the sorted set of recipients
// (all lower-cased), so a marker cannot be moved to another envelope.
std::string make_reinjection_marker(const ReinjectionSettings& settings, std::string_view sender,
                                    std::vector<std::string> recipients, std::time_t now);

// Whether `value` is a marker this gateway made for exactly this envelope, not expired.
// Never throws; a malformed value is simply not valid.
bool reinjection_marker_valid(const ReinjectionSettings& settings, std::string_view value,
                              std::string_view sender, std::vector<std::string> recipients,
                              std::time_t now);

// Submits one message over SMTP (libcurl) to the reinjection listener: MAIL FROM:<sender>
// (empty: the null sender), one RCPT per recipient, DATA with `message` (CRLF lines; libcurl
// dot-stuffs it). Throws ssm::Error naming the reply when the listener cannot be reached or
// answers 4xx (Failure::Temporary: the original message is deferred as a whole), or refuses
// with 5xx (Failure::PolicyViolation: final, the original is refused rather than retried
// into the same refusal forever). An address holding a control character (CR, LF: SMTP command
// injection) is refused the same way, before anything is sent.
void submit_copy(const ReinjectionSettings& settings, std::string_view sender,
                 const std::vector<std::string>& recipients, ByteSource& message);

}  // namespace ssm::milter
