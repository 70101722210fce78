// The envelopes of made copies in flight to the reinjection listener (milter/made_copies.h).
#include "milter/made_copies.h"

#include "base/ascii.h"

namespace ssm::milter {

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
    for (const auto& r : recipients) keys.emplace_back(ascii_lowercase(sender), ascii_lowercase(r));
    const std::lock_guard lock(m_mutex);
    for (const auto& key : keys) ++m_envelopes[key];
    return Ticket(this, std::move(keys));
}

bool MadeCopiesInFlight::expects(std::string_view sender, std::string_view recipient) const
{
    const Ticket::Key key{ascii_lowercase(sender), ascii_lowercase(recipient)};
    const std::lock_guard lock(m_mutex);
    return m_envelopes.count(key) != 0;
}

}  // namespace ssm::milter
