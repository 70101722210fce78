// The envelopes of made copies in flight to the reinjection listener (milter/made_copies.h).
#include "milter/made_copies.h"

#include "base/ascii.h"
#include "base/email_address.h"

namespace ssm::milter {

namespace {

// One mailbox however an envelope spells it: our hand-over writes a member's address as the
// list gives it, and the listener's MTA may hand the milter another spelling of it (Postfix
// internalises "frank"@x to frank@x, "a\ b"@x to "a b"@x, and quotes again on output). Text
// compared as written missed those, and the copy was refused at RCPT (failing closed). The
// v=3 marker decides anyway: this only says which refusals wait for it.
std::string envelope_key(std::string_view text)
{
    if (const auto address = EmailAddress::parse(text)) return address->key();
    return ascii_lowercase(text);  // the null sender, or no address we read: as written
}

}  // namespace

MadeCopiesInFlight::Ticket::~Ticket()
{
    if (!m_owner) return;
    const std::lock_guard lock(m_owner->m_mutex);
    for (const auto& key : m_keys)
        if (auto it = m_owner->m_envelopes.find(key); it != m_owner->m_envelopes.end() && --it->second == 0)
            m_owner->m_envelopes.erase(it);
}

MadeCopiesInFlight::Ticket MadeCopiesInFlight::begin(std::string_view sender, const std::vector<std::string>& recipients)
{
    std::vector<Ticket::Key> keys;
    keys.reserve(recipients.size());
    for (const auto& r : recipients) keys.emplace_back(envelope_key(sender), envelope_key(r));
    const std::lock_guard lock(m_mutex);
    for (const auto& key : keys) ++m_envelopes[key];
    return Ticket(this, std::move(keys));
}

bool MadeCopiesInFlight::expects(std::string_view sender, std::string_view recipient) const
{
    const Ticket::Key key{envelope_key(sender), envelope_key(recipient)};
    const std::lock_guard lock(m_mutex);
    return m_envelopes.count(key) != 0;
}

}  // namespace ssm::milter
