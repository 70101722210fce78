// Where the signing keys live: the [hsm] table of the configuration, filled by the config
// loader. Trusted (administrator input); the PIN itself is read from pin_file only when a
// KeyStore is opened, never stored here.
#pragma once
#include <cstdlib>
#include <string>

#include "base/ascii.h"

namespace ssm::hsm {

struct TokenConfig {
    std::string module;        // PKCS#11 module path, e.g. /usr/lib/softhsm/libsofthsm2.so
    std::string token_label;   // CKA token label (CK_TOKEN_INFO.label, blank padding ignored)
    std::string token_serial;  // optional: also match CK_TOKEN_INFO.serialNumber
    std::string pin_file;      // user PIN, one line
    // A systemd credential (LoadCredential=NAME:...) holding the PIN instead of pin_file: the
    // file NAME in $CREDENTIALS_DIRECTORY. Empty: pin_file.
    std::string pin_credential;
    unsigned sessions = 4;     // size of the future session pool (see token_signer.h)

    bool operator==(const TokenConfig& o) const = default;
};

// Where the PIN is read from: pin_file, or the credential in $CREDENTIALS_DIRECTORY
// ("" when pin_credential is set and the variable is not: not started by systemd).
inline std::string pin_path(const TokenConfig& c)
{
    if (c.pin_credential.empty()) return c.pin_file;
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    return dir && *dir ? std::string(dir) + "/" + c.pin_credential : std::string();
}

// Whether a token is the configured one: its label and serial number, each only when
// configured (the configuration names at least one: a serial alone picks a token whatever
// its label, as when several tokens share one). Serials are hex as a rule and compared
// without regard to letter case; labels are free text and compared exactly.
inline bool token_matches(const std::string& want_label, const std::string& want_serial, const std::string& label,
                          const std::string& serial)
{
    return (want_label.empty() || want_label == label) && (want_serial.empty() || iequals(want_serial, serial));
}

// "'label'", "serial S" or "'label' serial S", for messages.
inline std::string token_description(const TokenConfig& c)
{
    std::string out = c.token_label.empty() ? "" : "'" + c.token_label + "'";
    if (!c.token_serial.empty()) out += (out.empty() ? "" : " ") + std::string("serial ") + c.token_serial;
    return out;
}

}  // namespace ssm::hsm
