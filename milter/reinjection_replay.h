// The v=3 markers (copies made in full, reinjection.h) this process has already delivered. A
// v=3 copy is delivered as made, no rule applied to it again; its marker binds envelope and
// body but, being a MAC, not a single use: the exact copy sent once more within the marker's
// lifetime (seen in a queue file, a log of the listener's traffic, a listener that failed
// open) would be delivered again. Each marker is remembered here from the moment the milter
// accepts its copy until its lifetime ends, and the same marker is refused afterwards. The
// lifetime is the configuration's at each call, as the marker check reads it: a reload that
// lengthens marker_lifetime makes old markers valid for longer, and their memory lasts as long.
// Per process and bounded: a restart forgets (a replay after it is one more duplicate of what
// was made for that envelope, never other content: the body is bound), and when full the
// oldest markers (nearest their end) go first. Input: MAC text of markers already verified.
#pragma once
#include <chrono>
#include <cstddef>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ssm::milter {

class AcceptedMarkers {
public:
    // 2^18 markers of ~150 bytes each: some 40 MiB at most, more made copies than a busy
    // list server hands over within a marker lifetime (five days by default).
    static constexpr std::size_t default_capacity = std::size_t{1} << 18;

    explicit AcceptedMarkers(std::size_t capacity = default_capacity) : m_capacity(capacity ? capacity : 1) {}

    // Remembers the marker whose MAC is `mac`, made at `made`, while it is valid (until made +
    // `lifetime`, the lifetime configured now); false if it is remembered already (a replay:
    // refuse the copy). Call only when the copy is being accepted.
    bool first_acceptance(std::string_view mac, std::time_t made, std::chrono::seconds lifetime, std::time_t now);

    std::size_t size() const;

private:
    void forget_expired(std::time_t made_before);  // m_mutex held

    mutable std::mutex m_mutex;
    std::size_t m_capacity;
    std::unordered_map<std::string, std::time_t> m_made_by_mac;
    std::multimap<std::time_t, std::string> m_mac_by_made;
};

}  // namespace ssm::milter
