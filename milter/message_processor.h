// One message's journey from MAIL FROM to end of message, independent of libmilter:
// the libmilter callbacks (callbacks.cpp) and `ssmctl process` drive the same object,
// so the offline tool runs exactly the code path of the daemon. Everything it receives
// is untrusted SMTP input; limits come from the configuration snapshot it holds.
#pragma once
#include <sys/socket.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "base/spool.h"
#include "directory/certificate_choice.h"
#include "milter/certificates.h"
#include "milter/config.h"
#include "milter/reinjection.h"
#include "milter/reinjection_replay.h"
#include "milter/key_source.h"
#include "milter/made_copies.h"
#include "milter/reply.h"
#include "milter/return_notice.h"
#include "milter/receipt_answer.h"
#include "milter/receipts.h"
#include "milter/security_labels.h"
#include "pki/revocation_budget.h"
#include "policy/cipher_choice.h"
#include "policy/policy.h"
#include "policy/sender_check.h"
#include "smime/mime/header.h"
#include "smime/protect.h"
#include "smime/sign.h"

namespace ssm::milter {

// What the MTA told us about the connection.
struct ConnectionInfo {
    std::optional<sockaddr_storage> client_address;
    std::string client_name;
    std::string daemon_name;  // {daemon_name}
    // Set by `ssmctl process --direction`; the daemon always decides from the above.
    std::optional<policy::Direction> forced_direction;
    // False when the MTA sent no {daemon_name} at all (Postfix: milter_connect_macros without
    // it): originating_daemons cannot be told then (see mail_from).
    bool daemon_name_sent = true;
};

struct MessageOutcome {
    Reply reply;                                  // Accept, Reject or TempFail
    std::optional<smime::HeaderEdit> header_edit; // set when the header changes
    std::unique_ptr<Spool> new_body;              // set when the body changes too
    std::string action;                           // "sign", "encrypt", "sign+encrypt", "none", ...
    std::string detail;                           // algorithms, identity (for the log line)
    // The message refused or deferred with r (Reject or TempFail), its action named after it.
    void refuse_with(const Reply& r)
    {
        reply = r;
        action = r.verdict == Verdict::Reject ? "reject" : "tempfail";
    }
    // Mixed treatments with [reinjection] on: recipients that leave this message, each group
    // in its own copy of the original message (the caller submits the copies, then removes
    // the recipients; see milter/reinjection.h). Empty unless the reply is Accept.
    // A mail list's members whose envelope differs from this message's (mail_list.h) leave
    // the same way, all or nothing with the other copies, in a message the gateway made.
    struct Copy {
        std::vector<std::string> recipients;  // as given in RCPT TO, without angle brackets
        std::string marker;                   // the X-SSM-Reinjected value for this copy
        // Set: the copy is this message as made (header and body, without the marker; a v=3
        // marker, make_as_made_marker), its recipients never in this envelope, so none is
        // removed from it. Null: a copy of the message as received.
        std::shared_ptr<const Spool> made;
        // With `made`: as_made_body_digest of its body, which its v=3 marker binds.
        std::string made_body_digest;
    };
    std::vector<Copy> copies;
    // Signed receipts the gateway answers for its recipients (§4.2): the caller submits them
    // through [reinjection] once the message is accepted (send_receipts). Accept only.
    std::vector<GeneratedReceipt> receipts;
    // Envelope changes (the mail-list agent, PRODUCT §4.3): recipients to delete and to add,
    // as given in RCPT TO, without angle brackets. Applied only when the reply is Accept.
    std::vector<std::string> remove_recipients;
    std::vector<std::string> add_recipients;
    // Recipients returned to the sender (PRODUCT §2.4, rule no_certificate = "return"): the
    // caller submits the notice (MessageProcessor::return_notice) through [reinjection], then
    // removes them; `discard`: nobody else is left, the MTA discards the message. Accept only.
    std::vector<ReturnedRecipient> returned;
    std::string return_marker;  // the X-SSM-Reinjected value for the notice's envelope
    bool discard = false;
    // Set: the MTA is asked to hold the message (smfi_quarantine) with this reason: mail
    // encrypted to us that could not be decrypted or processed (undecryptable.h). Accept only.
    std::string quarantine;
};

// One certificate to encrypt for, with how its RecipientInfo names it (Default: the
// [encryption] recipient_identifier).
struct EncryptionTarget {
    const directory::RecipientCertificate* certificate = nullptr;
    policy::RecipientIdentifier identifier = policy::RecipientIdentifier::Default;
};

// [encryption] cipher as a rule's preference (what Cipher::Default stands for).
policy::Cipher configured_cipher(CipherChoice c);

// The AES ciphers the certificate's owner listed in the SMIMECapabilities harvested with it;
// unknown when none was harvested (a certificate from the folder, LDAP or DNS).
policy::AdvertisedCiphers advertised_ciphers(const directory::RecipientCertificate& c);

// The content encryption, key transport and recipient identifiers for `targets` as outbound
// encryption chooses them ([encryption], each certificate's SMIMECapabilities, the archive
// certificate last, named as [encryption] says); `reason`, when given, gets why the cipher.
smime::EncryptParameters encryption_parameters(const Config& config, const Certificates& certificates,
                                               const std::vector<EncryptionTarget>& targets,
                                               policy::Cipher cipher, policy::CipherFloor minimum,
                                               policy::CipherReason* reason = nullptr);

class MessageProcessor {
public:
    // `groups` answers from_group/to_group conditions; null: no group directory (such a
    // rule then gets 451 4.7.1 rather than silently not applying).
    MessageProcessor(std::shared_ptr<const Config> config,
                     std::shared_ptr<const Certificates> certificates, KeySource& keys,
                     ConnectionInfo conn, const policy::GroupMembership* groups = nullptr);

