// `ssmctl hsm ...` subcommands: administrator tools over hsm::KeyStore. Input is the trusted
// [hsm] configuration; output is for people and scripts (one key=value line per object).
#pragma once
#include <ostream>

#include "hsm/token_config.h"

namespace ssm::tools {

// `ssmctl hsm list`: the token (label, serial, manufacturer, model) and one line per
// certificate: label, CKA_ID, key type and size, addresses, expiry, private key presence,
// usable signature schemes. Returns 0, or 2 after a message on err (module, token or PIN
// problem, naming the label and module).
int hsm_list(const hsm::TokenConfig& config, std::ostream& out, std::ostream& err);

}  // namespace ssm::tools
