// DNS SMIMEA records (RFC 8162): the owner name of an address's records and the RDATA
// parser. Pure functions, no DNS traffic (directory/smimea_source.h does the lookup).
// SECURITY: RDATA is untrusted bytes from the network (even when DNSSEC-validated it is only
// what the zone's owner published): lengths are checked before every read, and a record that
// does not parse is rejected as a whole.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/email_address.h"

namespace ssm::directory {

// RR type number of SMIMEA (RFC 8162 §2, IANA).
inline constexpr int smimea_rr_type = 53;

// RFC 8162 §3: hex (lower case) of the first 28 octets of SHA-256 over the local part as
// given (UTF-8 in NFC, no case folding: the RFC forbids mapping it) without its quoting (the
// enclosing quotes and quoted-pairs removed: "a b"@x hashes a b), then "._smimecert." and the
// domain. Example (RFC 8162 §3): hugh@example.com ->
// c93f1e400f26708f98cb19d936620da35eec8f72e57f9eec01c1afd6._smimecert.example.com
std::string smimea_owner_name(const EmailAddress& address);

// The four RDATA fields (RFC 8162 §2, the TLSA wire format of RFC 6698 §2.1).
inline constexpr std::uint8_t kSmimeaDaneEe = 3;  // RFC 7218 DANE-EE

struct SmimeaRecord {
    std::uint8_t usage = 0;          // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
    std::uint8_t selector = 0;       // 0 full certificate, 1 SubjectPublicKeyInfo
    std::uint8_t matching_type = 0;  // 0 exact, 1 SHA-256, 2 SHA-512
    Bytes data;                      // certificate association data

    // Whether the record carries a whole end-entity certificate we can encrypt to: selector
    // 0 with matching type 0 and usage PKIX-EE or DANE-EE. Hashes and public keys alone, and
    // trust-anchor usages, cannot be turned into a recipient certificate.
    bool is_full_end_entity_certificate() const;
};

// nullopt when the RDATA is shorter than the three fixed octets plus one octet of data (an
// SMIMEA record with empty association data is malformed, RFC 6698 §2.1.4). No other check:
// unknown usages or selectors parse (and are then skipped by the caller, with a count).
std::optional<SmimeaRecord> parse_smimea_rdata(ByteView rdata);

}  // namespace ssm::directory
