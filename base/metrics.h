// Process-wide metrics (PRODUCT §8), counted by every layer and rendered in the Prometheus text
// exposition format 0.0.4 for milter/metrics_http. prometheus-cpp is not in Debian 12, and the
// format is a few lines of text, so it is written here. Label values come from our own code,
// never from mail: the product's families take enums, and the one family with free words
// (messages, fed by the milter) keeps a fixed number of series, so a label cannot grow without
// bound. Counting is a scan of the series already seen and one atomic add: no lock, no
// allocation; only the first use of a new label combination takes a lock.
#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ssm::metrics {

inline constexpr std::size_t kMaxLabels = 3;
inline constexpr std::size_t kMaxLabelValue = 32;  // longer values count as "other"

// One metric family: renders its # HELP / # TYPE lines and its samples.
class Metric {
public:
    Metric(std::string name, std::string help);
    virtual ~Metric() = default;
    Metric(const Metric&) = delete;
    Metric& operator=(const Metric&) = delete;

    const std::string& name() const { return m_name; }
    virtual void render(std::string& out) const = 0;

protected:
    void render_header(std::string& out, std::string_view type) const;

private:
    std::string m_name;
    std::string m_help;
};

// A counter with a fixed list of label names and at most `capacity` label-value combinations.
// Combinations beyond the capacity, and values longer than kMaxLabelValue, are counted in one
// more series whose every label is "other", so the total stays exact.
class CounterFamily final : public Metric {
public:
    CounterFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::size_t capacity);

    // values: one per label name, in order. Thread-safe.
    void add(std::initializer_list<std::string_view> values, std::uint64_t n = 1) noexcept
    {
        add(std::span(values.begin(), values.size()), n);
    }
    // Makes the series exist (rendered as 0) before anything is counted in it.
    void declare(std::initializer_list<std::string_view> values) noexcept { add(values, 0); }
    // The current count of one series; 0 when it does not exist.
    std::uint64_t value(std::initializer_list<std::string_view> values) const noexcept;
    void render(std::string& out) const override;

private:
    using Values = std::span<const std::string_view>;
    struct Series {
        std::array<std::array<char, kMaxLabelValue>, kMaxLabels> values{};
        std::array<std::uint8_t, kMaxLabels> lengths{};
        std::atomic<std::uint64_t> count{0};
    };
    void add(Values values, std::uint64_t n) noexcept;
    bool fits(Values values) const noexcept;
    bool matches(const Series& s, Values values) const noexcept;
    Series* find(Values values, std::size_t from, std::size_t to) const noexcept;

    std::vector<std::string> m_labels;
    std::size_t m_capacity;
    std::unique_ptr<Series[]> m_series;  // capacity + 1 (the "other" series); [0, m_used) are
                                         // published and their values never change again
    std::atomic<std::size_t> m_used{0};
    std::mutex m_insert;                 // one writer of a new series at a time
};

// A histogram of durations with fixed bucket bounds (seconds, ascending), rendered as
// NAME_bucket{le="..."} (cumulative, the last one le="+Inf"), NAME_sum and NAME_count.
class Histogram final : public Metric {
public:
    Histogram(std::string name, std::string help, std::vector<double> upper_bounds);

    void observe(std::chrono::nanoseconds duration) noexcept;  // thread-safe
    void render(std::string& out) const override;

    const std::vector<double>& upper_bounds() const { return m_bounds; }

private:
    std::vector<double> m_bounds;
    std::vector<std::int64_t> m_bounds_ns;                // the same bounds, compared exactly
    std::unique_ptr<std::atomic<std::uint64_t>[]> m_buckets;  // per bound, then one for +Inf
    std::atomic<std::uint64_t> m_sum_ns{0};
};

// A gauge holding one value set by its owner (ssm_up).
class Gauge final : public Metric {
public:
    Gauge(std::string name, std::string help, std::int64_t value = 0);
    void set(std::int64_t v) noexcept { m_value.store(v, std::memory_order_relaxed); }
    void render(std::string& out) const override;

private:
    std::atomic<std::int64_t> m_value;
};

// Gauges whose series their owner replaces as a whole (one per token certificate, set at
// start). Label values come from the token and the configuration, never from mail; at most
// `capacity` series are kept (the rest are dropped and counted in `dropped()`).
class GaugeSet final : public Metric {
public:
    struct Sample {
        std::vector<std::string> values;  // one per label name, in order
        double value = 0;
    };
    GaugeSet(std::string name, std::string help, std::vector<std::string> label_names, std::size_t capacity);
    void replace(std::vector<Sample> samples);  // thread-safe
    std::size_t dropped() const;
    void render(std::string& out) const override;

private:
    std::vector<std::string> m_labels;
    std::size_t m_capacity;
    mutable std::mutex m_mutex;  // guards m_samples and m_dropped
    std::vector<Sample> m_samples;
    std::size_t m_dropped = 0;
};

// Renders metrics in the order given (the caller keeps them alive).
std::string render(std::initializer_list<const Metric*> metrics);

// A label value escaped for the text format: backslash, double quote and newline.
std::string escape_label_value(std::string_view value);
// A HELP text escaped for the text format: backslash and newline.
std::string escape_help(std::string_view text);
// A sample value as the text format writes floats ("0.005", "10", "+Inf").
std::string format_number(double value);

// --- the product's metrics (see ssm-milter(8), section Metrics) ---------------------------------

enum class HsmOperation { Sign, Decrypt };
enum class CacheResult { Hit, Miss, Stale };
// Ldap: a search no configured server answered (the lookup failed). LdapServer: one server
// failed a search, whether or not another one then answered (a failover an admin should see).
enum class DirectorySource { Ldap, LdapServer, Smimea };
// Signed receipts (RFC 2634, PRODUCT §4.2): a request we signed into outbound mail and kept;
// an inbound receipt by how it matched the store; a receipt the gateway made for its users,
// sent or not (ssmctl receipts lists the store; these count what the log lines say).
enum class ReceiptEvent {
    Requested,
    ReceivedValid,
    ReceivedMismatch,
    ReceivedUnknown,
    ReceivedUnverified,
    ReceivedMalformed,
    AnswerSent,
    AnswerNotSent,
};

// Private-key operations on the token (hsm/: the one place each operation calls the token).
void count_hsm_operation(HsmOperation op, bool ok) noexcept;
// Certificate lookups answered by the LMDB cache in front of a directory (directory/).
void count_directory_cache(CacheResult result) noexcept;
// Directory failures by DirectorySource (directory/).
void count_directory_error(DirectorySource source) noexcept;
// Configuration reloads (milter/reload.cpp).
void count_config_reload(bool ok) noexcept;
// Signed receipts (milter/: requests recorded, receipts received, receipts answered).
void count_receipt(ReceiptEvent event) noexcept;
// One message at its end (milter/: the per-message log line). Words beyond the families'
// capacity count as "other" (see CounterFamily).
void count_message(std::string_view direction, std::string_view action, std::string_view result,
                   std::chrono::nanoseconds duration) noexcept;

// The product's counters, for tests and ssmctl; render_process() is what /metrics serves.
struct Process {
    Process();
    CounterFamily messages;
    Histogram message_duration;
    CounterFamily hsm_operations;
    CounterFamily directory_cache;
    CounterFamily directory_errors;
    CounterFamily config_reloads;
    CounterFamily receipts;
    GaugeSet certificate_expiry;
    GaugeSet crl_next_update;
    Gauge up;
};
Process& process();
std::string render_process();

// Bucket bounds of ssm_message_duration_seconds, in seconds.
std::vector<double> message_duration_buckets();

}  // namespace ssm::metrics
