// Service-manager notifications (sd_notify(3), PRODUCT §8): tells systemd when the milter is
// ready, reloading and stopping, so a Type=notify unit's start and `systemctl reload` wait
// for the real state. Without NOTIFY_SOCKET in the environment every call does nothing.
// Input: status texts are our own log-level strings (newlines are flattened, nothing else).
#pragma once
#include <string_view>

namespace ssm::milter::service {

// READY=1 with STATUS=<status><detail>: the milter socket is open and accepting, or a reload
// ended (successfully or not: either way a configuration is in force again). Two parts so
// that callers build no string of their own (nothing that could throw on their side).
void notify_ready(std::string_view status, std::string_view detail = {}) noexcept;

// RELOADING=1 and MONOTONIC_USEC=<CLOCK_MONOTONIC now, µs>: a reload starts. systemd matches
// the timestamp against the time `systemctl reload` was issued.
void notify_reloading() noexcept;

// STOPPING=1: the milter is shutting down (SIGTERM, SIGINT, or smfi_main ended). Final: after
// it, notify_ready and notify_reloading send nothing (a reload still running when the stop
// came must not announce the service as ready again).
void notify_stopping() noexcept;

}  // namespace ssm::milter::service
