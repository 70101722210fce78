// Where the signing keys live: the [hsm] table of the configuration, filled by the config
// loader. Trusted (administrator input); the PIN itself is read from pin_file only when a
// KeyStore is opened, never stored here.
#pragma once
#include <string>

namespace ssm::hsm {

struct TokenConfig {
    std::string module;        // PKCS#11 module path, e.g. /usr/lib/softhsm/libsofthsm2.so
    std::string token_label;   // CKA token label (CK_TOKEN_INFO.label, blank padding ignored)
    std::string token_serial;  // optional: also match CK_TOKEN_INFO.serialNumber
    std::string pin_file;      // user PIN, one line
    unsigned sessions = 4;     // size of the future session pool (see token_signer.h)
};

}  // namespace ssm::hsm
