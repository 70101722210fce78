// The memory of delivered v=3 markers (see reinjection_replay.h).
#include "milter/reinjection_replay.h"

#include "base/log.h"

namespace ssm::milter {

void AcceptedMarkers::forget_expired(std::time_t now)
{
    while (!m_mac_by_expiry.empty() && m_mac_by_expiry.begin()->first < now) {
        m_expiry_by_mac.erase(m_mac_by_expiry.begin()->second);
        m_mac_by_expiry.erase(m_mac_by_expiry.begin());
    }
}

bool AcceptedMarkers::first_acceptance(std::string_view mac, std::time_t expires, std::time_t now)
{
    std::lock_guard lock(m_mutex);
    forget_expired(now);
    std::string key(mac);
    if (m_expiry_by_mac.count(key) != 0) return false;
    if (m_expiry_by_mac.size() >= m_capacity) {
        // Still full of live markers: the one nearest its end goes (its copy is the oldest).
        log::warning("reinjection-replay-memory-full",
                     {{"capacity", std::to_string(m_capacity)},
                      {"note", "the marker nearest its end is forgotten early"}});
        m_expiry_by_mac.erase(m_mac_by_expiry.begin()->second);
        m_mac_by_expiry.erase(m_mac_by_expiry.begin());
    }
    m_expiry_by_mac.emplace(key, expires);
    m_mac_by_expiry.emplace(expires, std::move(key));
    return true;
}

std::size_t AcceptedMarkers::size() const
{
    std::lock_guard lock(m_mutex);
    return m_expiry_by_mac.size();
}

}  // namespace ssm::milter
