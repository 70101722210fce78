// `ssmctl process`: builds the same MessageProcessor the daemon builds, feeds it the
// envelope from the command line and the message from stdin (untrusted, spooled like
// the milter spools it), and writes the rewritten message to stdout.
#include "tools/ssmctl_process.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/joined.h"
#include "base/log.h"
#include "base/spool.h"
#include "milter/certificates.h"
#include "milter/key_source.h"
#include "milter/message_processor.h"
#include "milter/message_writer.h"
#include "smime/mime/header.h"
#include "tools/ssmctl_exit.h"

namespace ssm::tools {

namespace {

class StdoutSink final : public ByteSink {
public:
    using ByteSink::write;
    void write(ByteView data) override
    {
        if (data.empty()) return;  // an empty view's data() may be null, which fwrite must not get
        if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size())
            throw Error(Failure::Temporary, "cannot write to standard output");
    }
};

// The body as an MTA hands it to a milter: Postfix and Sendmail end every body line with CRLF
// whatever the client sent, while a message saved on a Unix system usually has bare LF. Without
// this, `ssmctl process` on such a file would verify a multipart/signed over other bytes than
// the milter sees (a false "message digest mismatch"). Used only when the header block has bare
// LF line ends: a file in wire form (CRLF) is fed unchanged, so a binary body stays byte-exact.
// A lone CR inside a line stays, as in the MTA. Stateful across chunks: a CR that ends one
// chunk pairs with an LF that starts the next.
class MtaLineEnds {
public:
    explicit MtaLineEnds(bool active) : m_active(active) {}
    // True when HEAD (a header block) ends its lines with bare LF, not CRLF.
    static bool needed_for(ByteView head)
    {
        const auto lf = std::find(head.begin(), head.end(), std::uint8_t('\n'));
        return lf != head.end() && (lf == head.begin() || *(lf - 1) != '\r');
    }
    ByteView convert(ByteView in)
    {
        if (!m_active) return in;
        m_out.clear();
        m_out.reserve(in.size() + in.size() / 32 + 1);
        for (const std::uint8_t c : in) {
            if (c == '\n' && !m_last_cr) m_out.push_back('\r');
            m_out.push_back(c);
            m_last_cr = c == '\r';
        }
        return ByteView(m_out.data(), m_out.size());
    }

private:
    bool m_active;
    std::vector<std::uint8_t> m_out;
    bool m_last_cr = false;
};

// Each header field as it came (its ranges in `head`), with CRLF line ends like everything
// else write_rewritten_message writes: untouched fields are then copied byte for byte, as the
// MTA keeps them ("Name:value" stays without a space, folds stay where they were).
std::vector<std::string> received_fields(ByteView head, const smime::mime::HeaderBlock& block)
{
    std::vector<std::string> out;
    for (const auto& [begin, end] : block.field_ranges) {
        const ByteView raw = head.subspan(static_cast<std::size_t>(std::min<std::uint64_t>(begin, head.size())),
                                          static_cast<std::size_t>(std::min<std::uint64_t>(end, head.size()) -
                                                                   std::min<std::uint64_t>(begin, head.size())));
        MtaLineEnds crlf(true);
        const ByteView converted = crlf.convert(raw);
        std::string text(converted.begin(), converted.end());
        if (text.size() < 2 || text.compare(text.size() - 2, 2, "\r\n") != 0) text += "\r\n";  // the last line of a header-only message
        out.push_back(std::move(text));
    }
    return out;
}

// Standard input as a source that keeps what it has read in memory while the header block
// is parsed (the parser rewinds to the start once and reads ahead at most one buffer), so the
// body can then stream into the MessageProcessor, which spools it as the milter does, with no
// spool of ssmctl's own in front. Memory: the header block (bounded by max_header_block)
// plus one read-ahead buffer.
class StdinSource final : public ByteSource {
public:
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (m_pos < m_kept.size()) {
            const std::size_t n = std::min(buf.size(), m_kept.size() - m_pos);
            std::memcpy(buf.data(), m_kept.data() + m_pos, n);
            m_pos += n;
            return n;
        }
        const std::size_t n = read_stdin(buf);
        if (m_keeping) m_kept.insert(m_kept.end(), buf.begin(), buf.begin() + std::ptrdiff_t(n));
        m_pos += n;
        return n;
    }
    void rewind() override
    {
        if (!m_keeping) throw Error(Failure::Internal, "standard input rewound after the header");
        m_pos = 0;
    }
    std::uint64_t size() const override { return m_kept.size(); }  // what is known so far

