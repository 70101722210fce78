// The LDAP client (see ldap_connection.h): sessions, searches, the per-server pool and failover.
// SECURITY: answers are untrusted; every size is bounded before a value is copied.
#include "directory/ldap_connection.h"

#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <system_error>
#include <thread>

#include "base/ascii.h"
#include "base/log.h"
#include "base/metrics.h"

namespace ssm::directory::ldap {

namespace {

// libldap writes with write(2): on a socket the server has reset, that raises SIGPIPE, which
// kills a process that does not ignore it (ssmctl, tests). Block it around our calls and
// swallow one that became pending meanwhile.
class SigpipeGuard {
public:
    SigpipeGuard() noexcept
    {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &s, &m_old);
    }
    ~SigpipeGuard()
    {
        if (sigismember(&m_old, SIGPIPE)) return;  // the caller blocks it: leave it alone
        sigset_t s, pending;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE)) {
            const timespec zero{0, 0};
            sigtimedwait(&s, nullptr, &zero);
        }
        pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;

private:
    sigset_t m_old;
};

struct LdapMemFree {
    void operator()(char* p) const noexcept { ldap_memfree(p); }
};
using LdapString = std::unique_ptr<char, LdapMemFree>;

struct BerFree {
    void operator()(BerElement* b) const noexcept { ber_free(b, 0); }
};

struct ValuesFree {
    void operator()(berval** v) const noexcept { ldap_value_free_len(v); }
};

timeval to_timeval(std::chrono::milliseconds ms)
{
    const auto count = std::max<std::int64_t>(ms.count(), 1);
    return timeval{static_cast<time_t>(count / 1000), static_cast<suseconds_t>((count % 1000) * 1000)};
}

// libldap's extra text for the last error (e.g. the TLS failure behind LDAP_CONNECT_ERROR).
std::string diagnostic(LDAP* ld)
{
    char* raw = nullptr;
    if (ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &raw) != LDAP_OPT_SUCCESS || !raw)
        return {};
    LdapString msg(raw);
    const std::string text = raw;
    // GnuTLS failures inside libldap leave only this placeholder: not worth printing.
    if (text.empty() || text == "(unknown error code)") return {};
    return " (" + log::sanitise(text, 200) + ")";
}

// Result codes after which the session is unusable: all of libldap's local errors (negative:
// server down, connect error, timeout, decoding error, ...).
bool loses_connection(int rc)
{
    return rc < 0;
}

[[noreturn]] void fail(LDAP* ld, const ServerSettings& s, const std::string& step, int rc)
{
    throw LdapError(s.uri + ": " + step + ": " + ldap_err2string(rc) + diagnostic(ld), rc,
                    loses_connection(rc) || step != "search");
}

void set_option(LDAP* ld, const ServerSettings& s, int option, const void* value, const char* what)
{
    const int rc = ldap_set_option(ld, option, value);
    if (rc != LDAP_OPT_SUCCESS) throw LdapError(s.uri + ": cannot set " + what, rc, true);
}

// Whether `uri` is of `scheme` ("ldaps", "ldapi"; any case, as libldap reads it). ldapi is a
// Unix socket on this host: the kernel says who is at the other end, TLS adds nothing.
bool has_scheme(std::string_view uri, std::string_view scheme)
{
    const std::size_t n = scheme.size() + 3;  // "://"
    return uri.size() >= n && iequals(uri.substr(0, scheme.size()), scheme) && uri.substr(scheme.size(), 3) == "://";
}

int scope_code(Scope s)
{
    switch (s) {
    case Scope::Base: return LDAP_SCOPE_BASE;
    case Scope::OneLevel: return LDAP_SCOPE_ONELEVEL;
    case Scope::Subtree: break;
    }
    return LDAP_SCOPE_SUBTREE;
}

bool iequals_prefix(std::string_view name, std::string_view wanted)
{
    // "wanted" itself or "wanted;options".
    if (name.size() < wanted.size() || !iequals(name.substr(0, wanted.size()), wanted)) return false;
    return name.size() == wanted.size() || name[wanted.size()] == ';';
}

}  // namespace

