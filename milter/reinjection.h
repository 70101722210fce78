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

// Who handed the original message to the MTA: the copy comes back from the loopback listener
// without SMTP AUTH and from another client address, yet rules with authenticated,
// authenticated_as or client conditions must plan it as they planned the original (a blind
// copy planned for the listener could leave in clear what the rules encrypt).
struct ReinjectedOrigin {
    std::string auth_user;  // {auth_authen}; empty: none
    std::string client;     // client address as text (ip_address_text); empty: unknown
    bool empty() const { return auth_user.empty() && client.empty(); }
};

// The marker header value for one copy: "v=1; t=TIME; n=NONCE; mac=HEX", or with an origin
// "v=2; t=TIME; n=NONCE; a=HEX; c=HEX; mac=HEX" (a, c: the origin's fields in hexadecimal,
// "-" when empty). The MAC covers the time, the nonce, the origin, the envelope sender and the
// sorted set of recipients (all lower-cased), so a marker cannot be moved to another envelope
// and its origin cannot be changed.
std::string make_reinjection_marker(const ReinjectionSettings& settings, std::string_view sender,
                                    std::vector<std::string> recipients, std::time_t now,
                                    const ReinjectedOrigin& origin = {});

// The marker of a message the gateway already made in full (a mail list's copy for members
// whose envelope differs, milter/mail_list.h): "v=3; t=TIME; n=NONCE; b=HEX; mac=HEX", its MAC
// over the same envelope fields as v=1 under another label, so no v=1 or v=2 marker can pass
// for one, and over b, `body_digest` (as_made_body_digest of the copy's body). Such a copy is
// delivered as it comes back, no rule applied to it again, and only if its body is still the
// one b names: without that, a marker seen once (a listener that failed open, a queue file, a
// log of the listener's traffic) would carry any other content for the same envelope past
// every rule for the marker's lifetime.
std::string make_as_made_marker(const ReinjectionSettings& settings, std::string_view sender,
                                std::vector<std::string> recipients, std::time_t now,
                                std::string_view body_digest);

// What a v=3 marker binds of a body: SHA-256 in hexadecimal over its bytes without the CR and
// LF at its very end (the SMTP client ends an unterminated last line with CRLF on the way).
// Reads `body` from its first byte.
std::string as_made_body_digest(ByteSource& body);

// One valid marker, for the memory of delivered copies (reinjection_replay.h): its MAC and
// the time it was made (its t= value), from which the configured lifetime counts.
struct MarkerIdentity {
    std::string mac;
    std::time_t made = 0;
};

// Whether `value` is a marker this gateway made for exactly this envelope, not expired; if so
// and `origin` is given, the origin it carries (empty for a v=1 or v=3 marker), and if
// `as_made` is given, whether it is a v=3 marker (make_as_made_marker), and if
// `made_body_digest` is given, the body digest a v=3 marker binds (empty for v=1 and v=2):
// the caller must hold the body it is delivering against it; if `identity` is given, the
// marker's MAC and the time it was made. Never throws; a malformed value is simply not
// valid.
bool reinjection_marker_valid(const ReinjectionSettings& settings, std::string_view value,
                              std::string_view sender, std::vector<std::string> recipients,
                              std::time_t now, ReinjectedOrigin* origin = nullptr, bool* as_made = nullptr,
                              std::string* made_body_digest = nullptr, MarkerIdentity* identity = nullptr);

// One message for the reinjection listener: its envelope and its bytes (CRLF lines).
struct Submission {
    std::string sender;  // empty: the null sender
    std::vector<std::string> recipients;
    ByteSource* message = nullptr;
};

// Hands several messages to the reinjection listener as nearly all or nothing as SMTP allows
// (milter/smtp_client.h): one session per message, each taken through MAIL, RCPT, DATA and
// its data; only when every one has come that far without error are the final dots sent, one
// after the other. A failure before that drops every session before its dot, so the listener
// delivers none of them. Only a failure between two final dots leaves some delivered: they
// are logged (reinjection-partial, naming the copies that went out) and, as the original is
// then deferred and retried, delivered again later (at least once, never lost).
// Throws ssm::Error naming the reply when the listener cannot be reached or answers 4xx
// (Failure::Temporary: the original message is deferred as a whole), or refuses with 5xx
// (Failure::PolicyViolation: final, the original is refused rather than retried into the same
// refusal forever). An address holding a control character (CR, LF: SMTP command injection)
// is refused the same way, before anything is sent.
// At most kMaxOpenCopySessions sessions are open at once: more copies go in batches of that
// many (each batch all or nothing; a failure in a later batch leaves the earlier batches
// delivered, logged as above), so one message never needs more of the listener's processes.
// `failed`, when given, is set to the index of the submission whose session failed (left
// alone when the failure is not one submission's, e.g. a refused address before any session).
inline constexpr std::size_t kMaxOpenCopySessions = 10;
inline constexpr std::size_t kNoSubmission = static_cast<std::size_t>(-1);
void submit_all(const ReinjectionSettings& settings, const std::vector<Submission>& submissions,
                std::size_t* failed = nullptr);

// submit_all for one message.
void submit_copy(const ReinjectionSettings& settings, std::string_view sender,
                 const std::vector<std::string>& recipients, ByteSource& message);

}  // namespace ssm::milter
