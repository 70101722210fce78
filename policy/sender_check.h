// Whether the header fields name the envelope sender as the one who sent the message
// ([outbound] from_must_match_sender): the link between MAIL FROM, which the MTA ties to the
// SMTP login (Postfix smtpd_sender_login_maps), and the From field, which a signature vouches
// for. From, Sender and MAIL FROM are untrusted client input.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/email_address.h"
#include "smime/mime/header.h"

namespace ssm::policy {

struct SenderCheck {
    // False: the header fields name as the sender someone the envelope sender was not shown
    // to be, or cannot be read; `reason` says which, in words for the SMTP client and the log.
    bool matches = false;
    std::string reason;
    // The one address a person's key may sign for: the envelope sender, once the header
    // fields name it as the sender. nullopt: no person's key (null envelope sender, mismatch).
    std::optional<EmailAddress> proven;
};

// RFC 5322 §3.6.2: the From field's mailbox is the sender; when From holds several mailboxes
// the Sender field names the one who sent the message and must be present. That mailbox must
// be the envelope sender (`envelope_sender`: MAIL FROM without angle brackets, "" for the null
// sender), compared as EmailAddress::same_as does. A message without From is judged by its
// envelope sender (it is what a signature would name); a null envelope sender (a bounce) is
// never a mismatch, and proves no one.
SenderCheck check_sender(const std::vector<smime::mime::HeaderField>& headers, std::string_view envelope_sender);

}  // namespace ssm::policy
