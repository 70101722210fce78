// Opening a token and choosing signing keys (see key_store.h). Token content is trusted as
// configuration; certificate parsing failures skip the object and are logged.
#include "hsm/key_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "base/ascii.h"
#include "base/error.h"
#include "base/log.h"
#include "base/secure_buffer.h"
#include "hsm/cert_facts.h"
#include "hsm/pooled_key.h"
#include "hsm/raw_module.h"
#include "hsm/refused_pins.h"
#include "hsm/token_decrypter.h"
#include "hsm/token_signer.h"

namespace ssm::hsm {

using smime::KeyType;
using smime::SignatureScheme;

namespace {

[[noreturn]] void unavailable(const TokenConfig& c, const std::string& what)
{
    throw Error(Failure::HsmUnavailable,
                "HSM token " + token_description(c) + " (module " + c.module + "): " + what);
}

// The helper's token id for the configured label/serial, or a clear error listing what is there.
TokenId find_token(const TokenConfig& c)
{
    TokenIdList list;
    CK_RV rv = pkcs11h_token_enumTokenIds(PKCS11H_ENUM_METHOD_RELOAD, list.out());
    if (rv != CKR_OK) unavailable(c, "cannot list tokens: " + rv_name(rv));
    std::string present;
    for (auto p = list.get(); p; p = p->next) {
        const pkcs11h_token_id_t t = p->token_id;
        if (token_matches(c.token_label, c.token_serial, t->label, t->serialNumber)) {
            TokenId copy;
            if ((rv = pkcs11h_token_duplicateTokenId(copy.out(), t)) != CKR_OK)
                unavailable(c, "pkcs11h_token_duplicateTokenId: " + rv_name(rv));
            return copy;
        }
        present += std::string(present.empty() ? "" : ", ") + "'" + t->label + "'";
        if (*t->serialNumber) present += std::string(" serial ") + t->serialNumber;
    }
    unavailable(c, std::string("token not found") +
                       (c.token_serial.empty() ? "" : " with serial " + c.token_serial) +
                       " (tokens present: " + (present.empty() ? "none" : present) + ")");
}

// "0644" for a file mode, for the log.
std::string mode_text(mode_t mode)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
    return buf;
}

bool has_mechanism(const std::vector<CK_MECHANISM_TYPE>& list, CK_MECHANISM_TYPE m)
{
    // An empty list means the token would not say: let the operation decide.
    return list.empty() || std::find(list.begin(), list.end(), m) != list.end();
}

std::vector<SignatureScheme> usable_schemes(const Identity& id, const CertFacts& facts,
                                            const std::vector<CK_MECHANISM_TYPE>& mechs)
{
    std::vector<SignatureScheme> out;
    if (!id.has_private_key || !id.key_can_sign || !facts.digital_signature || id.is_ca ||
        !id.key_type_supported)
        return out;
    switch (id.key_type) {
    case KeyType::Rsa:
        // An id-RSASSA-PSS key: RSASSA-PSS alone (RFC 4055 §1.2 forbids PKCS#1 v1.5 with it,
        // and verifiers refuse it), and nothing when its parameters ask what we cannot sign.
        if (id.rsa_pss && !facts.rsa_pss_refusal.empty()) break;
        if (!id.rsa_pss && has_mechanism(mechs, CKM_RSA_PKCS)) out.push_back(SignatureScheme::RsaPkcs1v15);
        if (has_mechanism(mechs, CKM_RSA_PKCS_PSS)) out.push_back(SignatureScheme::RsaPss);
        break;
    case KeyType::Ec:
        if (has_mechanism(mechs, CKM_ECDSA)) out.push_back(SignatureScheme::Ecdsa);
        break;
    case KeyType::Ed25519:
        if (has_mechanism(mechs, CKM_EDDSA)) out.push_back(SignatureScheme::Ed25519);
        break;
    }
    return out;
}

bool decrypt_usable(const Identity& id, const CertFacts& facts,
                    const std::vector<CK_MECHANISM_TYPE>& mechs)
{
    if (!id.has_private_key || id.is_ca || !id.key_type_supported) return false;
    switch (id.key_type) {
    case KeyType::Rsa:
        // An id-RSASSA-PSS key is for signatures only (RFC 4055 §1.2), whatever keyUsage says.
        return !id.rsa_pss && id.key_can_decrypt && facts.key_encipherment &&
               has_mechanism(mechs, CKM_RSA_X_509);
    case KeyType::Ec:
        return id.key_can_derive && facts.key_agreement &&
               (id.key_bits == 256 || id.key_bits == 384 || id.key_bits == 521) &&
               has_mechanism(mechs, CKM_ECDH1_DERIVE);
    case KeyType::Ed25519: return false;
    }
    return false;
}

// Attribute access through our own session; absent when the module cannot be reached that
// way (then key facts are unknown and assumed from the certificate, see below).
struct RawView {
    RawModule module;
    CK_SLOT_ID slot;
    RawSession session;
    std::vector<CK_MECHANISM_TYPE> mechanisms;
};

std::unique_ptr<RawView> open_raw_view(const TokenConfig& c, const TokenInfo& info)
{
    try {
        RawModule module = RawModule::attach(c.module);
        auto slot = module.find_slot(info.label, info.serial);
        if (!slot) return nullptr;
        RawSession session(module, *slot);
        auto mechs = module.mechanisms(*slot);
        return std::make_unique<RawView>(
            RawView{std::move(module), *slot, std::move(session), std::move(mechs)});
    } catch (const Error& e) {
        log::warning("hsm_key_attributes_unavailable",
                     {{"token", info.label}, {"reason", e.what()}});
        return nullptr;
    }
}

}  // namespace

