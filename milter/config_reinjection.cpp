// [reinjection]: where split-off copies are resubmitted and the secret that authenticates
// them (milter/reinjection.h). The secret file is read here, at load, so a reload picks up a
// new secret and an unreadable one is a configuration error, not a per-message failure.
#include <charconv>

#include "base/secure_buffer.h"
#include "milter/config_loader.h"

namespace ssm::milter::config_detail {

void load_reinjection(Loader& L, const toml::table* t, Config& c)
{
    ReinjectionSettings& r = c.reinjection;
    r.timeout = L.duration(t, "reinjection", "timeout");
    // 0 would be libcurl's "no limit": a hung listener would then hold the message forever.
    if (r.timeout.count() < 1 || r.timeout.count() > 3600)
        L.fail(L.region(t, "timeout"), "timeout must be between 1s and 1h");
    r.marker_lifetime = L.duration(t, "reinjection", "marker_lifetime");
    const std::string address = L.str(t, "reinjection", "address");
    if (address.empty()) return;  // off: mixed treatments are deferred with 452 4.5.3
    const std::size_t colon = address.rfind(':');
    unsigned port = 0;
    const char* end = address.data() + address.size();
    if (colon == std::string::npos || colon == 0 ||
        std::from_chars(address.data() + colon + 1, end, port).ptr != end || port == 0 || port > 65535)
        L.fail(L.region(t, "address"), "'" + address + "' is not host:port");
    r.host = address.substr(0, colon);
    if (r.host.size() > 2 && r.host.front() == '[' && r.host.back() == ']') r.host = r.host.substr(1, r.host.size() - 2);
    r.port = static_cast<std::uint16_t>(port);
    const std::string secret_file = L.str(t, "reinjection", "secret_file");
    if (secret_file.empty()) L.fail(L.region(t, "address"), "[reinjection] address needs secret_file");
    try {
        const SecureString secret = read_secret_file(secret_file);
        if (secret.value().size() < 16)
            L.fail(L.region(t, "secret_file"), "the reinjection secret in " + secret_file +
                                                   " is shorter than 16 bytes");
        r.secret.assign(secret.value().begin(), secret.value().end());
    } catch (const std::runtime_error& e) {
        if (dynamic_cast<const ConfigError*>(&e)) throw;
        L.fail(L.region(t, "secret_file"), e.what());
    }
}

}  // namespace ssm::milter::config_detail
