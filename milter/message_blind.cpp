// Blind recipients of outbound encrypted mail (policy/blind_recipients.h, RFC 9787 §5): one
// CMS object names every recipient's certificate, so a Bcc recipient encrypted into the
// others' copy would be shown to all of them. Such recipients leave through [reinjection] in
// copies of their own, like recipients of another treatment (milter/reinjection.h). Header
// fields and envelope addresses are untrusted SMTP input.
#include <algorithm>

#include "base/log.h"
#include "milter/inbound_layers.h"
#include "milter/message_processor.h"
#include "policy/blind_recipients.h"

namespace ssm::milter {

std::vector<const MessageProcessor::Recipient*>
MessageProcessor::blind_leavers(const std::vector<const Recipient*>& group) const
{
    if (m_direction != policy::Direction::Outbound || m_config->encryption.blind_copies != BlindCopies::Separate)
        return {};
    std::vector<policy::EncryptedRecipient> encrypted;
    for (const Recipient* r : group) {
        // One treatment: either every member is encrypted to a certificate or none is.
        if (!r->certificate || !r->address) return {};
        encrypted.push_back({&*r->address, &r->certificate->der});
    }
    std::vector<const Recipient*> leavers;
    const auto& archive = m_certificates->archive_certificate();
    for (const std::size_t i :
         policy::blind_leavers(encrypted, policy::named_recipients(m_headers), archive ? &*archive : nullptr))
        leavers.push_back(group[i]);
    return leavers;
}

Reply MessageProcessor::separate_blind_copies()
{
    if (m_direction != policy::Direction::Outbound || m_list || !m_effective || !m_effective->encrypt)
        return Reply::proceed();
    std::vector<const Recipient*> group;
    for (const auto& r : m_recipients)
        if (r.accepted()) group.push_back(&r);
    const std::vector<const Recipient*> leavers = blind_leavers(group);
    if (leavers.empty()) return Reply::proceed();
    // Mail its author encrypted goes to everyone as it is (protect() leaves it alone): no
    // RecipientInfo of ours to reveal anybody.
    const auto& m = m_config->milter;
    if (holds_encryption(m_headers, *m_body, m.spool_dir, m.memory_spool_limit)) return Reply::proceed();
    if (!m_config->reinjection.enabled()) {
        // As for treatments the header fields split (end_of_headers): a milter cannot split the
        // message itself, and the shared encryption must not carry the blind recipient.
        log::notice("blind-copy-refused", {{"rcpt", leavers.front()->text},
                                           {"blind", std::to_string(leavers.size())},
                                           {"reason", "no [reinjection] to send blind copies apart"}});
        return Reply::reject("550", "5.7.1",
                             "blind copy recipients would be shown to the other recipients by the "
                             "encryption and cannot be sent apart here; send blind copies in a "
                             "separate message");
    }
    for (auto& r : m_recipients) {
        if (std::find(leavers.begin(), leavers.end(), &r) == leavers.end()) continue;
        r.split_off = true;
        log::notice("blind-copy", {{"rcpt", r.text}, {"certificate_for", r.certificate_for}});
    }
    return Reply::proceed();
}

}  // namespace ssm::milter