namespace {

// LDAP_OPT_CONNECT_CB: libldap connected the socket (before any TLS handshake) ...
int socket_opened(LDAP*, Sockbuf* sb, LDAPURLDesc*, sockaddr*, ldap_conncb* ctx)
{
    auto* watched = static_cast<Handle::WatchedSocket*>(ctx->lc_arg);
    ber_socket_t fd = -1;
    if (ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd) != 1) fd = -1;
    std::lock_guard lock(watched->mutex);
    watched->fd = fd;
    return 0;
}

// ... and is about to close it: from now on its number may be another socket's.
void socket_closing(LDAP*, Sockbuf*, ldap_conncb* ctx)
{
    auto* watched = static_cast<Handle::WatchedSocket*>(ctx->lc_arg);
    std::lock_guard lock(watched->mutex);
    watched->fd = -1;
}

// Shuts the session's socket down when `limit` passes before the object goes: libldap 2.5
// reads the ldaps:// (and StartTLS) handshake blocking, retrying EAGAIN, without its network
// timeout, so a server that accepted and never answered held the thread for ever (and, through
// the lookup cache's single flight, every lookup of that address after it).
// The watch is a thread of its own; one that cannot be started (EAGAIN: the thread or memory
// limit reached) is a failure of this connection attempt like any other (LdapError: logged,
// the next server asked), not a std::system_error that passed the failover unseen.
class Deadline {
public:
    Deadline(Handle& handle, std::chrono::milliseconds limit, const std::string& uri)
    {
        try {
            m_thread = std::thread([this, &handle, limit] {
                std::unique_lock lock(m_mutex);
                if (!m_ended.wait_for(lock, limit, [this] { return m_done; })) {
                    m_fired = true;
                    handle.shut_down_socket();
                }
            });
        } catch (const std::system_error& e) {
            throw LdapError(uri + ": cannot start the thread that bounds the connection's wait: " + e.what(),
                            LDAP_LOCAL_ERROR, true);
        }
    }
    ~Deadline() { end(); }
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
    // Stops the watch and says whether it fired. After it, the socket is no longer shut down:
    // asked before, a deadline passing just after the handshake succeeded shut the socket of a
    // session that was handed out as connected (its first search failed, far from the cause).
    bool end()
    {
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_ended.notify_one();
        if (m_thread.joinable()) m_thread.join();
        return m_fired;  // the thread is gone: no lock needed
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_ended;
    bool m_done = false;   // guarded by m_mutex
    bool m_fired = false;  // guarded by m_mutex
    std::thread m_thread;  // started in the constructor's body, once the rest is made
};

}  // namespace

Handle& Handle::operator=(Handle&& o) noexcept
{
    if (this != &o) {
        Handle old(m_ld);
        old.m_socket = std::move(m_socket);
        m_ld = o.m_ld;
        m_socket = std::move(o.m_socket);
        o.m_ld = nullptr;
    }
    return *this;
}

Handle::~Handle()
{
    if (!m_ld) return;
    SigpipeGuard guard;
    ldap_unbind_ext_s(m_ld, nullptr, nullptr);
}

void Handle::watch_socket(const std::string& uri)
{
    auto watched = std::make_unique<WatchedSocket>();
    watched->callback.lc_add = &socket_opened;
    watched->callback.lc_del = &socket_closing;
    watched->callback.lc_arg = watched.get();
    // libldap keeps the pointer: the struct lives as long as this handle.
    if (ldap_set_option(m_ld, LDAP_OPT_CONNECT_CB, &watched->callback) != LDAP_OPT_SUCCESS)
        throw LdapError(uri + ": cannot set the connect callback", LDAP_OTHER, true);
    m_socket = std::move(watched);
}

void Handle::shut_down_socket() noexcept
{
    if (!m_socket) return;
    std::lock_guard lock(m_socket->mutex);
    if (m_socket->fd >= 0) ::shutdown(m_socket->fd, SHUT_RDWR);
}

Message::~Message()
{
    if (m_msg) ldap_msgfree(m_msg);
}

std::vector<const Bytes*> Entry::values(std::string_view name) const
{
    std::vector<const Bytes*> out;
    for (const auto& a : attributes)
        if (iequals_prefix(a.name, name))
            for (const auto& v : a.values) out.push_back(&v);
    return out;
}

