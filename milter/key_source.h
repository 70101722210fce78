// Where the message processor gets signing keys. The daemon and ssmctl use the token
// (TokenKeySource); the interface keeps milter/ logic independent of PKCS#11 details.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "base/email_address.h"
#include "hsm/token_config.h"
#include "smime/decrypter.h"
#include "smime/signer.h"

namespace ssm::hsm {
class KeyStore;
}

namespace ssm::milter {

class KeySource {
public:
    virtual ~KeySource() = default;
    // The signer for an address, or nullptr when the token holds no key for it.
    // Throws ssm::Error(Failure::HsmUnavailable) when the token cannot be used now.
    virtual std::shared_ptr<smime::Signer> signer_for(const EmailAddress& address) = 0;
    // Told when a key operation failed with HsmUnavailable, so the next message
    // reconnects to the token instead of reusing a dead session.
    virtual void token_failed() {}
    // Throws ssm::Error(Failure::HsmUnavailable) when the token cannot be used now, so
    // that RCPT can be answered 451 4.3.0 before the client sends the message.
    virtual void ensure_available() = 0;
    // Every key on the token that can decrypt (RSA) or derive (EC), for matching
    // RecipientInfos. Throws like signer_for.
    virtual std::vector<std::shared_ptr<smime::Decrypter>> decrypters() = 0;
    // The certificate of the key the token holds to decrypt mail for `address` (nullopt: none),
    // named in our signatures when it is not the signing certificate (RFC 8551 §2.5.3).
    virtual std::optional<Bytes> encryption_certificate_for(const EmailAddress&) { return std::nullopt; }
};

// Opens the token on first use and again after it failed, so a token that was absent
// at start-up or removed later is picked up without a restart (the MTA gets 451 4.3.0
// meanwhile and retries).
class TokenKeySource final : public KeySource {
public:
    explicit TokenKeySource(hsm::TokenConfig config);
    ~TokenKeySource() override;
    std::shared_ptr<smime::Signer> signer_for(const EmailAddress& address) override;
    void token_failed() override;
    void ensure_available() override { store(); }
    std::vector<std::shared_ptr<smime::Decrypter>> decrypters() override;
    std::optional<Bytes> encryption_certificate_for(const EmailAddress& address) override;
    // Opens the token now (start-up check); throws like signer_for.
    void open();

private:
    std::shared_ptr<hsm::KeyStore> store();

    hsm::TokenConfig m_config;
    std::mutex m_mutex;
    std::shared_ptr<hsm::KeyStore> m_store;
};

}  // namespace ssm::milter
