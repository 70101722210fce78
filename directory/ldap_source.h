// LDAP directories as a certificate source (PRODUCT §6): one LdapSource per [[directory.ldap]]
// entry, serving the recipient domains it lists, asking its servers in order (failover) over a
// small pool of connections shared by all milter threads, and reconnecting after a server
// restart. Certificates come from the RFC 4523 attributes userSMIMECertificate (a PKCS#7
// certs-only SignedData) and userCertificate;binary.
// SECURITY: everything a directory returns is untrusted: values are size-limited and parsed
// strictly, and every certificate is still checked by certificate_choice.h before use. The
// address is escaped (RFC 4515) before it goes into the filter, so it cannot change the search.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "directory/certificate_source.h"

namespace ssm::directory {

struct LdapSourceConfig {
    std::vector<std::string> domains;  // recipient domains served, exactly (no subdomains);
                                       // empty: all
    std::vector<std::string> servers;  // "ldap://127.0.0.1:3389", "ldaps://..."; asked in order
    std::string base;                  // search base DN
    std::string filter = "(mail=%s)";  // every %s is replaced by the RFC 4515-escaped address
    std::string bind_dn;               // empty: anonymous
    std::string bind_password_file;    // the password, one trailing newline dropped (read when
                                       // constructed; never logged)
    bool starttls = false;             // StartTLS on ldap:// URIs (required when true)
    std::string ca_file;               // CA certificates for ldaps/StartTLS; empty: system store
    std::chrono::milliseconds timeout{5000};  // per connect, per StartTLS/bind, per search
    unsigned connections_per_server = 4;      // pooled connections per server
    // A server that could not be used is not asked for this long, so a dead or hanging server
    // does not cost a timeout per lookup; with every server so marked a lookup fails at once
    // (ldap::Client).
    std::chrono::milliseconds retry_after{10000};
    int max_entries = 8;                      // sizelimit sent with each search
    std::size_t max_value_bytes = 64 * 1024;  // larger attribute values are skipped (logged)
    std::size_t max_values = 32;              // values kept per answer; the rest are skipped
    std::size_t max_entry_bytes = 4 * 1024 * 1024;  // larger entries are not read (the answer is cut)
};

// Thrown by the constructor for a configuration it cannot use (unreadable password file, bad
// URI, no server, missing %s in the filter, bind DN without password file); the config loader
// turns it into a ConfigError.
class LdapConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class LdapSource final : public CertificateSource {
public:
    explicit LdapSource(LdapSourceConfig config);
    ~LdapSource() override;

    // Whether this directory serves the address's domain.
    bool serves(const EmailAddress& address) const;

    // Empty (and no search) for an address outside `domains`. Asks the servers in order
    // (not those that could not be used within retry_after: with all of them so, it fails at
    // once); a server that cannot be reached or fails is skipped for the next. Candidates carry source "ldap:URI" of the server that answered;
    // the same certificate published twice is returned once; values that do not parse are
    // skipped with a log line. Throws ssm::Error(Failure::DirectoryUnavailable) naming every
    // server and its error when none answered. Thread-safe.
    // An answer cut by the limits is partial (LookupAnswer::cut, logged ldap_answer_cut): values
    // dropped by max_value_bytes/max_values, or certificates past max_values, leave the rest as
    // candidates; more entries than max_entries (or the server's size limit) leave none, since
    // which entry is the recipient's is unknown, and so does an entry larger than one LDAP
    // message may be (max_entry_bytes); search references (part of the subtree on
    // another server, not followed) cut an answer that found no certificate. None is an error:
    // the directory answers so at every retry. A base the server does not hold (noSuchObject)
    // is: DirectoryUnavailable, never "no certificate".
    LookupAnswer answer(const EmailAddress& address) override;
    std::vector<CertificateCandidate> lookup(const EmailAddress& address) override;
    std::string name() const override;  // "ldap:" + the first server URI
    // name() + "#" + 16 hex digits of SHA-256 over what determines the answer for an address:
    // the server list, the base, the filter, the bind DN (what the bind may read) and the
    // limits max_entries, max_value_bytes and max_values (which values an answer keeps).
    std::string cache_key() const override;

    // Searches sent to any server since construction (tests and metrics).
    std::uint64_t searches_sent() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

}  // namespace ssm::directory
