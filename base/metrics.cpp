// Counters, a histogram and the Prometheus text format 0.0.4 (see metrics.h). Names and label
// names are ours (checked by assert); label values are escaped when rendered, whatever they are.
#include "base/metrics.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstring>
#include <utility>

namespace ssm::metrics {

namespace {

bool valid_name(std::string_view name, bool colon_allowed)
{
    if (name.empty()) return false;
    for (std::size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                            (colon_allowed && c == ':');
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

void append_uint(std::string& out, std::uint64_t v)
{
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}


// The (event, result) labels of a ReceiptEvent.
std::pair<const char*, const char*> receipt_labels(ReceiptEvent e) noexcept
{
    switch (e) {
    case ReceiptEvent::Requested: return {"requested", "ok"};
    case ReceiptEvent::ReceivedValid: return {"received", "valid"};
    case ReceiptEvent::ReceivedMismatch: return {"received", "mismatch"};
    case ReceiptEvent::ReceivedUnknown: return {"received", "unknown"};
    case ReceiptEvent::ReceivedUnverified: return {"received", "unverified"};
    case ReceiptEvent::ReceivedMalformed: return {"received", "malformed"};
    case ReceiptEvent::AnswerSent: return {"answered", "sent"};
    case ReceiptEvent::AnswerNotSent: return {"answered", "not_sent"};
    }
    return {"other", "other"};
}
}  // namespace

std::string escape_label_value(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (const char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out.push_back(c);
    }
    return out;
}

std::string escape_help(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else out.push_back(c);
    }
    return out;
}

std::string format_number(double value)
{
    if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
    if (std::isnan(value)) return "NaN";
    char buf[64];
    // Shortest form that reads back as the same double: 0.005, not 0.005000000000000000104.
    const auto r = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, r.ptr);
}

// --- Metric ----------------------------------------------------------------------------------

Metric::Metric(std::string name, std::string help) : m_name(std::move(name)), m_help(std::move(help))
{
    assert(valid_name(m_name, true));
}

void Metric::render_header(std::string& out, std::string_view type) const
{
    out += "# HELP " + m_name + " " + escape_help(m_help) + "\n";
    out += "# TYPE " + m_name + " ";
    out += type;
    out += "\n";
}

// --- CounterFamily ---------------------------------------------------------------------------

CounterFamily::CounterFamily(std::string name, std::string help, std::vector<std::string> label_names,
                             std::size_t capacity)
    : Metric(std::move(name), std::move(help)),
      m_labels(std::move(label_names)),
      m_capacity(capacity),
      m_series(std::make_unique<Series[]>(capacity + 1))
{
    assert(m_labels.size() <= kMaxLabels);
    for ([[maybe_unused]] const auto& l : m_labels) assert(valid_name(l, false) && l.rfind("__", 0) != 0);
}

bool CounterFamily::fits(Values values) const noexcept
{
    if (values.size() != m_labels.size()) return false;
    for (const std::string_view v : values)
        if (v.size() > kMaxLabelValue) return false;
    return true;
}

bool CounterFamily::matches(const Series& s, Values values) const noexcept
{
    for (std::size_t i = 0; i < values.size(); ++i)
        if (values[i].size() != s.lengths[i] ||
            std::memcmp(values[i].data(), s.values[i].data(), values[i].size()) != 0)
            return false;
    return true;
}

CounterFamily::Series* CounterFamily::find(Values values, std::size_t from, std::size_t to) const noexcept
{
    for (std::size_t i = from; i < to; ++i)
        if (matches(m_series[i], values)) return &m_series[i];
    return nullptr;
}

void CounterFamily::add(Values values, std::uint64_t n) noexcept
{
    std::array<std::string_view, kMaxLabels> others;
    others.fill("other");
    const Values overflow(others.data(), m_labels.size());
    // A wrong number of values is our bug; counting it as "other" keeps the total right.
    assert(values.size() == m_labels.size());
    if (!fits(values)) values = overflow;
    // Published series never change, so they are read without the lock (acquire pairs with
    // the release below, which follows the writing of the values).
    const std::size_t used = m_used.load(std::memory_order_acquire);
    Series* s = find(values, 0, used);
    if (!s) {
        std::lock_guard lock(m_insert);
        const std::size_t now_used = m_used.load(std::memory_order_relaxed);
        s = find(values, used, now_used);
        // Full: the rest goes to the "other" series, which always has its slot (capacity + 1).
        if (!s && now_used >= m_capacity && values.data() != overflow.data()) {
            values = overflow;
            s = find(values, 0, now_used);
        }
        if (!s) {
            s = &m_series[now_used];
            for (std::size_t i = 0; i < values.size(); ++i) {
                std::memcpy(s->values[i].data(), values[i].data(), values[i].size());
                s->lengths[i] = static_cast<std::uint8_t>(values[i].size());
            }
            m_used.store(now_used + 1, std::memory_order_release);
        }
    }
    s->count.fetch_add(n, std::memory_order_relaxed);
}

std::uint64_t CounterFamily::value(std::initializer_list<std::string_view> values) const noexcept
{
    const Values v(values.begin(), values.size());
    if (!fits(v)) return 0;
    const Series* s = find(v, 0, m_used.load(std::memory_order_acquire));
    return s ? s->count.load(std::memory_order_relaxed) : 0;
}

void CounterFamily::render(std::string& out) const
{
    render_header(out, "counter");
    const std::size_t used = m_used.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < used; ++i) {
        const Series& s = m_series[i];
        out += name();
        if (!m_labels.empty()) {
            out += "{";
            for (std::size_t l = 0; l < m_labels.size(); ++l) {
                if (l) out += ",";
                out += m_labels[l] + "=\"";
                out += escape_label_value(std::string_view(s.values[l].data(), s.lengths[l]));
                out += "\"";
            }
            out += "}";
        }
        out += " ";
        append_uint(out, s.count.load(std::memory_order_relaxed));
        out += "\n";
    }
}

