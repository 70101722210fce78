// Mixed recipients by reinjection (milter/reinjection.h): the copies a message's split-off
// recipients leave in, the recognition of such a copy when it comes back through the milter,
// and the removal of every marker before delivery. Header values are untrusted input.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <ctime>

#include "base/ascii.h"
#include "base/log.h"
#include "milter/message_processor.h"
#include "milter/network.h"
#include "smime/cms/secret_bytes.h"

namespace ssm::milter {

namespace {

bool is_marker(const smime::mime::HeaderField& f)
{
    return iequals(f.name, kReinjectionHeader);
}

// The header block bytes, the body, then `tail` (a return notice's closing delimiter): one
// sequential source over them.
class CopySource final : public ByteSource {
public:
    CopySource(Bytes head, std::unique_ptr<ByteSource> body, Bytes tail = {})
        : m_head(std::move(head)), m_body(std::move(body)), m_tail(std::move(tail))
    {
    }
    std::size_t read(std::span<std::uint8_t> buf) override
    {
        if (m_pos < m_head.size()) return copy_from(m_head, m_pos, buf);
        if (m_body && !m_body_done) {
            if (const std::size_t n = m_body->read(buf); n > 0) return n;
            m_body_done = true;
        }
        return copy_from(m_tail, m_tail_pos, buf);
    }
    void rewind() override
    {
        m_pos = 0;
        m_tail_pos = 0;
        m_body_done = false;
        if (m_body) m_body->rewind();
    }
    std::uint64_t size() const override { return m_head.size() + (m_body ? m_body->size() : 0) + m_tail.size(); }

private:
    static std::size_t copy_from(const Bytes& from, std::size_t& pos, std::span<std::uint8_t> buf)
    {
        const std::size_t n = std::min(buf.size(), from.size() - pos);
        std::copy_n(from.begin() + static_cast<std::ptrdiff_t>(pos), n, buf.begin());
        pos += n;
        return n;
    }

    Bytes m_head;
    std::size_t m_pos = 0;
    std::unique_ptr<ByteSource> m_body;
    bool m_body_done = false;
    Bytes m_tail;
    std::size_t m_tail_pos = 0;
};

}  // namespace

void MessageProcessor::recognise_reinjected_copy()
{
    std::vector<std::string> envelope;
    for (const auto& r : m_recipients)
        if (r.reply.verdict == Verdict::Continue || r.awaits_marker) envelope.push_back(r.text);
    for (const auto& f : m_headers) {
        if (!is_marker(f)) continue;
        ++m_marker_fields;
        ReinjectedOrigin origin;
        const std::time_t now = std::time(nullptr);
        // Made under this configuration, or under one a message in flight still runs under
        // (the copy of a message begun before a reload that changed the secret).
        const auto valid_under = [&](const Bytes& secret) {
            ReinjectionSettings settings = m_config->reinjection;
            settings.secret = secret;
            return reinjection_marker_valid(settings, f.value, m_sender_text, envelope, now, &origin, &m_as_made,
                                            &m_as_made_body_digest, &m_as_made_marker);
        };
        if (!m_reinjected && (reinjection_marker_valid(m_config->reinjection, f.value, m_sender_text, envelope,
                                                       now, &origin, &m_as_made, &m_as_made_body_digest,
                                                       &m_as_made_marker) ||
                              std::any_of(m_other_marker_secrets.begin(), m_other_marker_secrets.end(),
                                          valid_under))) {
            m_reinjected = true;
            restore_origin(origin);
            continue;
        }
        // Not ours, or not for this envelope: it grants nothing and is removed at the end.
        log::warning("reinjection-marker-invalid", {{"from", m_sender_text}});
    }
    // Out of the fields the message is processed with: header protection must not copy a
    // marker into the signed or encrypted part; remove_markers() deletes them from the
    // delivered header.
    std::erase_if(m_headers, is_marker);
    if (!m_reinjected || m_direction == policy::Direction::Outbound) return;
    m_direction = policy::Direction::Outbound;
    m_context.direction = m_direction;
    m_context.origin.reinjected = true;
}

namespace {

// The reinjection listener is a loopback one (config_reinjection.cpp): its client, our own SMTP
// client, is this host.
bool is_loopback(const std::optional<sockaddr_storage>& client)
{
    if (!client) return false;
    if (client->ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&*client);
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (client->ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&*client);
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

}  // namespace

bool MessageProcessor::may_await_marker(const Recipient& r) const
{
    if (r.reply.verdict != Verdict::Reject && r.reply.verdict != Verdict::TempFail) return false;
    return m_made_copies && r.address && m_config->reinjection.enabled() && is_loopback(m_conn.client_address) &&
           m_made_copies->expects(m_sender_text, r.text);
}

Reply MessageProcessor::awaited_refusal() const
{
    // A valid v=3 marker: the copy is delivered as made (its body checked against the marker
    // at the end), unless it is for one of our lists, which plans it again.
    if (m_as_made && !m_list) return Reply::proceed();
    for (const auto& r : m_recipients) {
        if (!r.awaits_marker) continue;
        // Not the copy it looked like at RCPT: what RCPT would have answered, for the whole
        // message (a milter cannot refuse one recipient after DATA).
        log::notice("rcpt-refused", {{"rcpt", r.text},
                                     {"direction", policy::direction_name(m_direction)},
                                     {"rule", r.plan.rule_name},
                                     {"reply", r.reply.str()},
                                     {"reason", m_reinjected ? "not a copy made in full" : "no valid marker"}});
        return r.reply;
    }
    return Reply::proceed();
}

void MessageProcessor::restore_origin(const ReinjectedOrigin& origin)
{
    if (origin.empty()) return;  // a v=1 marker (notices, receipts, copies made before v=2)
    m_context.auth_user = origin.auth_user;
    m_context.origin.authenticated = !origin.auth_user.empty();
    m_context.client = origin.client.empty() ? std::nullopt : parse_ip_address(origin.client);
    m_origin_restored = true;
}

ReinjectedOrigin MessageProcessor::reinjection_origin() const
{
    return {m_context.auth_user, m_context.client ? ip_address_text(*m_context.client) : std::string()};
}

std::vector<MessageOutcome::Copy> MessageProcessor::split_copies() const
{
    std::vector<std::pair<Effective, std::vector<const Recipient*>>> groups;
    for (const auto& r : m_recipients) {
        if (!r.split_off || r.reply.verdict != Verdict::Continue) continue;
        const Effective e = effective(r);
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == e; });
        if (it == groups.end()) it = groups.insert(groups.end(), {e, {}});
        it->second.push_back(&r);
    }
    std::vector<MessageOutcome::Copy> copies;
    const auto add = [&](const std::vector<const Recipient*>& members) {
        MessageOutcome::Copy copy;
        for (const Recipient* r : members) copy.recipients.push_back(r->text);
        copy.marker = make_reinjection_marker(m_config->reinjection, m_sender_text, copy.recipients,
                                              std::time(nullptr), reinjection_origin());
        copies.push_back(std::move(copy));
    };
    for (auto& [effective, members] : groups) {
        // Within one treatment, a blind recipient the others' encryption would show leaves
        // again, in a copy per certificate (blind recipients of one domain certificate share).
        const std::vector<const Recipient*> leavers = blind_leavers(members);
        std::vector<std::vector<const Recipient*>> blind;
        for (const Recipient* r : leavers) {
            std::erase(members, r);
            auto it = std::find_if(blind.begin(), blind.end(),
                                   [&](const auto& b) { return b.front()->certificate->der == r->certificate->der; });
            if (it == blind.end()) blind.push_back({r});
            else it->push_back(r);
            log::notice("blind-copy", {{"rcpt", r->text}, {"certificate_for", r->certificate_for}});
        }
        if (!members.empty()) add(members);
        for (const auto& b : blind) add(b);
    }
    return copies;
}

