// Opening mail addressed to several of our users whose keys are their own (no one key on the
// token may open it for all of them, decryption_scope.h): each recipient's own key must open
// it, so that each was a recipient the sender encrypted to. The message is untrusted; whether
// it is opened must not depend on its plaintext (undecryptable.h).
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "base/email_address.h"
#include "base/spool.h"
#include "milter/config.h"
#include "smime/cms/decrypt.h"
#include "smime/decrypter.h"

namespace ssm::milter {

// One key operation on the token per recipient (the content is decrypted once, whatever the
// number), so the work a message can ask for is bounded by recipients, not by content size:
// 64 RSA decryptions or ECDH derivations take well under a second on a token. Above it the
// message stays encrypted for all of them (inbound logs too-many-own-key-recipients).
inline constexpr std::size_t kMaxOwnKeyRecipients = 64;

// `der` is the (Auth)EnvelopedData; `all_keys` every key on the token. Decrypted into `plain`
// when each of `recipients` (two or more, at most kMaxOwnKeyRecipients) has keys of their own
// among `all_keys`, each one's key names a RecipientInfo, and each of those unwraps the same
// content-encryption key (smime::cms::decrypt_envelope_for_each: one key operation per
// recipient, compared in constant time, then one content decryption); nullopt when a
// recipient's key is not named (no key used then) or there are too many recipients.
// `plain` gets the content (or garbage to discard when this returns nullopt or throws).
// Every recipient's key is named before any is used (else one recipient's padding failure
// would be held while its success ended "not for us", delivered encrypted: a DSN or bounce
// would tell), and once a key of ours matched, content keys that differ are a failure like a
// bad padding (DecryptionFailed), not a message for someone else: a RecipientInfo copied
// from another message unwraps another key, and so, by RFC 3218, does an invalid one.
std::optional<smime::cms::DecryptOutcome> decrypt_for_each_recipient(
    const Spool& der, const std::vector<std::shared_ptr<smime::Decrypter>>& all_keys,
    const std::vector<EmailAddress>& recipients, const Config& config, Spool& plain);

}  // namespace ssm::milter
