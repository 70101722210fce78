// libmilter callbacks: translate each callback into a MessageProcessor call and its
// Reply into SMFIS_* plus smfi_setreply. Every callback is noexcept and runs its body
// through guarded(), so no exception ever crosses into libmilter (C code).
#include <libmilter/mfapi.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>

#include "base/log.h"
#include "base/metrics.h"
#include "milter/daemon.h"
#include "milter/in_flight.h"
#include "milter/reload.h"
#include "milter/listener_wake.h"
#include "milter/made_copies.h"
#include "milter/reinjection_replay.h"
#include "milter/message_processor.h"
#include "milter/message_writer.h"
#include "milter/metrics_http.h"
#include "milter/privileges.h"
#include "milter/service_notify.h"

namespace ssm::milter {

namespace {

// Set once by run_milter() before smfi_main starts threads; read-only afterwards.
Daemon* g_daemon = nullptr;

// The callbacks running now (in_flight.h): once smfi_main has returned, run_milter closes this
// and waits for them before the daemon they use is destroyed; a callback that comes later
// touches nothing of the daemon's. Never destroyed: a libmilter worker may still enter a
// callback while the process runs its static destructors after main.
InFlight& g_callbacks = *new InFlight;
// The made copies (a list's further envelopes) being handed to the reinjection listener now:
// the listener's session for one runs the milter again, in another thread, while hand_over
// waits for it (made_copies.h). Never destroyed, as g_callbacks.
MadeCopiesInFlight& g_made_copies = *new MadeCopiesInFlight;
// The v=3 markers delivered by this process, each refused a second time until its lifetime
// ends (reinjection_replay.h). Never destroyed, as g_callbacks.
AcceptedMarkers& g_delivered_markers = *new AcceptedMarkers;
// How long run_milter waits for them: a callback outside a message (connect, close) ends at
// once; one still inside a message has already had the stop's 25 s (sighup.cpp), and
// TimeoutStopSec (30 s) is near.
constexpr std::chrono::seconds kCallbacksEndGrace{2};

struct ConnectionContext {
    // The message's configuration: taken at MAIL FROM, released at the message's end. Not
    // held between messages: a session left open after a reload would otherwise keep the old
    // configuration and all that was built from it (its LDAP connections, its DNS resolver
    // and that resolver's thread, its trust store) alive until the session ends.
    std::shared_ptr<const Snapshot> snapshot;
    ConnectionInfo info;
    std::unique_ptr<MessageProcessor> message;
    // Held with `message`: a stop waits until every message in flight has ended.
    std::optional<InFlight::Ticket> in_flight;
    std::chrono::steady_clock::time_point started;
    // With SMFIP_NR_HDR / SMFIP_NR_BODY negotiated the MTA does not wait for an answer to each
    // header or body chunk (one round trip per header saved); a failure found there is kept
    // here and given at the next callback that answers (end of message at the latest).
    bool no_reply_headers = false;
    bool no_reply_body = false;
    // With SMFIP_NR_CONN the MTA does not wait for the connect answer either (one round trip
    // per SMTP session saved); a connect step that failed then answers every MAIL FROM with a
    // temporary failure instead, since the connection facts (client address) may be missing.
    bool no_reply_connect = false;
    bool connect_failed = false;
    // With SMFIP_NR_MAIL the MTA does not wait for the MAIL FROM answer (one round trip per
    // message saved): MAIL FROM only records the sender, and a failure there is kept in
    // pending and given to every RCPT TO of the message instead.
    bool no_reply_mail = false;
    std::optional<Reply> pending;
    // Whether the MTA offered quarantine (SMFIF_QUARANTINE) when the session was negotiated.
    // Kept for the session: whether a message needs it is only known at its MAIL FROM, from
    // the configuration it runs under, which a reload may have changed since.
    bool quarantine_offered = false;
};

ConnectionContext* context(SMFICTX* ctx)
{
    return static_cast<ConnectionContext*>(smfi_getpriv(ctx));
}

std::string macro(SMFICTX* ctx, const char* name)
{
    const char* v = smfi_getsymval(ctx, const_cast<char*>(name));
    return v ? v : "";
}

sfsistat apply(SMFICTX* ctx, const Reply& r)
{
    switch (r.verdict) {
    case Verdict::Continue: return SMFIS_CONTINUE;
    case Verdict::Accept: return SMFIS_CONTINUE;
    case Verdict::Reject:
    case Verdict::TempFail: break;
    }
    // libmilter treats '%' specially in reply text; our texts never need one.
    std::string text = r.text;
    std::replace(text.begin(), text.end(), '%', ' ');
    smfi_setreply(ctx, const_cast<char*>(r.rcode.c_str()), const_cast<char*>(r.xcode.c_str()),
                  const_cast<char*>(text.c_str()));
    return r.verdict == Verdict::Reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

// The reply for a failure a step threw, logged once as milter-error.
Reply failure_reply(const char* stage, const Error& e)
{
    log::Fields fields = {{"stage", stage}, {"failure", failure_name(e.failure())}, {"error", e.what()}};
    if (std::string cause = logged_cause(e); !cause.empty()) fields.emplace_back("cause", std::move(cause));
    log::warning("milter-error", fields);
    return reply_for(e.failure(), e.what());
}

template <typename F>
sfsistat guarded(SMFICTX* ctx, const char* stage, F&& body) noexcept
{
    try {
        const auto running = g_callbacks.begin();
        if (!running) return SMFIS_TEMPFAIL;  // the process is ending (run_milter)
        return body();
    } catch (const Error& e) {
        try {
            return apply(ctx, failure_reply(stage, e));
        } catch (...) {
            return SMFIS_TEMPFAIL;
        }
    } catch (const std::exception& e) {
        log::error("milter-error", {{"stage", stage}, {"error", e.what()}});
    } catch (...) {
        log::error("milter-error", {{"stage", stage}, {"error", "unknown exception"}});
    }
    return SMFIS_TEMPFAIL;
}

sfsistat on_connect(SMFICTX* ctx, char* hostname, _SOCK_ADDR* hostaddr) noexcept
{
    ConnectionContext* negotiated = context(ctx);
    const bool no_reply = negotiated && negotiated->no_reply_connect;
    const sfsistat status = guarded(ctx, "connect", [&] {
        // Made in on_negotiate; an MTA that does not negotiate (old protocol) gets one here.
        std::unique_ptr<ConnectionContext> made;
        ConnectionContext* c = context(ctx);
        if (!c) {
            made = std::make_unique<ConnectionContext>();
            c = made.get();
        }
        c->info.client_name = hostname ? hostname : "";
        c->info.daemon_name = macro(ctx, "{daemon_name}");
        c->info.daemon_name_sent = smfi_getsymval(ctx, const_cast<char*>("{daemon_name}")) != nullptr;
        if (hostaddr) {
            sockaddr_storage ss{};
            const std::size_t len = hostaddr->sa_family == AF_INET6 ? sizeof(sockaddr_in6)
                                    : hostaddr->sa_family == AF_INET ? sizeof(sockaddr_in)
                                                                     : 0;
            if (len) {
                std::memcpy(&ss, hostaddr, len);
                c->info.client_address = ss;
            }
        }
        if (made) {
            if (smfi_setpriv(ctx, made.get()) != MI_SUCCESS) return SMFIS_TEMPFAIL;
            made.release();  // owned by libmilter's private pointer until on_close
        }
        return SMFIS_CONTINUE;
    });
    if (!no_reply) return status;
    // An answer the MTA does not wait for must not be sent: the failure is given at MAIL FROM.
    if (status != SMFIS_CONTINUE) negotiated->connect_failed = true;
    return SMFIS_NOREPLY;
}

// A MAIL FROM, header or body step's answer: at once, or (no-reply negotiated) kept for later.
sfsistat answer_or_keep(SMFICTX* ctx, ConnectionContext& c, bool no_reply, const Reply& r)
{
    if (!no_reply) return apply(ctx, r);
    if (r.verdict != Verdict::Continue && !c.pending) c.pending = r;
    return SMFIS_NOREPLY;
}

// A step's reply, with an ssm::Error it throws (a full spool disk, say) turned into the reply
// for that failure and logged: a step whose answer is kept for later (no-reply negotiated)
// then keeps the right one (451 4.3.0 "temporary local problem: ..."), not guarded()'s
// catch-all "internal error". Other exceptions still reach guarded().
template <typename F>
Reply reply_of(const char* stage, F&& step)
{
    try {
        return step();
    } catch (const Error& e) {
        return failure_reply(stage, e);
    }
}

// A step whose answer the MTA does not wait for must not answer even when guarded() turned an
// exception into a reply: the failure is kept for the next step that answers.
sfsistat unanswered_if_negotiated(ConnectionContext* c, bool no_reply, sfsistat status,
                                  const char* failed_step)
{
    if (!no_reply || status == SMFIS_NOREPLY) return status;
    if (c && !c->pending) c->pending = reply_for(Failure::Internal, failed_step);
    return SMFIS_NOREPLY;
}

sfsistat on_envfrom(SMFICTX* ctx, char** argv) noexcept
{
    ConnectionContext* c = context(ctx);
    const bool no_reply = c && c->no_reply_mail;
    const sfsistat status = guarded(ctx, "mail", [&] {
        if (!c) return SMFIS_TEMPFAIL;
        c->pending.reset();
        c->message.reset();  // never the last message's state for this one
        c->snapshot.reset();
        c->in_flight.reset();
        if (c->connect_failed)
            return answer_or_keep(ctx, *c, no_reply, reply_for(Failure::Internal, "connection set-up failed"));
        // After SIGTERM a session already open may still begin a message: it is not taken
        // (the process ends once the messages in flight have ended), the MTA retries it.
        c->in_flight = g_daemon->in_flight().begin();
        if (!c->in_flight)
            return answer_or_keep(ctx, *c, no_reply,
                                  Reply::tempfail("451", "4.3.2", "ssm-milter is stopping, try again later"));
        c->snapshot = g_daemon->snapshot();  // a new message starts on the newest policy
        // Holding undecryptable mail (undecryptable.h) needs quarantine; without it such mail
        // could only be refused, which would make the gateway a padding oracle again. Refused
        // before the message is sent, not at its end.
        if (c->snapshot->config->inbound.on_undecryptable == Undecryptable::Hold && !c->quarantine_offered) {
            log::error("mail", {{"error", "the MTA offered no quarantine (hold) for this session, which [inbound] "
                                          "on_undecryptable = \"hold\" needs"}});
            c->snapshot.reset();
            if (!no_reply) c->in_flight.reset();
            return answer_or_keep(ctx, *c, no_reply,
                                  Reply::tempfail("451", "4.3.5", "the MTA cannot hold messages, which this gateway needs"));
        }
        c->message = std::make_unique<MessageProcessor>(c->snapshot->config, c->snapshot->certificates,
                                                        g_daemon->keys(), c->info,
                                                        c->snapshot->certificates->groups());
        // A copy that a message begun before a reload hands over comes back here marked with
        // that message's configuration's secret.
        c->message->accept_markers_of(g_daemon->reinjection_secrets_in_flight());
        // A list's copy made in full, which our hand-over is sending through the listener
        // now: its RCPT answers wait for its marker.
        c->message->expect_made_copies(&g_made_copies);
        c->message->remember_delivered_markers(&g_delivered_markers);
        c->started = std::chrono::steady_clock::now();
        const Reply sender = reply_of("mail", [&] {
            return c->message->mail_from(argv && argv[0] ? argv[0] : "", macro(ctx, "{auth_authen}"));
        });
        // A sender refused at once begins no message: a stop need not wait for the session's
        // next command (an answer kept for RCPT TO ends in the MTA's abort instead).
        if (!no_reply && (sender.verdict == Verdict::Reject || sender.verdict == Verdict::TempFail))
            c->in_flight.reset();
        return answer_or_keep(ctx, *c, no_reply, sender);
    });
    return unanswered_if_negotiated(c, no_reply, status, "sender processing failed");
}

sfsistat on_envrcpt(SMFICTX* ctx, char** argv) noexcept
{
    return guarded(ctx, "rcpt", [&] {
        ConnectionContext* c = context(ctx);
        if (c && c->pending) return apply(ctx, *c->pending);  // MAIL FROM failed unanswered
        if (!c || !c->message) return SMFIS_TEMPFAIL;
        return apply(ctx, c->message->rcpt_to(argv && argv[0] ? argv[0] : ""));
    });
}

sfsistat on_header(SMFICTX* ctx, char* name, char* value) noexcept
{
    ConnectionContext* c = context(ctx);
    const bool no_reply = c && c->no_reply_headers;
    const sfsistat status = guarded(ctx, "header", [&] {
        if (!c || !c->message) return SMFIS_TEMPFAIL;
        if (c->pending) return answer_or_keep(ctx, *c, no_reply, *c->pending);
        return answer_or_keep(ctx, *c, no_reply,
                              reply_of("header", [&] { return c->message->header(name ? name : "", value ? value : ""); }));
    });
    return unanswered_if_negotiated(c, no_reply, status, "header processing failed");
}

sfsistat on_body(SMFICTX* ctx, unsigned char* data, size_t len) noexcept
{
    ConnectionContext* c = context(ctx);
    const bool no_reply = c && c->no_reply_body;
    const sfsistat status = guarded(ctx, "body", [&] {
        if (!c || !c->message) return SMFIS_TEMPFAIL;
        if (c->pending) return answer_or_keep(ctx, *c, no_reply, *c->pending);
        return answer_or_keep(ctx, *c, no_reply, reply_of("body", [&] { return c->message->body(ByteView(data, len)); }));
    });
    return unanswered_if_negotiated(c, no_reply, status, "body processing failed");
}

// Protocol steps we do not need are left out and connect/header/body answers are not awaited
// when the MTA offers it (Postfix does): fewer round trips per message.
sfsistat on_negotiate(SMFICTX* ctx, unsigned long f0, unsigned long f1, unsigned long, unsigned long,
                      unsigned long* pf0, unsigned long* pf1, unsigned long* pf2, unsigned long* pf3) noexcept
{
    return guarded(ctx, "negotiate", [&] {
        constexpr unsigned long kActions = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_DELRCPT;
        // Without the actions we need, every message would fail at its end: refuse now.
        if ((f0 & kActions) != kActions) return SMFIS_REJECT;
        // Whether quarantine is needed depends on each message's configuration: remembered for
        // MAIL FROM (on_envfrom), not judged here by the configuration of this moment.
        // Adding recipients only list expansion needs (PRODUCT §4.3; 451 where it is missing).
        *pf0 = kActions | (f0 & (SMFIF_ADDRCPT | SMFIF_QUARANTINE));
        *pf1 = f1 & (SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOEOH | SMFIP_NR_CONN |
                     SMFIP_NR_MAIL | SMFIP_NR_HDR | SMFIP_NR_BODY);
        *pf2 = 0;
        *pf3 = 0;
        // libmilter negotiates before xxfi_connect: the connection's context starts here.
        auto c = std::make_unique<ConnectionContext>();
        c->no_reply_headers = (*pf1 & SMFIP_NR_HDR) != 0;
        c->no_reply_body = (*pf1 & SMFIP_NR_BODY) != 0;
        c->no_reply_connect = (*pf1 & SMFIP_NR_CONN) != 0;
        c->no_reply_mail = (*pf1 & SMFIP_NR_MAIL) != 0;
        c->quarantine_offered = (f0 & SMFIF_QUARANTINE) != 0;
        if (smfi_setpriv(ctx, c.get()) != MI_SUCCESS) return SMFIS_REJECT;
        c.release();  // owned by libmilter's private pointer until on_close
        return SMFIS_CONTINUE;
    });
}

// Applies header edits and the new body. Called only once the whole new message is
// ready, so a failure here is the MTA's (answered with tempfail), never half our work.
bool rewrite(SMFICTX* ctx, const smime::HeaderEdit& edit, const Spool* body)
{
    // Delete higher indexes first so lower ones keep their numbers.
    std::vector<smime::HeaderEdit::Removal> removals = edit.remove;
    std::sort(removals.begin(), removals.end(),
              [](const auto& a, const auto& b) { return a.index > b.index; });
    for (const auto& r : removals)
        if (smfi_chgheader(ctx, const_cast<char*>(r.name.c_str()), r.index, nullptr) != MI_SUCCESS)
            return false;
    for (auto it = edit.prepend.rbegin(); it != edit.prepend.rend(); ++it) {
        std::string value = milter_header_value(it->value);
        if (smfi_insheader(ctx, 0, const_cast<char*>(it->name.c_str()), value.data()) != MI_SUCCESS)
            return false;
    }
    for (const auto& c : edit.change) {
        std::string value = milter_header_value(c.value);
        if (smfi_chgheader(ctx, const_cast<char*>(c.name.c_str()), c.index, value.data()) != MI_SUCCESS)
            return false;
    }
    for (const auto& h : edit.add) {
        std::string value = milter_header_value(h.value);
        if (smfi_addheader(ctx, const_cast<char*>(h.name.c_str()), value.data()) != MI_SUCCESS)
            return false;
    }
    if (!body) return true;
    auto reader = body->reader();
    return send_body_chunks(*reader, 64 * 1024, [ctx](ByteView chunk) {
        // libmilter takes a non-const pointer and never writes through it; an empty chunk
        // must still point somewhere (libmilter refuses NULL only with a length).
        unsigned char none = 0;
        unsigned char* p = chunk.empty() ? &none : const_cast<unsigned char*>(chunk.data());
        return smfi_replacebody(ctx, p, static_cast<int>(chunk.size())) == MI_SUCCESS;
    });
}

// The reply for a message whose reinjected part (`what`) could not be handed over: deferred
// (451) when the listener is unreachable or answers 4xx; refused (550 5.7.1) when it refuses
// for good, which a retry would only meet again. The listener's address stays in the detail.
Reply reinjection_failure(const Error& e, const std::string& what)
{
    Reply r = e.failure() == Failure::PolicyViolation
                  ? Reply::reject("550", "5.7.1", what + " was refused by the gateway's own mail system")
                  : reply_for(Failure::Temporary, what + " could not be reinjected");
    r.detail = e.what();
    return r;
}

// The reply for a return notice that could not be built or handed over. One the listener
// refuses for good refuses the message: its reason comes first, as the client's MTA returns
// the text to the sender.
Reply notice_failure(const ConnectionContext& c, const MessageOutcome& out, const Error& e)
{
    log::warning("return-notice-failed", {{"to", c.message->sender_text()}, {"error", e.what()}});
    Reply r = reinjection_failure(e, "the notice returning the message to its sender");
    if (r.verdict == Verdict::Reject) {
        std::string reason = out.returned.front().reply;
        if (reason.rfind("550 5.7.1 ", 0) == 0) reason.erase(0, 10);
        r.text = reason + "; " + r.text;
    }
    return r;
}

// What leaves through the reinjection listener for one message, in ONE hand-over (submit_all:
// none is delivered unless every one reached its final dot): the split-off copies (mixed
// treatments, blind copies), then the notice returning recipients to the sender (PRODUCT
// §2.4, rule no_certificate = "return"), sent from the null sender. Only after that do their
// recipients come off this message. One hand-over, not two: a notice refused after the copies
// went out would defer the message and every retry would send the copies again (for days,
// with a listener that keeps refusing the null sender). Any failure fails the whole message
// (reinjection_failure): nothing goes out in a treatment it was not planned for. A notice the
// listener refuses for good (the author's own policy cannot be met for it) refuses the
// message with the reason, which the client's MTA returns to the sender instead.
Reply hand_over(SMFICTX* ctx, ConnectionContext& c, const MessageOutcome& out)
{
    const ReinjectionSettings& settings = c.snapshot->config->reinjection;
    const bool returns = !out.returned.empty();
    // The notice is built first, before anything is handed over: a failure to build it is
    // its own, whatever the copies would have done.
    std::unique_ptr<ByteSource> notice;
    if (returns) {
        try {
            notice = c.message->return_notice(out);
        } catch (const Error& e) {
            return notice_failure(c, out, e);
        }
    }
    // So are the copies (their spool reopened): a copy that cannot be built is the copy's
    // failure, not the notice's, though a notice is due.
    std::vector<std::unique_ptr<ByteSource>> sources;
    try {
        for (const auto& copy : out.copies) sources.push_back(c.message->copy_source(copy));
    } catch (const Error& e) {
        log::warning("reinjection-failed", {{"error", e.what()}});
        return reinjection_failure(e, "a split-off copy");
    }
    // Until the listener has them, their envelopes are expected back (made_copies.h).
    std::vector<MadeCopiesInFlight::Ticket> made_in_flight;
    for (const auto& copy : out.copies)
        if (copy.made) made_in_flight.push_back(g_made_copies.begin(c.message->sender_text(), copy.recipients));
    std::size_t failed = kNoSubmission;
    try {
        std::vector<Submission> submissions;
        for (std::size_t i = 0; i < out.copies.size(); ++i)
            submissions.push_back({c.message->sender_text(), out.copies[i].recipients, sources[i].get()});
        if (notice) submissions.push_back({"", {c.message->sender_text()}, notice.get()});
        submit_all(settings, submissions, &failed);
    } catch (const Error& e) {
        if (!returns || failed < out.copies.size()) {
            log::warning("reinjection-failed", {{"error", e.what()}});
            return reinjection_failure(e, "a split-off copy");
        }
        return notice_failure(c, out, e);
    }
    for (const auto& copy : out.copies) {
        if (copy.made) continue;  // a list's members: never in this envelope
        for (const auto& r : copy.recipients) {
            std::string rcpt = "<" + r + ">";
            if (smfi_delrcpt(ctx, rcpt.data()) != MI_SUCCESS) {
                // The copies went out already; keeping the recipient here would deliver it
                // twice in two treatments. Fail loudly: the administrator must see this.
                log::error("reinjection-delrcpt-failed", {{"rcpt", r}});
                return reply_for(Failure::Temporary, "the MTA refused to remove a split-off recipient");
            }
        }
    }
    if (!out.copies.empty()) log::info("split", {{"copies", std::to_string(out.copies.size())}});
    for (const auto& r : out.returned) {
        std::string rcpt = "<" + r.recipient + ">";
        if (smfi_delrcpt(ctx, rcpt.data()) != MI_SUCCESS) {
            // The notice went out already; the recipient must still not get the message.
            log::error("return-delrcpt-failed", {{"rcpt", r.recipient}});
            return reply_for(Failure::Temporary, "the MTA refused to remove a returned recipient");
        }
    }
    if (returns)
        log::info("returned",
                  {{"to", c.message->sender_text()}, {"recipients", std::to_string(out.returned.size())}});
    return Reply::proceed();
}

// The envelope of an expanded list (PRODUCT §4.3): the list out, the members in. A failure
// defers the whole message, whose changes the MTA then discards.
bool change_recipients(SMFICTX* ctx, const MessageOutcome& out)
{
    for (const auto& r : out.remove_recipients) {
        std::string rcpt = "<" + r + ">";
        if (smfi_delrcpt(ctx, rcpt.data()) != MI_SUCCESS) {
            log::error("delrcpt-failed", {{"rcpt", r}});
            return false;
        }
    }
    for (const auto& r : out.add_recipients) {
        std::string rcpt = "<" + r + ">";
        if (smfi_addrcpt(ctx, rcpt.data()) != MI_SUCCESS) {
            log::error("addrcpt-failed", {{"rcpt", r}});
            return false;
        }
    }
    return true;
}

sfsistat on_eom(SMFICTX* ctx) noexcept
{
    const sfsistat result = guarded(ctx, "eom", [&] {
        ConnectionContext* c = context(ctx);
        if (!c || !c->message) return SMFIS_TEMPFAIL;
        const std::string queue_id = macro(ctx, "i");
        MessageOutcome out;
        if (c->pending) {
            out.reply = *c->pending;  // a header or body step failed (answer not awaited then)
            out.action = out.reply.verdict == Verdict::TempFail ? "tempfail" : "refused";
            out.detail = "kept from an earlier step";
        } else {
            out = c->message->end_of_message();
        }
        sfsistat status = SMFIS_CONTINUE;
        // A failed reinjection (copies and the return notice) becomes the message's reply.
        const auto take_failure = [&out](const Reply& r) {
            if (r.verdict == Verdict::Continue) return;
            out.refuse_with(r);
        };
        if (out.reply.verdict == Verdict::Accept && (!out.copies.empty() || !out.returned.empty()))
            take_failure(hand_over(ctx, *c, out));
        if (out.reply.verdict == Verdict::Accept && out.discard) status = SMFIS_DISCARD;
        if (out.reply.verdict == Verdict::Accept && !out.discard && out.header_edit) {
            if (!rewrite(ctx, *out.header_edit, out.new_body.get())) {
                out.reply = reply_for(Failure::Temporary, "the MTA refused the rewritten message");
                out.action = "tempfail";
            }
        }
        if (out.reply.verdict == Verdict::Accept && !change_recipients(ctx, out)) {
            out.reply = reply_for(Failure::Temporary, "the MTA refused the recipient changes");
            out.action = "tempfail";
        }
        if (out.reply.verdict == Verdict::Accept && !out.quarantine.empty() &&
            smfi_quarantine(ctx, out.quarantine.data()) != MI_SUCCESS) {
            out.reply = reply_for(Failure::Temporary, "the MTA refused to hold the message");
            out.action = "tempfail";
        }
        if (out.reply.verdict == Verdict::Reject || out.reply.verdict == Verdict::TempFail)
            status = apply(ctx, out.reply);
        // Receipts leave only for a message that is accepted as rewritten, so a retried
        // message is not answered twice; their failures are logged, never the message's.
        if (out.reply.verdict == Verdict::Accept && !out.receipts.empty())
            send_receipts(c->snapshot->config->reinjection, out.receipts, queue_id);
        const auto took = std::chrono::steady_clock::now() - c->started;
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(took).count();
        c->pending.reset();
        log::info("message", {{"queue_id", queue_id},
                              {"direction", policy::direction_name(c->message->direction())},
                              {"action", out.action},
                              {"result", out.reply.str()},
                              {"detail", out.detail},
                              {"ms", std::to_string(ms)}});
        count_message(policy::direction_name(c->message->direction()), out.action, out.reply.verdict, took);
        c->message.reset();
        c->snapshot.reset();
        return status;
    });
    // Also when the end of the message failed: the message is over for a stop waiting on it.
    if (ConnectionContext* c = context(ctx)) c->in_flight.reset();
    return result;
}

sfsistat on_abort(SMFICTX* ctx) noexcept
{
    return guarded(ctx, "abort", [&] {
        if (ConnectionContext* c = context(ctx)) {
            c->message.reset();
            c->snapshot.reset();
            c->in_flight.reset();
            c->pending.reset();
        }
        return SMFIS_CONTINUE;
    });
}

sfsistat on_close(SMFICTX* ctx) noexcept
{
    try {
        const auto running = g_callbacks.begin();
        // The process is ending (run_milter): the context's message may hold the daemon's
        // token sessions, which may be gone; it is left to the end of the process.
        if (!running) return SMFIS_CONTINUE;
        std::unique_ptr<ConnectionContext> owned(context(ctx));
        smfi_setpriv(ctx, nullptr);
    } catch (...) {
        // Only begin()'s lock can throw (std::system_error): the context is left, as above.
    }
    return SMFIS_CONTINUE;
}

// libmilter writes each header change, body chunk and the final reply as separate small
// writes; with Nagle's algorithm and the MTA's delayed ACK every message then stalls ~40 ms
// on TCP. libmilter does not expose its listening socket, so find it (the only listening
// TCP socket of this process right after smfi_opensocket) and set TCP_NODELAY, which Linux
// passes on to every accepted connection.
void disable_nagle_on_listener()
{
    for (int fd = 3; fd < 1024; ++fd) {
        int listening = 0;
        socklen_t len = sizeof listening;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) continue;
        sockaddr_storage ss{};
        socklen_t slen = sizeof ss;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &slen) != 0) continue;
        if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) continue;
        const int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
            log::warning("start", {{"error", "cannot set TCP_NODELAY on the milter socket"}});
    }
}

}  // namespace

