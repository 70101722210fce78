// Named and blind recipients (see blind_recipients.h). The header values are untrusted; the
// address parser skips what it cannot read, and an unread address names nobody.
#include "policy/blind_recipients.h"

#include <algorithm>

#include "base/ascii.h"
#include "base/mailbox_list.h"

namespace ssm::policy {

namespace {

bool names_recipients(std::string_view field)
{
    return iequals(field, "To") || iequals(field, "Cc") || iequals(field, "Resent-To") || iequals(field, "Resent-Cc");
}

}  // namespace

std::vector<EmailAddress> named_recipients(const std::vector<smime::mime::HeaderField>& headers)
{
    std::vector<EmailAddress> named;
    for (const auto& f : headers) {
        if (!names_recipients(f.name)) continue;
        MailboxList list = parse_mailbox_list(f.value);
        for (auto& a : list.addresses) named.push_back(std::move(a));
    }
    return named;
}

bool is_named(const std::vector<EmailAddress>& named, const EmailAddress& rcpt)
{
    return std::any_of(named.begin(), named.end(), [&](const EmailAddress& a) { return a.same_as(rcpt); });
}

bool is_blind_copy_field(std::string_view name)
{
    return iequals(name, "Bcc") || iequals(name, "Resent-Bcc");
}

std::vector<std::size_t> blind_leavers(const std::vector<EncryptedRecipient>& copy,
                                       const std::vector<EmailAddress>& named)
{
    // The certificates the copy carries for its named recipients: RecipientInfos they may see.
    std::vector<const Bytes*> shown;
    const auto is_shown = [&](const Bytes* der) {
        return std::any_of(shown.begin(), shown.end(), [&](const Bytes* s) { return *s == *der; });
    };
    for (const auto& r : copy)
        if (is_named(named, *r.address) && !is_shown(r.certificate)) shown.push_back(r.certificate);
    if (shown.empty() && !copy.empty()) shown.push_back(copy.front().certificate);
    std::vector<std::size_t> leavers;
    for (std::size_t i = 0; i < copy.size(); ++i)
        if (!is_named(named, *copy[i].address) && !is_shown(copy[i].certificate)) leavers.push_back(i);
    return leavers;
}

}  // namespace ssm::policy
