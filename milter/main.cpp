// ssm-milter: the S/MIME gateway daemon. Parses the command line, loads and checks the
// configuration, opens the token, and hands over to libmilter.
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/log.h"
#include "milter/certificate_expiry.h"
#include "milter/config.h"
#include "milter/host_checks.h"
#include "milter/daemon.h"
#include "milter/config_warnings.h"
#include "milter/privileges.h"
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

// `ssm-milter -n` run by root for a daemon that drops privileges to `user` after start-up:
// what the checks find when run as that user, one line per problem. The daemon reads the file
// and everything it names as that user at each reload (SIGHUP), and the PIN file when it
// opens the token again after an outage; root can read what the user may not, so a check by
// root alone passed a file that every reload then refused. Checked in a child process that
// switches to the user; called before this process starts any thread. Empty when not
// running as root, for user root, or for a user that does not exist (host_problems says so).
std::vector<std::string> problems_as_user(const std::string& config_path, const std::string& user)
{
    if (::geteuid() != 0 || user.empty() || user == "root") return {};
    char buf[16384];
    passwd pw{};
    passwd* found = nullptr;
    if (::getpwnam_r(user.c_str(), &pw, buf, sizeof buf, &found) != 0 || !found) return {};
    int out[2];
    if (::pipe(out) != 0) return {"cannot check as user '" + user + "': " + std::strerror(errno)};
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(out[0]);
        ::close(out[1]);
        return {"cannot check as user '" + user + "': " + std::strerror(errno)};
    }
    if (child == 0) {
        ::close(out[0]);
        log::set_min_level(log::Level::Error);  // the parent's checks have logged the rest
        std::string report;
        if (const std::string err = drop_privileges(user); !err.empty()) {
            report = err + "\n";
        } else {
            try {
                const auto config = load_config(config_path);
                load_snapshot(config_path, nullptr);
                for (const auto& p : host_problems(*config)) report += p + "\n";
            } catch (const std::exception& e) {
                report += std::string(e.what()) + "\n";
            }
        }
        for (std::size_t done = 0; done < report.size();) {
            const ssize_t n = ::write(out[1], report.data() + done, report.size() - done);
            if (n <= 0) break;
            done += static_cast<std::size_t>(n);
        }
        ::_exit(0);
    }
    ::close(out[1]);
    std::string report;
    for (;;) {
        const ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n > 0) report.append(buf, static_cast<std::size_t>(n));
        else if (n == 0 || errno != EINTR) break;
    }
    ::close(out[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    std::vector<std::string> problems;
    std::istringstream lines(report);
    for (std::string line; std::getline(lines, line);)
        if (!line.empty()) problems.push_back(line);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) problems.push_back("the check as user '" + user + "' failed");
    return problems;
}

}  // namespace

int main(int argc, char** argv)
{
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

    if (!check_only) {
        // libmilter's signal thread sigwait()s for SIGHUP, SIGTERM and SIGINT after smfi_main
        // has blocked them in the main thread; threads started earlier (the reloader, token and
        // revocation-fetch threads) would otherwise keep them unblocked, and the kernel may hand
        // a signal to such a thread, where its default action ends the process without a clean
        // stop. Blocking them here, before any thread exists, makes every thread inherit the
        // mask. Not for -n: it starts no milter, and a check that hangs must still end on
        // SIGTERM or Ctrl-C.
        sigset_t milter_signals;
        sigemptyset(&milter_signals);
        sigaddset(&milter_signals, SIGHUP);
        sigaddset(&milter_signals, SIGTERM);
        sigaddset(&milter_signals, SIGINT);
        pthread_sigmask(SIG_BLOCK, &milter_signals, nullptr);
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
        // First, before anything here starts a thread (the fork).
        const std::vector<std::string> as_user = problems_as_user(config_path, config->milter.user);
        try {
            load_snapshot(config_path, nullptr);  // also the folders and files it names
        } catch (const ConfigError& e) {
            std::fprintf(stderr, "%s\n", e.what());
            return kExitConfig;
        }
        const std::vector<std::string> problems = host_problems(*config);
        for (const auto& p : problems) std::fprintf(stderr, "%s: %s\n", config_path.c_str(), p.c_str());
        for (const auto& p : as_user)
            if (std::find(problems.begin(), problems.end(), p) == problems.end())  // said above
                std::fprintf(stderr, "%s: as user '%s' (after start-up, at each reload): %s\n", config_path.c_str(),
                             config->milter.user.c_str(), p.c_str());
        if (!problems.empty() || !as_user.empty()) return kExitConfig;
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