void refuse_unseen(std::size_t references, const std::string& what, References mode)
{
    if (references == 0) return;
    if (mode == References::Ignore) {
        // Debug, not info: under an AD domain root every negative answer meets them.
        log::debug("ldap_references_ignored", {{"question", what}, {"references", std::to_string(references)}});
        return;
    }
    throw Error(Failure::DirectoryUnavailable,
                what + ": unknown: " + std::to_string(references) +
                    " search reference(s) to other servers not followed (a base below the referral "
                    "objects avoids them)");
}

std::string escape_filter_value(std::string_view value)
{
    // libldap's escaper is the reference implementation of RFC 4515 §3 and also escapes all
    // non-ASCII bytes, which keeps the filter plain ASCII. It allocates with ber_memalloc.
    berval in{static_cast<ber_len_t>(value.size()), const_cast<char*>(value.data())};
    berval out{0, nullptr};
    if (ldap_bv2escaped_filter_value(&in, &out) != 0 || !out.bv_val)
        throw std::bad_alloc();
    std::string s(out.bv_val, out.bv_len);
    ber_memfree(out.bv_val);
    return s;
}

bool is_valid_dn(std::string_view dn)
{
    // A NUL would cut the string libldap sees; the length bound keeps the parse cheap.
    if (dn.empty() || dn.size() > 4096 || dn.find('\0') != std::string_view::npos) return false;
    const std::string text(dn);
    LDAPDN parsed = nullptr;
    const int rc = ldap_str2dn(text.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3);
    if (parsed) ldap_dnfree(parsed);
    return rc == LDAP_SUCCESS;
}

std::string make_filter(std::string_view filter_template, std::string_view raw_value)
{
    const std::string escaped = escape_filter_value(raw_value);
    std::string out;
    for (std::size_t i = 0; i < filter_template.size(); ++i) {
        if (filter_template[i] == '%' && i + 1 < filter_template.size() &&
            filter_template[i + 1] == 's') {
            out += escaped;
            ++i;
        } else {
            out += filter_template[i];
        }
    }
    return out;
}

