// decrypt_for_each_recipient (own_keys.h).
#include "milter/own_keys.h"

#include "milter/decryption_scope.h"
#include "smime/cms/digest.h"

namespace ssm::milter {

std::optional<smime::cms::DecryptOutcome> decrypt_for_each_recipient(
    const Spool& der, const std::vector<std::shared_ptr<smime::Decrypter>>& all_keys,
    const std::vector<EmailAddress>& recipients, const Config& config, Spool& plain)
{
    if (recipients.size() < 2 || recipients.size() > kMaxOwnKeyRecipients) return std::nullopt;
    std::vector<std::vector<std::shared_ptr<smime::Decrypter>>> keys;
    for (const EmailAddress& r : recipients) {
        keys.push_back(keys_covering(all_keys, {r}, config));
        auto reader = der.reader();
        if (keys.back().empty() || !smime::cms::matching_key(*reader, keys.back())) return std::nullopt;
    }
    std::optional<smime::cms::DecryptOutcome> first;
    Bytes first_digest;
    for (const auto& own : keys) {
        auto reader = der.reader();
        smime::cms::Hasher digest(smime::DigestAlgorithm::Sha256);
        if (!first) {
            first = smime::cms::decrypt_envelope(*reader, own, plain);
            if (first->status != smime::cms::DecryptStatus::Decrypted) return std::nullopt;
            auto content = plain.reader();
            copy_stream(*content, digest);
            first_digest = digest.finish();
            continue;
        }
        const auto d = smime::cms::decrypt_envelope(*reader, own, digest);
        if (d.status != smime::cms::DecryptStatus::Decrypted || digest.finish() != first_digest)
            throw smime::cms::DecryptionFailed("the recipients' own keys open different contents");
    }
    return first;
}

}  // namespace ssm::milter
