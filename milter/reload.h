// Configuration reload (PRODUCT §8): SIGHUP builds a new snapshot from the configuration file
// and swaps it in only when the whole file is valid; an invalid file is logged with
// file:line:column and the running snapshot stays. Messages keep the snapshot they took at
// MAIL FROM, so in-flight messages finish on the policy they started with.
// Input: the administrator's file (trusted, but validated completely before use).
#pragma once
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "milter/daemon.h"

namespace ssm::milter {

// Loads the file and builds everything a snapshot holds. Throws ConfigError (file:line:column)
// for an invalid configuration, including unreadable certificate folders named by it.
// `running`: the snapshot a reload replaces (null at start); what its revocation checks fetched
// is kept when still valid under the new file (Certificates::load).
std::shared_ptr<const Snapshot> load_snapshot(const std::string& path,
                                              const std::shared_ptr<directory::HarvestStore>& harvest,
                                              const std::string& harvest_failure = {},
                                              const Snapshot* running = nullptr);

// Settings that only take effect at start (the socket is open, privileges are dropped, the
// token and the LMDB environment are open): one line per changed setting, for a warning.
std::vector<std::string> settings_needing_restart(const Config& running, const Config& loaded);

struct ReloadOutcome {
    bool replaced = false;
    std::string error;                       // why not, when !replaced
    std::vector<std::string> needs_restart;  // accepted but not in force until a restart
    // Accepted settings that do nothing as written (what ssm-milter -n warns of too), each
    // logged as a warning: a reload that removes the last [[domain]] says so, as a start would.
    std::vector<std::string> warnings;
    // What the file names for start-up that `ssm-milter -n` would refuse (a PIN file that
    // cannot be read, say): not used by a reload, but a restart with the file would fail.
    std::vector<std::string> restart_would_fail;
};

// One reload: load, validate, swap. Never throws; logs the outcome. A file is refused for
// what `ssm-milter -n` refuses it for among the settings a reload puts in force, the folders
// it names included (a mistyped trust_anchors folder would otherwise leave no trust anchor).
ReloadOutcome reload_configuration(Daemon& daemon);

// A thread that performs reloads on request, so the thread that receives the signal only
// sets a flag (and SIGTERM stays prompt while a large trust store loads). Requests arriving
// during a reload coalesce into one more reload.
class Reloader {
public:
    explicit Reloader(Daemon& daemon);
    ~Reloader();  // stops the thread
    Reloader(const Reloader&) = delete;
    Reloader& operator=(const Reloader&) = delete;

    void request() noexcept;
    unsigned completed() const;  // reloads attempted so far (tests)

private:
    void run();
    Daemon& m_daemon;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    bool m_requested = false;
    bool m_stopping = false;
    unsigned m_completed = 0;
    std::thread m_thread;
};

// The process-wide reloader that a SIGHUP reaches (see milter/sighup.cpp); null when none.
// Set by run_milter for the lifetime of smfi_main.
void set_sighup_reloader(Reloader* reloader) noexcept;
// Called when SIGHUP arrives; returns false when no reloader is registered (SIGHUP then keeps
// libmilter's meaning).
bool request_reload_from_signal() noexcept;

}  // namespace ssm::milter
