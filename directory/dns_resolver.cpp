// The validating resolver over libunbound (see dns_resolver.h).
// SECURITY: libunbound parses and validates the DNS messages; we read only its result
// structure, whose data/len arrays it sized.
#include "directory/dns_resolver.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <unbound.h>

#include <cerrno>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "base/bounded_file.h"
#include "base/error.h"
#include "base/log.h"
#include "base/unique_fd.h"

namespace ssm::directory {

namespace {

struct ContextDeleter {
    void operator()(ub_ctx* c) const noexcept { ub_ctx_delete(c); }
};
struct ResultDeleter {
    void operator()(ub_result* r) const noexcept { ub_resolve_free(r); }
};
using Context = std::unique_ptr<ub_ctx, ContextDeleter>;
using Result = std::unique_ptr<ub_result, ResultDeleter>;

// The pump thread's wake-up descriptor.
class EventFd {
public:
    EventFd() : m_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK))
    {
        if (!m_fd) throw ResolverConfigError("eventfd failed");
    }
    int get() const noexcept { return m_fd.get(); }
    void signal() const noexcept
    {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(m_fd.get(), &one, sizeof one);
    }

private:
    UniqueFd m_fd;
};

// One query in flight: the waiter and the callback (on the pump thread) meet here.
struct Pending {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
    int err = 0;
    Result result;
};

// What libunbound's callback receives: owns a reference to the Pending, so the waiter may
// give up (after a successful ub_cancel) without the callback touching freed memory.
using Ticket = std::shared_ptr<Pending>;

void on_answer(void* data, int err, ub_result* result) noexcept
{
    Result owned(result);
    const std::unique_ptr<Ticket> ticket(static_cast<Ticket*>(data));
    std::lock_guard lock((*ticket)->mutex);
    (*ticket)->err = err;
    (*ticket)->result = std::move(owned);
    (*ticket)->done = true;
    (*ticket)->cv.notify_all();
}

// "ADDRESS[@PORT]" split; false when ADDRESS is no IP address or PORT not 1..65535.
bool split_forwarder(const std::string& f, std::string& address, int& family)
{
    const auto at = f.find('@');
    address = f.substr(0, at);
    if (at != std::string::npos) {
        const std::string port = f.substr(at + 1);
        if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
        const int p = std::stoi(port);
        if (p < 1 || p > 65535) return false;
    }
    unsigned char buf[sizeof(in6_addr)];
    if (::inet_pton(AF_INET, address.c_str(), buf) == 1) {
        family = AF_INET;
        return true;
    }
    if (::inet_pton(AF_INET6, address.c_str(), buf) == 1) {
        family = AF_INET6;
        return true;
    }
    return false;
}

// The nameservers of a resolv.conf file (resolv.conf(5)); IPv6 scope suffixes are dropped.
std::vector<std::string> resolv_conf_nameservers(const std::string& path)
{
    std::vector<std::string> out;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line);
        std::string keyword, address;
        if (!(words >> keyword >> address) || keyword != "nameserver") continue;
        address = address.substr(0, address.find('%'));
        std::string bare;
        int family = 0;
        if (split_forwarder(address, bare, family) && address.find('@') == std::string::npos) out.push_back(address);
    }
    if (out.empty()) out.push_back("127.0.0.1");  // what the C library does without a nameserver line
    return out;
}

void check_ub(int rc, const std::string& what)
{
    if (rc != 0) throw ResolverConfigError(what + ": " + ub_strerror(rc));
}

}  // namespace

bool is_valid_forwarder(const std::string& forwarder)
{
    std::string address;
    int family = 0;
    return split_forwarder(forwarder, address, family);
}

bool is_loopback_forwarder(const std::string& forwarder)
{
    std::string address;
    int family = 0;
    if (!split_forwarder(forwarder, address, family)) return false;
    if (family == AF_INET6) return address == "::1";
    in_addr a{};
    ::inet_pton(AF_INET, address.c_str(), &a);
    return (ntohl(a.s_addr) >> 24) == 127;
}

struct ValidatingResolver::Impl {
    ResolverSettings settings;
    std::string trust_anchors;
    Context ctx;
    EventFd stop;
    std::thread pump;

