// See repeat_filter.h.
#include "base/repeat_filter.h"

namespace ssm {

bool RepeatFilter::should_log(const std::string& key, std::chrono::steady_clock::time_point now)
{
    if (key.empty()) return true;
    const std::lock_guard<std::mutex> lock(m_mutex);
    const bool expires = m_interval.count() > 0;
    if (auto it = m_logged.find(key); it != m_logged.end()) {
        if (!expires || now - it->second < m_interval) return false;
        it->second = now;
        return true;
    }
    if (m_logged.size() >= m_max_keys && expires)
        for (auto it = m_logged.begin(); it != m_logged.end();)
            it = now - it->second >= m_interval ? m_logged.erase(it) : std::next(it);
    if (m_logged.size() < m_max_keys) m_logged.emplace(key, now);
    return true;
}

}  // namespace ssm
