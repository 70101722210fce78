// Private-key operations through pkcs11-helper (see helper_key.h). The helper keeps one
// session per token; a login through it invalidates the key handles cached in the other
// certificate objects, so we re-create ours when the token's login epoch moved instead of
// letting each fail once and log in again (which in turn invalidates the others).
#include "hsm/helper_key.h"

#include "base/error.h"
#include "base/log.h"
#include "base/metrics.h"
#include "hsm/signature_buffer.h"

namespace ssm::hsm {

HelperKey::HelperKey(std::shared_ptr<const TokenContext> token, pkcs11h_certificate_id_t id,
                     std::string key_label)
    : m_token(std::move(token)),
      m_description("key '" + key_label + "' on token '" + m_token->label + "'")
{
    CK_RV rv = pkcs11h_certificate_duplicateCertificateId(m_id.out(), id);
    if (rv != CKR_OK)
        throw Error(Failure::HsmUnavailable,
                    "cannot copy certificate id of " + m_description + ": " + rv_name(rv));
}

pkcs11h_certificate_t HelperKey::current_certificate()
{
    const std::uint64_t epoch = m_token->auth->login_epoch.load();
    if (m_certificate && m_epoch == epoch) return m_certificate.get();
    // Freeing takes the helper's session mutex: never do this under a SessionLock.
    m_certificate.reset();
    CK_RV rv = pkcs11h_certificate_create(m_id.get(), nullptr, PKCS11H_PROMPT_MASK_ALLOW_PIN_PROMPT,
                                          PKCS11H_PIN_CACHE_INFINITE, m_certificate.out());
    if (rv != CKR_OK) {
        remember_if_pin_refused(rv);
        throw Error(Failure::HsmUnavailable, "cannot open " + m_description + ": " + rv_name(rv));
    }
    m_epoch = epoch;
    return m_certificate.get();
}

Bytes HelperKey::sign(const CK_MECHANISM& mechanism, ByteView input)
{
    // Every signature reaches the token here, once: counted for ssm_hsm_operations_total,
    // as an error on every way out but the successful return.
    struct Counted {
        bool ok = false;
        ~Counted() { metrics::count_hsm_operation(metrics::HsmOperation::Sign, ok); }
    } counted;
    std::lock_guard guard(m_mutex);
    // Both steps may log in again through the PIN hook (pkcs11_library.h).
    forget_pin_offer();
    pkcs11h_certificate_t cert = current_certificate();
    SessionLock session(cert);
    if (session.status() != CKR_OK)
        throw Error(Failure::HsmUnavailable, "cannot lock the session of " + m_description + ": " +
                                                 rv_name(session.status()));
    // A second call after CKR_BUFFER_TOO_SMALL finishes the operation the helper kept active.
    Bytes out;
    CK_RV rv = sign_into<size_t>(out, [&](CK_BYTE_PTR buffer, size_t* size) {
        return pkcs11h_certificate_sign_ex(cert, &mechanism, input.data(), input.size(), buffer, size);
    });
    if (rv != CKR_OK) {
        remember_if_pin_refused(rv);
        // The helper has already reset the session and retried once. Forget our object so
        // the next call starts from a fresh one (the token may come back meanwhile).
        m_epoch.reset();
        log::warning("hsm_operation_failed", {{"key", m_description}, {"result", rv_name(rv)}});
        throw Error(Failure::HsmUnavailable,
                    "PKCS#11 signature with " + m_description + " failed: " + rv_name(rv));
    }
    // A login the helper did inside this operation (session reset) happened for this very
    // object, whose key handle is therefore current.
    m_epoch = m_token->auth->login_epoch.load();
    counted.ok = true;
    return out;
}

}  // namespace ssm::hsm
