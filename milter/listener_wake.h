// A prompt stop. After SIGTERM or SIGINT libmilter's signal thread asks its listener to stop,
// but the listener looks at that request only when its poll() on the milter socket returns:
// with no connection coming, after its 5-second timeout (libmilter/listener.c, MI_CHK_TIME).
// So every `systemctl stop`, restart and package upgrade waited up to 5 s for nothing. After
// the signal we connect to our own socket a few times; the first connection that arrives
// after the stop request makes the listener see it at once (an earlier one is an empty SMTP
// session, closed at once, which libmilter ends like any client that hangs up).
#pragma once
#include <string>

namespace ssm::milter {

// The socket smfi_setconn was given ("unix:/path", "local:/path", "inet:PORT@HOST",
// "inet6:PORT@HOST"; PORT a number or a service name, HOST an address or a name); call once
// before smfi_main, before any signal can come. Names are resolved here, once; a spec that
// does not resolve is logged and leaves the stop to libmilter's poll timeout.
void remember_listener(const std::string& socket_spec);

// From the signal thread after SIGTERM/SIGINT: starts a detached thread that connects to the
// remembered socket every 100 ms for at most 10 s (the process normally ends within the first
// two). Never throws; without a remembered socket, or if no thread can be started, it does
// nothing (the listener then stops on its own poll timeout, as before).
void wake_listener_soon() noexcept;

}  // namespace ssm::milter
