// State shared by all milter threads: the current configuration snapshot (swapped
// whole on reload) and the key source (internally synchronised). Set up once in main
// before libmilter starts its threads.
#pragma once
#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "directory/harvest_store.h"
#include "milter/certificates.h"
#include "milter/config.h"
#include "milter/in_flight.h"
#include "milter/key_source.h"

namespace ssm::milter {

// A configuration and what was built from it; replaced as a whole.
struct Snapshot {
    std::shared_ptr<const Config> config;
    std::shared_ptr<const Certificates> certificates;
};

class Daemon {
public:
    Daemon(std::shared_ptr<const Snapshot> snapshot, std::unique_ptr<KeySource> keys,
           std::shared_ptr<directory::HarvestStore> harvest, std::string harvest_failure = {})
        : m_started(snapshot->config), m_snapshot(std::move(snapshot)), m_keys(std::move(keys)),
          m_harvest(std::move(harvest)), m_harvest_failure(std::move(harvest_failure)) {}

    std::shared_ptr<const Snapshot> snapshot() const { return m_snapshot.load(); }
    // The configuration the process started with: what restart-only settings (socket, user,
    // [hsm], cache, metrics listener) still come from, whatever later reloads said.
    const Config& started_config() const { return *m_started; }
    void replace(std::shared_ptr<const Snapshot> s)
    {
        std::lock_guard lock(m_retired_mutex);
        std::erase_if(m_retired, [](const std::weak_ptr<const Snapshot>& w) { return w.expired(); });
        m_retired.push_back(m_snapshot.exchange(std::move(s)));
    }
    // The [reinjection] secrets of replaced configurations that a message still runs under
    // (a message keeps the snapshot of its MAIL FROM to its end), other than the newest's.
    // Such a message may hand over a copy marked with its secret after a reload rotated it,
    // and the copy comes back through the milter under the newest configuration: it must
    // still be recognised as ours, or it would be planned as a new message without the
    // original's origin (SMTP AUTH, client). Once those messages have ended the old secret is
    // refused again.
    std::vector<Bytes> reinjection_secrets_in_flight()
    {
        const auto newest = snapshot();
        std::vector<Bytes> secrets;
        std::lock_guard lock(m_retired_mutex);
        std::erase_if(m_retired, [](const std::weak_ptr<const Snapshot>& w) { return w.expired(); });
        for (const auto& w : m_retired) {
            const auto held = w.lock();
            if (!held) continue;
            const ReinjectionSettings& r = held->config->reinjection;
            if (!r.enabled() || r.secret == newest->config->reinjection.secret) continue;
            if (std::find(secrets.begin(), secrets.end(), r.secret) == secrets.end()) secrets.push_back(r.secret);
        }
        return secrets;
    }
    KeySource& keys() { return *m_keys; }
    const std::shared_ptr<directory::HarvestStore>& harvest() const { return m_harvest; }
    // Why the harvest store could not be opened at start (empty: it was, or was not wanted).
    const std::string& harvest_failure() const { return m_harvest_failure; }
    // The messages between MAIL FROM and their end, which a stop waits for.
    InFlight& in_flight() { return m_in_flight; }

private:
    std::shared_ptr<const Config> m_started;
    std::atomic<std::shared_ptr<const Snapshot>> m_snapshot;
    std::mutex m_retired_mutex;
    std::vector<std::weak_ptr<const Snapshot>> m_retired;  // replaced snapshots, pruned when gone
    std::unique_ptr<KeySource> m_keys;
    std::shared_ptr<directory::HarvestStore> m_harvest;  // one LMDB environment per process
    std::string m_harvest_failure;
    InFlight m_in_flight;
};

// Registers the callbacks with libmilter for `daemon` and runs until stopped.
// Returns the process exit status.
int run_milter(Daemon& daemon);

}  // namespace ssm::milter
