// Signatures on our own pooled sessions; see pooled_key.h.
#include "hsm/pooled_key.h"

#include "base/error.h"
#include "base/log.h"
#include "base/metrics.h"

namespace ssm::hsm {

namespace {
constexpr std::size_t kSignatureBuffer = 1024;  // an RSA-8192 signature; ECDSA P-521 needs 132
}

PooledKey::PooledKey(std::shared_ptr<SessionPool> pool, Bytes key_id, std::string description)
    : m_pool(std::move(pool)), m_key_id(std::move(key_id)), m_description(std::move(description))
{
}

Bytes PooledKey::sign(const CK_MECHANISM& mechanism, ByteView input)
{
    Bytes out(kSignatureBuffer);
    CK_ULONG size = 0;
    CK_RV rv = CKR_GENERAL_ERROR;
    try {
        // The pool may run the operation twice (after repairing a stale session, login or
        // key handle): it starts from C_SignInit every time.
        rv = m_pool->run(m_key_id, [&](CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
            CK_MECHANISM mech = mechanism;  // PKCS#11 takes a non-const pointer
            CK_RV r = f->C_SignInit(s, &mech, key);
            if (r != CKR_OK) return r;
            out.resize(kSignatureBuffer);
            size = out.size();
            auto* data = const_cast<CK_BYTE_PTR>(input.data());
            r = f->C_Sign(s, data, input.size(), out.data(), &size);
            // A buffer too small keeps the operation active (PKCS#11 §5.2): the second call,
            // with the size the token named, finishes it, so the session is left clean.
            if (r == CKR_BUFFER_TOO_SMALL) {
                out.resize(size);
                r = f->C_Sign(s, data, input.size(), out.data(), &size);
            }
            return r;
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
    if (size > out.size()) throw Error(Failure::Internal, "token returned an oversized signature");
    out.resize(size);
    return out;
}

}  // namespace ssm::hsm
