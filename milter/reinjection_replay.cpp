// The memory of delivered v=3 markers (see reinjection_replay.h).
#include "milter/reinjection_replay.h"

#include "base/log.h"

namespace ssm::milter {

void AcceptedMarkers::forget_expired(std::time_t made_before)
{
    while (!m_mac_by_made.empty() && m_mac_by_made.begin()->first < made_before) {
        m_made_by_mac.erase(m_mac_by_made.begin()->second);
        m_mac_by_made.erase(m_mac_by_made.begin());
    }
}

bool AcceptedMarkers::first_acceptance(std::string_view mac, std::time_t made, std::chrono::seconds lifetime,
                                       std::time_t now)
{
    std::lock_guard lock(m_mutex);
    // Valid while now - made <= lifetime (reinjection_marker_valid): older ones are over.
    forget_expired(static_cast<std::time_t>(now - lifetime.count()));
    std::string key(mac);
    if (m_made_by_mac.count(key) != 0) return false;
    if (m_made_by_mac.size() >= m_capacity) {
        // Still full of live markers: the oldest goes (the one nearest its end).
        log::warning("reinjection-replay-memory-full",
                     {{"capacity", std::to_string(m_capacity)},
                      {"note", "the marker nearest its end is forgotten early"}});
        m_made_by_mac.erase(m_mac_by_made.begin()->second);
        m_mac_by_made.erase(m_mac_by_made.begin());
    }
    m_made_by_mac.emplace(key, made);
    m_mac_by_made.emplace(made, std::move(key));
    return true;
}

std::size_t AcceptedMarkers::size() const
{
    std::lock_guard lock(m_mutex);
    return m_made_by_mac.size();
}

}  // namespace ssm::milter
