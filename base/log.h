// Logging: one key=value line per event, to syslog and/or stderr. Untrusted values
// are sanitised (control characters escaped, length bounded) before they are written.
// Never pass a PIN, key or message content here.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ssm::log {

enum class Level { Debug, Info, Notice, Warning, Error };

struct Target {
    bool to_syslog = false;
    bool to_stderr = true;
    Level min_level = Level::Info;
    // Each stderr line starts with the syslog priority as "<N>", which the systemd journal
    // reads as the line's priority (and strips).
    bool journal_prefix = false;
};

// True when stderr is a stream into the systemd journal: JOURNAL_STREAM ("DEVICE:INODE",
// set by systemd for StandardError=journal) names the file stderr is open on.
bool stderr_is_journal();

// Sets the target once, before threads start. A target asking for both syslog and stderr
// while stderr goes to the journal (ssm-milter under systemd) becomes stderr only, with
// priority prefixes: the journal also receives syslog, so it would hold every line twice,
// and journald forwards its lines to a syslog daemon where one is configured.
void configure(const Target& target, const std::string& ident);

// The target configure() settled on (with the level in force now).
Target current_target();

// Changes the least level written, at any time (a reload of [milter] log_level).
void set_min_level(Level level);
// "debug", "info", "notice", "warning", "error" ([milter] log_level; anything else: Info).
Level level_named(std::string_view name);

using Fields = std::vector<std::pair<std::string, std::string>>;

// The one escaping of values in log lines (and in the key=value lines ssmctl prints): '"',
// '\\', control characters (CR, LF, TAB, every other octet below 0x20, DEL) and non-ASCII
// octets become \xNN, so no value can end its quotes, start a field of its own or a second
// line. A value is cut after `max_len` octets (then "..." follows): a decision's detail with
// several signature results and their reasons runs to a kilobyte or more, and syslog daemons
// take lines of 8 KiB (rsyslog's default; journald more), so 2 KiB keeps whole details and
// bounds hostile ones.
std::string escape(std::string_view value, std::size_t max_len = 2048);
// escape(), in double quotes when the value is empty or holds a space or '=' (as log fields
// are written).
std::string sanitise(std::string_view value, std::size_t max_len = 2048);
// escape(), always in double quotes.
std::string quote(std::string_view value, std::size_t max_len = 2048);
// "key=" and the sanitised value: a field inside a composed value (a decision's detail),
// which the line escapes once more as a whole.
std::string field(std::string_view key, std::string_view value);

void write(Level level, std::string_view event, const Fields& fields);

inline void info(std::string_view event, const Fields& f = {}) { write(Level::Info, event, f); }
inline void notice(std::string_view event, const Fields& f = {}) { write(Level::Notice, event, f); }
inline void warning(std::string_view event, const Fields& f = {}) { write(Level::Warning, event, f); }
inline void error(std::string_view event, const Fields& f = {}) { write(Level::Error, event, f); }
inline void debug(std::string_view event, const Fields& f = {}) { write(Level::Debug, event, f); }

}  // namespace ssm::log