    // Header fields one message may have (552 5.3.4 beyond): each costs far more memory than
    // the few bytes max_message_size counts for it ("a:" is 5), so without a count a message of
    // empty fields would hold some twenty times its size per connection. Real mail has dozens.
    static constexpr std::size_t kMaxHeaderFields = 10000;

    // Each returns Continue to go on, or a final Reject/TempFail for that step.
    Reply mail_from(std::string_view sender, std::string_view auth_authen);
    Reply rcpt_to(std::string_view recipient);
    Reply header(std::string_view name, std::string_view value);
    // Plans again with the header fields (header triggers): the treatment of accepted
    // recipients may change. A milter cannot refuse one recipient after DATA, so when a
    // trigger makes encryption mandatory for a recipient without a usable certificate, or
    // gives recipients treatments that one message cannot carry, the whole message gets
    // 550 5.7.1 with the reason — unless [reinjection] is on (outbound), when the recipients
    // of the other treatments leave in copies of their own. Idempotent; end_of_message()
    // calls it when nobody did.
    Reply end_of_headers();
    Reply body(ByteView chunk);
    MessageOutcome end_of_message();

    policy::Direction direction() const { return m_direction; }
    const policy::MessageContext& context() const { return m_context; }
    std::size_t recipient_count() const;
    const std::vector<smime::mime::HeaderField>& headers() const { return m_headers; }

    // What was decided for each RCPT, accepted or not (for logs and ssmctl policy test).
    struct Recipient {
        std::string text;                       // as given in RCPT TO
        std::optional<EmailAddress> address;    // nullopt: did not parse
        policy::RecipientPlan plan;
        std::optional<directory::RecipientCertificate> certificate;  // set: encrypt to it
        std::string certificate_for;            // whose certificate was looked up; "": none
        std::vector<std::string> rejected_reasons;  // candidates found unusable
        std::string lookup_error;               // the directory could not be asked
        Reply reply;                            // Continue: accepted
        // Accepted at RCPT but with a treatment this message cannot carry: it leaves in a
        // reinjected copy at end of message ([reinjection] on) and is not part of this one.
        bool split_off = false;
        // Accepted at RCPT although encryption is mandatory and no certificate is usable (rule
        // no_certificate = "return"): not part of the message; its sender gets it back with
        // this refusal ("550 5.7.1 ...") in a notice.
        std::string returned;
        // Refused by `reply` at RCPT, but answered OK there because a copy the gateway made in
        // full is being handed over with this envelope (expect_made_copies): its marker decides
        // at the end of the header, `reply` the answer when it is not a valid v=3 one.
        bool awaits_marker = false;
        bool accepted() const { return reply.verdict == Verdict::Continue && !split_off && returned.empty(); }
    };
    const std::vector<Recipient>& recipients() const { return m_recipients; }

