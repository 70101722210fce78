// What `ssm-milter -n` checks beyond the configuration file and the folders it names: the
// files, folders and account the daemon needs when it starts (the PKCS#11 module, the PIN
// file, the spool folder, the trust anchors folder, the [milter] user). The daemon itself tolerates a token it cannot open yet (451 4.3.0 until
// it can), so without these checks a configuration naming a PIN file that does not exist
// passed -n and then refused every message that needs the token.
#pragma once
#include <string>
#include <vector>

#include "milter/config.h"

namespace ssm::milter {

// One line per problem ("[hsm] pin_file /x: No such file or directory"); empty when none.
// The [milter] user is checked only when running as root (otherwise it is not switched to).
std::vector<std::string> host_problems(const Config& config);
// The part of host_problems() about settings a reload puts in force (the spool folder, the
// trust anchors folder): a reload refuses a file with one of them, as -n does.
std::vector<std::string> reloadable_host_problems(const Config& config);
// The rest (the token's module and PIN, the [milter] user): a reload does not use them, but a
// restart with the file would fail -n.
std::vector<std::string> start_host_problems(const Config& config);

}  // namespace ssm::milter