// --- Histogram -------------------------------------------------------------------------------

Histogram::Histogram(std::string name, std::string help, std::vector<double> upper_bounds)
    : Metric(std::move(name), std::move(help)),
      m_bounds(std::move(upper_bounds)),
      m_buckets(std::make_unique<std::atomic<std::uint64_t>[]>(m_bounds.size() + 1))
{
    assert(std::is_sorted(m_bounds.begin(), m_bounds.end()));
    for (const double b : m_bounds) m_bounds_ns.push_back(std::llround(b * 1e9));
}

void Histogram::observe(std::chrono::nanoseconds duration) noexcept
{
    const std::int64_t ns = std::max<std::int64_t>(duration.count(), 0);
    // le is "less than or equal": a value on a bound counts in that bound's bucket.
    const auto it = std::lower_bound(m_bounds_ns.begin(), m_bounds_ns.end(), ns);
    m_buckets[static_cast<std::size_t>(it - m_bounds_ns.begin())].fetch_add(1, std::memory_order_relaxed);
    m_sum_ns.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

void Histogram::render(std::string& out) const
{
    render_header(out, "histogram");
    // _count is the sum of the buckets read here, so +Inf equals _count in every scrape even
    // while other threads observe.
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= m_bounds.size(); ++i) {
        cumulative += m_buckets[i].load(std::memory_order_relaxed);
        out += name() + "_bucket{le=\"";
        out += i < m_bounds.size() ? format_number(m_bounds[i]) : std::string("+Inf");
        out += "\"} ";
        append_uint(out, cumulative);
        out += "\n";
    }
    out += name() + "_sum " +
           format_number(static_cast<double>(m_sum_ns.load(std::memory_order_relaxed)) / 1e9) + "\n";
    out += name() + "_count ";
    append_uint(out, cumulative);
    out += "\n";
}

// --- Gauge -----------------------------------------------------------------------------------

Gauge::Gauge(std::string name, std::string help, std::int64_t value)
    : Metric(std::move(name), std::move(help)), m_value(value)
{
}

void Gauge::render(std::string& out) const
{
    render_header(out, "gauge");
    out += name() + " " + std::to_string(m_value.load(std::memory_order_relaxed)) + "\n";
}

GaugeSet::GaugeSet(std::string name, std::string help, std::vector<std::string> label_names, std::size_t capacity)
    : Metric(std::move(name), std::move(help)), m_labels(std::move(label_names)), m_capacity(capacity)
{
    for ([[maybe_unused]] const auto& l : m_labels) assert(valid_name(l, false) && l.rfind("__", 0) != 0);
}

void GaugeSet::replace(std::vector<Sample> samples)
{
    std::size_t dropped = 0;
    if (samples.size() > m_capacity) {
        dropped = samples.size() - m_capacity;
        samples.resize(m_capacity);
    }
    for (auto& s : samples) s.values.resize(m_labels.size());  // a short list renders as ""
    std::lock_guard lock(m_mutex);
    m_samples = std::move(samples);
    m_dropped = dropped;
}

std::size_t GaugeSet::dropped() const
{
    std::lock_guard lock(m_mutex);
    return m_dropped;
}

void GaugeSet::render(std::string& out) const
{
    render_header(out, "gauge");
    std::lock_guard lock(m_mutex);
    for (const auto& s : m_samples) {
        out += name();
        if (!m_labels.empty()) {
            out += "{";
            for (std::size_t l = 0; l < m_labels.size(); ++l) {
                if (l) out += ",";
                out += m_labels[l] + "=\"" + escape_label_value(s.values[l]) + "\"";
            }
            out += "}";
        }
        out += " " + format_number(s.value) + "\n";
    }
}

std::string render(std::initializer_list<const Metric*> metrics)
{
    std::string out;
    for (const Metric* m : metrics) m->render(out);
    return out;
}

// --- the product's metrics -------------------------------------------------------------------