KeyStore::~KeyStore() = default;

std::unique_ptr<KeyStore> KeyStore::open(const TokenConfig& config)
{
    auto store = std::make_unique<KeyStore>(Key{});
    auto library = Pkcs11Library::acquire();
    library->ensure_provider(config.module);

    TokenId token = find_token(config);
    store->m_info = TokenInfo{config.module, token.get()->label, token.get()->serialNumber,
                              token.get()->manufacturerID, token.get()->model};

    SecureString pin;
    const std::string pin_from = pin_path(config);
    if (pin_from.empty())
        unavailable(config, "pin_credential " + config.pin_credential +
                                " needs $CREDENTIALS_DIRECTORY (systemd LoadCredential=), which is not set");
    // Before reading: a file rewritten meanwhile then looks newer at the next open, not older.
    const std::int64_t pin_stamp = RefusedPins::pin_file_stamp(pin_from);
    try {
        pin = read_secret_file(pin_from);
    } catch (const std::exception&) {
        unavailable(config, "cannot read PIN file " + pin_from);
    }
    // Others may read it: the PIN still works, but anyone on the host can use the token's keys.
    if (struct stat st {}; ::stat(pin_from.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
        log::warning("hsm_pin_file_readable_by_others",
                     {{"token", store->m_info.label}, {"file", pin_from}, {"mode", mode_text(st.st_mode)},
                      {"note", "chmod o-rwx (0600 or 0640 with the daemon's group)"}});
    // An empty PIN is a slip (a truncated file), and offering it would cost the token a try.
    if (pin.empty()) unavailable(config, "PIN file " + pin_from + " is empty");
    const std::string token_key = store->m_info.label + "/" + store->m_info.serial;
    auto& refused = RefusedPins::instance();
    if (auto answer = refused.refusal(token_key, pin, pin_stamp))
        unavailable(config, "login not tried: the token refused this PIN before (" + *answer +
                                "); it is offered again once " + pin_from +
                                " changes (rewrite or touch it) or the daemon restarts");
    // pkcs11h_token_login first closes the helper's session of the token, which other live
    // stores of the same token share: their certificate objects must be re-created.
    if (auto previous = library->find_token(store->m_info.label, store->m_info.serial))
        previous->login_epoch.fetch_add(1);
    CK_RV rv = pkcs11h_token_login(token.get(), TRUE, pin.value().c_str());
    if (rv != CKR_OK) {
        if (pin_refused(rv)) refused.remember(token_key, pin, pin_stamp, rv_name(rv));
        unavailable(config, "login failed: " + rv_name(rv) + " (PIN from " + pin_from + ")");
    }
    auto auth = library->register_token(store->m_info.label, store->m_info.serial, std::move(pin), pin_stamp);
    auth->login_epoch.fetch_add(1);
    store->m_token = std::make_shared<TokenContext>(
        TokenContext{std::move(library), std::move(auth), store->m_info.label});

    CertificateIdList issuers;
    CertificateIdList ends;
    rv = pkcs11h_certificate_enumTokenCertificateIds(token.get(), PKCS11H_ENUM_METHOD_RELOAD,
                                                     nullptr, PKCS11H_PROMPT_MASK_ALLOW_PIN_PROMPT,
                                                     issuers.out(), ends.out());
    if (rv != CKR_OK) unavailable(config, "cannot list certificates: " + rv_name(rv));

    auto raw = open_raw_view(config, store->m_info);
    // Self-signed certificates can land among the "issuers": walk both lists.
    for (const auto* list : {&ends, &issuers}) {
        for (auto p = list->get(); p; p = p->next) {
            const pkcs11h_certificate_id_t cid = p->certificate_id;
            const ByteView der(cid->certificate_blob, cid->certificate_blob_size);
            auto cert = X509Cert::parse_der(der);
            if (!cert) {
                log::warning("hsm_certificate_unparsable",
                             {{"token", store->m_info.label},
                              {"id", to_hex(ByteView(cid->attrCKA_ID, cid->attrCKA_ID_size))}});
                continue;
            }
            const CertFacts facts = cert_facts(*cert);
            Entry e;
            Identity& id = e.identity;
            id.certificate_der.assign(der.begin(), der.end());
            id.email_addresses = facts.email_addresses;
            id.key_type_supported = facts.key_type.has_value();
            id.key_type = facts.key_type.value_or(KeyType::Rsa);
            id.key_bits = facts.key_bits;
            id.rsa_pss = facts.rsa_pss;
            id.rsa_pss_digest = facts.rsa_pss_digest;
            id.id.assign(cid->attrCKA_ID, cid->attrCKA_ID + cid->attrCKA_ID_size);
            id.not_before = facts.not_before;
            id.not_after = facts.not_after;
            id.serial = facts.serial;
            id.is_ca = facts.is_ca;
            if (raw) {
                const PrivateKeyFacts key = private_key_facts(raw->session, key_match_for(der, id.id));
                id.has_private_key = key.present;
                if (key.other_keys > 0)
                    log::warning(key.present ? "hsm_several_keys_one_id" : "hsm_key_not_the_certificates",
                                 {{"token", store->m_info.label},
                                  {"id", to_hex(id.id)},
                                  {"other_keys", std::to_string(key.other_keys)},
                                  {"chosen_by", key.present ? key.chosen_by : "none"},
                                  {"note", key.present ? "the certificate's own key is used"
                                                       : "no key under this id is the certificate's: not used"}});
                id.key_can_sign = key.can_sign;
                id.key_can_decrypt = key.can_decrypt;
                id.key_can_derive = key.can_derive;
                id.key_extractable = key.extractable || !key.sensitive;
                id.label = certificate_label(raw->session, id.id, der);
            } else {
                // Unknown: assume end-entity certificates have their key, and let the
                // first operation tell otherwise.
                id.has_private_key = id.key_can_sign = !facts.is_ca;
            }
            if (id.label.empty()) id.label = cid->displayName;
            id.sign_schemes =
                usable_schemes(id, facts, raw ? raw->mechanisms : std::vector<CK_MECHANISM_TYPE>{});
            // Decryption needs our own sessions: without the raw view there is none.
            id.decrypt_usable = raw && decrypt_usable(id, facts, raw->mechanisms);
            if (facts.x25519 && id.has_private_key)
                log::warning("hsm_x25519_unsupported",
                             {{"token", store->m_info.label}, {"label", id.label},
                              {"reason", "no X25519 key agreement through PKCS#11 here"}});
            if (facts.rsa_pss && !facts.key_type && id.has_private_key)
                log::warning("hsm_rsa_pss_key_unsupported",
                             {{"token", store->m_info.label}, {"label", id.label}, {"id", to_hex(id.id)},
                              {"reason", "id-RSASSA-PSS key with MGF1 over another hash than its own: "
                                         "GnuTLS cannot use it, not used for signing"}});
            // Once per open (start-up, reload): such a key does not follow [signing] rsa_scheme
            // and digest, or is not used at all.
            if (facts.rsa_pss && facts.key_type && id.has_private_key) {
                if (!facts.rsa_pss_refusal.empty())
                    log::warning("hsm_rsa_pss_key_unsupported",
                                 {{"token", store->m_info.label}, {"label", id.label}, {"id", to_hex(id.id)},
                                  {"reason", facts.rsa_pss_refusal + ": not used for signing"}});
                else
                    log::warning("hsm_rsa_pss_key_restricted",
                                 {{"token", store->m_info.label}, {"label", id.label}, {"id", to_hex(id.id)},
                                  {"signs", std::string("rsa-pss/") +
                                                (id.rsa_pss_digest ? std::string(smime::digest_name(*id.rsa_pss_digest))
                                                                   : std::string("any"))},
                                  {"note", "an id-RSASSA-PSS key (RFC 4055): signs only so, whatever [signing] "
                                           "rsa_scheme and digest say; never decrypts"}});
            }
            if (id.has_private_key && id.key_extractable)
                log::warning(
                    "hsm_extractable_private_key",
                    {{"token", store->m_info.label}, {"label", id.label}, {"id", to_hex(id.id)}});
            if ((rv = pkcs11h_certificate_duplicateCertificateId(e.helper_id.out(), cid)) != CKR_OK)
                unavailable(config, "pkcs11h_certificate_duplicateCertificateId: " + rv_name(rv));
            store->m_entries.push_back(std::move(e));
        }
    }
    if (raw) {
        pkcs11h_certificate_id_t login_key = nullptr;
        for (const auto& e : store->m_entries)
            if (!login_key && e.identity.has_private_key) login_key = e.helper_id.get();
        store->m_pool = std::make_shared<SessionPool>(store->m_token, std::move(raw->module),
                                                      raw->slot, login_key, config.sessions);
    }
    log::info("hsm_token_opened", {{"token", store->m_info.label},
                                   {"certificates", std::to_string(store->m_entries.size())}});
    return store;
}

std::vector<Identity> KeyStore::identities() const
{
    std::vector<Identity> out;
    for (const auto& e : m_entries) out.push_back(e.identity);
    return out;
}

std::vector<Bytes> KeyStore::chain_for(const Entry& entry) const
{
    std::vector<Bytes> chain;
    auto current = X509Cert::parse_der(entry.identity.certificate_der);
    std::vector<const Entry*> used{&entry};
    // Bounded walk; a certificate is used at most once, so loops end.
    for (int depth = 0; current && depth < 8; ++depth) {
        const Entry* issuer = nullptr;
        std::optional<X509Cert> issuer_cert;
        for (const auto& candidate : m_entries) {
            if (!candidate.identity.is_ca ||
                std::find(used.begin(), used.end(), &candidate) != used.end())
                continue;
            auto c = X509Cert::parse_der(candidate.identity.certificate_der);
            if (c && current->issued_by(*c)) {
                issuer = &candidate;
                issuer_cert = std::move(c);
                break;
            }
        }
        if (!issuer || cert_facts(*issuer_cert).self_signed) break;  // the root stays out
        chain.push_back(issuer->identity.certificate_der);
        used.push_back(issuer);
        current = std::move(issuer_cert);
    }
    return chain;
}

std::shared_ptr<smime::Signer> KeyStore::make_signer(const Entry& entry) const
{
    std::lock_guard lock(m_signers_mutex);
    auto& slot = m_signers[entry.identity.certificate_der];
    if (!slot) {
        // Our own sessions when the module can be reached directly (signatures in parallel),
        // else the helper's one session.
        std::unique_ptr<KeyBackend> key;
        if (m_pool)
            key = std::make_unique<PooledKey>(m_pool, key_match_for(entry.identity.certificate_der, entry.identity.id),
                                              "key '" + entry.identity.label + "' on token '" + m_info.label + "'");
        else
            key = std::make_unique<HelperKey>(m_token, entry.helper_id.get(), entry.identity.label);
        slot = std::make_shared<TokenSigner>(
            std::move(key), entry.identity.certificate_der, chain_for(entry), entry.identity.key_type,
            entry.identity.key_bits, smime::KeyRestriction{entry.identity.rsa_pss, entry.identity.rsa_pss_digest});
    }
    return slot;
}

std::shared_ptr<smime::Signer> KeyStore::signer_for(const EmailAddress& address) const
{
    const std::string wanted = address.key();
    const std::time_t now = std::time(nullptr);
    const Entry* best = nullptr;
    for (const auto& e : m_entries) {
        const Identity& id = e.identity;
        if (id.sign_schemes.empty() || now < id.not_before || now > id.not_after) continue;
        if (std::find(id.email_addresses.begin(), id.email_addresses.end(), wanted) ==
            id.email_addresses.end())
            continue;
        if (!best || id.not_before > best->identity.not_before ||
            (id.not_before == best->identity.not_before && id.not_after > best->identity.not_after))
            best = &e;
    }
    return best ? make_signer(*best) : nullptr;
}

std::shared_ptr<smime::Signer> KeyStore::signer_for_certificate(ByteView der) const
{
    for (const auto& e : m_entries) {
        const Identity& id = e.identity;
        if (!id.sign_schemes.empty() &&
            std::equal(der.begin(), der.end(), id.certificate_der.begin(),
                       id.certificate_der.end()))
            return make_signer(e);
    }
    return nullptr;
}

std::shared_ptr<smime::Decrypter> KeyStore::make_decrypter(const Entry& entry) const
{
    std::lock_guard lock(m_signers_mutex);
    auto& slot = m_decrypters[entry.identity.certificate_der];
    if (!slot)
        slot = std::make_shared<TokenDecrypter>(
            m_pool, entry.identity.certificate_der, entry.identity.id,
            "key '" + entry.identity.label + "' on token '" + m_info.label + "'");
    return slot;
}

std::shared_ptr<smime::Decrypter> KeyStore::decrypter_for_certificate(ByteView der) const
{
    for (const auto& e : m_entries) {
        const Identity& id = e.identity;
        if (id.decrypt_usable && std::equal(der.begin(), der.end(), id.certificate_der.begin(),
                                            id.certificate_der.end()))
            return make_decrypter(e);
    }
    return nullptr;
}

std::vector<std::shared_ptr<smime::Decrypter>> KeyStore::decrypters() const
{
    std::vector<std::shared_ptr<smime::Decrypter>> out;
    for (const auto& e : m_entries)
        if (e.identity.decrypt_usable) out.push_back(make_decrypter(e));
    return out;
}

const KeyStore::Entry* KeyStore::decryption_entry_for(const EmailAddress& address) const
{
    const std::string wanted = address.key();
    const std::time_t now = std::time(nullptr);
    const Entry* best = nullptr;
    for (const auto& e : m_entries) {
        const Identity& id = e.identity;
        if (!id.decrypt_usable || now < id.not_before || now > id.not_after) continue;
        if (std::find(id.email_addresses.begin(), id.email_addresses.end(), wanted) ==
            id.email_addresses.end())
            continue;
        if (!best || id.not_before > best->identity.not_before) best = &e;
    }
    return best;
}

std::shared_ptr<smime::Decrypter> KeyStore::decrypter_for(const EmailAddress& address) const
{
    const Entry* best = decryption_entry_for(address);
    return best ? make_decrypter(*best) : nullptr;
}

std::optional<Bytes> KeyStore::encryption_certificate_for(const EmailAddress& address) const
{
    const Entry* best = decryption_entry_for(address);
    if (!best) return std::nullopt;
    return best->identity.certificate_der;
}

std::uint64_t KeyStore::token_operations() const
{
    return m_pool ? m_pool->operations() : 0;
}

}  // namespace ssm::hsm
