// Named and blind recipients (see blind_recipients.h). The header values are untrusted; the
// address parser skips what it cannot read, and an unread address names nobody.
#include "policy/blind_recipients.h"

#include <algorithm>

#include "base/ascii.h"
#include "base/mailbox_list.h"

namespace ssm::policy {

namespace {

bool is_resent_field(std::string_view name)
{
    return name.size() > 7 && iequals(name.substr(0, 7), "Resent-");
}

}  // namespace

std::vector<EmailAddress> named_recipients(const std::vector<smime::mime::HeaderField>& headers)
{
    // RFC 5322 §3.6.6: each resending prepends a block of Resent- fields; the recipients of
    // this transmission are its Resent-To and Resent-Cc. The To and Cc of the original (and
    // the Resent-To of earlier resendings) name who got the message then: a recipient they
    // name but the latest block does not is blind now, and its RecipientInfo would show the
    // new readers that it got this copy too.
    const auto first_resent = std::find_if(headers.begin(), headers.end(),
                                           [](const auto& f) { return is_resent_field(f.name); });
    const auto block_end = std::find_if(first_resent, headers.end(),
                                        [](const auto& f) { return !is_resent_field(f.name); });
    const bool resent = first_resent != headers.end();
    std::vector<EmailAddress> named;
    for (auto f = resent ? first_resent : headers.begin(); f != (resent ? block_end : headers.end()); ++f) {
        const bool names = resent ? iequals(f->name, "Resent-To") || iequals(f->name, "Resent-Cc")
                                  : iequals(f->name, "To") || iequals(f->name, "Cc");
        if (!names) continue;
        MailboxList list = parse_mailbox_list(f->value);
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

std::vector<smime::HeaderEdit::Removal> blind_copy_field_removals(const std::vector<smime::mime::HeaderField>& headers)
{
    std::vector<smime::HeaderEdit::Removal> removals;
    for (auto f = headers.begin(); f != headers.end(); ++f) {
        if (!is_blind_copy_field(f->name)) continue;
        const auto earlier = std::count_if(headers.begin(), f, [&](const auto& g) { return iequals(g.name, f->name); });
        removals.push_back({f->name, static_cast<int>(earlier) + 1});
    }
    return removals;
}

std::vector<std::size_t> blind_leavers(const std::vector<EncryptedRecipient>& copy,
                                       const std::vector<EmailAddress>& named, const Bytes* archive)
{
    // The certificates the copy carries for its named recipients: RecipientInfos they may see.
    std::vector<const Bytes*> shown;
    const auto is_shown = [&](const Bytes* der) {
        return std::any_of(shown.begin(), shown.end(), [&](const Bytes* s) { return *s == *der; });
    };
    for (const auto& r : copy)
        if (is_named(named, *r.address) && !is_shown(r.certificate)) shown.push_back(r.certificate);
    if (shown.empty() && !copy.empty()) shown.push_back(copy.front().certificate);
    // The archive's RecipientInfo is in every message: a blind recipient with that very
    // certificate adds none (encryption_parameters writes one per certificate).
    if (archive) shown.push_back(archive);
    std::vector<std::size_t> leavers;
    for (std::size_t i = 0; i < copy.size(); ++i)
        if (!is_named(named, *copy[i].address) && !is_shown(copy[i].certificate)) leavers.push_back(i);
    return leavers;
}

}  // namespace ssm::policy
