// A DNSSEC-validating stub resolver over libunbound, for the DNS SMIMEA source
// (smimea_source.h): queries go to configured forwarders (or those of /etc/resolv.conf) and
// answers are validated here, against our own trust anchors, whatever the forwarder claims.
// One libunbound context per resolver, shared by every milter thread: its cache and its
// validated keys are shared too, and libunbound contexts are thread-safe. Each query has a
// deadline (libunbound's blocking ub_resolve has none): it is sent asynchronously, answered
// by one pump thread, and cancelled when the deadline passes.
// SECURITY: answers are untrusted network data; DnsAnswer says how far DNSSEC vouches for
// them, and the caller decides what an unvalidated answer is worth.
#pragma once
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace ssm::directory {

struct ResolverSettings {
    // "127.0.0.1", "127.0.0.1@5353", "::1", "2001:db8::53@53": the one forwarder asked.
    // Empty: the nameservers of resolv_conf (read when constructed; none: 127.0.0.1, as the
    // C library does).
    std::string forwarder;
    std::string resolv_conf = "/etc/resolv.conf";
    // DS and/or DNSKEY records in zone-file format (default: the root's, Debian package
    // dns-root-data).
    std::string trust_anchor_file = "/usr/share/dns/root.key";
    std::chrono::milliseconds timeout{5000};  // per query
};

// A trust anchor file holds a few DS or DNSKEY records (the root's is some 800 octets); a
// larger one is a wrong path.
inline constexpr std::size_t kMaxTrustAnchorFileSize = 1024 * 1024;

// A configuration the resolver cannot use (bad forwarder, unreadable trust anchor file).
class ResolverConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class DnssecStatus {
    Secure,    // validated from a trust anchor (data, or its proven absence)
    Insecure,  // no trust anchor covers the name, or the chain proves the zone unsigned
    Bogus,     // should have been signed and is not, or the signatures do not verify
};

struct DnsAnswer {
    DnssecStatus status = DnssecStatus::Insecure;
    bool nxdomain = false;     // the name does not exist
    std::vector<Bytes> rdata;  // the records' RDATA in wire format; empty: none (NODATA/NXDOMAIN)
    std::string why_bogus;     // libunbound's reason, when Bogus (may be empty)
};

// Valid forwarder syntax: an IPv4 or IPv6 address, optionally "@port" (1..65535).
bool is_valid_forwarder(const std::string& forwarder);
// Whether the forwarder is a loopback address (127.0.0.0/8, ::1).
bool is_loopback_forwarder(const std::string& forwarder);

class ValidatingResolver {
public:
    // Throws ResolverConfigError.
    explicit ValidatingResolver(ResolverSettings settings);
    ~ValidatingResolver();
    ValidatingResolver(const ValidatingResolver&) = delete;
    ValidatingResolver& operator=(const ValidatingResolver&) = delete;

    // Class IN. A Bogus answer is returned, not thrown: the caller logs it in its terms.
    // Throws ssm::Error(Failure::DirectoryUnavailable) when no answer came within the timeout,
    // libunbound failed, or the answer's rcode is neither NOERROR nor NXDOMAIN (SERVFAIL,
    // REFUSED: nothing is known about the name). Thread-safe.
    DnsAnswer query(const std::string& name, int rr_type);

    const ResolverSettings& settings() const noexcept;
    // The trust anchor file as read when constructed (libunbound reads it again itself): what
    // a cache key of answers validated from it is made of.
    const std::string& trust_anchors() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace ssm::directory
