// sd_notify(3) wrappers for the daemon's life cycle. They never throw (callers include
// libmilter's signal thread and the reloader thread) and ignore send failures: a manager that
// does not listen must not stop the milter.
#include "milter/service_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace ssm::milter::service {

namespace {

// Once STOPPING=1 is sent, READY=1 or RELOADING=1 would tell systemd the service is up again
// (a reload that was running when SIGTERM came ends after it): both are dropped from then on.
// The lock orders a reload's READY=1 against a concurrent STOPPING=1, so none slips in between
// the check and the send.
std::mutex g_order;
bool g_stopping = false;  // guarded by g_order

// One notification; STATUS= is a single line (sd_notify separates assignments by newlines).
void send(const char* state, std::string_view status, std::string_view detail) noexcept
{
    try {
        std::string line;
        line.append(status).append(detail);
        std::replace(line.begin(), line.end(), '\n', ' ');
        const std::string message = std::string(state) + "\nSTATUS=" + line;
        // unset_environment = 0: the variable must stay for the later READY/STOPPING messages.
        (void)sd_notify(0, message.c_str());
    } catch (...) {
        // Out of memory building the text: send the state alone, a fixed string.
        (void)sd_notify(0, state);
    }
}

}  // namespace

void notify_ready(std::string_view status, std::string_view detail) noexcept
{
    try {
        std::lock_guard lock(g_order);
        if (!g_stopping) send("READY=1", status, detail);
    } catch (...) {
        // The lock failed (std::system_error): better no READY=1 than one after STOPPING=1.
    }
}

namespace {

void send_reloading() noexcept
{
    timespec now{};
    if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) {
        (void)sd_notify(0, "RELOADING=1\nSTATUS=Reloading the configuration");
        return;
    }
    const std::uint64_t usec =
        static_cast<std::uint64_t>(now.tv_sec) * 1000000u + static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
    // sd_notifyf is plain C: nothing here can throw.
    (void)sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading the configuration\nMONOTONIC_USEC=%llu",
                     static_cast<unsigned long long>(usec));
}

}  // namespace

void notify_reloading() noexcept
{
    try {
        std::lock_guard lock(g_order);
        if (!g_stopping) send_reloading();
    } catch (...) {
        // As in notify_ready: nothing rather than a reload announced after the stop.
    }
}

void notify_stopping() noexcept
{
    try {
        std::lock_guard lock(g_order);
        g_stopping = true;
    } catch (...) {
        // STOPPING=1 is sent all the same; only the ordering guarantee is lost.
    }
    (void)sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
}

}  // namespace ssm::milter::service
