// State shared by all milter threads: the current configuration snapshot (swapped
// whole on reload) and the key source (internally synchronised). Set up once in main
// before libmilter starts its threads.
#pragma once
#include <atomic>
#include <memory>

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
    void replace(std::shared_ptr<const Snapshot> s) { m_snapshot.store(std::move(s)); }
    KeySource& keys() { return *m_keys; }
    const std::shared_ptr<directory::HarvestStore>& harvest() const { return m_harvest; }
    // Why the harvest store could not be opened at start (empty: it was, or was not wanted).
    const std::string& harvest_failure() const { return m_harvest_failure; }
    // The messages between MAIL FROM and their end, which a stop waits for.
    InFlight& in_flight() { return m_in_flight; }

private:
    std::shared_ptr<const Config> m_started;
    std::atomic<std::shared_ptr<const Snapshot>> m_snapshot;
    std::unique_ptr<KeySource> m_keys;
    std::shared_ptr<directory::HarvestStore> m_harvest;  // one LMDB environment per process
    std::string m_harvest_failure;
    InFlight m_in_flight;
};

// Registers the callbacks with libmilter for `daemon` and runs until stopped.
// Returns the process exit status.
int run_milter(Daemon& daemon);

}  // namespace ssm::milter
