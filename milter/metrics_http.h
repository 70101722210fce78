// The milter's side of the metrics (PRODUCT §8): the Prometheus endpoint, GET /metrics on the
// loopback address of [metrics] listen, served by libmicrohttpd's own thread; and the count of
// each message at its end, its words mapped onto a bounded set of label values.
// SECURITY: anyone on the host may connect: only the method and the path of a request are
// looked at, request bodies are never read, few connections are served at a time and slow ones
// are cut. The answer holds counts only, never an address, a queue id or message text.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "milter/config.h"
#include "milter/reply.h"

struct MHD_Daemon;

namespace ssm::milter {

class MetricsHttp {
public:
    using Render = std::function<std::string()>;  // the body of GET /metrics

    // Listens on settings.address (already checked to be loopback) and serves at once.
    // Throws std::runtime_error naming the address and libmicrohttpd's reason on failure.
    MetricsHttp(const MetricsSettings& settings, Render render);
    ~MetricsHttp();  // closes the listener and stops the thread; in-flight answers are cut
    MetricsHttp(const MetricsHttp&) = delete;
    MetricsHttp& operator=(const MetricsHttp&) = delete;

    std::uint16_t port() const;  // the bound port (a listen port of 0 picks a free one)

    struct ErrorLog;  // where libmicrohttpd's messages go (metrics_http.cpp)

private:
    struct Stop {
        void operator()(MHD_Daemon* d) const noexcept;
    };
    Render m_render;
    std::unique_ptr<ErrorLog> m_log;
    std::unique_ptr<MHD_Daemon, Stop> m_daemon;  // last: stopped before what its thread uses
};

// The action word of the per-message log line as a label value: itself when each of its
// '+'-joined parts is one we write (none, sign, encrypt, decrypt, verify, strip, tag, reject,
// tempfail, refused), else "other", so the label cannot grow without bound.
std::string_view action_label(std::string_view action) noexcept;
// The result label of a message's final reply: accept, reject or tempfail.
std::string_view result_label(Verdict verdict) noexcept;

// Counts one message in ssm_messages_total and ssm_message_duration_seconds.
void count_message(std::string_view direction, std::string_view action, Verdict verdict,
                   std::chrono::nanoseconds took) noexcept;

}  // namespace ssm::milter
