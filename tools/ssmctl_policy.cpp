// `ssmctl policy test`: drives a MessageProcessor through MAIL, RCPT and the header fields
// exactly as the milter does (no body), then prints each recipient's plan. Arguments are the
// administrator's; certificates and the token are the daemon's own sources.
#include "tools/ssmctl_policy.h"

#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/error.h"
#include "base/log.h"
#include "milter/certificates.h"
#include "milter/key_source.h"
#include "milter/message_processor.h"
#include "tools/ssmctl_exit.h"

namespace ssm::tools {

namespace {


struct Options {
    milter::ConnectionInfo conn;
    std::optional<std::string> from;  // "" or "<>": the null sender (bounces, receipts)
    std::string auth;
    std::vector<std::string> to;
    std::vector<smime::mime::HeaderField> headers;
};

// Returns an error message, or "" when the arguments are complete.
std::string parse(const std::vector<std::string>& args, Options& o)
{
    if (args.empty() || args[0] != "test") return "the only subcommand is 'test'";
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (i + 1 >= args.size()) return "'" + a + "' needs a value";
        const std::string& v = args[++i];
        if (a == "--from") {
            o.from = v;
        } else if (a == "--to") {
            o.to.push_back(v);
        } else if (a == "--auth") {
            o.auth = v;
        } else if (a == "--direction") {
            o.conn.forced_direction = policy::parse_direction(v);
            if (!o.conn.forced_direction) return "--direction must be in or out";
        } else if (a == "--client") {
            o.conn.client_address = milter::parse_ip_address(v);
            if (!o.conn.client_address) return "--client needs an IP address";
        } else if (a == "--header") {
            const auto colon = v.find(':');
            if (colon == std::string::npos || colon == 0) return "--header needs 'Name: value'";
            std::string value = v.substr(colon + 1);
            if (!value.empty() && value.front() == ' ') value.erase(0, 1);  // as libmilter gives it
            o.headers.push_back({v.substr(0, colon), value});
        } else {
            return "unexpected argument '" + a + "'";
        }
    }
    // No --from is a usage error, not the null sender, which the milter treats otherwise
    // (never signed with a person's key): the null sender is asked for as --from ''.
    if (!o.from) return "--from is needed (--from '' for the null sender)";
    if (o.to.empty()) return "at least one --to is needed";
    if (!o.conn.forced_direction && !o.conn.client_address && o.auth.empty())
        return "give --direction, --client or --auth";
    return "";
}

std::string origin_text(const policy::MessageContext& m)
{
    std::string s;
    auto add = [&](const std::string& what) { s += (s.empty() ? "" : ", ") + what; };
    if (m.origin.authenticated) add("authenticated as " + m.auth_user);
    if (m.origin.internal_network) add("internal network");
    if (m.origin.originating_daemon) add("originating daemon");
    if (m.origin.administrator) add("--direction out");
    return s.empty() ? "no outbound evidence" : s;
}

std::string reply_text(const milter::Reply& r)
{
    return r.verdict == milter::Verdict::Continue ? "250 accepted" : r.str();
}

void print_recipient(const milter::Config& config, const milter::MessageProcessor& proc,
                     const milter::MessageProcessor::Recipient& r, std::ostream& out)
{
    out << "recipient: " << r.text << "\n";
    if (!r.address) {
        out << "  reply: " << reply_text(r.reply) << "\n";
        return;
    }
    const policy::RecipientPlan& p = r.plan;
    out << "  rule: " << p.rule_name << " (scope " << policy::scope_name(p.scope) << ")\n";
    if (!p.trigger.empty()) out << "  trigger: " << p.trigger << "\n";
    out << "  plan: " << policy::describe(p.treatment, proc.direction()) << "\n";
    if (!p.note.empty()) out << "  note: " << p.note << "\n";
    if (p.treatment.sign != policy::SignMode::None) {
        std::string id = p.treatment.signing_identity;
        if (id.empty()) {
            const auto domain = proc.context().from ? config.policy.domain_identity(*proc.context().from)
                                                    : std::nullopt;
            const std::string fallback = domain ? domain->str() : "none configured";
            id = p.treatment.sign == policy::SignMode::Sender
                     ? "the From address's key, else " + fallback
                     : fallback;
        }
        out << "  signing identity: " << id << "\n";
    }
    if (!r.certificate_for.empty()) {
        out << "  certificate for " << r.certificate_for << ": ";
        if (r.certificate)
            out << "subject=" << log::quote(r.certificate->facts.subject) << " serial="
                << to_hex(r.certificate->facts.serial) << " source=" << r.certificate->source << "\n";
        else if (!r.lookup_error.empty())
            out << "directory unavailable: " << r.lookup_error << "\n";
        else
            out << "none usable\n";
        for (const auto& why : r.rejected_reasons) out << "    refused: " << why << "\n";
    }
    if (!p.strip_tag.empty()) out << "  strip: Subject tag " << p.strip_tag << "\n";
    out << "  reply: " << reply_text(r.reply);
    if (!r.returned.empty()) out << ", returned to the sender: " << r.returned;
    else if (r.split_off) out << ", leaves in a separate copy through [reinjection]";
    out << "\n";
}

}  // namespace

