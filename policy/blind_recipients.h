// Which envelope recipients the message itself names (RFC 5322 §3.6.3 To and Cc, §3.6.6
// Resent-To and Resent-Cc) and which are blind copies: a blind recipient whose certificate
// would add a RecipientInfo to the shared encryption is revealed to every other recipient
// (RFC 9787 §5), so it leaves in a copy of its own. Header values are untrusted client input;
// what cannot be read names nobody, so a recipient hidden in a malformed field counts as blind
// (the safe side: one copy more, never one RecipientInfo too many).
#pragma once
#include <cstddef>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/email_address.h"
#include "smime/mime/header.h"
#include "smime/sign.h"

namespace ssm::policy {

// The addresses of every To and Cc field, groups giving their members; in a resent message
// (Resent- fields) those of the Resent-To and Resent-Cc fields of the latest resending only
// (the topmost run of Resent- fields). Never Bcc, Reply-To, From or anything else.
std::vector<EmailAddress> named_recipients(const std::vector<smime::mime::HeaderField>& headers);

// Whether `rcpt` is one of `named` (EmailAddress::same_as: domain and local part without case).
bool is_named(const std::vector<EmailAddress>& named, const EmailAddress& rcpt);

// Bcc and Resent-Bcc: never part of a message the gateway signs or encrypts (RFC 5322 §3.6.3).
bool is_blind_copy_field(std::string_view name);
// The removal of every such field of `headers`, each by its index among the fields of its name
// (smfi_chgheader counts so).
std::vector<smime::HeaderEdit::Removal> blind_copy_field_removals(const std::vector<smime::mime::HeaderField>& headers);

// One recipient of an encrypted treatment, as the partition below sees it.
struct EncryptedRecipient {
    const EmailAddress* address;
    const Bytes* certificate;  // the DER it is encrypted to
};

// Of the recipients of one encrypted copy, the indexes of those that must leave it: blind
// recipients whose certificate none of the named recipients of the copy uses (the same domain
// certificate reveals nothing new). With no named recipient in the copy the first recipient's
// certificate stays (someone must), with every blind recipient sharing it. `archive`, the
// certificate every encrypted message carries, if any, is shown too.
std::vector<std::size_t> blind_leavers(const std::vector<EncryptedRecipient>& copy,
                                       const std::vector<EmailAddress>& named, const Bytes* archive = nullptr);

}  // namespace ssm::policy
