// SIGHUP means "reload" for ssm-milter (PRODUCT §8, `systemctl reload`), but libmilter owns
// the process's signals: smfi_main blocks SIGHUP, SIGTERM and SIGINT and starts a thread that
// sigwait()s for them, and that thread treats SIGHUP like SIGTERM (stop the milter; sendmail
// libmilter/main.c mi_signal_thread). libmilter offers no hook, and a second thread waiting
// for SIGHUP would race with it (Linux hands the signal to either waiter). So the executable
// interposes sigwait(): libmilter's call (through the PLT of libmilter.so) lands here, a
// SIGHUP requests a reload and the wait continues; SIGTERM and SIGINT are returned once the
// messages in flight have ended (in_flight.h), every other signal at once.
// This file is linked into the ssm-milter executable only (symbol interposition needs the
// definition in the main program); nothing else in the process calls sigwait().
#include <dlfcn.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <ctime>

#include "milter/in_flight.h"
#include "milter/listener_wake.h"
#include "milter/reload.h"
#include "milter/service_notify.h"

namespace {

// Below the unit's TimeoutStopSec (30 s, contrib/systemd), after which SIGKILL comes.
constexpr std::chrono::seconds kStopGrace{25};

// A second SIGTERM or SIGINT during the wait: stop at once.
bool another_stop_signal() noexcept
{
    sigset_t stops;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGINT);
    const timespec now{0, 0};
    return sigtimedwait(&stops, nullptr, &now) > 0;
}

}  // namespace

extern "C" int sigwait(const sigset_t* set, int* sig)
{
    using SigwaitFn = int (*)(const sigset_t*, int*);
    static const SigwaitFn libc_sigwait = reinterpret_cast<SigwaitFn>(dlsym(RTLD_NEXT, "sigwait"));
    if (!libc_sigwait) return EINVAL;
    for (;;) {
        const int rc = libc_sigwait(set, sig);
        // libmilter stops on SIGTERM/SIGINT: tell the service manager now (PRODUCT §8), let
        // the messages in flight end while libmilter still serves their sessions, then wake
        // its listener so that it sees the stop at once (listener_wake.h).
        if (rc == 0 && (*sig == SIGTERM || *sig == SIGINT)) {
            ssm::milter::service::notify_stopping();
            ssm::milter::drain_for_stop(kStopGrace, another_stop_signal);
            ssm::milter::wake_listener_soon();
        }
        if (rc != 0 || *sig != SIGHUP) return rc;
        if (!ssm::milter::request_reload_from_signal()) return rc;
    }
}
