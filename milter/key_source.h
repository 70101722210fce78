// Where the message processor gets signing keys. The daemon and ssmctl use the token
// (TokenKeySource); the interface keeps milter/ logic independent of PKCS#11 details.
#pragma once
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "base/email_address.h"
#include "hsm/token_config.h"
#include "smime/decrypter.h"
#include "smime/signer.h"

namespace ssm::hsm {
class KeyStore;
struct Identity;
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
    // `opened`: called (outside the lock) each time the token is opened, instead of publishing
    // its certificates' expiry gauge directly (MultiTokenKeySource publishes all tokens' at once).
    explicit TokenKeySource(hsm::TokenConfig config, std::function<void()> opened = {});
    ~TokenKeySource() override;
    std::shared_ptr<smime::Signer> signer_for(const EmailAddress& address) override;
    void token_failed() override;
    void ensure_available() override { store(); }
    std::vector<std::shared_ptr<smime::Decrypter>> decrypters() override;
    std::optional<Bytes> encryption_certificate_for(const EmailAddress& address) override;
    // Opens the token now (start-up check); throws like signer_for.
    void open();
    // The certificates on the token when it is open (empty when it is not).
    std::vector<hsm::Identity> open_identities();

private:
    std::shared_ptr<hsm::KeyStore> store();

    hsm::TokenConfig m_config;
    std::function<void()> m_opened;
    std::mutex m_mutex;
    std::shared_ptr<hsm::KeyStore> m_store;
};

// Several tokens ([hsm], then each [[hsm.token]] in file order; PRODUCT §5 "providers and
// tokens"): a key is looked for on each in that order, each token opened, lost and found again
// on its own. A token that cannot be used makes every answer that may depend on it temporary:
// a signer the working tokens do not hold, the decrypters (the message's key may be on the
// missing token) and ensure_available throw HsmUnavailable (451 4.3.0, the MTA retries), never
// "no key", which would refuse mail for good.
class MultiTokenKeySource final : public KeySource {
public:
    explicit MultiTokenKeySource(const std::vector<hsm::TokenConfig>& tokens);
    std::shared_ptr<smime::Signer> signer_for(const EmailAddress& address) override;
    void token_failed() override;
    // Opens every token that is not open (all are tried); throws the first failure.
    void ensure_available() override;
    std::vector<std::shared_ptr<smime::Decrypter>> decrypters() override;
    std::optional<Bytes> encryption_certificate_for(const EmailAddress& address) override;

private:
    void publish_expiry();

    std::vector<std::unique_ptr<TokenKeySource>> m_tokens;
};

// TokenKeySource for one token, MultiTokenKeySource for several; tokens are opened on first use.
std::unique_ptr<KeySource> make_key_source(const std::vector<hsm::TokenConfig>& tokens);

}  // namespace ssm::milter