Handle connect(const ServerSettings& s, const SearchLimits& limits)
{
    SigpipeGuard guard;
    LDAP* raw = nullptr;
    const int init = ldap_initialize(&raw, s.uri.c_str());
    Handle h(raw);
    if (init != LDAP_SUCCESS || !raw)
        throw LdapError(s.uri + ": bad URI: " + ldap_err2string(init), init, true);
    LDAP* ld = h.get();

    const int version = LDAP_VERSION3;
    set_option(ld, s, LDAP_OPT_PROTOCOL_VERSION, &version, "protocol version");
    // Referrals would send our bind and queries to hosts nobody configured.
    set_option(ld, s, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals");
    const timeval tv = to_timeval(s.timeout);
    set_option(ld, s, LDAP_OPT_NETWORK_TIMEOUT, &tv, "network timeout");
    set_option(ld, s, LDAP_OPT_TIMEOUT, &tv, "timeout");
    h.watch_socket(s.uri);

    const bool tls = has_scheme(s.uri, "ldaps") || s.starttls;
    if (tls) {
        const int demand = LDAP_OPT_X_TLS_DEMAND;
        set_option(ld, s, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand, "TLS certificate check");
        const int min_version = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
        set_option(ld, s, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min_version, "TLS minimum version");
        if (!s.ca_file.empty())
            set_option(ld, s, LDAP_OPT_X_TLS_CACERTFILE, s.ca_file.c_str(), "TLS CA file");
        // Options set on a handle apply only once it has a TLS context of its own.
        const int is_server = 0;
        const int rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);
        if (rc != LDAP_OPT_SUCCESS)
            throw LdapError(s.uri + ": cannot make a TLS context (CA file " +
                                (s.ca_file.empty() ? std::string("default") : s.ca_file) + ")",
                            rc, true);
    }

    // libldap reports a failed handshake or certificate check as a plain connect error:
    // name the TLS settings so an administrator can tell.
    const std::string tls_note =
        " (TLS, CA file " + (s.ca_file.empty() ? std::string("default") : s.ca_file) + ")";

    // Connect now (ldaps: with the TLS handshake) so an unreachable server fails here.
    {
        Deadline deadline(h, s.timeout, s.uri);
        const int rc = ldap_connect(ld);
        const bool late = deadline.end();
        if (rc != LDAP_SUCCESS || late)
            fail(ld, s, (has_scheme(s.uri, "ldaps") ? "connect" + tls_note : std::string("connect")) +
                            (late ? ": no answer within the timeout" : ""),
                 rc != LDAP_SUCCESS ? rc : LDAP_TIMEOUT);
    }

    // Bound the size of one incoming PDU (one entry): a hostile server cannot make us buffer
    // more than this for a single message.
    Sockbuf* sb = nullptr;
    if (ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS && sb) {
        ber_len_t max = static_cast<ber_len_t>(limits.max_pdu_bytes);
        ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_MAX_INCOMING, &max);
    }

    if (s.starttls && !has_scheme(s.uri, "ldaps")) {
        // The extended operation is bounded by LDAP_OPT_TIMEOUT, the handshake after it is not.
        Deadline deadline(h, 2 * s.timeout, s.uri);
        const int rc = ldap_start_tls_s(ld, nullptr, nullptr);
        const bool late = deadline.end();
        if (rc != LDAP_SUCCESS || late)
            fail(ld, s, "StartTLS" + tls_note + (late ? ": no answer within the timeout" : ""),
                 rc != LDAP_SUCCESS ? rc : LDAP_TIMEOUT);
    }

    if (!s.bind_dn.empty()) {
        const std::string empty;
        const std::string& pw = s.bind_password ? s.bind_password->value() : empty;
        berval cred{static_cast<ber_len_t>(pw.size()), const_cast<char*>(pw.data())};
        if (int rc = ldap_sasl_bind_s(ld, s.bind_dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr,
                                      nullptr, nullptr);
            rc != LDAP_SUCCESS)
            fail(ld, s, "bind as " + s.bind_dn, rc);
    }
    return h;
}

namespace {

// The values of one entry, within the limits of the whole answer (see SearchLimits).
Entry read_entry(LDAP* ld, LDAPMessage* e, const ServerSettings& s, const SearchLimits& limits,
                 SearchResult& result, std::size_t& values)
{
    Entry entry;
    if (LdapString dn{ldap_get_dn(ld, e)}) entry.dn = dn.get();
    BerElement* raw_ber = nullptr;
    LdapString name{ldap_first_attribute(ld, e, &raw_ber)};
    std::unique_ptr<BerElement, BerFree> ber(raw_ber);
    for (; name; name.reset(ldap_next_attribute(ld, e, ber.get()))) {
        Attribute attribute{name.get(), {}};
        std::unique_ptr<berval*, ValuesFree> vals(ldap_get_values_len(ld, e, name.get()));
        for (berval** v = vals.get(); v && *v; ++v) {
            const char* reason = nullptr;
            if ((*v)->bv_len > limits.max_value_bytes)
                reason = "value too large";
            else if (values >= limits.max_values)
                reason = "too many values in one answer";
            if (reason) {
                log::warning("ldap_value_dropped",
                             {{"server", s.uri}, {"dn", entry.dn},
                              {"attribute", attribute.name},
                              {"bytes", std::to_string((*v)->bv_len)}, {"reason", reason}});
                ++result.dropped_values;
                continue;
            }
            ++values;
            const auto* p = reinterpret_cast<const std::uint8_t*>((*v)->bv_val);
            attribute.values.emplace_back(p, p + (*v)->bv_len);
        }
        entry.attributes.push_back(std::move(attribute));
    }
    return entry;
}

// sizeLimitExceeded, from the server or found by us (see search below).
SearchResult too_many_entries(const ServerSettings& s, const SearchRequest& request, const SearchLimits& limits,
                              bool abandoned)
{
    log::warning("ldap_size_limit", {{"server", s.uri},
                                     {"filter", request.filter},
                                     {"max_entries", std::to_string(limits.max_entries)},
                                     {"server_ignored_it", abandoned ? "yes" : "no"}});
    if (request.too_many_entries_is_answer) {
        SearchResult cut;
        cut.too_many_entries = true;
        cut.abandoned = abandoned;
        return cut;
    }
    throw LdapError(s.uri + ": search: partial answer: " + ldap_err2string(LDAP_SIZELIMIT_EXCEEDED) +
                        " (more than " + std::to_string(limits.max_entries) +
                        " entries, or the server's size limit)",
                    LDAP_SIZELIMIT_EXCEEDED, abandoned);
}

// One message over max_pdu_bytes: liblber refuses to read it (LBER_SB_OPT_SET_MAX_INCOMING)
// and libldap drops the connection. The server sends the same entry at every retry, so for a
// caller that takes it as an answer (certificate lookups, a mail list's group) it is one:
// retried as an outage, the mail was deferred (451) until the MTA gave up days later.
SearchResult entry_too_large(const ServerSettings& s, const SearchRequest& request, const SearchLimits& limits)
{
    log::warning("ldap_entry_too_large", {{"server", s.uri},
                                          {"filter", request.filter},
                                          {"max_pdu_bytes", std::to_string(limits.max_pdu_bytes)}});
    if (request.entry_too_large_is_answer) {
        SearchResult cut;
        cut.entry_too_large = true;
        cut.abandoned = true;  // libldap has given the connection up
        return cut;
    }
    // Not asked again on this server (see ServerPool::search): the same entry would come back.
    throw LdapError(s.uri + ": search: an entry larger than " + std::to_string(limits.max_pdu_bytes) +
                        " bytes (max_pdu_bytes)",
                    LDAP_SIZELIMIT_EXCEEDED, true);
}

}  // namespace

