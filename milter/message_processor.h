// One message's journey from MAIL FROM to end of message, independent of libmilter:
// the libmilter callbacks (callbacks.cpp) and `ssmctl process` drive the same object,
// so the offline tool runs exactly the code path of the daemon. Everything it receives
// is untrusted SMTP input; limits come from the configuration snapshot it holds.
#pragma once
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/email_address.h"
#include "base/spool.h"
#include "directory/certificate_choice.h"
#include "milter/certificates.h"
#include "milter/config.h"
#include "milter/key_source.h"
#include "milter/reply.h"
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
};

struct MessageOutcome {
    Reply reply;                                  // Accept, Reject or TempFail
    std::optional<smime::HeaderEdit> header_edit; // set when the header changes
    std::unique_ptr<Spool> new_body;              // set when the body changes too
    std::string action;                           // "sign", "encrypt", "sign+encrypt", "none", ...
    std::string detail;                           // algorithms, identity (for the log line)
};

class MessageProcessor {
public:
    MessageProcessor(std::shared_ptr<const Config> config,
                     std::shared_ptr<const Certificates> certificates, KeySource& keys,
                     ConnectionInfo conn);

    // Each returns Continue to go on, or a final Reject/TempFail for that step.
    Reply mail_from(std::string_view sender, std::string_view auth_authen);
    Reply rcpt_to(std::string_view recipient);
    Reply header(std::string_view name, std::string_view value);
    Reply body(ByteView chunk);
    MessageOutcome end_of_message();

    policy::Direction direction() const { return m_direction; }
    std::size_t recipient_count() const { return m_recipients.size(); }
    const std::vector<smime::mime::HeaderField>& headers() const { return m_headers; }

    // What was decided for each accepted recipient (for logs and ssmctl).
    struct Recipient {
        EmailAddress address;
        policy::RecipientPlan plan;
        std::optional<directory::RecipientCertificate> certificate;  // set: encrypt to it
    };
    const std::vector<Recipient>& recipients() const { return m_recipients; }

private:
    // The treatment two recipients must share to travel in one message.
    struct Effective {
        policy::SignMode sign;
        bool encrypt;
        bool require_signature;  // inbound partner requirements
        bool require_encryption;
        policy::OnMissing on_missing;
        bool operator==(const Effective& o) const
        {
            return sign == o.sign && encrypt == o.encrypt && require_signature == o.require_signature &&
                   require_encryption == o.require_encryption && on_missing == o.on_missing;
        }
    };
    MessageOutcome protect();
    MessageOutcome inbound();
    smime::EncryptParameters encryption_parameters() const;
    std::shared_ptr<smime::Signer> find_signer(policy::SignMode mode, const EmailAddress& author,
                                               std::string& identity);
    std::optional<EmailAddress> author() const;

    std::shared_ptr<const Config> m_config;
    std::shared_ptr<const Certificates> m_certificates;
    KeySource& m_keys;
    ConnectionInfo m_conn;
    policy::Direction m_direction = policy::Direction::Inbound;
    std::optional<EmailAddress> m_sender;
    bool m_have_sender = false;
    std::vector<Recipient> m_recipients;
    std::optional<Effective> m_effective;  // shared by all accepted recipients
    std::vector<smime::mime::HeaderField> m_headers;
    std::uint64_t m_header_bytes = 0;
    std::unique_ptr<Spool> m_body;
    bool m_too_large = false;
};

}  // namespace ssm::milter
