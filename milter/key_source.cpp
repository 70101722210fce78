// Lazy, recoverable access to the token's keys.
#include "milter/key_source.h"

#include "base/error.h"
#include "base/log.h"
#include "hsm/key_store.h"
#include "hsm/token_config.h"
#include "milter/certificate_expiry.h"

namespace ssm::milter {

TokenKeySource::TokenKeySource(hsm::TokenConfig config, std::function<void()> opened)
    : m_config(std::move(config)), m_opened(std::move(opened))
{
}

TokenKeySource::~TokenKeySource() = default;

std::shared_ptr<hsm::KeyStore> TokenKeySource::store()
{
    std::shared_ptr<hsm::KeyStore> s;
    bool opened = false;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_store) {
            m_store = hsm::KeyStore::open(m_config);  // throws HsmUnavailable
            log::info("hsm-open", {{"module", m_config.module}, {"token", hsm::token_description(m_config)}});
            opened = true;
        }
        s = m_store;
    }
    // Outside the lock: the callback asks every token, this one included, for its certificates.
    if (opened) {
        if (m_opened) m_opened();
        else publish_certificate_expiry(s->identities(), std::time(nullptr));
    }
    return s;
}

void TokenKeySource::open()
{
    store();
}

std::vector<hsm::Identity> TokenKeySource::open_identities()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_store ? m_store->identities() : std::vector<hsm::Identity>{};
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
    if (m_store) log::warning("hsm-reset", {{"token", hsm::token_description(m_config)}});
    m_store.reset();
}

MultiTokenKeySource::MultiTokenKeySource(const std::vector<hsm::TokenConfig>& tokens)
{
    for (const auto& t : tokens) m_tokens.push_back(std::make_unique<TokenKeySource>(t, [this] { publish_expiry(); }));
}

void MultiTokenKeySource::publish_expiry()
{
    std::vector<hsm::Identity> all;
    for (const auto& t : m_tokens) {
        auto ids = t->open_identities();
        all.insert(all.end(), std::make_move_iterator(ids.begin()), std::make_move_iterator(ids.end()));
    }
    publish_certificate_expiry(all, std::time(nullptr));
}

std::shared_ptr<smime::Signer> MultiTokenKeySource::signer_for(const EmailAddress& address)
{
    std::optional<Error> unavailable;
    for (const auto& t : m_tokens) {
        try {
            if (auto s = t->signer_for(address)) return s;
        } catch (const Error& e) {
            if (e.failure() != Failure::HsmUnavailable) throw;
            if (!unavailable) unavailable = e;  // the key may be on this token: go on, then say so
        }
    }
    if (unavailable) throw *unavailable;
    return nullptr;
}

void MultiTokenKeySource::token_failed()
{
    // Which token failed is not known here; each reopens cheaply on its next use.
    for (const auto& t : m_tokens) t->token_failed();
}

void MultiTokenKeySource::ensure_available()
{
    std::optional<Error> first;
    for (const auto& t : m_tokens) {
        try {
            t->ensure_available();
        } catch (const Error& e) {
            if (e.failure() != Failure::HsmUnavailable) throw;
            if (!first) first = e;
        }
    }
    if (first) throw *first;
}

std::vector<std::shared_ptr<smime::Decrypter>> MultiTokenKeySource::decrypters()
{
    std::vector<std::shared_ptr<smime::Decrypter>> all;
    for (const auto& t : m_tokens) {
        auto d = t->decrypters();  // throws HsmUnavailable: the message's key may be there
        all.insert(all.end(), d.begin(), d.end());
    }
    return all;
}

std::optional<Bytes> MultiTokenKeySource::encryption_certificate_for(const EmailAddress& address)
{
    for (const auto& t : m_tokens)
        if (auto c = t->encryption_certificate_for(address)) return c;
    return std::nullopt;
}

std::unique_ptr<KeySource> make_key_source(const std::vector<hsm::TokenConfig>& tokens)
{
    if (tokens.size() == 1) return std::make_unique<TokenKeySource>(tokens.front());
    return std::make_unique<MultiTokenKeySource>(tokens);
}

}  // namespace ssm::milter
