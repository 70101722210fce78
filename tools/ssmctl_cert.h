// `ssmctl cert ...` and `ssmctl cache ...`: the recipient-certificate sources of the daemon
// seen from the command line (PRODUCT §6). Input: the trusted configuration, an address or a
// certificate file from the administrator (parsed like any untrusted certificate); output is
// key=value lines for people and scripts.
#pragma once
#include <ostream>
#include <string>
#include <vector>

#include "milter/config.h"

namespace ssm::tools {

// `ssmctl cert lookup ADDR`: every source in the daemon's order with its candidates (subject,
// serial, notAfter, source, whether usable and why not; for a cached directory the age of
// the answer and whether it came from the cache), then the chosen certificate or why there
// is none. Goes through the same cache as the daemon. Returns 0 found, 1 none, 2 a directory
// could not be asked (and no other source had a usable certificate), 64 usage, 78 config.
int cert_lookup(const milter::Config& config, const std::string& address, std::ostream& out, std::ostream& err);

// `ssmctl cert import FILE`: a PEM or DER certificate, or a PKCS#7 certs-only bundle (PEM
// or DER), stored in the "imported" store for each of its rfc822Name addresses. Certificates
// without an address (CA certificates of a bundle) are skipped. Returns 0 when at least one
// was stored, 1 when none could be, 2 when the store cannot be opened, 64 usage.
int cert_import(const milter::Config& config, const std::string& file, std::ostream& out, std::ostream& err);

// `ssmctl cache flush [ADDR]`: forgets the cached directory answers for ADDR (every
// directory), or all of them. Harvested and imported certificates are not touched.
// Returns 0, 2 when the cache cannot be opened, 64 usage.
int cache_flush(const milter::Config& config, const std::string* address, std::ostream& out, std::ostream& err);

// Dispatch of `cert ...` and `cache ...` argument lists (after the command word).
int cert_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                 std::ostream& err);
int cache_command(const milter::Config& config, const std::vector<std::string>& args, std::ostream& out,
                  std::ostream& err);

}  // namespace ssm::tools
