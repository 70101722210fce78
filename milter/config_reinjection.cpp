// [reinjection]: where split-off copies are resubmitted and the secret that authenticates
// them (milter/reinjection.h). The secret file is read here, at load, so a reload picks up a
// new secret and an unreadable one is a configuration error, not a per-message failure.
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
    // Loopback only: a copy is the message before encryption, and it carries the secret
    // that lets it pass the milter again; over the network both would travel in clear.
    const LoopbackEndpoint e = loopback_endpoint(L, t, address, "address",
        "split-off copies (the message before encryption, with the reinjection secret) go to the MTA on this host only");
    r.host = e.host;
    r.port = e.port;
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
