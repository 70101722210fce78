// ssmctl: the administrator's command line. Uses the daemon's libraries and its
// configuration file; `process` drives the same MessageProcessor as the milter.
#include <getopt.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "milter/config.h"
#include "pki/certificate.h"
#include "tools/ssmctl_cert.h"
#include "tools/ssmctl_hsm.h"
#include "tools/ssmctl_policy.h"
#include "tools/ssmctl_process.h"
#include "tools/ssmctl_receipts.h"
#include "tools/ssmctl_clearance.h"
#include "tools/ssmctl_exit.h"
#include "tools/ssmctl_list.h"

using namespace ssm;
using tools::kExitConfig;
using tools::kExitSoftware;
using tools::kExitUsage;

namespace {

void usage(std::FILE* to)
{
    std::fprintf(to,
                 "usage: ssmctl [-c CONFIG] COMMAND ...\n"
                 "commands:\n"
                 "  process --direction in|out --from ADDR --to ADDR [--to ADDR]...\n"
                 "          [--client IP] < in.eml > out.eml\n"
                 "      run the milter's pipeline on one message; exit 0 accepted,\n"
                 "      1 rejected, 2 temporary failure, 64+ usage or configuration error\n"
                 "  policy test --from ADDR --to ADDR [--to ADDR]... [--header 'Name: value']...\n"
                 "          [--direction in|out] [--client IP] [--auth USER]\n"
                 "      each recipient's plan, deciding rule and certificate lookup\n"
                 "  hsm list [--token T]\n"
                 "      tokens' certificates, key types and usable operations\n"
                 "  hsm import FILE.p12|CERT.pem|CERT.der [--password-file F] [--label L] [--token T]\n"
                 "      PKCS#12 -> non-extractable key + certificate; or a certificate for a\n"
                 "      key pair already on the token\n"
                 "  hsm keygen --type TYPE --subject DN [--email ADDR]... --csr OUT.pem [--label L]\n"
                 "          [--token T]\n"
                 "      key pair generated inside the token; the CSR is written out; TYPE is\n"
                 "      rsa-2048|rsa-3072|rsa-4096|ec-p256|ec-p384|ec-p521|ed25519\n"
                 "  cert lookup ADDR\n"
                 "      each source's candidates and the chosen certificate; exit 0 found,\n"
                 "      1 none, 2 directory unavailable\n"
                 "  cert import FILE\n"
                 "      store a PEM/DER certificate or PKCS#7 bundle for its addresses\n"
                 "  cache flush [ADDR]\n"
                 "      forget cached directory answers (for ADDR, or all)\n"
                 "  receipts [list [--pending] | show ID | expire DAYS]\n"
                 "      signed messages that asked for receipts, and the receipts received\n"
                 "  clearance lookup ADDR\n"
                 "      the recipient's clearances in the directory ([labels] clearance_attribute)\n"
                 "  clearance encode --policy OID [--class N]... [--category TYPE-OID:HEX]...\n"
                 "      the RFC 5755 Clearance DER (to stdout) to store in the directory\n"
                 "  list members ADDRESS\n"
                 "      a [[mail_list]]'s members now (configured and from its members_group)\n");
}

}  // namespace

int main(int argc, char** argv)
{
    std::string config_path = "/etc/ssm-milter/ssm-milter.toml";
    int i = 1;
    for (; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-c" && i + 1 < argc) {
            config_path = argv[++i];
        } else if (a == "-h" || a == "--help") {
            usage(stdout);
            return 0;
        } else if (!a.empty() && a[0] == '-') {
            usage(stderr);
            return kExitUsage;
        } else {
            break;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return kExitUsage;
    }
    const std::string command = argv[i++];
    std::vector<std::string> args(argv + i, argv + argc);
    // A command that does not exist is a usage error, whatever the configuration holds.
    static const char* const kCommands[] = {"process", "policy", "hsm", "cert", "cache", "receipts", "clearance", "list"};
    if (std::none_of(std::begin(kCommands), std::end(kCommands), [&](const char* c) { return command == c; })) {
        usage(stderr);
        return kExitUsage;
    }

    std::shared_ptr<const milter::Config> config;
    try {
        config = milter::load_config(config_path);
    } catch (const milter::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitConfig;
    }

    // The trust store and the other configured files are loaded by the commands: a file
    // that does not load (a CRL whose signature does not verify, say) is a configuration
    // error, as for `ssm-milter -n`, not an abort.
    try {
        if (command == "process") return tools::process_command(*config, config, args);
        if (command == "policy") return tools::policy_command(*config, config, args, std::cout, std::cerr);
        if (command == "hsm") return tools::hsm_command(config->tokens(), args, std::cout, std::cerr);
        if (command == "cert") return tools::cert_command(*config, args, std::cout, std::cerr);
        if (command == "cache") return tools::cache_command(*config, args, std::cout, std::cerr);
        if (command == "receipts") return tools::receipts_command(*config, args, std::cout, std::cerr);
        if (command == "clearance") return tools::clearance_command(*config, args, std::cout, std::cerr);
        if (command == "list") return tools::list_command(*config, args, std::cout, std::cerr);
    } catch (const pki::LoadError& e) {
        std::fprintf(stderr, "%s: %s\n", config_path.c_str(), e.what());
        return kExitConfig;
    } catch (const milter::ConfigError& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return kExitConfig;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ssmctl: %s\n", e.what());
        return kExitSoftware;
    }
    usage(stderr);
    return kExitUsage;
}