    // Ends keeping; kept() then holds the first bytes of the message (header and read-ahead),
    // and read() goes on with the rest of standard input after them.
    void stop_keeping() { m_keeping = false; }
    const Bytes& kept() const { return m_kept; }

    static std::size_t read_stdin(std::span<std::uint8_t> buf)
    {
        for (;;) {
            const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
            if (n >= 0) return static_cast<std::size_t>(n);
            if (errno != EINTR) throw Error(Failure::Temporary, "cannot read standard input");
        }
    }

private:
    Bytes m_kept;
    std::size_t m_pos = 0;
    bool m_keeping = true;
};

int exit_code(const milter::Reply& r)
{
    switch (r.verdict) {
    case milter::Verdict::Reject: return 1;
    case milter::Verdict::TempFail: return 2;
    default: return 0;
    }
}

// Reports a reply given before end of message (MAIL, RCPT, header, body steps).
int early_stop(const char* stage, const milter::Reply& r)
{
    std::fprintf(stderr, "decision: stage=%s action=%s\nreply: %s\n", stage,
                 r.verdict == milter::Verdict::Reject ? "reject" : "tempfail", r.str().c_str());
    return exit_code(r);
}

}  // namespace

int process_command(const milter::Config& config, std::shared_ptr<const milter::Config> shared,
                    const std::vector<std::string>& args)
{
    // The error, then the synopsis of ssmctl(8) (test_ssmctl_usage.sh compares it).
    const auto usage_error = [](const std::string& problem) {
        std::fprintf(stderr,
                     "ssmctl process: %s\nusage: ssmctl process --direction in|out --from ADDR --to ADDR [--to ADDR]... "
                     "[--client IP] < in.eml > out.eml\n",
                     problem.c_str());
        return kExitUsage;
    };
    milter::ConnectionInfo conn;
    std::optional<std::string> from;  // "" or "<>": the null sender
    std::vector<std::string> to;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        const bool has_value = i + 1 < args.size();
        if (a == "--direction" && has_value) {
            conn.forced_direction = policy::parse_direction(args[++i]);
            if (!conn.forced_direction) return usage_error("--direction must be in or out");
        } else if (a == "--from" && has_value) {
            from = args[++i];
        } else if (a == "--to" && has_value) {
            to.push_back(args[++i]);
        } else if (a == "--client" && has_value) {
            conn.client_address = milter::parse_ip_address(args[++i]);
            if (!conn.client_address) return usage_error("--client needs an IP address");
        } else {
            return usage_error("unexpected argument '" + a + "'");
        }
    }
    // No --from is a usage error, not the null sender, which the milter treats otherwise
    // (never signed with a person's key): the null sender is asked for as --from ''.
    if (!from) return usage_error("--from is needed (--from '' for the null sender)");
    if (to.empty()) return usage_error("at least one --to is needed");
    if (!conn.forced_direction && !conn.client_address) return usage_error("give --direction (or --client)");

    try {
        // The header block is parsed from standard input; the body then streams into the
        // MessageProcessor, which spools it exactly as the milter spools a body.
        StdinSource input;
        smime::mime::Limits limits;
        limits.max_header_field = config.milter.max_header_field_size;
        limits.max_depth = config.milter.max_mime_depth;
        const smime::mime::HeaderBlock block = smime::mime::parse_header_block(input, limits);
        input.stop_keeping();
        const ByteView head = ByteView(input.kept()).first(
            static_cast<std::size_t>(std::min<std::uint64_t>(block.body_offset, input.kept().size())));

        const auto key_source = milter::make_key_source(config.tokens());
        milter::KeySource& keys = *key_source;
        auto certificates = milter::Certificates::load(config);
        milter::MessageProcessor proc(shared, certificates, keys, conn, certificates->groups());
        if (auto r = proc.mail_from(*from, ""); r.verdict != milter::Verdict::Continue)
            return early_stop("mail", r);
        // As the MTA does: a refused recipient is dropped, the others go on (PRODUCT §1:
        // exactly the milter's code path); only when none is left is the message refused.
        std::optional<milter::Reply> refusal;
        std::size_t accepted = 0;
        for (const auto& rcpt : to) {
            const milter::Reply r = proc.rcpt_to(rcpt);
            if (r.verdict == milter::Verdict::Continue) {
                ++accepted;
                continue;
            }
            std::fprintf(stderr, "rcpt: %s refused: %s\n", rcpt.c_str(), r.str().c_str());
            refusal = r;
        }
        if (accepted == 0) return early_stop("rcpt", *refusal);
        for (const auto& h : block.fields)
            if (auto r = proc.header(h.name, h.value); r.verdict != milter::Verdict::Continue)
                return early_stop("header", r);
        // The body: what the header parser read ahead, then the rest of standard input.
        ByteView ahead = ByteView(input.kept()).subspan(head.size());
        std::vector<std::uint8_t> buf(256 * 1024);
        MtaLineEnds line_ends(MtaLineEnds::needed_for(head));
        for (;;) {
            ByteView chunk = ahead;
            if (chunk.empty()) {
                const std::size_t n = StdinSource::read_stdin(buf);
                if (n == 0) break;
                chunk = ByteView(buf.data(), n);
            }
            ahead = {};
            if (auto r = proc.body(line_ends.convert(chunk)); r.verdict != milter::Verdict::Continue)
                return early_stop("body", r);
        }
        milter::MessageOutcome out = proc.end_of_message();
        std::fprintf(stderr, "decision: direction=%s action=%s %s\nreply: %s\n",
                     policy::direction_name(proc.direction()), out.action.c_str(),
                     out.detail.c_str(),
                     out.reply.verdict == milter::Verdict::Accept ? "250 2.0.0 accepted"
                                                                  : out.reply.str().c_str());
        if (out.reply.verdict != milter::Verdict::Accept) return exit_code(out.reply);
        if (!out.quarantine.empty())
            std::fprintf(stderr, "hold: the MTA would hold the message (quarantine: %s); the output below is the "
                         "message as held\n", out.quarantine.c_str());
        // The envelope the milter would leave (a list expansion).
        for (const auto& r : out.remove_recipients) std::fprintf(stderr, "rcpt: -%s\n", r.c_str());
        for (const auto& r : out.add_recipients) std::fprintf(stderr, "rcpt: +%s\n", r.c_str());
        // Offline, nothing is reinjected: say which recipients the milter would send apart.
        for (const auto& copy : out.copies) {
            const std::string rcpts = joined(copy.recipients);
            if (copy.made) {  // a list's members in an envelope of their own
                std::fprintf(stderr, "list-copy: %s would get an envelope of their own through [reinjection] "
                             "(not sent by ssmctl; the output below is the message for the others)\n",
                             rcpts.c_str());
                continue;
            }
            std::fprintf(stderr, "split: %s would leave in a separate copy through [reinjection] "
                         "(not sent by ssmctl; the output below is the message for the others)\n",
                         rcpts.c_str());
        }
        for (const auto& r : out.returned)
            std::fprintf(stderr, "returned: %s goes back to the sender: %s\n", r.recipient.c_str(), r.reply.c_str());
        if (!out.returned.empty())
            std::fprintf(stderr, "return: a notice with the message would go to <%s> through [reinjection] "
                         "(not sent by ssmctl)\n", proc.sender_text().c_str());
        if (out.discard) {
            std::fprintf(stderr, "discard: no recipient is left; the MTA would discard the message\n");
            return 0;
        }
        for (const auto& receipt : out.receipts) {
            const std::string rcpts = joined(receipt.to);
            std::fprintf(stderr, "receipt: %s signed by %s would go to %s through [reinjection] (not sent by ssmctl)\n",
                         receipt.identifier_hex.c_str(), receipt.identity.c_str(), rcpts.c_str());
        }

        StdoutSink sink;
        auto original_body = proc.body_source();
        if (out.header_edit) {
            auto nb = out.new_body ? out.new_body->reader() : nullptr;
            const std::vector<std::string> received = received_fields(head, block);
            milter::write_rewritten_message(block.fields, *out.header_edit,
                                            nb ? *nb : *original_body, sink, &received);
        } else {
            // The header block as it came (with an mbox From line, if any), its line ends made
            // like the body's.
            MtaLineEnds head_line_ends(MtaLineEnds::needed_for(head));
            sink.write(head_line_ends.convert(head));
            copy_stream(*original_body, sink);
        }
        std::fflush(stdout);
        return 0;
    } catch (const Error& e) {
        const milter::Reply r = milter::reply_for(e.failure(), e.what());
        const std::string cause = milter::logged_cause(e);
        const std::string fields =
            log::field("error", e.what()) + (cause.empty() ? "" : " " + log::field("cause", cause));
        std::fprintf(stderr, "decision: action=%s failure=%s %s\nreply: %s\n",
                     r.verdict == milter::Verdict::Reject ? "reject" : "tempfail", failure_name(e.failure()),
                     fields.c_str(), r.str().c_str());
        return exit_code(r);
    }
}

}  // namespace ssm::tools
