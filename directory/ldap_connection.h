// A small LDAP client on OpenLDAP libldap 2.5 for every directory query of the gateway
// (certificates now, group membership later): RAII owners of LDAP* and LDAPMessage*, connect +
// StartTLS/ldaps + simple bind, a per-server pool of connections shared by milter threads, and
// a Client that asks several servers in order (failover) and reconnects after a server restart.
// SECURITY: servers and their answers are untrusted: every answer is bounded (entries, values,
// value size, PDU size) and handed out as raw bytes for strict parsing by the caller. Filter
// values must go through escape_filter_value(). The bind password is never logged.
#pragma once
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <ldap.h>

#include "base/bytes.h"
#include "base/error.h"
#include "base/secure_buffer.h"

namespace ssm::directory::ldap {

// Owner of a libldap session handle (ldap_unbind_ext_s when destroyed).
class Handle {
public:
    Handle() = default;
    explicit Handle(LDAP* ld) noexcept : m_ld(ld) {}
    Handle(Handle&& o) noexcept : m_ld(o.m_ld), m_socket(std::move(o.m_socket)) { o.m_ld = nullptr; }
    Handle& operator=(Handle&& o) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    ~Handle();
    LDAP* get() const noexcept { return m_ld; }

    // Keeps track of the session's socket from the moment libldap connects it until libldap
    // closes it (LDAP_OPT_CONNECT_CB), so that shut_down_socket() can end a wait libldap
    // itself does not bound. Throws LdapError when libldap refuses the callback.
    void watch_socket(const std::string& uri);
    // shutdown(2) of the socket, when libldap holds one open: a blocked read or write on it
    // returns at once. Thread-safe (another thread's deadline calls it).
    void shut_down_socket() noexcept;

