// The system headers that the precompiled headers hold (base/precompiled.h for our code,
// tests/unit/precompiled.h for the unit tests'): the standard and GnuTLS headers most of our
// ~300 files include. Parsing them took about 2 s of the 3-10 s each file takes to compile,
// on a CI machine with two cores. A precompiled header only saves time: every file still
// includes what it uses (STYLE.md), and a tree configured with --disable-precompiled-headers
// must build. Only system headers belong here: a change to one of ours would have to rebuild
// every object, and the objects' dependencies do not name the precompiled headers.
// Its own file (not base/precompiled.h itself): g++ would take base/precompiled.h.gch, made
// with other flags, in place of an #include of that name while it makes the unit tests' one.
#ifndef SSM_BASE_SYSTEM_HEADERS_H
#define SSM_BASE_SYSTEM_HEADERS_H

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#endif
