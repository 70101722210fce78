// `ssmctl hsm ...` subcommands: administrator tools over hsm::KeyStore (list) and
// hsm::TokenWriter (import, keygen). Input is the trusted [hsm] configuration and the
// administrator's files and options; output is for people and scripts (key=value lines).
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "hsm/token_config.h"

namespace ssm::tools {

// `ssmctl hsm list`: the token (label, serial, manufacturer, model) and one line per
// certificate: label, CKA_ID, key type and size, addresses, expiry, private key presence,
// usable signature schemes; then one `key` line per private key without a certificate yet.
// Returns 0, or 2 after a message on err (module, token or PIN problem, naming the label
// and module).
int hsm_list(const std::vector<hsm::TokenConfig>& tokens, std::ostream& out, std::ostream& err);

// `ssmctl hsm list|import|keygen ARGS`: 0 on success, 2 after one line on err (file, token or
// key problem), 64 for a usage error.
// import and keygen write to the first token ([hsm]); list shows every configured token.
int hsm_command(const std::vector<hsm::TokenConfig>& tokens, const std::vector<std::string>& args,
                std::ostream& out, std::ostream& err);

}  // namespace ssm::tools