    // The original message as received (header fields and body) with `marker` as a first
    // X-SSM-Reinjected field: what a reinjected copy carries. Valid while this object lives.
    std::unique_ptr<ByteSource> copy_source(const std::string& marker) const;
    // What `copy` carries: copy_source(marker), or for a copy made in full, the marker
    // field and the message it holds. Valid while this object and `copy` live.
    std::unique_ptr<ByteSource> copy_source(const MessageOutcome::Copy& copy) const;
    // The notice returning the message to its sender for `out.returned` (see return_notice.h),
    // the original message inside. Valid while this object lives.
    std::unique_ptr<ByteSource> return_notice(const MessageOutcome& out) const;
    // The body as received (empty before MAIL). Valid while this object lives.
    std::unique_ptr<ByteSource> body_source() const;
    // Whether this message is a copy this gateway reinjected (valid marker for its envelope);
    // known after end_of_headers().
    bool reinjected() const { return m_reinjected; }
    // Whether it is a message this gateway made in full and reinjected (a v=3 marker): it is
    // delivered as it is, no rule applied to it again.
    bool reinjected_as_made() const { return m_as_made; }
    const std::string& sender_text() const { return m_sender_text; }
    // Further [reinjection] secrets a marker may have been made with: those of configurations
    // that messages still in flight run under after a reload changed the secret (the daemon's
    // Daemon::reinjection_secrets_in_flight). Call before end_of_headers().
    void accept_markers_of(std::vector<Bytes> secrets) { m_other_marker_secrets = std::move(secrets); }
    // The made copies this process is handing to the reinjection listener now (the daemon's;
    // null: none, as for `ssmctl process`). A recipient RCPT would refuse, from a loopback
    // client, whose envelope one of them has, is answered at the end of the header instead:
    // nothing if the message then carries a valid v=3 marker (delivered as made), RCPT's own
    // refusal for the whole message otherwise. Call before rcpt_to().
    void expect_made_copies(const MadeCopiesInFlight* copies) { m_made_copies = copies; }
    // The v=3 markers this process has delivered (the daemon's; null: none remembered, as for
    // `ssmctl process`, which delivers nothing): a copy made in full whose marker is there
    // already is refused (reinjection_replay.h). Call before end_of_message().
    void remember_delivered_markers(AcceptedMarkers* markers) { m_delivered_markers = markers; }

private:
    // The treatment recipients must share to travel in one message.
    struct Effective {
        policy::SignMode sign = policy::SignMode::None;
        std::string signing_identity;
        bool encrypt = false;
        // Whose keys: a recipient's own certificate (end to end) and a domain gateway's are
        // not mixed in one message, or the gateway could read what was meant for the person.
        policy::EncryptTarget encrypt_to = policy::EncryptTarget::Recipient;
        policy::Cipher cipher = policy::Cipher::Auto;  // resolved against [encryption]
        policy::CipherFloor minimum_cipher = policy::CipherFloor::None;
        bool header_protection = true;
        bool require_signature = false;  // inbound partner requirements
        bool require_encryption = false;
        bool require_integrity = false;  // of decrypted content (AEAD or a signature inside)
        policy::OnMissing on_missing = policy::OnMissing::Reject;
        std::vector<std::string> required_policies;
        policy::RevocationMode revocation = policy::RevocationMode::Default;  // inbound
        bool strip_signature = false;                                          // inbound
        std::string security_label;  // outbound: the rule's default label (a name)
        policy::ReceiptRequest receipt_request = policy::ReceiptRequest::None;  // outbound (§4.2)
        std::vector<std::string> receipts_to;
        bool operator==(const Effective& o) const = default;
    };
    Effective effective(const Recipient& r) const;
    // The inbound step's treatment for `e` (partner requirements, revocation, stripping).
    static policy::Treatment inbound_treatment(const Effective& e);
    // Inbound, the list address planned with the header fields as any recipient is: the
    // partner's requirements (§3.5) hold for a list too. Returns a final Reply or Continue.
    Reply plan_list_address();
    // Inbound recipients of one message whose treatments the From header made differ (a rule
    // with to and from conditions): one message carries the strictest of both requirements.
    Effective strictest_inbound(const Effective& a, const Effective& b) const;
    // [pki] revocation_time_budget for this SMTP transaction, started by the first validation
    // that asks for it (a recipient's certificate at RCPT, the signers at end of message) and
    // shared by all of them until the next MAIL FROM. One per RCPT would let a message to N
    // recipients whose CAs' responders stall take N budgets, each RCPT up to the MTA's milter
    // timeout.
    std::shared_ptr<const pki::RevocationBudget> revocation_budget();
    // Looks up the certificate `r.plan` asks for; returns a final Reply or Continue.
    Reply look_up(Recipient& r, bool at_rcpt);
    Reply check_token(const Recipient& r);
    MessageOutcome protect(const std::optional<OutboundLabel>& label);
    // The label the message must be signed with (nullopt: none); throws
    // Error(PolicyViolation) when the author's SIO-Label cannot be honoured.
    std::optional<OutboundLabel> outbound_label() const;
    MessageOutcome inbound();
    // end_of_message() before the undecryptable rule; `failure`: the class of the exception
    // the outcome came from, if any.
    MessageOutcome outcome_of_message(std::optional<Failure>& failure);
    // `owners`: for each certificate in order, the address it was looked up for (the
    // archive's is not among them).
    smime::EncryptParameters encryption_parameters(std::vector<std::string>& owners, policy::CipherReason& reason) const;
    std::shared_ptr<smime::Signer> find_signer(const Effective& e, const EmailAddress& author,
                                               std::string& identity);
    // Whose key signs: the From field's mailbox (with several authors, the one the Sender field
    // names, else the first); the envelope sender when there is no From; nullopt when From
    // holds no address.
    std::optional<EmailAddress> author() const;
    // Whether a person's key may sign for `a`: always, unless [outbound] from_must_match_sender
    // checked the message, then only for the address the envelope sender was shown to own.
    bool may_sign_as(const EmailAddress& a) const;
    // Whether the gateway will sign this message or a copy of it for some recipient (the
    // from_must_match_sender check guards that signature).
    bool signs_for_a_recipient() const;
    void record_receipt_request(const smime::cms::ReceiptRequest& request, const smime::SignResult& signature);
    // The Subject without the trigger tags the plans ask to strip; nullopt: unchanged.
    std::optional<std::string> stripped_subject() const;
    // Recognises our reinjection marker (outbound then, whatever the client looked like).
    void recognise_reinjected_copy();
    // Whether `r`, refused at RCPT by the rules planned for it (never before: see rcpt_to), may
    // be a made copy's recipient whose answer waits for the marker (expect_made_copies).
    bool may_await_marker(const Recipient& r) const;
    // At the end of the header: the RCPT refusal of a recipient that waited for a valid v=3
    // marker and did not get one; Continue otherwise.
    Reply awaited_refusal() const;
    // A copy's rules see the client that handed the original over (its SMTP AUTH name and
    // address, from the marker), not the loopback listener; end_of_headers plans again.
    void restore_origin(const ReinjectedOrigin& origin);
    // This message's client, for the markers of the copies split off it.
    ReinjectedOrigin reinjection_origin() const;
    // The copies for split-off recipients, one per treatment and, for blind recipients, one
    // per certificate (marker made now).
    std::vector<MessageOutcome::Copy> split_copies() const;
    // Of `group` (recipients sharing one treatment), the blind ones that must leave it for
    // copies of their own (policy::blind_leavers); none unless the treatment encrypts and
    // [encryption] blind_copies is "separate" (message_blind.cpp).
    std::vector<const Recipient*> blind_leavers(const std::vector<const Recipient*>& group) const;
    // End of message: the blind recipients of this message that leave it are split off (with
    // a blind-copy log line); a final 550 5.7.1 when there is no [reinjection] to send them.
    Reply separate_blind_copies();
    // The recipients returned to the sender, with the notice's marker (end of message).
    void add_returned(MessageOutcome& out) const;
    // The header fields as received (markers taken out) and the empty line after them.
    void write_original_header(ByteSink& out) const;
    // Removes every X-SSM-Reinjected field from the delivered message (ours or forged).
    void remove_markers(MessageOutcome& out) const;