    // The registered callback and the socket it saw: libldap keeps a pointer to the callback,
    // so it lives on the heap, as long as the session.
    struct WatchedSocket {
        ldap_conncb callback{};
        std::mutex mutex;
        int fd = -1;  // guarded by mutex
    };

private:
    LDAP* m_ld = nullptr;
    std::unique_ptr<WatchedSocket> m_socket;  // outlives m_ld (released after the unbind)
};

// Owner of a result chain (ldap_msgfree when destroyed).
class Message {
public:
    Message() = default;
    Message(Message&& o) noexcept : m_msg(o.m_msg) { o.m_msg = nullptr; }
    Message& operator=(Message&&) = delete;
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;
    ~Message();
    LDAPMessage* get() const noexcept { return m_msg; }
    LDAPMessage** out() noexcept { return &m_msg; }  // for ldap_search_ext_s; must be empty

private:
    LDAPMessage* m_msg = nullptr;
};

// How to reach and authenticate to one server.
struct ServerSettings {
    std::string uri;                 // one ldap://, ldaps:// or ldapi:// URI (ldapi: no TLS)
    bool starttls = false;           // StartTLS on ldap:// (failure is an error); ignored on ldaps
    std::string ca_file;             // CA certificates for TLS; empty: libldap's default store
    std::string bind_dn;             // empty: anonymous
    std::shared_ptr<const SecureString> bind_password;  // with bind_dn
    std::chrono::milliseconds timeout{5000};  // connect, TLS/bind and each search
};

// A failure talking to one server. connection_lost(): the session is unusable (server down,
// connect refused, timeout, protocol garbage) and must be discarded.
class LdapError : public Error {
public:
    LdapError(const std::string& what, int code, bool connection_lost)
        : Error(Failure::DirectoryUnavailable, what), m_code(code), m_lost(connection_lost) {}
    int code() const noexcept { return m_code; }  // libldap result code
    bool connection_lost() const noexcept { return m_lost; }

private:
    int m_code;
    bool m_lost;
};

// Thrown for settings that can never work (bad URI, unreadable CA file option); the callers'
// constructors turn it into their own configuration error.
class SettingsError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class Scope { Base, OneLevel, Subtree };

struct SearchRequest {
    std::string base;
    std::string filter;                   // values inside escaped with escape_filter_value
    std::vector<std::string> attributes;  // empty: all user attributes
    Scope scope = Scope::Subtree;
    // What sizeLimitExceeded is. false (group and clearance searches): a failure like every
    // partial answer. true (certificate lookups): an answer of its own, SearchResult::
    // too_many_entries without the entries received: more entries match than the limit lets
    // through, which no other server and no retry changes (a directory condition, not an
    // outage), and which of them is the recipient's is unknown.
    bool too_many_entries_is_answer = false;
    // What an entry larger than max_pdu_bytes is. false: a failure of the server. true
    // (certificate lookups, a mail list's group): an answer of its own, SearchResult::
    // entry_too_large without entries: the directory sends the same entry at every retry, so
    // taken for an outage it deferred the mail until it bounced.
    bool entry_too_large_is_answer = false;
    // What noSuchObject (the base is not there) is. false (a group or person read by DN that
    // may be gone): an empty answer. true (certificate lookups under the configured base): a
    // failure like an unreachable server, since the directory cannot tell whether the address
    // has a certificate (a typo in the base, a database being restored, an ACL hiding the
    // base), and "none" would be cached and, under an opportunistic rule, send in clear.
    bool absent_base_is_failure = false;
};

// Bounds on one answer. More matching entries than max_entries (the sizelimit sent) make the
// search fail or say too_many_entries (see SearchRequest), also when the server ignores the
// sizelimit and sends them anyway (the search is abandoned at entry max_entries + 1 and the
// session closed); values larger than max_value_bytes and values past max_values (over the
// whole answer) are dropped with a log line and counted (SearchResult::dropped_values); a PDU
// (one entry) larger than max_pdu_bytes breaks the connection (and fails the search, or says
// entry_too_large: see SearchRequest::entry_too_large_is_answer).
struct SearchLimits {
    int max_entries = 16;
    std::size_t max_value_bytes = 64 * 1024;
    std::size_t max_values = 32;
    std::size_t max_pdu_bytes = 4 * 1024 * 1024;
};

struct Attribute {
    std::string name;  // as the server wrote it, options included ("userCertificate;binary")
    std::vector<Bytes> values;
};

struct Entry {
    std::string dn;
    std::vector<Attribute> attributes;
    // Values of `name` and of `name;option...` (case-insensitive): servers answer
    // userCertificate;binary when userCertificate was asked and the other way round.
    std::vector<const Bytes*> values(std::string_view name) const;
};

// One search's answer. A caller that must not take a cut answer for the whole one (certificate
// lookups) looks at dropped_values and too_many_entries.
struct SearchResult {
    std::vector<Entry> entries;
    std::size_t dropped_values = 0;  // values left out by max_value_bytes / max_values
    bool too_many_entries = false;   // sizeLimitExceeded with too_many_entries_is_answer: no entries
    bool abandoned = false;          // the server sent more than max_entries: its session is closed
    // An entry over max_pdu_bytes with entry_too_large_is_answer: no entries (the session is
    // closed: abandoned).
    bool entry_too_large = false;
    // Continuation references (RFC 4511 §4.5.3: part of the subtree is held elsewhere) the
    // server sent; they are not followed, so the entries may not be all that match.
    std::size_t references = 0;
};

// What a negative answer ("not a member", "no such person") from searches that met
// continuation references is: part of the subtree is held by a server nobody configured, which
// is not asked, so the entry that would make the answer positive may be there.
// Fail: no answer (the default). Ignore: the answer of what this server holds; for Active
// Directory, which refers every subtree search at a domain root to its application partitions
// (DomainDnsZones, ForestDnsZones, Configuration), where no person or group is.
enum class References { Fail, Ignore };

// For a negative answer from searches that met `references` references, under `mode`: Fail
// throws ssm::Error(Failure::DirectoryUnavailable) naming `what`; Ignore logs one debug line
// (ldap_references_ignored) and returns. Returns when references is 0. A positive answer found
// beside references stands (callers do not call this).
void refuse_unseen(std::size_t references, const std::string& what, References mode);

// RFC 4515 escaping of an assertion value (via libldap's ldap_bv2escaped_filter_value, which
// escapes NUL ( ) * \ and every non-ASCII byte as \XX), so untrusted text cannot change the
// structure of a filter.
std::string escape_filter_value(std::string_view value);

// Whether `dn` is a non-empty RFC 4514 DN (libldap's ldap_str2dn, LDAPv3 syntax). A DN from a
// server answer must pass this before it becomes the base of a search.
bool is_valid_dn(std::string_view dn);

// Replaces every "%s" of `filter_template` with the escaped value.
std::string make_filter(std::string_view filter_template, std::string_view raw_value);

// A connected, TLS-protected (when configured) and bound session. Throws LdapError.
Handle connect(const ServerSettings& settings, const SearchLimits& limits);

// One search on a session. An absent base (noSuchObject) is an empty answer (see
// SearchRequest::absent_base_is_failure); a partial answer
// (size, time or administrative limit exceeded) is an LdapError, never the entries received
// (sizeLimitExceeded: see SearchRequest::too_many_entries_is_answer). Throws LdapError.
SearchResult search(const Handle& ld, const ServerSettings& settings,
                          const SearchRequest& request, const SearchLimits& limits);

// Up to `size` sessions to one server, each used by one thread at a time. A session that lost
// its connection is discarded; when a pooled session turns out dead (the server restarted),
// the other idle ones are dropped too and the search is retried once on a fresh connection.
class ServerPool {
public:
    ServerPool(ServerSettings settings, unsigned size, SearchLimits limits);
    ~ServerPool();
    ServerPool(const ServerPool&) = delete;
    ServerPool& operator=(const ServerPool&) = delete;