void MessageProcessor::add_returned(MessageOutcome& out) const
{
    for (const auto& r : m_recipients)
        if (!r.returned.empty() && r.reply.verdict == Verdict::Continue) out.returned.push_back({r.text, r.returned});
    if (out.returned.empty()) return;
    out.return_marker = make_reinjection_marker(m_config->reinjection, "", {m_sender_text}, std::time(nullptr));
    out.detail += " returned=" + std::to_string(out.returned.size());
    // Nobody left in this message (the others, if any, leave in copies): nothing to deliver.
    if (recipient_count() == 0) {
        out.discard = true;
        out.action = "returned";
    }
}

std::unique_ptr<ByteSource> MessageProcessor::return_notice(const MessageOutcome& out) const
{
    ReturnNotice n;
    n.reporting_host = m_config->milter.authserv_id.empty() ? "localhost" : m_config->milter.authserv_id;
    n.to = m_sender_text;
    n.recipients = out.returned;
    if (const auto* f = smime::mime::find_field(m_headers, "Message-ID")) n.original_message_id = f->value;
    n.others_delivered = !out.discard || !out.copies.empty();
    n.eight_bit = m_body_facts && (m_body_facts->facts().has_8bit || m_body_facts->facts().has_nul);
    for (const auto& f : m_headers)
        for (const char ch : f.name + f.value) n.eight_bit = n.eight_bit || static_cast<unsigned char>(ch) >= 0x80;
    n.marker = out.return_marker;
    n.arrival = m_arrival;
    std::uint8_t nonce[16];
    smime::cms::random_bytes(nonce, sizeof nonce);
    const ReturnNoticeText text = make_return_notice(n, to_hex(ByteView(nonce, sizeof nonce)), std::time(nullptr));
    MemorySink head;
    head.write(text.head);
    write_original_header(head);
    return std::make_unique<CopySource>(head.data(), m_body ? m_body->reader() : nullptr, text.tail);
}

void MessageProcessor::remove_markers(MessageOutcome& out) const
{
    for (int index = 1; index <= m_marker_fields; ++index) {
        if (!out.header_edit) out.header_edit.emplace();
        out.header_edit->remove.push_back({std::string(kReinjectionHeader), index});
    }
}

void MessageProcessor::write_original_header(ByteSink& out) const
{
    for (const auto& f : m_headers) smime::mime::write_header_field(out, f);
    out.write(ByteView(reinterpret_cast<const std::uint8_t*>("\r\n"), 2));
}

std::unique_ptr<ByteSource> MessageProcessor::copy_source(const MessageOutcome::Copy& copy) const
{
    if (!copy.made) return copy_source(copy.marker);
    MemorySink head;
    smime::mime::write_header_field(head, {std::string(kReinjectionHeader), copy.marker});
    return std::make_unique<CopySource>(head.data(), copy.made->reader());
}

std::unique_ptr<ByteSource> MessageProcessor::copy_source(const std::string& marker) const
{
    MemorySink head;
    smime::mime::write_header_field(head, {std::string(kReinjectionHeader), marker});
    write_original_header(head);
    return std::make_unique<CopySource>(head.data(), m_body ? m_body->reader() : nullptr);
}

}  // namespace ssm::milter