    explicit Impl(ResolverSettings s) : settings(std::move(s)), ctx(ub_ctx_create())
    {
        if (!ctx) throw ResolverConfigError("cannot create a libunbound context");
        std::string why;
        auto anchors = read_bounded_file(settings.trust_anchor_file, kMaxTrustAnchorFileSize, why);
        if (!anchors)
            throw ResolverConfigError("cannot read trust anchor file " + settings.trust_anchor_file + ": " + why +
                                      " (the root's is in the Debian package dns-root-data)");
        trust_anchors = std::move(*anchors);
        // Threads, not the forked helper process libunbound uses by default: a fork of a
        // threaded milter would copy its locks in whatever state they are in.
        check_ub(ub_ctx_async(ctx.get(), 1), "libunbound threads");
        std::vector<std::string> forwarders;
        if (!settings.forwarder.empty()) {
            if (!is_valid_forwarder(settings.forwarder))
                throw ResolverConfigError("resolver '" + settings.forwarder + "' is not ADDRESS or ADDRESS@PORT");
            forwarders.push_back(settings.forwarder);
        } else {
            forwarders = resolv_conf_nameservers(settings.resolv_conf);
        }
        bool loopback = false;
        for (const auto& f : forwarders) {
            check_ub(ub_ctx_set_fwd(ctx.get(), f.c_str()), "forwarder " + f);
            loopback = loopback || is_loopback_forwarder(f);
        }
        // libunbound will not send queries to loopback addresses unless told (a guard for
        // iterative resolution); here every query goes to the administrator's forwarder, and
        // a local validating resolver (or systemd-resolved) is the common deployment.
        if (loopback) check_ub(ub_ctx_set_option(ctx.get(), "do-not-query-localhost:", "no"), "do-not-query-localhost");
        // A forwarder that timed out once must be asked again at the next query, not held
        // "down" for infra-host-ttl (15 minutes) with every SMIMEA lookup failing meanwhile.
        check_ub(ub_ctx_set_option(ctx.get(), "infra-keep-probing:", "yes"), "infra-keep-probing");
        // The validator records why an answer is bogus only from val-log-level 2 (we log it).
        check_ub(ub_ctx_set_option(ctx.get(), "val-log-level:", "2"), "val-log-level");
        check_ub(ub_ctx_add_ta_file(ctx.get(), settings.trust_anchor_file.c_str()),
                 "trust anchor file " + settings.trust_anchor_file);
        // libunbound reads its settings (the trust anchor file above all) at the first query:
        // ask it now for localhost, a name it answers from its built-in local zone without
        // sending anything, so a file it cannot parse is a configuration error at load time
        // (`ssm-milter -n`, reload) rather than a 451 for every recipient later.
        ub_result* primed = nullptr;
        const int rc = ub_resolve(ctx.get(), "localhost.", 1 /* A */, 1 /* IN */, &primed);
        const Result owned(primed);
        if (rc != 0)
            throw ResolverConfigError("cannot use trust anchor file " + settings.trust_anchor_file + " (" +
                                      ub_strerror(rc) + ")");
        pump = std::thread([this] { run_pump(); });
    }

    ~Impl()
    {
        stop.signal();
        pump.join();
        // ub_ctx_delete (ctx's deleter) kills outstanding queries without calling back; none
        // can be outstanding here: query() waits for its own until answered or cancelled.
    }

    // Delivers answers: the callbacks run here, in ub_process.
    void run_pump() noexcept
    {
        pollfd fds[2] = {{ub_fd(ctx.get()), POLLIN, 0}, {stop.get(), POLLIN, 0}};
        for (;;) {
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                log::error("dns-resolver-poll-failed", {{"errno", std::to_string(errno)}});
                return;
            }
            if (fds[1].revents) return;
            if (fds[0].revents) ub_process(ctx.get());
        }
    }

    Result resolve(const std::string& name, int rr_type)
    {
        auto pending = std::make_shared<Pending>();
        auto ticket = std::make_unique<Ticket>(pending);
        Ticket* const raw = ticket.get();
        int id = 0;
        const int rc = ub_resolve_async(ctx.get(), name.c_str(), rr_type, 1 /* IN */, raw, on_answer, &id);
        if (rc != 0) throw Error(Failure::DirectoryUnavailable, std::string("DNS resolver: ") + ub_strerror(rc));
        ticket.release();  // the callback owns it now (or we, again, after a successful cancel)

        std::unique_lock lock(pending->mutex);
        if (!pending->cv.wait_for(lock, settings.timeout, [&] { return pending->done; })) {
            lock.unlock();
            if (ub_cancel(ctx.get(), id) == 0) {
                const std::unique_ptr<Ticket> reclaimed(raw);  // no callback will come
                throw Error(Failure::DirectoryUnavailable,
                            "DNS resolver: no answer for " + name + " within " +
                                std::to_string(settings.timeout.count()) + " ms");
            }
            // Too late to cancel: the pump thread is delivering the answer now.
            lock.lock();
            pending->cv.wait(lock, [&] { return pending->done; });
        }
        if (pending->err != 0)
            throw Error(Failure::DirectoryUnavailable, std::string("DNS resolver: ") + ub_strerror(pending->err));
        if (!pending->result) throw Error(Failure::DirectoryUnavailable, "DNS resolver: empty result");
        return std::move(pending->result);
    }
};

ValidatingResolver::ValidatingResolver(ResolverSettings settings)
    : m_impl(std::make_unique<Impl>(std::move(settings)))
{
}

ValidatingResolver::~ValidatingResolver() = default;

const ResolverSettings& ValidatingResolver::settings() const noexcept
{
    return m_impl->settings;
}

const std::string& ValidatingResolver::trust_anchors() const noexcept
{
    return m_impl->trust_anchors;
}

DnsAnswer ValidatingResolver::query(const std::string& name, int rr_type)
{
    const Result r = m_impl->resolve(name, rr_type);
    DnsAnswer answer;
    if (r->bogus) {
        answer.status = DnssecStatus::Bogus;
        if (r->why_bogus) answer.why_bogus = r->why_bogus;
        return answer;
    }
    // SERVFAIL, REFUSED, ...: nothing is known about the name, validated or not.
    constexpr int noerror = 0, nxdomain = 3;
    if (r->rcode != noerror && r->rcode != nxdomain)
        throw Error(Failure::DirectoryUnavailable, "DNS resolver: rcode " + std::to_string(r->rcode) + " for " + name);
    answer.status = r->secure ? DnssecStatus::Secure : DnssecStatus::Insecure;
    answer.nxdomain = r->nxdomain != 0;
    if (r->havedata && r->data)
        for (int i = 0; r->data[i]; ++i) {
            const auto* p = reinterpret_cast<const std::uint8_t*>(r->data[i]);
            answer.rdata.emplace_back(p, p + r->len[i]);
        }
    return answer;
}

}  // namespace ssm::directory