    std::shared_ptr<const Config> m_config;
    std::shared_ptr<const Certificates> m_certificates;
    KeySource& m_keys;
    ConnectionInfo m_conn;
    const policy::GroupMembership* m_groups;
    policy::Direction m_direction = policy::Direction::Inbound;
    policy::MessageContext m_context;
    bool m_have_sender = false;
    std::string m_sender_text;  // MAIL FROM address without angle brackets ("" for <>)
    bool m_reinjected = false;
    bool m_as_made = false;  // see reinjected_as_made()
    std::string m_as_made_body_digest;  // with m_as_made: the body its marker was made for
    MarkerIdentity m_as_made_marker;    // with m_as_made: the marker, for m_delivered_markers
    AcceptedMarkers* m_delivered_markers = nullptr;  // remember_delivered_markers
    std::vector<Bytes> m_other_marker_secrets;  // accept_markers_of
    const MadeCopiesInFlight* m_made_copies = nullptr;  // expect_made_copies
    bool m_origin_restored = false;  // the marker gave the original client back (restore_origin)
    int m_marker_fields = 0;  // X-SSM-Reinjected fields received (taken out of m_headers)
    std::vector<Recipient> m_recipients;
    std::optional<Effective> m_effective;  // shared by all accepted recipients
    // Set at end of message when [outbound] from_must_match_sender applies to it.
    std::optional<policy::SenderCheck> m_sender_check;
    const MailList* m_list = nullptr;      // the message goes to this list (alone), in m_config
    std::optional<Reply> m_headers_reply;  // set once end_of_headers() ran
    std::vector<smime::mime::HeaderField> m_headers;
    std::uint64_t m_header_bytes = 0;
    std::unique_ptr<Spool> m_body;
    // Line facts of an outbound body, gathered while it is spooled (see smime/protect.h).
    std::optional<smime::mime::BodyFacts> m_body_facts;
    bool m_too_large = false;
    // Set during end_of_message once a RecipientInfo named one of our keys (the decryption
    // was tried): from then on no failure may show at SMTP (undecryptable.h).
    bool m_key_matched = false;
    std::time_t m_arrival = 0;  // MAIL FROM, for the Arrival-Date of a return notice
    std::shared_ptr<const pki::RevocationBudget> m_revocation_budget;  // see revocation_budget()
};

}  // namespace ssm::milter
