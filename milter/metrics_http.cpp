// The /metrics endpoint over libmicrohttpd and the per-message count (see metrics_http.h).
// libmicrohttpd calls us from its own thread through C callbacks: each is noexcept and turns
// any exception into a 500 answer or a closed connection, never into an unwinding into C.
#include "milter/metrics_http.h"

#include <microhttpd.h>
#include <netinet/in.h>

#include <array>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <stdexcept>

#include "base/log.h"
#include "base/metrics.h"

namespace ssm::milter {

// The last message libmicrohttpd logged (for a start-up failure's reason); each is logged.
struct MetricsHttp::ErrorLog {
    std::mutex mutex;
    std::string last;  // guarded by mutex
};

namespace {

// A Prometheus server scrapes one request at a time; a few more allow a person with curl.
constexpr unsigned kConnectionLimit = 8;
// Seconds a connection may stay idle (a slow client cannot hold a slot for long).
constexpr unsigned kConnectionTimeout = 10;

extern "C" void log_mhd(void* cls, const char* format, va_list ap) noexcept
    __attribute__((format(printf, 2, 0)));

extern "C" void log_mhd(void* cls, const char* format, va_list ap) noexcept
{
    try {
        std::array<char, 512> buf{};
        std::vsnprintf(buf.data(), buf.size(), format, ap);
        std::string text(buf.data());
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        auto* errors = static_cast<MetricsHttp::ErrorLog*>(cls);
        {
            std::lock_guard lock(errors->mutex);
            errors->last = text;
        }
        log::warning("metrics-http", {{"error", text}});
    } catch (...) {
        // Logging must not fail the server; the message is lost.
    }
}

struct ResponseDeleter {
    void operator()(MHD_Response* r) const noexcept { MHD_destroy_response(r); }
};
using Response = std::unique_ptr<MHD_Response, ResponseDeleter>;

MHD_Result respond(MHD_Connection* connection, unsigned status, const char* content_type,
                   const std::string& body, const char* allow = nullptr)
{
    Response r(MHD_create_response_from_buffer(body.size(), const_cast<char*>(body.data()),
                                               MHD_RESPMEM_MUST_COPY));
    if (!r) return MHD_NO;
    if (MHD_add_response_header(r.get(), MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES)
        return MHD_NO;
    if (allow && MHD_add_response_header(r.get(), MHD_HTTP_HEADER_ALLOW, allow) != MHD_YES)
        return MHD_NO;
    return MHD_queue_response(connection, status, r.get());
}

constexpr const char* kPlain = "text/plain; charset=utf-8";

// libmicrohttpd calls this once when a request's header has arrived and again for each piece
// of its body, if any. We answer at the first call; a body is skipped unread.
extern "C" MHD_Result on_request(void* cls, MHD_Connection* connection, const char* url,
                                 const char* method, const char*, const char*,
                                 size_t* upload_data_size, void** request_state) noexcept
{
    static int answered;  // only its address is used: marks a request already answered
    if (*request_state == &answered) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    *request_state = &answered;
    try {
        const std::string_view path = url ? url : "";
        const std::string_view verb = method ? method : "";
        if (path != "/metrics") return respond(connection, MHD_HTTP_NOT_FOUND, kPlain, "not found\n");
        if (verb != MHD_HTTP_METHOD_GET && verb != MHD_HTTP_METHOD_HEAD)
            return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, kPlain, "only GET\n", "GET, HEAD");
        const auto& render = *static_cast<const MetricsHttp::Render*>(cls);
        return respond(connection, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", render());
    } catch (const std::exception& e) {
        try {
            log::error("metrics-http", {{"error", e.what()}});
            return respond(connection, MHD_HTTP_INTERNAL_SERVER_ERROR, kPlain, "internal error\n");
        } catch (...) {
        }
    } catch (...) {
    }
    return MHD_NO;  // libmicrohttpd closes the connection
}

}  // namespace

void MetricsHttp::Stop::operator()(MHD_Daemon* d) const noexcept
{
    MHD_stop_daemon(d);
}

MetricsHttp::MetricsHttp(const MetricsSettings& settings, Render render)
    : m_render(std::move(render)), m_log(std::make_unique<ErrorLog>())
{
    const bool v6 = settings.address.ss_family == AF_INET6;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (v6) flags |= MHD_USE_IPv6;
    // MHD_OPTION_SOCK_ADDR gives the address to bind; the port argument only names it in
    // libmicrohttpd's messages. The logger goes first so that no message goes to stderr.
    const std::uint16_t port =
        ntohs(v6 ? reinterpret_cast<const sockaddr_in6*>(&settings.address)->sin6_port
                 : reinterpret_cast<const sockaddr_in*>(&settings.address)->sin_port);
    m_daemon.reset(MHD_start_daemon(
        flags, port, nullptr, nullptr, &on_request, &m_render,
        MHD_OPTION_EXTERNAL_LOGGER, static_cast<MHD_LogCallback>(&log_mhd), m_log.get(),
        MHD_OPTION_SOCK_ADDR, reinterpret_cast<const sockaddr*>(&settings.address),
        MHD_OPTION_CONNECTION_LIMIT, kConnectionLimit,
        MHD_OPTION_CONNECTION_TIMEOUT, kConnectionTimeout,
        MHD_OPTION_END));
    if (!m_daemon) {
        std::lock_guard lock(m_log->mutex);
        throw std::runtime_error("cannot serve metrics on " + settings.listen + ": " +
                                 (m_log->last.empty() ? "libmicrohttpd could not start" : m_log->last));
    }
}

MetricsHttp::~MetricsHttp() = default;

std::uint16_t MetricsHttp::port() const
{
    const MHD_DaemonInfo* info = MHD_get_daemon_info(m_daemon.get(), MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

// --- the per-message count ---------------------------------------------------------------------

std::string_view action_label(std::string_view action) noexcept
{
    static constexpr std::array<std::string_view, 15> kWords = {
        "none",  "sign",    "encrypt",  "decrypt", "verify",     "strip",   "tag",
        "reject", "tempfail", "refused", "decompress", "receipt", "verify-part", "expand", "returned"};
    if (action.empty() || action.size() > metrics::kMaxLabelValue) return "other";
    std::string_view rest = action;
    while (true) {
        const std::size_t plus = rest.find('+');
        const std::string_view word = rest.substr(0, plus);
        bool known = false;
        for (const auto w : kWords) known = known || w == word;
        if (!known) return "other";
        if (plus == std::string_view::npos) return action;
        rest.remove_prefix(plus + 1);
    }
}

std::string_view result_label(Verdict verdict) noexcept
{
    switch (verdict) {
    case Verdict::Reject: return "reject";
    case Verdict::TempFail: return "tempfail";
    case Verdict::Continue:
    case Verdict::Accept: break;
    }
    return "accept";  // at the end of the message, continuing is accepting
}

void count_message(std::string_view direction, std::string_view action, Verdict verdict,
                   std::chrono::nanoseconds took) noexcept
{
    const std::string_view dir = direction == "inbound" || direction == "outbound" ? direction : "other";
    metrics::count_message(dir, action_label(action), result_label(verdict), took);
}

}  // namespace ssm::milter