    // Throws LdapError. `sent` counts searches put on the wire.
    SearchResult search(const SearchRequest& request, std::atomic<std::uint64_t>& sent);
    const std::string& uri() const noexcept { return m_settings.uri; }
    // Sessions currently open (idle or in use): for tests.
    unsigned open_sessions() const;

private:
    struct Lease;
    Lease acquire();
    void give_back(Handle handle, bool healthy);
    void drop_idle();

    const ServerSettings m_settings;
    const unsigned m_size;
    const SearchLimits m_limits;
    mutable std::mutex m_mutex;
    std::condition_variable m_freed;
    std::vector<Handle> m_idle;  // guarded by m_mutex
    unsigned m_open = 0;         // guarded by m_mutex: idle + leased + being connected
};

// Several servers of one directory, asked in order. A server that could not be used (not
// reached, no answer within its timeout, a broken connection, every connection busy, a failed
// bind, busy or unavailable) is marked down and not asked for `retry_after`; the failures of
// one question (a partial answer, an entry too large, an absent base) do not mark it. While
// every server is marked down a search fails at once, without waiting for any timeout. When a
// server's window has passed, one search (of all threads) asks it again; the others treat it
// as down until that search has its answer, so a server that still hangs costs one timeout per
// retry_after. An answer sets a server up again unless another search marked it down after
// the answer came. retry_after 0: no server is ever marked down.
class Client {
public:
    struct Settings {
        std::vector<ServerSettings> servers;
        unsigned connections_per_server = 4;
        std::chrono::milliseconds retry_after{10000};
        SearchLimits limits;
    };
    explicit Client(Settings settings);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    struct Answer : SearchResult {
        std::string server;  // URI of the server that answered
    };
    // Throws ssm::Error(Failure::DirectoryUnavailable) naming every server tried and why, and
    // the servers not asked (marked down) with the failure that marked them; with every server
    // marked down, at once ("no LDAP server asked: ... marked down ...").
    Answer search(const SearchRequest& request);

    std::uint64_t searches_sent() const noexcept { return m_sent.load(); }
    const std::vector<std::unique_ptr<ServerPool>>& servers() const noexcept { return m_pools; }

private:
    std::string down_because(std::size_t server) const;

    std::vector<std::unique_ptr<ServerPool>> m_pools;
    // steady_clock ns until which the server is not asked; 0: up. A value in the past: the
    // next search claims the server by moving it a window ahead (see search()).
    std::unique_ptr<std::atomic<std::int64_t>[]> m_down_until;
    mutable std::mutex m_down_mutex;
    std::vector<std::string> m_down_because;  // guarded by m_down_mutex: the failure that marked each down
    std::chrono::milliseconds m_retry_after;
    std::atomic<std::uint64_t> m_sent{0};
};

}  // namespace ssm::directory::ldap