int run_milter(Daemon& daemon)
{
    g_daemon = &daemon;
    smfiDesc desc{};
    desc.xxfi_name = const_cast<char*>("ssm-milter");
    desc.xxfi_version = SMFI_VERSION;
    desc.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY | SMFIF_DELRCPT | SMFIF_ADDRCPT | SMFIF_QUARANTINE;
    desc.xxfi_connect = on_connect;
    desc.xxfi_envfrom = on_envfrom;
    desc.xxfi_envrcpt = on_envrcpt;
    desc.xxfi_header = on_header;
    desc.xxfi_body = on_body;
    desc.xxfi_eom = on_eom;
    desc.xxfi_abort = on_abort;
    desc.xxfi_close = on_close;
    desc.xxfi_negotiate = on_negotiate;

    const auto config = daemon.snapshot()->config;
    if (smfi_setconn(const_cast<char*>(config->milter.socket.c_str())) != MI_SUCCESS) {
        log::error("start", {{"error", "bad socket"}, {"socket", config->milter.socket}});
        return 78;
    }
    if (smfi_register(desc) != MI_SUCCESS) {
        log::error("start", {{"error", "smfi_register failed"}});
        return 70;
    }
    if (smfi_opensocket(1) != MI_SUCCESS) {
        log::error("start", {{"error", "cannot open the milter socket"}, {"socket", config->milter.socket}});
        return 71;
    }
    disable_nagle_on_listener();
    if (const std::string err = drop_privileges(config->milter.user); !err.empty()) {
        log::error("start", {{"error", err}});
        return 77;
    }
    // After dropping privileges: the thread that reads HTTP requests never runs as root (a
    // port below 1024 then needs user = "root").
    std::unique_ptr<MetricsHttp> metrics_endpoint;
    if (!config->metrics.listen.empty()) {
        try {
            metrics_endpoint =
                std::make_unique<MetricsHttp>(config->metrics, [] { return metrics::render_process(); });
        } catch (const std::exception& e) {
            log::error("start", {{"error", e.what()}});
            return 71;
        }
        log::notice("metrics", {{"listen", config->metrics.listen}});
    }
    log::notice("start", {{"socket", config->milter.socket}, {"version", SSM_VERSION}});
    Reloader reloader(daemon);
    set_sighup_reloader(&reloader);
    // smfi_opensocket above has bound and is listening, so the service manager (and Postfix
    // after it) never sees READY before a connection can be queued; smfi_main accepts them.
    service::notify_ready("Serving on ", config->milter.socket);
    remember_listener(config->milter.socket);  // before smfi_main starts its signal thread
    set_stop_drain(&daemon.in_flight());        // a stop signal waits for the messages in flight
    const int rc = smfi_main();
    service::notify_stopping();  // also when libmilter ends without a signal
    daemon.in_flight().stop();
    set_stop_drain(nullptr);
    set_sighup_reloader(nullptr);
    const int status = rc == MI_SUCCESS ? 0 : 1;
    log::notice("stop", {{"status", std::to_string(rc)}});
    // smfi_main does not wait for its workers. One still inside a callback (a slow token or
    // directory call, after the stop's limit or a second signal) uses the daemon, its token
    // sessions and its LMDB environment, which main destroys next: end the process here
    // instead, without destructors. Nothing is lost: its message was not accepted (the MTA
    // sees the connection end and retries), spools are unlinked temporary files, and LMDB
    // commits are durable.
    g_callbacks.stop();
    if (!g_callbacks.wait_idle(kCallbacksEndGrace)) {
        log::warning("stop", {{"error", "ending with callbacks still running"},
                              {"callbacks", std::to_string(g_callbacks.count())}});
        std::fflush(nullptr);
        std::_Exit(status);
    }
    return status;
}

}  // namespace ssm::milter
