// Log lines that would repeat with every message: a fact about one certificate (a refused
// name in it, its revocation status unknown) is true of every message that certificate comes
// with, and one line per message buried everything else in the log. A RepeatFilter says
// whether a line about a key (a certificate's fingerprint) is to be written now: the first
// time, and again once `interval` has passed (zero: once per process). The keys remembered
// are bounded, since a directory or a stream of signed mail can bring any number of distinct
// certificates: past the bound (and after dropping expired keys) a key not remembered is
// logged each time, a repeated line being better than a lost one. Thread-safe.
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ssm {

class RepeatFilter {
public:
    RepeatFilter(std::size_t max_keys, std::chrono::seconds interval) : m_max_keys(max_keys), m_interval(interval) {}
    RepeatFilter(const RepeatFilter&) = delete;
    RepeatFilter& operator=(const RepeatFilter&) = delete;

    // Whether to log the line about `key` now (an empty key: always).
    bool should_log(const std::string& key, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

private:
    const std::size_t m_max_keys;
    const std::chrono::seconds m_interval;
    std::mutex m_mutex;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> m_logged;  // key -> when
};

}  // namespace ssm
