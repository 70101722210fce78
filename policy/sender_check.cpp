// From/Sender against MAIL FROM (RFC 5322 §3.6.2). The header values and the envelope sender
// are untrusted; what is quoted back in a reason is a parsed address, printable ASCII only.
#include "policy/sender_check.h"

#include "base/ascii.h"
#include "base/mailbox_list.h"

namespace ssm::policy {

namespace {

// An address as the reason quotes it: the SMTP reply is 7-bit text, so other octets of an
// internationalised local part are shown as '?'.
std::string quoted(const EmailAddress& a)
{
    return "<" + with_unprintable_replaced(a.str()) + ">";
}

SenderCheck mismatch(std::string reason)
{
    SenderCheck c;
    c.reason = std::move(reason);
    return c;
}

SenderCheck match(const EmailAddress& envelope)
{
    SenderCheck c;
    c.matches = true;
    c.proven = envelope;
    return c;
}

}  // namespace

SenderCheck check_sender(const std::vector<smime::mime::HeaderField>& headers, std::string_view envelope_sender)
{
    // A bounce or other notice from the MTA: it must not be lost, and it proves no one.
    if (envelope_sender.empty()) {
        SenderCheck c;
        c.matches = true;
        return c;
    }
    const auto envelope = EmailAddress::parse(envelope_sender);
    if (!envelope) return mismatch("envelope sender is not an address");
    const auto froms = smime::mime::fields_named(headers, "From");
    // RFC 5322 §3.6 allows one From field; with two, a reader may show the one not checked.
    if (froms.size() > 1) return mismatch("more than one From header");
    if (froms.empty()) return match(*envelope);  // what a signature would name (the author)
    const MailboxList authors = parse_mailbox_list(froms.front()->value);
    if (authors.unparsable > 0 || authors.addresses.empty())
        return mismatch("From header does not parse as a mailbox list");
    if (authors.addresses.size() == 1) {
        const EmailAddress& from = authors.addresses.front();
        if (!from.same_as(*envelope))
            return mismatch("From header " + quoted(from) + " does not match envelope sender " + quoted(*envelope));
        return match(*envelope);
    }
    // Several authors: the Sender field names the one who sent it (RFC 5322 §3.6.2 "MUST").
    const auto senders = smime::mime::fields_named(headers, "Sender");
    if (senders.empty()) return mismatch("From header holds several mailboxes and there is no Sender header");
    if (senders.size() > 1) return mismatch("more than one Sender header");
    const MailboxList sender = parse_mailbox_list(senders.front()->value);
    if (sender.unparsable > 0 || sender.addresses.size() != 1)
        return mismatch("Sender header does not parse as one mailbox");
    if (!sender.addresses.front().same_as(*envelope))
        return mismatch("Sender header " + quoted(sender.addresses.front()) + " does not match envelope sender " +
                        quoted(*envelope));
    return match(*envelope);
}

}  // namespace ssm::policy
