// Mail encrypted to one of our keys that could not be decrypted, or whose decrypted content
// could not be processed. CBC content (what most mail clients send) is malleable: whoever holds
// a ciphertext for one of our users can send it again with blocks changed, and if the SMTP
// reply told a padding error from content that decrypted (and was then delivered, or refused
// as malformed, too large, unsigned, wrongly labelled ...), some 128 messages per byte would
// recover the plaintext (Vaudenay's padding oracle; the same for any reply that depends on
// the plaintext: a format oracle). So once a RecipientInfo named one of our keys, every such
// failure ends in one outcome, [inbound] on_undecryptable: accepted like any message and held
// by the MTA ("hold", the default), delivered as received — still encrypted — with an
// X-SSM-Undecryptable field ("deliver"), or refused with 554 5.7.5 ("reject": an oracle for
// CBC content, for sites that accept it). Token outages stay temporary failures: they do not
// depend on the plaintext. The header fields are untrusted; the log detail is kept.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "milter/config.h"
#include "milter/message_processor.h"
#include "smime/mime/header.h"
#include "smime/sign.h"

namespace ssm::milter {

inline constexpr std::string_view kUndecryptableField = "X-SSM-Undecryptable";

// The reason given to the MTA with a hold (Postfix logs it and shows it in the hold queue).
inline constexpr const char* kHoldReason =
    "ssm-milter: encrypted to a key of this gateway, could not be decrypted or processed";

// Whether `failed`, the outcome of a message encrypted to one of our keys, is one the SMTP
// client must not see: anything but an acceptance, except a token outage (`failure`, when the
// outcome came from an exception), which is the same whatever the ciphertext holds.
bool hides_undecryptable(const MessageOutcome& failed, std::optional<Failure> failure);

// The outcome that replaces `failed` (its log detail kept) as [inbound] on_undecryptable says;
// `received` is the header as it arrived.
MessageOutcome undecryptable_outcome(const Config& config, const std::vector<smime::mime::HeaderField>& received,
                                     MessageOutcome failed);

// Adds to `edit` the removal of every X-SSM-Undecryptable field in `received`: only the
// gateway sets it, and administrators filter on it.
void remove_undecryptable_marks(smime::HeaderEdit& edit, const std::vector<smime::mime::HeaderField>& received);

}  // namespace ssm::milter
