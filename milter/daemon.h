// State shared by all milter threads: the current configuration snapshot (swapped
// whole on reload) and the key source (internally synchronised). Set up once in main
// before libmilter starts its threads.
#pragma once
#include <atomic>
#include <memory>

#include "milter/config.h"
#include "milter/key_source.h"

namespace ssm::milter {

class Daemon {
public:
    Daemon(std::shared_ptr<const Config> config, std::unique_ptr<KeySource> keys)
        : m_config(std::move(config)), m_keys(std::move(keys)) {}

    std::shared_ptr<const Config> config() const { return m_config.load(); }
    void replace_config(std::shared_ptr<const Config> c) { m_config.store(std::move(c)); }
    KeySource& keys() { return *m_keys; }

private:
    std::atomic<std::shared_ptr<const Config>> m_config;
    std::unique_ptr<KeySource> m_keys;
};

// Registers the callbacks with libmilter for `daemon` and runs until stopped.
// Returns the process exit status.
int run_milter(Daemon& daemon);

}  // namespace ssm::milter
