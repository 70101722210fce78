// decrypt_for_each_recipient (own_keys.h).
#include "milter/own_keys.h"

#include "milter/decryption_scope.h"

namespace ssm::milter {

std::optional<smime::cms::DecryptOutcome> decrypt_for_each_recipient(
    const Spool& der, const std::vector<std::shared_ptr<smime::Decrypter>>& all_keys,
    const std::vector<EmailAddress>& recipients, const Config& config, Spool& plain)
{
    if (recipients.size() < 2 || recipients.size() > kMaxOwnKeyRecipients) return std::nullopt;
    std::vector<std::vector<std::shared_ptr<smime::Decrypter>>> keys;
    for (const EmailAddress& r : recipients) {
        keys.push_back(keys_covering(all_keys, {r}, config));
        if (keys.back().empty()) return std::nullopt;  // no key of their own: not for us
    }
    auto reader = der.reader();
    auto d = smime::cms::decrypt_envelope_for_each(*reader, keys, plain);
    if (d.status != smime::cms::DecryptStatus::Decrypted) return std::nullopt;
    return d;
}

}  // namespace ssm::milter