std::vector<double> message_duration_buckets()
{
    return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Process::Process()
    : messages("ssm_messages_total",
               "Messages at their end in the milter, by direction, action and result, as in the "
               "per-message log line (result: accept, reject or tempfail).",
               {"direction", "action", "result"}, 128),
      message_duration("ssm_message_duration_seconds",
                       "Time a message spent in the milter, from MAIL FROM to its end (the ms= of "
                       "the per-message log line).",
                       message_duration_buckets()),
      hsm_operations("ssm_hsm_operations_total",
                     "Private-key operations on the token: sign, and decrypt (RSA decryption or "
                     "ECDH agreement), by result.",
                     {"operation", "result"}, 4),
      directory_cache("ssm_directory_cache_total",
                      "Certificate lookups at the directory cache: hit (a fresh entry answered), "
                      "miss (the directory was asked), stale (an expired entry stood in while the "
                      "directory failed).",
                      {"result"}, 3),
      directory_errors("ssm_directory_errors_total",
                       "Directory failures: ldap (a search that no server answered), ldap_server "
                       "(one server failed a search; another may have answered), smimea (a DNS SMIMEA "
                       "lookup that timed out, failed or was DNSSEC-bogus).",
                       {"source"}, 3),
      config_reloads("ssm_config_reloads_total",
                     "Configuration reloads (SIGHUP), by result: ok (swapped in) or error (the "
                     "previous configuration stays).",
                     {"result"}, 2),
      receipts("ssm_receipts_total",
               "Signed receipts (RFC 2634): requested (a request signed into outbound mail and "
               "kept), received (an inbound receipt: valid, mismatch, unknown, unverified or "
               "malformed) and answered (made by the gateway for a user: sent or not_sent).",
               {"event", "result"}, 8),
      certificate_expiry("ssm_certificate_expiry_timestamp_seconds",
                         "notAfter (Unix time) of each certificate on the token whose private key is "
                         "there too, by CKA_LABEL, first e-mail address and serial: alert when it "
                         "comes near.",
                         {"label", "address", "serial"}, 256),
      crl_next_update("ssm_crl_next_update_timestamp_seconds",
                      "nextUpdate (Unix time) of each CRL file of [pki] crls, by issuer and file, as "
                      "of the last start or reload: replace the file before it passes.",
                      {"issuer", "file"}, 256),
      up("ssm_up", "1 while ssm-milter serves.", 1)
{
    // Every fixed series exists from the start: a scrape shows 0, not nothing.
    for (const char* op : {"sign", "decrypt"})
        for (const char* r : {"ok", "error"}) hsm_operations.declare({op, r});
    for (const char* r : {"hit", "miss", "stale"}) directory_cache.declare({r});
    directory_errors.declare({"ldap"});
    directory_errors.declare({"ldap_server"});
    directory_errors.declare({"smimea"});
    for (const char* r : {"ok", "error"}) config_reloads.declare({r});
    for (ReceiptEvent e : {ReceiptEvent::Requested, ReceiptEvent::ReceivedValid, ReceiptEvent::ReceivedMismatch,
                           ReceiptEvent::ReceivedUnknown, ReceiptEvent::ReceivedUnverified,
                           ReceiptEvent::ReceivedMalformed, ReceiptEvent::AnswerSent, ReceiptEvent::AnswerNotSent})
        {
        const auto [event, result] = receipt_labels(e);
        receipts.declare({event, result});
    }
}

Process& process()
{
    // Built on first use (C++ makes that thread-safe) and never destroyed: a thread still
    // counting while the process exits must not meet freed memory. Reachable, so no leak report.
    static Process* const p = std::make_unique<Process>().release();
    return *p;
}

std::string render_process()
{
    const Process& p = process();
    return render({&p.up, &p.messages, &p.message_duration, &p.hsm_operations, &p.directory_cache,
                   &p.directory_errors, &p.config_reloads, &p.receipts, &p.certificate_expiry,
                   &p.crl_next_update});
}

void count_hsm_operation(HsmOperation op, bool ok) noexcept
{
    process().hsm_operations.add({op == HsmOperation::Sign ? "sign" : "decrypt", ok ? "ok" : "error"});
}

void count_directory_cache(CacheResult result) noexcept
{
    process().directory_cache.add({result == CacheResult::Hit    ? "hit"
                                   : result == CacheResult::Miss ? "miss"
                                                                 : "stale"});
}

void count_directory_error(DirectorySource source) noexcept
{
    process().directory_errors.add({source == DirectorySource::Ldap         ? "ldap"
                                    : source == DirectorySource::LdapServer ? "ldap_server"
                                                                             : "smimea"});
}

void count_config_reload(bool ok) noexcept
{
    process().config_reloads.add({ok ? "ok" : "error"});
}

void count_receipt(ReceiptEvent event) noexcept
{
    const auto [name, result] = receipt_labels(event);
    process().receipts.add({name, result});
}

void count_message(std::string_view direction, std::string_view action, std::string_view result,
                   std::chrono::nanoseconds duration) noexcept
{
    Process& p = process();
    p.messages.add({direction, action, result});
    p.message_duration.observe(duration);
}

}  // namespace ssm::metrics