SearchResult search(const Handle& h, const ServerSettings& s, const SearchRequest& request,
                          const SearchLimits& limits)
{
    SigpipeGuard guard;
    LDAP* ld = h.get();
    std::vector<char*> attrs;
    for (const auto& a : request.attributes) attrs.push_back(const_cast<char*>(a.c_str()));
    attrs.push_back(nullptr);
    timeval server_limit = to_timeval(s.timeout);  // the server's time limit
    int msgid = 0;
    if (const int rc = ldap_search_ext(ld, request.base.c_str(), scope_code(request.scope), request.filter.c_str(),
                                       request.attributes.empty() ? nullptr : attrs.data(), 0, nullptr, nullptr,
                                       &server_limit, limits.max_entries, &msgid);
        rc != LDAP_SUCCESS)
        fail(ld, s, "search", rc);
    // The answer is read one message at a time, not collected whole (ldap_search_ext_s): the
    // sizelimit we send binds only a server that honours it, and libldap keeps every entry a
    // server sends. A hostile or broken one could fill our memory; entries beyond max_entries
    // end the search here. One deadline covers the whole answer, however slowly it drips.
    const auto deadline = std::chrono::steady_clock::now() + s.timeout;
    SearchResult result;
    std::size_t values = 0;
    int entries = 0;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        Message msg;
        timeval wait = to_timeval(left);
        errno = 0;
        const int type = left.count() > 0 ? ldap_result(ld, msgid, LDAP_MSG_ONE, &wait, msg.out()) : 0;
        const int read_errno = errno;
        if (type == 0) {
            ldap_abandon_ext(ld, msgid, nullptr, nullptr);
            fail(ld, s, "search", LDAP_TIMEOUT);
        }
        if (type < 0) {
            int code = LDAP_OTHER;
            ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code);
            // liblber's refusal of a message over the limit is ERANGE; libldap then reports
            // the connection as lost.
            if (code == LDAP_SERVER_DOWN && read_errno == ERANGE) return entry_too_large(s, request, limits);
            fail(ld, s, "search", code < 0 ? code : LDAP_SERVER_DOWN);
        }
        if (type == LDAP_RES_SEARCH_REFERENCE) {  // not followed (see connect): counted
            ++result.references;
            continue;
        }
        if (type == LDAP_RES_SEARCH_ENTRY) {
            if (++entries > limits.max_entries) {
                // The session still receives the rest: it is closed, not pooled (abandoned).
                ldap_abandon_ext(ld, msgid, nullptr, nullptr);
                return too_many_entries(s, request, limits, true);
            }
            result.entries.push_back(read_entry(ld, msg.get(), s, limits, result, values));
            continue;
        }
        if (type != LDAP_RES_SEARCH_RESULT)
            throw LdapError(s.uri + ": search: unexpected message type " + std::to_string(type), LDAP_PROTOCOL_ERROR,
                            true);
        int code = LDAP_OTHER;
        if (const int rc = ldap_parse_result(ld, msg.get(), &code, nullptr, nullptr, nullptr, nullptr, 0);
            rc != LDAP_SUCCESS)
            fail(ld, s, "search", rc);
        if (code == LDAP_NO_SUCH_OBJECT) {
            if (!request.absent_base_is_failure) return {};
            // The session is fine: only this directory's answer is useless.
            throw LdapError(s.uri + ": search: base " + log::sanitise(request.base) + ": " +
                                ldap_err2string(code) + " (check the directory's base)",
                            code, false);
        }
        // sizeLimitExceeded (our max_entries or the server's sizelimit), like timeLimitExceeded
        // and adminLimitExceeded, comes with the entries sent so far: a partial answer, which may
        // lack the entry that matters (the recipient's current certificate, the group listing a
        // member). Never taken as the answer, so never cached as one: a failure, the next server
        // is asked, and the caller's stale-if-error or 451 applies; or, for a caller that asked
        // (certificate lookups), an answer that says so and holds none of the entries.
        if (code == LDAP_SIZELIMIT_EXCEEDED) return too_many_entries(s, request, limits, false);
        if (code != LDAP_SUCCESS) fail(ld, s, "search", code);
        return result;
    }
}

