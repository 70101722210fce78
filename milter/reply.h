// SMTP replies: one table maps each failure class to the reply the MTA gets
// (PRODUCT §2.4: 550 5.7.1, 451 4.7.1, 451 4.3.0, 452 4.5.3 ...).
#pragma once
#include <string>

#include "base/error.h"

namespace ssm::milter {

enum class Verdict { Continue, Accept, Reject, TempFail };

struct Reply {
    Verdict verdict = Verdict::Continue;
    std::string rcode;  // "550"
    std::string xcode;  // "5.7.1"
    std::string text;   // human-readable reason (no CR/LF), what the SMTP client reads
    // What went wrong inside (token module and label, directory URI, file names): for our log
    // and ssmctl, never for the SMTP client, which may be anyone on the Internet.
    std::string detail;

    static Reply proceed() { return {}; }
    static Reply accept() { return {Verdict::Accept, "", "", "", ""}; }
    static Reply reject(std::string rcode, std::string xcode, std::string text)
    {
        return {Verdict::Reject, std::move(rcode), std::move(xcode), std::move(text), ""};
    }
    static Reply tempfail(std::string rcode, std::string xcode, std::string text, std::string detail = "")
    {
        return {Verdict::TempFail, std::move(rcode), std::move(xcode), std::move(text), std::move(detail)};
    }
    std::string str() const;  // "550 5.7.1 text (detail)" or "accept"/"continue"
};

// The reply for a per-message failure of class `f`. `detail` is appended to the text where it
// is about the message (malformed, too large, policy); for local outages (token, directory,
// disk) the client reads only the kind of outage and `detail` stays in Reply::detail.
Reply reply_for(Failure f, const std::string& detail);

// What went wrong behind a uniform reply, for the log only: a decryption that failed on an
// algorithm we do not implement (which reads differently from a wrong key or tampering;
// those stay uniform, RFC 3218); "" for other failures.
std::string logged_cause(const Error& e);

}  // namespace ssm::milter
