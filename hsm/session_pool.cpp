// Pooled own sessions (see session_pool.h). What the token answers is trusted; the repair
// rules below follow PKCS#11 v2.40 return codes as SoftHSM 2.6.1 gives them.
#include "hsm/session_pool.h"

#include "base/error.h"
#include "base/log.h"
#include "hsm/pkcs11_library.h"

namespace ssm::hsm {

// Marks one member busy for a scope; waits while every member is busy.
class SessionPool::Lease {
public:
    explicit Lease(SessionPool& pool) : m_pool(pool)
    {
        std::unique_lock lock(pool.m_mutex);
        for (;;) {
            for (auto& m : pool.m_members) {
                if (!m.busy) {
                    m.busy = true;
                    m_member = &m;
                    return;
                }
            }
            pool.m_released.wait(lock);
        }
    }
    ~Lease()
    {
        {
            std::lock_guard lock(m_pool.m_mutex);
            m_member->busy = false;
        }
        m_pool.m_released.notify_one();
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Member& member() const { return *m_member; }

private:
    SessionPool& m_pool;
    Member* m_member = nullptr;
};

SessionPool::SessionPool(std::shared_ptr<const TokenContext> token, RawModule module,
                         CK_SLOT_ID slot, pkcs11h_certificate_id_t login_key, unsigned size)
    : m_token(std::move(token)), m_module(std::move(module)), m_slot(slot),
      m_members(size == 0 ? 1 : size)
{
    if (!login_key) return;
    const CK_RV rv = pkcs11h_certificate_duplicateCertificateId(m_login_key.out(), login_key);
    if (rv != CKR_OK)
        throw Error(Failure::HsmUnavailable,
                    "pkcs11h_certificate_duplicateCertificateId: " + rv_name(rv));
}

CK_RV SessionPool::login_again()
{
    if (!m_login_key) return CKR_USER_NOT_LOGGED_IN;
    // A fresh certificate object has no key handle, so ensureKeyAccess resets the helper's
    // session with a login (PIN hook: one re-login, counted in relogin_count, login epoch
    // bumped). It takes the helper's locks itself: we hold none of them here.
    Certificate cert;
    CK_RV rv = pkcs11h_certificate_create(m_login_key.get(), nullptr,
                                          PKCS11H_PROMPT_MASK_ALLOW_PIN_PROMPT,
                                          PKCS11H_PIN_CACHE_INFINITE, cert.out());
    if (rv == CKR_OK) rv = pkcs11h_certificate_ensureKeyAccess(cert.get());
    return rv;
}

// Members close their sessions before m_module drops its reference and m_token the helper.
SessionPool::~SessionPool() = default;

CK_RV SessionPool::prepare(Member& m, const KeyMatch& match, CK_OBJECT_HANDLE& key)
{
    // A login through the helper (recovery elsewhere) may have renumbered private objects.
    const std::uint64_t epoch = m_token->auth->login_epoch.load();
    if (m.epoch != epoch) {
        m.keys.clear();
        m.epoch = epoch;
    }
    if (!m.session) m.session.emplace(m_module, m_slot);  // throws HsmUnavailable
    const Bytes cache_key = match.cache_key();
    if (auto it = m.keys.find(cache_key); it != m.keys.end()) {
        key = it->second;
        return CKR_OK;
    }
    CK_FUNCTION_LIST_PTR f = m.session->functions();
    const CK_SESSION_HANDLE s = m.session->handle();
    const KeyLookup found = find_private_key(f, s, match);
    if (found.rv != CKR_OK) return found.rv;
    if (found.handle != CK_INVALID_HANDLE) {
        key = found.handle;
        m.keys[cache_key] = key;
        return CKR_OK;
    }
    // Private objects are invisible without a login: tell the two cases apart.
    CK_SESSION_INFO info{};
    const CK_RV rv = f->C_GetSessionInfo(s, &info);
    if (rv != CKR_OK) return rv;
    return info.state == CKS_RO_USER_FUNCTIONS || info.state == CKS_RW_USER_FUNCTIONS
               ? CKR_KEY_HANDLE_INVALID
               : CKR_USER_NOT_LOGGED_IN;
}

bool SessionPool::repair(Member& m, CK_RV rv)
{
    switch (rv) {
    case CKR_SESSION_HANDLE_INVALID:
    case CKR_SESSION_CLOSED:
    // An operation left active by an earlier use of this session (an exception between
    // C_SignInit and C_Sign, a module that keeps an operation after an error): until the
    // session is closed every Init on it fails, one pool member lost for good.
    case CKR_OPERATION_ACTIVE:
        m.session.reset();
        m.keys.clear();
        return true;
    case CKR_USER_NOT_LOGGED_IN: {
        // The login belongs to the helper: it logs in again through its PIN hook. One
        // thread does it; the others see the epoch move and only retry.
        m.keys.clear();
        std::lock_guard lock(m_login_mutex);
        if (m_token->auth->login_epoch.load() != m.epoch) return true;
        forget_pin_offer();
        const CK_RV login = login_again();
        remember_if_pin_refused(login);  // the PIN changed on the token meanwhile, say
        if (login != CKR_OK)
            log::warning("hsm_login_failed",
                         {{"token", m_token->label}, {"result", rv_name(login)}});
        return login == CKR_OK;
    }
    case CKR_KEY_HANDLE_INVALID:
    case CKR_OBJECT_HANDLE_INVALID:
        m.keys.clear();
        return true;
    default: return false;
    }
}

CK_RV SessionPool::run(const KeyMatch& key_match, const Operation& op)
{
    Lease lease(*this);
    Member& m = lease.member();
    CK_RV repaired = CKR_OK;  // the failure repaired before this attempt
    for (int attempt = 0;; ++attempt) {
        CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
        CK_RV rv = prepare(m, key_match, key);
        if (rv == CKR_OK) {
            m_operations.fetch_add(1);
            rv = op(m.session->functions(), m.session->handle(), key);
        }
        // A lost login shows first as a stale key handle (the token hides private objects
        // from a session that is no longer logged in), and only at the next try as no login:
        // two different repairs, never the same one twice.
        if (rv == CKR_OK || attempt > 1 || rv == repaired || !repair(m, rv)) return rv;
        repaired = rv;
    }
}

}  // namespace ssm::hsm
