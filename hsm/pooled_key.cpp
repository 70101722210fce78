// Signatures on our own pooled sessions; see pooled_key.h.
#include "hsm/pooled_key.h"

#include "base/error.h"
#include "base/log.h"
#include "base/metrics.h"
#include "hsm/signature_buffer.h"

namespace ssm::hsm {

PooledKey::PooledKey(std::shared_ptr<SessionPool> pool, KeyMatch key, std::string description)
    : m_pool(std::move(pool)), m_key(std::move(key)), m_description(std::move(description))
{
}

Bytes PooledKey::sign(const CK_MECHANISM& mechanism, ByteView input)
{
    Bytes out;
    CK_RV rv = CKR_GENERAL_ERROR;
    try {
        // The pool may run the operation twice (after repairing a stale session, login or
        // key handle): it starts from C_SignInit every time.
        rv = m_pool->run(m_key, [&](CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
            CK_MECHANISM mech = mechanism;  // PKCS#11 takes a non-const pointer
            CK_RV r = f->C_SignInit(s, &mech, key);
            if (r != CKR_OK) return r;
            auto* data = const_cast<CK_BYTE_PTR>(input.data());
            return sign_into<CK_ULONG>(out, [&](CK_BYTE_PTR buffer, CK_ULONG* size) {
                return f->C_Sign(s, data, input.size(), buffer, size);
            });
        });
    } catch (...) {
        metrics::count_hsm_operation(metrics::HsmOperation::Sign, false);
        throw;
    }
    metrics::count_hsm_operation(metrics::HsmOperation::Sign, rv == CKR_OK);
    if (rv != CKR_OK) {
        log::warning("hsm_operation_failed", {{"key", m_description}, {"operation", "sign"}, {"result", rv_name(rv)}});
        throw Error(Failure::HsmUnavailable, "PKCS#11 signature with " + m_description + " failed: " + rv_name(rv));
    }
    return out;
}

}  // namespace ssm::hsm
