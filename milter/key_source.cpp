// Lazy, recoverable access to the token's keys.
#include "milter/key_source.h"

#include "base/error.h"
#include "base/log.h"
#include "hsm/key_store.h"
#include "milter/certificate_expiry.h"

namespace ssm::milter {

TokenKeySource::TokenKeySource(hsm::TokenConfig config) : m_config(std::move(config)) {}

TokenKeySource::~TokenKeySource() = default;

std::shared_ptr<hsm::KeyStore> TokenKeySource::store()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (!m_store) {
        m_store = hsm::KeyStore::open(m_config);  // throws HsmUnavailable
        log::info("hsm-open", {{"module", m_config.module}, {"token", m_config.token_label}});
        publish_certificate_expiry(m_store->identities(), std::time(nullptr));
    }
    return m_store;
}

void TokenKeySource::open()
{
    store();
}

std::shared_ptr<smime::Signer> TokenKeySource::signer_for(const EmailAddress& address)
{
    auto s = store();
    try {
        return s->signer_for(address);
    } catch (const Error& e) {
        if (e.failure() == Failure::HsmUnavailable) token_failed();
        throw;
    }
}

std::vector<std::shared_ptr<smime::Decrypter>> TokenKeySource::decrypters()
{
    auto s = store();
    try {
        return s->decrypters();
    } catch (const Error& e) {
        if (e.failure() == Failure::HsmUnavailable) token_failed();
        throw;
    }
}

std::optional<Bytes> TokenKeySource::encryption_certificate_for(const EmailAddress& address)
{
    return store()->encryption_certificate_for(address);
}

void TokenKeySource::token_failed()
{
    // Drop the store so the next message opens the token afresh. Signers already handed
    // out keep the old store alive until their message is done.
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_store) log::warning("hsm-reset", {{"token", m_config.token_label}});
    m_store.reset();
}

}  // namespace ssm::milter