int policy_command(const milter::Config& config, std::shared_ptr<const milter::Config> shared,
                   const std::vector<std::string>& args, std::ostream& out, std::ostream& err)
{
    Options o;
    if (const std::string problem = parse(args, o); !problem.empty()) {
        err << "ssmctl policy: " << problem << "\n"
            << "usage: ssmctl policy test --from ADDR --to ADDR [--to ADDR]... [--header 'Name: value']... "
               "[--direction in|out] [--client IP] [--auth USER]\n";
        return kExitUsage;
    }
    try {
        const auto key_source = milter::make_key_source(config.tokens());
        milter::KeySource& keys = *key_source;
        auto certificates = milter::Certificates::load(config);
        milter::MessageProcessor proc(shared, certificates, keys, o.conn, certificates->groups());
        if (auto r = proc.mail_from(*o.from, o.auth); r.verdict != milter::Verdict::Continue) {
            out << "mail: " << r.str() << "\n";
            return r.verdict == milter::Verdict::Reject ? 1 : 2;
        }
        out << "direction: " << policy::direction_name(proc.direction()) << " ("
            << origin_text(proc.context()) << ")\n";
        for (const auto& to : o.to) proc.rcpt_to(to);
        milter::Reply message = milter::Reply::proceed();
        for (const auto& h : o.headers)
            if (message.verdict == milter::Verdict::Continue) message = proc.header(h.name, h.value);
        if (message.verdict == milter::Verdict::Continue && !o.headers.empty())
            message = proc.end_of_headers();
        bool rejected = message.verdict == milter::Verdict::Reject;
        bool deferred = message.verdict == milter::Verdict::TempFail;
        for (const auto& r : proc.recipients()) {
            print_recipient(config, proc, r, out);
            rejected = rejected || r.reply.verdict == milter::Verdict::Reject;
            deferred = deferred || r.reply.verdict == milter::Verdict::TempFail;
        }
        if (!o.headers.empty()) out << "message: " << reply_text(message) << "\n";
        return rejected ? 1 : deferred ? 2 : 0;
    } catch (const Error& e) {
        const milter::Reply r = milter::reply_for(e.failure(), e.what());
        err << "ssmctl policy: " << failure_name(e.failure()) << ": " << e.what() << "\n";
        out << "reply: " << r.str() << "\n";
        return r.verdict == milter::Verdict::Reject ? 1 : 2;
    } catch (const milter::ConfigError& e) {
        err << e.what() << "\n";
        return 78;
    }
}

}  // namespace ssm::tools
