// ssm-milter: the S/MIME gateway daemon. Parses the command line, loads and checks the
// configuration, opens the token, and hands over to libmilter.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "base/error.h"
#include "base/log.h"
#include "milter/certificate_expiry.h"
#include "milter/config.h"
#include "milter/host_checks.h"
#include "milter/daemon.h"
#include "milter/config_warnings.h"
#include "milter/reload.h"

using namespace ssm;
using namespace ssm::milter;

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;

void usage()
{
    std::fprintf(stderr,
                 "usage: ssm-milter [-c CONFIG] [-n] [-V]\n"
                 "  -c CONFIG  configuration file (default /etc/ssm-milter/ssm-milter.toml)\n"
                 "  -n         check the configuration and exit\n"
                 "  -V         print the version and exit\n");
}

// libmilter's worker pool lets idle workers exit and starts new ones when a burst of sessions
// arrives, so under load threads come and go several times a second. glibc caches the stacks
// of ended threads only up to 40 MiB in all: with the default 8 MiB stacks (RLIMIT_STACK) just
// five, so a burst of sessions mmaps fresh stacks and the next lull munmaps them again, each
// munmap a TLB shoot-down on the other CPUs (measured: ~6 % of the daemon's CPU time at 16
// SMTP sessions). 2 MiB keeps twenty stacks cached and is far more than any of our threads
// uses (no recursion without a configured bound, no large arrays on the stack).
void set_thread_stack_size()
{
    constexpr std::size_t kStackSize = 2 * 1024 * 1024;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return;
    if (pthread_attr_setstacksize(&attr, kStackSize) == 0) pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
}

}  // namespace

int main(int argc, char** argv)
{
    // libmilter's signal thread sigwait()s for SIGHUP, SIGTERM and SIGINT after smfi_main has
    // blocked them in the main thread; threads started earlier (the reloader, token and
    // revocation-fetch threads) would otherwise keep them unblocked, and the kernel may hand a
    // signal to such a thread, where its default action ends the process without a clean stop.
    // Blocking them here, before any thread exists, makes every thread inherit the mask.
    sigset_t milter_signals;
    sigemptyset(&milter_signals);
    sigaddset(&milter_signals, SIGHUP);
    sigaddset(&milter_signals, SIGTERM);
    sigaddset(&milter_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &milter_signals, nullptr);
    // SIGUSR1/SIGUSR2 mean nothing here, but their default action ends the process: a
    // logrotate habit ("kill -USR1 to reopen logs"; we log to syslog or the journal) must
    // not stop the mail flow.
    signal(SIGUSR1, SIG_IGN);
    signal(SIGUSR2, SIG_IGN);
    set_thread_stack_size();

    std::string config_path = "/etc/ssm-milter/ssm-milter.toml";
    bool check_only = false;
    int opt;
    while ((opt = getopt(argc, argv, "c:nVh")) != -1) {
        switch (opt) {
        case 'c': config_path = optarg; break;
        case 'n': check_only = true; break;
        case 'V': std::printf("ssm-milter %s\n", SSM_VERSION); return 0;
        default: usage(); return opt == 'h' ? 0 : kExitUsage;
        }
    }
    if (optind != argc) {
        usage();
        return kExitUsage;
    }

    std::shared_ptr<const Config> config;
    try {
        config = load_config(config_path);
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitConfig;
    }
    for (const auto& w : configuration_warnings(*config))
        std::fprintf(stderr, "%s: warning: %s\n", config_path.c_str(), w.c_str());
    if (check_only) {
        try {
            load_snapshot(config_path, nullptr);  // also the folders and files it names
        } catch (const ConfigError& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return kExitConfig;
        }
        const std::vector<std::string> problems = host_problems(*config);
        for (const auto& p : problems) std::fprintf(stderr, "%s: %s\n", config_path.c_str(), p.c_str());
        if (!problems.empty()) return kExitConfig;
        std::printf("%s: configuration OK\n", config_path.c_str());
        return 0;
    }

    log::configure({true, true, log::level_named(config->milter.log_level)}, "ssm-milter");
    std::string harvest_failure;
    auto harvest = open_harvest_store(*config, &harvest_failure);
    std::shared_ptr<const Snapshot> snapshot;
    try {
        // The same path as a reload, so start-up and SIGHUP accept exactly the same files.
        snapshot = load_snapshot(config_path, harvest, harvest_failure);
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitConfig;
    }
    publish_crl_next_update(snapshot->certificates->trust());
    auto keys = make_key_source(config->tokens());
    try {
        keys->ensure_available();
    } catch (const Error& e) {
        // Not fatal: messages get 451 4.3.0 until the token can be opened.
        log::warning("hsm-unavailable", {{"error", e.what()}});
    }
    Daemon daemon(std::move(snapshot), std::move(keys), std::move(harvest), std::move(harvest_failure));
    return run_milter(daemon);
}