// --- pool ------------------------------------------------------------------------------------

struct ServerPool::Lease {
    ServerPool* pool;
    Handle handle;
    bool fresh;  // connected for this lease (not taken from the idle list)
    bool healthy = false;
    Lease(ServerPool* p, Handle h, bool f) : pool(p), handle(std::move(h)), fresh(f) {}
    Lease(Lease&& o) noexcept
        : pool(o.pool), handle(std::move(o.handle)), fresh(o.fresh), healthy(o.healthy)
    {
        o.pool = nullptr;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease()
    {
        if (pool) pool->give_back(std::move(handle), healthy);
    }
};

ServerPool::ServerPool(ServerSettings settings, unsigned size, SearchLimits limits)
    : m_settings(std::move(settings)), m_size(std::max(size, 1U)), m_limits(limits)
{
}

ServerPool::~ServerPool() = default;

unsigned ServerPool::open_sessions() const
{
    std::lock_guard lock(m_mutex);
    return m_open;
}

ServerPool::Lease ServerPool::acquire()
{
    std::unique_lock lock(m_mutex);
    const auto deadline = std::chrono::steady_clock::now() + m_settings.timeout;
    while (m_idle.empty() && m_open >= m_size) {
        if (m_freed.wait_until(lock, deadline) == std::cv_status::timeout && m_idle.empty() &&
            m_open >= m_size)
            throw LdapError(m_settings.uri + ": all " + std::to_string(m_size) +
                                " connections stayed busy for " +
                                std::to_string(m_settings.timeout.count()) + " ms",
                            LDAP_TIMEOUT, false);
    }
    if (!m_idle.empty()) {
        Handle h = std::move(m_idle.back());
        m_idle.pop_back();
        return Lease(this, std::move(h), false);
    }
    ++m_open;
    lock.unlock();
    try {
        return Lease(this, connect(m_settings, m_limits), true);
    } catch (...) {
        lock.lock();
        --m_open;
        m_freed.notify_one();
        throw;
    }
}

void ServerPool::give_back(Handle handle, bool healthy)
{
    {
        std::lock_guard lock(m_mutex);
        if (healthy)
            m_idle.push_back(std::move(handle));
        else
            --m_open;
        m_freed.notify_one();
    }
    // A broken handle is released here, outside the lock.
}

void ServerPool::drop_idle()
{
    std::vector<Handle> dropped;
    {
        std::lock_guard lock(m_mutex);
        dropped.swap(m_idle);
        m_open -= static_cast<unsigned>(dropped.size());
        m_freed.notify_all();
    }
}

SearchResult ServerPool::search(const SearchRequest& request, std::atomic<std::uint64_t>& sent)
{
    for (int attempt = 0;; ++attempt) {
        Lease lease = acquire();
        try {
            ++sent;
            auto result = ldap::search(lease.handle, m_settings, request, m_limits);
            lease.healthy = !result.abandoned;
            return result;
        } catch (const LdapError& e) {
            lease.healthy = !e.connection_lost();
            // A pooled session found dead: the server probably restarted, so its siblings are
            // dead too. Start over once on a fresh connection. Not for a search abandoned
            // past max_entries: that is the server's answer (it ignores the sizelimit), and
            // asking again would take a second flood and close every idle session.
            if (e.connection_lost() && e.code() != LDAP_SIZELIMIT_EXCEEDED && !lease.fresh && attempt == 0) {
                log::info("ldap_reconnect", {{"server", m_settings.uri}, {"error", e.what()}});
                drop_idle();
                continue;
            }
            throw;
        }
    }
}

// --- failover --------------------------------------------------------------------------------

namespace {

std::int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Whether a failure says the server cannot be used now: unreachable, refused, no answer within
// the timeout, a dead or broken connection, every connection busy, a bind or StartTLS that
// fails, the server busy, unavailable or at its time limit. Such a server is marked down for
// retry_after. Not the failures of one question that a working server answered (a partial
// answer, an answer or an entry too large, an absent base): the next question may well be
// answered, and one address's oversized entry must not stop every other address's lookups.
bool server_unusable(const LdapError& e)
{
    if (e.code() == LDAP_SIZELIMIT_EXCEEDED) return false;  // a flood or an entry too large: one answer
    return e.connection_lost() || e.code() == LDAP_TIMEOUT || e.code() == LDAP_TIMELIMIT_EXCEEDED ||
           e.code() == LDAP_BUSY || e.code() == LDAP_UNAVAILABLE;
}

void check_uri(const std::string& uri)
{
    LDAPURLDesc* desc = nullptr;
    if (ldap_url_parse(uri.c_str(), &desc) != LDAP_URL_SUCCESS || !desc)
        throw SettingsError("not an LDAP URI: " + uri);
    const std::string scheme = desc->lud_scheme ? desc->lud_scheme : "";
    const bool has_host = desc->lud_host && *desc->lud_host;
    ldap_free_urldesc(desc);
    if (scheme != "ldap" && scheme != "ldaps" && scheme != "ldapi")
        throw SettingsError("LDAP URI must be ldap://, ldaps:// or ldapi://: " + uri);
    // ldapi:/// is libldap's compiled-in socket (slapd's default one on the same host).
    if (!has_host && scheme != "ldapi") throw SettingsError("LDAP URI without a host: " + uri);
}

// libldap initialises its global options and its TLS library lazily on first use; do that
// once here, before milter threads connect in parallel.
void initialise_libldap_once()
{
    static std::once_flag once;
    std::call_once(once, [] {
        LDAP* ld = nullptr;
        if (ldap_initialize(&ld, "ldap://127.0.0.1/") != LDAP_SUCCESS || !ld) return;
        const int is_server = 0;
        ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);  // result irrelevant here
        ldap_destroy(ld);
    });
}

}  // namespace

