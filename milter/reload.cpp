// Configuration reload: validate the whole new file first, then swap the snapshot atomically.
#include "milter/reload.h"

#include <atomic>

#include "base/joined.h"
#include "base/log.h"
#include "base/metrics.h"
#include "milter/certificate_expiry.h"
#include "milter/config_warnings.h"
#include "milter/host_checks.h"
#include "milter/service_notify.h"

namespace ssm::milter {

std::shared_ptr<const Snapshot> load_snapshot(const std::string& path,
                                              const std::shared_ptr<directory::HarvestStore>& harvest,
                                              const std::string& harvest_failure, const Snapshot* running)
{
    auto snapshot = std::make_shared<Snapshot>();
    snapshot->config = load_config(path);
    try {
        snapshot->certificates = Certificates::load(*snapshot->config, harvest, harvest_failure,
                                                     running ? running->certificates.get() : nullptr);
    } catch (const ConfigError&) {
        throw;
    } catch (const std::exception& e) {
        // Trust anchors, CRLs, static certificates: the file is valid TOML but names
        // something unusable. Same treatment as a syntax error, said at the file: the text
        // names the file or folder at fault, and no line of this one is.
        throw ConfigError(path + ": " + e.what());
    }
    return snapshot;
}

std::vector<std::string> settings_needing_restart(const Config& running, const Config& loaded)
{
    std::vector<std::string> changed;
    auto note = [&](bool differs, const char* name) {
        if (differs) changed.emplace_back(name);
    };
    note(running.milter.socket != loaded.milter.socket, "[milter] socket");
    note(running.milter.user != loaded.milter.user, "[milter] user");
    note(running.tokens() != loaded.tokens(), "[hsm]");
    note(running.directory.cache != loaded.directory.cache, "[directory] cache");
    note(running.metrics.listen != loaded.metrics.listen, "[metrics] listen");  // the listener stays
    return changed;
}

ReloadOutcome reload_configuration(Daemon& daemon)
{
    ReloadOutcome outcome;
    const auto running = daemon.snapshot();
    const std::string& path = running->config->path;
    try {
        auto loaded = load_snapshot(path, daemon.harvest(), daemon.harvest_failure(), running.get());
        // What -n refuses among the settings now put in force refuses the reload too: the
        // daemon tolerates a missing trust anchors or spool folder at start (with a warning),
        // but a reload that drops every trust anchor for a typo would fail every partner's
        // signature and refuse every recipient of mandatory encryption.
        if (const auto problems = reloadable_host_problems(*loaded->config); !problems.empty()) {
            throw ConfigError(path + ": " + joined(problems, "", "; "));
        }
        outcome.restart_would_fail = start_host_problems(*loaded->config);
        // Against what the process runs with, not the previous file: a setting changed back is
        // no restart, and one still waiting for a restart is reported again at each reload.
        outcome.needs_restart = settings_needing_restart(daemon.started_config(), *loaded->config);
        publish_crl_next_update(loaded->certificates->trust());
        log::set_min_level(log::level_named(loaded->config->milter.log_level));
        outcome.warnings = configuration_warnings(*loaded->config);
        daemon.replace(std::move(loaded));
        outcome.replaced = true;
    } catch (const std::exception& e) {
        outcome.error = e.what();
    }
    metrics::count_config_reload(outcome.replaced);
    if (!outcome.replaced) {
        log::error("reload-rejected", {{"error", outcome.error}, {"in_force", "previous configuration"}});
        return outcome;
    }
    for (const auto& s : outcome.needs_restart)
        log::warning("reload", {{"setting", s}, {"note", "changed; takes effect at the next restart"}});
    for (const auto& w : outcome.warnings) log::warning("reload", {{"warning", w}});
    for (const auto& p : outcome.restart_would_fail)
        log::warning("reload", {{"problem", p}, {"note", "a restart with this file would fail"}});
    log::notice("reloaded", {{"config", path}});
    return outcome;
}

Reloader::Reloader(Daemon& daemon) : m_daemon(daemon), m_thread([this] { run(); }) {}

Reloader::~Reloader()
{
    {
        std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_all();
    m_thread.join();
}

void Reloader::request() noexcept
{
    {
        std::lock_guard lock(m_mutex);
        m_requested = true;
    }
    m_wake.notify_all();
}

unsigned Reloader::completed() const
{
    std::lock_guard lock(m_mutex);
    return m_completed;
}

void Reloader::run()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [this] { return m_requested || m_stopping; });
        if (m_stopping) return;
        m_requested = false;
        lock.unlock();
        // The service manager (`systemctl reload`) waits from RELOADING=1 to the next READY=1;
        // READY=1 also after a rejected file, since the previous configuration serves on.
        service::notify_reloading();
        const ReloadOutcome outcome = reload_configuration(m_daemon);  // never throws
        if (outcome.replaced)
            service::notify_ready("Configuration reloaded from ", m_daemon.snapshot()->config->path);
        else
            service::notify_ready("Reload failed, previous configuration still in force: ", outcome.error);
        lock.lock();
        ++m_completed;
    }
}

namespace {
std::atomic<Reloader*> g_sighup_reloader{nullptr};
}

void set_sighup_reloader(Reloader* reloader) noexcept { g_sighup_reloader.store(reloader); }

bool request_reload_from_signal() noexcept
{
    Reloader* r = g_sighup_reloader.load();
    if (!r) return false;
    r->request();
    return true;
}

}  // namespace ssm::milter
