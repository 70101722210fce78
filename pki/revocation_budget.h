// One message's time for online revocation checks ([pki] revocation_time_budget): each fetch
// waits at most what is left, and once it is spent the checks still to come are undecided
// (soft-fail or hard-fail as configured) instead of fetching. Without it, a certificate (or a
// chain of several) naming several stalling responders and distribution points holds a
// message for as many fetch timeouts. SECURITY: none; a deadline fixed when it is made, so one
// budget may be read by any number of threads.
#pragma once
#include <algorithm>
#include <chrono>

#include "pki/http_fetcher.h"

namespace ssm::pki {

class RevocationBudget {
public:
    using Clock = std::chrono::steady_clock;
    explicit RevocationBudget(std::chrono::milliseconds total) : m_total(total), m_deadline(Clock::now() + total) {}

    std::chrono::milliseconds total() const { return m_total; }
    std::chrono::milliseconds remaining() const
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(m_deadline - Clock::now());
        return std::max(left, std::chrono::milliseconds(0));
    }
    // Less than a useful fetch left (a connection alone takes some milliseconds).
    bool spent() const { return remaining() < std::chrono::milliseconds(50); }
    // `limits` with both timeouts cut to what is left (at least 1 ms: 0 means none to libcurl).
    FetchLimits cut(FetchLimits limits) const
    {
        const auto left = std::max(remaining(), std::chrono::milliseconds(1));
        limits.timeout = std::min(limits.timeout, left);
        limits.connect_timeout = std::min(limits.connect_timeout, left);
        return limits;
    }
    // Whether `limits` had to be cut (a fetch that then failed says nothing about its server).
    bool cuts(const FetchLimits& limits) const { return remaining() < limits.timeout; }

private:
    std::chrono::milliseconds m_total;
    Clock::time_point m_deadline;
};

}  // namespace ssm::pki
