// Move-only owners for the pkcs11-helper objects we hold: token id lists, token ids,
// certificate id lists, certificate ids and certificate objects. Each frees its handle with
// the matching pkcs11h_*_free* call in a noexcept destructor. No trust decisions here.
#pragma once
#include <utility>

#include <pkcs11-helper-1.0/pkcs11h-certificate.h>
#include <pkcs11-helper-1.0/pkcs11h-token.h>

namespace ssm::hsm {

// Generic owner: Free is a function object that releases a non-null handle.
template <typename Handle, typename Free>
class HelperHandle {
public:
    HelperHandle() = default;
    explicit HelperHandle(Handle h) noexcept : m_handle(h) {}
    HelperHandle(HelperHandle&& o) noexcept : m_handle(std::exchange(o.m_handle, nullptr)) {}
    HelperHandle& operator=(HelperHandle&& o) noexcept
    {
        if (this != &o) {
            reset();
            m_handle = std::exchange(o.m_handle, nullptr);
        }
        return *this;
    }
    HelperHandle(const HelperHandle&) = delete;
    HelperHandle& operator=(const HelperHandle&) = delete;
    ~HelperHandle() { reset(); }

    Handle get() const noexcept { return m_handle; }
    Handle* out() noexcept  // for C functions that return the handle through a pointer
    {
        reset();
        return &m_handle;
    }
    explicit operator bool() const noexcept { return m_handle != nullptr; }
    void reset() noexcept
    {
        if (m_handle) Free{}(m_handle);
        m_handle = nullptr;
    }

private:
    Handle m_handle = nullptr;
};

struct FreeTokenIdList {
    void operator()(pkcs11h_token_id_list_t h) const noexcept { pkcs11h_token_freeTokenIdList(h); }
};
struct FreeTokenId {
    void operator()(pkcs11h_token_id_t h) const noexcept { pkcs11h_token_freeTokenId(h); }
};
struct FreeCertificateIdList {
    void operator()(pkcs11h_certificate_id_list_t h) const noexcept
    {
        pkcs11h_certificate_freeCertificateIdList(h);
    }
};
struct FreeCertificateId {
    void operator()(pkcs11h_certificate_id_t h) const noexcept
    {
        pkcs11h_certificate_freeCertificateId(h);
    }
};
struct FreeCertificate {
    void operator()(pkcs11h_certificate_t h) const noexcept
    {
        pkcs11h_certificate_freeCertificate(h);
    }
};

using TokenIdList = HelperHandle<pkcs11h_token_id_list_t, FreeTokenIdList>;
using TokenId = HelperHandle<pkcs11h_token_id_t, FreeTokenId>;
using CertificateIdList = HelperHandle<pkcs11h_certificate_id_list_t, FreeCertificateIdList>;
using CertificateId = HelperHandle<pkcs11h_certificate_id_t, FreeCertificateId>;
using Certificate = HelperHandle<pkcs11h_certificate_t, FreeCertificate>;

// Holds the helper's per-token session mutex (pkcs11h_certificate_lockSession) for a scope.
// Every private-key operation through the helper must run under it (TOOLCHAIN).
class SessionLock {
public:
    explicit SessionLock(pkcs11h_certificate_t cert) noexcept
        : m_cert(cert), m_rv(pkcs11h_certificate_lockSession(cert))
    {
    }
    ~SessionLock()
    {
        if (m_rv == CKR_OK) pkcs11h_certificate_releaseSession(m_cert);
    }
    SessionLock(const SessionLock&) = delete;
    SessionLock& operator=(const SessionLock&) = delete;
    CK_RV status() const noexcept { return m_rv; }

private:
    pkcs11h_certificate_t m_cert;
    CK_RV m_rv;
};

}  // namespace ssm::hsm
