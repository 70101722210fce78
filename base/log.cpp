// key=value logging to syslog and/or stderr. The target is set once at start-up
// (before threads) and read-only afterwards.
#include "base/log.h"

#include <sys/stat.h>
#include <syslog.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace ssm::log {

namespace {

Target g_target;  // written only by configure(), before worker threads start
// The level alone changes later (set_min_level on a reload), read by every thread.
std::atomic<Level> g_min_level{Level::Info};
std::mutex g_stderr_mutex;

int syslog_priority(Level l)
{
    switch (l) {
    case Level::Debug: return LOG_DEBUG;
    case Level::Info: return LOG_INFO;
    case Level::Notice: return LOG_NOTICE;
    case Level::Warning: return LOG_WARNING;
    case Level::Error: return LOG_ERR;
    }
    return LOG_INFO;
}

const char* level_name(Level l)
{
    switch (l) {
    case Level::Debug: return "debug";
    case Level::Info: return "info";
    case Level::Notice: return "notice";
    case Level::Warning: return "warning";
    case Level::Error: return "error";
    }
    return "info";
}

}  // namespace

bool stderr_is_journal()
{
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (!stream) return false;
    unsigned long long dev = 0, ino = 0;
    char end = 0;
    if (std::sscanf(stream, "%llu:%llu%c", &dev, &ino, &end) != 2) return false;
    struct stat st {};
    if (fstat(2, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino;
}

void configure(const Target& requested, const std::string& ident)
{
    Target target = requested;
    if (target.to_syslog && target.to_stderr && stderr_is_journal()) {
        target.to_syslog = false;
        target.journal_prefix = true;
    }
    g_target = target;
    g_min_level.store(target.min_level, std::memory_order_relaxed);
    if (target.to_syslog) {
        static std::string keep_ident;  // openlog keeps the pointer
        keep_ident = ident;
        openlog(keep_ident.c_str(), LOG_PID | LOG_NDELAY, LOG_MAIL);
    }
}

Target current_target()
{
    Target t = g_target;
    t.min_level = g_min_level.load(std::memory_order_relaxed);
    return t;
}

Level level_named(std::string_view name)
{
    if (name == "debug") return Level::Debug;
    if (name == "notice") return Level::Notice;
    if (name == "warning") return Level::Warning;
    if (name == "error") return Level::Error;
    return Level::Info;
}

void set_min_level(Level level)
{
    g_min_level.store(level, std::memory_order_relaxed);
}

std::string escape(std::string_view value, std::size_t max_len)
{
    std::string out;
    for (std::size_t i = 0; i < value.size() && out.size() < max_len; ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    if (value.size() > max_len) out += "...";
    return out;
}

std::string sanitise(std::string_view value, std::size_t max_len)
{
    std::string out = escape(value, max_len);
    const bool needs_quotes = value.empty() || out.find_first_of(" =") != std::string::npos;
    return needs_quotes ? "\"" + out + "\"" : out;
}

std::string quote(std::string_view value, std::size_t max_len)
{
    return "\"" + escape(value, max_len) + "\"";
}

std::string field(std::string_view key, std::string_view value)
{
    return std::string(key) + "=" + sanitise(value);
}

void write(Level level, std::string_view event, const Fields& fields)
{
    if (level < g_min_level.load(std::memory_order_relaxed)) return;
    std::string line(event);
    for (const auto& [k, v] : fields) {
        line += ' ';
        line += k;
        line += '=';
        line += sanitise(v);
    }
    if (g_target.to_syslog) syslog(syslog_priority(level), "%s", line.c_str());
    if (g_target.to_stderr) {
        std::lock_guard<std::mutex> lock(g_stderr_mutex);
        if (g_target.journal_prefix)
            std::fprintf(stderr, "<%d>%s: %s\n", syslog_priority(level), level_name(level), line.c_str());
        else
            std::fprintf(stderr, "%s: %s\n", level_name(level), line.c_str());
    }
}

}  // namespace ssm::log