Client::Client(Settings settings) : m_retry_after(std::max(settings.retry_after, std::chrono::milliseconds(0)))
{
    initialise_libldap_once();
    if (settings.servers.empty()) throw SettingsError("no LDAP server configured");
    for (auto& s : settings.servers) {
        check_uri(s.uri);
        if (!s.bind_dn.empty() && !s.bind_password)
            throw SettingsError("a bind DN needs a password: " + s.uri);
        if (s.starttls && has_scheme(s.uri, "ldapi"))
            throw SettingsError("StartTLS does not apply to ldapi://: " + s.uri);
        m_pools.push_back(
            std::make_unique<ServerPool>(std::move(s), settings.connections_per_server, settings.limits));
    }
    m_down_until = std::make_unique<std::atomic<std::int64_t>[]>(m_pools.size());
    for (std::size_t i = 0; i < m_pools.size(); ++i) m_down_until[i] = 0;
    m_down_because.resize(m_pools.size());
}

Client::~Client() = default;

std::string Client::down_because(std::size_t i) const
{
    std::lock_guard lock(m_down_mutex);
    return m_down_because[i];
}

Client::Answer Client::search(const SearchRequest& request)
{
    // A server that could not be used (server_unusable) is marked down for retry_after and not
    // asked meanwhile: a dead or hanging server does not cost a timeout per search, and while
    // every server is down a search fails at once. Before, every search asked every server
    // again, so a rule with N groups (two address forms each) waited up to 2N timeouts per
    // message against a hanging directory, and a From field listing 16 authors 32 more.
    // When a server's window has passed, the first search to see it claims it by starting the
    // next window (compare-exchange) and asks it: recovery is noticed without an administrator,
    // while the other threads go on as if it were still down (other servers, or a fast
    // failure) until that search has its answer. So a server that still hangs costs one timeout
    // per retry_after, whatever the load. retry_after 0: nothing is ever marked down.
    // An answer (or a failure of the question alone) sets the server up again, as the latest
    // news of it, unless a mark was set after the answer came: a search that failed meanwhile
    // (its store after ours, or ours delayed past it) knows more, and erased, its mark would
    // cost the next search a whole timeout on a server that hangs again. A mark holds the
    // time it was set plus the window, so its age is known; the probe's own claim is older
    // than its answer and is cleared by it.
    const std::int64_t now = now_ns();
    const std::int64_t window = std::chrono::duration_cast<std::chrono::nanoseconds>(m_retry_after).count();
    std::vector<std::size_t> order;  // the configured order, without the servers marked down
    for (std::size_t i = 0; i < m_pools.size(); ++i) {
        std::int64_t down = m_down_until[i].load();
        if (down == 0 || (down <= now && m_down_until[i].compare_exchange_strong(down, now + window)))
            order.push_back(i);
    }
    auto set_up = [this, window](std::size_t i, std::int64_t answered) {
        std::int64_t mark = m_down_until[i].load();
        while (mark != 0 && mark - window <= answered && !m_down_until[i].compare_exchange_weak(mark, 0)) {
        }
    };

    std::string why;
    auto add_why = [&why](const std::string& text) {
        why += why.empty() ? "" : "; ";
        why += text;
    };
    for (std::size_t i : order) {
        ServerPool& pool = *m_pools[i];
        try {
            Answer answer;
            static_cast<SearchResult&>(answer) = pool.search(request, m_sent);
            set_up(i, now_ns());
            answer.server = pool.uri();
            return answer;
        } catch (const LdapError& e) {
            if (window > 0 && server_unusable(e)) {
                {
                    std::lock_guard lock(m_down_mutex);
                    m_down_because[i] = e.what();
                }
                m_down_until[i] = now_ns() + window;
            } else {
                // The server answered (the failure is this question's), or retry_after is 0.
                set_up(i, now_ns());
            }
            log::warning("ldap_server_failed", {{"server", pool.uri()}, {"error", e.what()}});
            metrics::count_directory_error(metrics::DirectorySource::LdapServer);
            add_why(e.what());
        }
    }
    metrics::count_directory_error(metrics::DirectorySource::Ldap);  // once per failed search
    // The servers not asked, with the failure that marked each down.
    std::string skipped;
    for (std::size_t i = 0; i < m_pools.size(); ++i)
        if (std::find(order.begin(), order.end(), i) == order.end())
            skipped += (skipped.empty() ? "" : "; ") + down_because(i);
    const std::string retry = std::to_string(m_retry_after.count()) + " ms";
    if (order.empty())
        throw Error(Failure::DirectoryUnavailable,
                    "no LDAP server asked: every server is marked down for retry_after (" + retry +
                        ") after a failure: " + skipped);
    if (!skipped.empty())
        add_why("not asked, marked down for retry_after (" + retry + ") after a failure: " + skipped);
    throw Error(Failure::DirectoryUnavailable, "no LDAP server answered: " + why);
}

}  // namespace ssm::directory::ldap
