// Authentication-Results (RFC 8601) with the "smime" method (RFC 7281): formatting our
// result, and recognising incoming fields that claim our authserv-id (forgeries to
// remove before we add ours). Incoming field values are untrusted.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ssm::milter {

enum class SmimeResult { None, Pass, Fail, Policy, Neutral, TempError, PermError };

const char* smime_result_name(SmimeResult r);

struct SmimeAuthResult {
    SmimeResult result = SmimeResult::None;
    std::string reason;               // reason="..." (why it failed; optional)
    std::string identifier;           // body.smime-identifier: the signer's address
    std::string part;                 // body.smime-part: which MIME part was signed ("1" = the body)
    std::string serial;               // body.smime-serial: signer certificate serial, hex
    std::string issuer;               // body.smime-issuer: signer certificate issuer DN
    // Signature, chain and key usage valid, whether or not the From address matches (a
    // mail-list agent's signature names the list, not the author: PRODUCT §4.3).
    bool validated = false;
    // For our log only (not an RFC 7281 property): "rsa-pss/sha-256"; empty when the signature
    // was not checked.
    std::string algorithm{};
};

// The field value (after "Authentication-Results:") for our authserv-id and results.
std::string format_auth_results(std::string_view authserv_id,
                                const std::vector<SmimeAuthResult>& results);

// The authserv-id of an incoming Authentication-Results value (its first token, comments
// and whitespace skipped), or nullopt when the value is malformed.
std::optional<std::string> auth_results_authserv_id(std::string_view value);

// True when the value claims to come from `ours` (compared case-insensitively, RFC 8601 §5);
// malformed values that might claim it are treated as claims too.
bool claims_authserv_id(std::string_view value, std::string_view ours);

}  // namespace ssm::milter
