// The explanation a sender gets when the message could not be encrypted for some recipients
// (PRODUCT §2.4, rule no_certificate = "return"): a delivery status notification (RFC 3464 in
// a multipart/report, RFC 6522) from the null sender, naming each returned recipient with the
// reply it would have had at RCPT, and carrying the original message so that the author can
// send it again another way. It goes to the envelope sender through [reinjection], whose
// listener runs the milter again: the policy of the author's own address applies to it, and
// its null sender means it is never returned itself (no loop).
// Input: the original Message-ID is untrusted; only printable ASCII is copied.
#pragma once
#include <ctime>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace ssm::milter {

struct ReturnedRecipient {
    std::string recipient;  // as given in RCPT TO, without angle brackets
    std::string reply;      // "550 5.7.1 encryption required for ...": the refusal it replaces
};

struct ReturnNotice {
    std::string reporting_host;  // Reporting-MTA and the From domain ([milter] authserv_id)
    std::string to;              // the envelope sender of the original message
    std::vector<ReturnedRecipient> recipients;
    std::string original_message_id;  // raw header value ("": none)
    bool others_delivered = false;    // whether other recipients get the message
    bool eight_bit = false;           // the original holds 8-bit octets (CTE 8bit, else 7bit)
    std::string marker;               // X-SSM-Reinjected value for its envelope ("": none)
    std::time_t arrival = 0;
};

// The notice as it goes out, split where the original message is inserted: `head` is the
// header block, the human-readable part, the message/delivery-status part and the header of
// the message/rfc822 part; `tail` closes the report. `unique` (random hex) makes the boundary,
// which then cannot occur in the original, and the Message-ID.
struct ReturnNoticeText {
    Bytes head;
    Bytes tail;
};
ReturnNoticeText make_return_notice(const ReturnNotice& n, const std::string& unique, std::time_t now);

}  // namespace ssm::milter
