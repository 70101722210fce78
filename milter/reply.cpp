// The failure-class -> SMTP reply table.
#include "milter/reply.h"

#include "smime/cms/decrypt.h"

namespace ssm::milter {

std::string Reply::str() const
{
    switch (verdict) {
    case Verdict::Continue: return "continue";
    case Verdict::Accept: return "accept";
    default: break;
    }
    return rcode + " " + xcode + " " + text + (detail.empty() ? "" : " (" + detail + ")");
}

Reply reply_for(Failure f, const std::string& detail)
{
    // Replies never carry CR or LF from detail text (it may quote input).
    std::string clean;
    for (char c : detail) clean.push_back((c == '\r' || c == '\n') ? ' ' : c);
    switch (f) {
    case Failure::HsmUnavailable:
        // Signing outbound, decrypting inbound: the same token outage either way.
        return Reply::tempfail("451", "4.3.0", "HSM key temporarily unavailable", clean);
    case Failure::DirectoryUnavailable:
        return Reply::tempfail("451", "4.7.1", "certificate directory unavailable", clean);
    case Failure::MalformedMessage:
        return Reply::reject("554", "5.6.0", "malformed message: " + clean);
    case Failure::MessageTooLarge:
        return Reply::reject("552", "5.3.4", "message exceeds a size limit: " + clean);
    case Failure::PolicyViolation:
        return Reply::reject("550", "5.7.1", clean);
    case Failure::CryptographicFailure:
        // The same words for every cause (padding, wrong key, tag, tampering): no oracle.
        return Reply::reject("554", "5.7.5", "the message could not be decrypted");
    case Failure::Temporary:
        return Reply::tempfail("451", "4.3.0", "temporary local problem", clean);
    case Failure::Internal:
        return Reply::tempfail("451", "4.3.0", "internal error, try again later");
    }
    return Reply::tempfail("451", "4.3.0", "internal error, try again later");
}

std::string logged_cause(const Error& e)
{
    if (const auto* d = dynamic_cast<const smime::cms::DecryptionFailed*>(&e)) return d->public_cause();
    return "";
}

}  // namespace ssm::milter
