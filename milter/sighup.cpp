// SIGHUP means "reload" for ssm-milter (PRODUCT §8, `systemctl reload`), but libmilter owns
// the process's signals: smfi_main blocks SIGHUP, SIGTERM and SIGINT and starts a thread that
// sigwait()s for them, and that thread treats SIGHUP like SIGTERM (stop the milter; sendmail
// libmilter/main.c mi_signal_thread). libmilter offers no hook, and a second thread waiting
// for SIGHUP would race with it (Linux hands the signal to either waiter). So the executable
// interposes sigwait(): libmilter's call (through the PLT of libmilter.so) lands here, a
// SIGHUP requests a reload and the wait continues; every other signal is returned unchanged.
// This file is linked into the ssm-milter executable only (symbol interposition needs the
// definition in the main program); nothing else in the process calls sigwait().
#include <dlfcn.h>
#include <signal.h>

#include <cerrno>

#include "milter/listener_wake.h"
#include "milter/reload.h"
#include "milter/service_notify.h"

extern "C" int sigwait(const sigset_t* set, int* sig)
{
    using SigwaitFn = int (*)(const sigset_t*, int*);
    static const SigwaitFn libc_sigwait = reinterpret_cast<SigwaitFn>(dlsym(RTLD_NEXT, "sigwait"));
    if (!libc_sigwait) return EINVAL;
    for (;;) {
        const int rc = libc_sigwait(set, sig);
        // libmilter stops on SIGTERM/SIGINT: tell the service manager now (PRODUCT §8), and
        // wake libmilter's listener so that it sees the stop at once (listener_wake.h).
        if (rc == 0 && (*sig == SIGTERM || *sig == SIGINT)) {
            ssm::milter::service::notify_stopping();
            ssm::milter::wake_listener_soon();
        }
        if (rc != 0 || *sig != SIGHUP) return rc;
        if (!ssm::milter::request_reload_from_signal()) return rc;
    }
}
