// The covering rule of decryption_scope.h.
#include "milter/decryption_scope.h"

#include <algorithm>

#include "base/ascii.h"
#include "pki/certificate.h"

namespace ssm::milter {

namespace {

bool names(const std::vector<std::string>& key_addresses, const std::string& address)
{
    const std::string lower = ascii_lowercase(address);
    return std::find(key_addresses.begin(), key_addresses.end(), lower) != key_addresses.end();
}

}  // namespace

bool key_covers(const std::vector<std::string>& key_addresses, const EmailAddress& recipient, const Config& config)
{
    if (names(key_addresses, recipient.key())) return true;
    // RFC 3183: the partner's gateway encrypts to the recipient domain's confidentiality
    // authority (as our policy::key_owner does); some gateways encrypt to the certificate the
    // recipient's [[domain]] signs with.
    if (names(key_addresses, domain_confidentiality_authority(recipient.domain().str()))) return true;
    if (const auto identity = config.policy.domain_identity(recipient); identity && names(key_addresses, identity->key()))
        return true;
    if (const MailList* list = config.mail_list(recipient); list && names(key_addresses, list->identity.key()))
        return true;
    return false;
}

std::vector<std::shared_ptr<smime::Decrypter>> keys_covering(const std::vector<std::shared_ptr<smime::Decrypter>>& keys,
                                                             const std::vector<EmailAddress>& recipients,
                                                             const Config& config)
{
    std::vector<std::shared_ptr<smime::Decrypter>> out;
    if (recipients.empty()) return out;
    for (const auto& k : keys) {
        if (!k) continue;
        const auto cert = pki::Certificate::parse_der(k->certificate_der());
        if (!cert) continue;
        const std::vector<std::string> addresses = pki::facts(*cert).email_addresses;
        if (std::all_of(recipients.begin(), recipients.end(),
                        [&](const EmailAddress& r) { return key_covers(addresses, r, config); }))
            out.push_back(k);
    }
    return out;
}

}  // namespace ssm::milter
