// Owners of the GnuTLS handles that several layers make (a certificate to read, a public key
// to encrypt to or verify with, a key's parameters): one deleter each, and constructors that throw instead of
// handing out a null handle.
#pragma once
#include <memory>

#include <gnutls/abstract.h>
#include <gnutls/x509.h>

#include "base/error.h"
#include "base/gnutls_datum.h"

namespace ssm {

struct GnutlsCrtDeleter {
    void operator()(gnutls_x509_crt_int* c) const noexcept { gnutls_x509_crt_deinit(c); }
};
struct GnutlsPubkeyDeleter {
    void operator()(gnutls_pubkey_st* k) const noexcept { gnutls_pubkey_deinit(k); }
};
struct GnutlsPrivkeyDeleter {
    void operator()(gnutls_privkey_st* k) const noexcept { gnutls_privkey_deinit(k); }
};
struct GnutlsSpkiDeleter {
    void operator()(gnutls_x509_spki_st* s) const noexcept { gnutls_x509_spki_deinit(s); }
};
using GnutlsCrt = std::unique_ptr<gnutls_x509_crt_int, GnutlsCrtDeleter>;
using GnutlsPubkey = std::unique_ptr<gnutls_pubkey_st, GnutlsPubkeyDeleter>;
using GnutlsPrivkey = std::unique_ptr<gnutls_privkey_st, GnutlsPrivkeyDeleter>;
using GnutlsSpki = std::unique_ptr<gnutls_x509_spki_st, GnutlsSpkiDeleter>;

// A GnuTLS handle made by its own init function, for code where a failed allocation is an
// answer ("unknown", "not checked") rather than an exception: test ok() before get(). One
// template for the OCSP request and response and the CRL handles the revocation code makes.
template <typename Handle, int (*Init)(Handle*), void (*Deinit)(Handle)>
class GnutlsOwned {
public:
    GnutlsOwned() { m_ok = Init(&m_handle) >= 0; }
    ~GnutlsOwned()
    {
        if (m_handle) Deinit(m_handle);
    }
    GnutlsOwned(const GnutlsOwned&) = delete;
    GnutlsOwned& operator=(const GnutlsOwned&) = delete;
    bool ok() const { return m_ok; }
    Handle get() const { return m_handle; }

private:
    Handle m_handle = nullptr;
    bool m_ok = false;
};

// An empty certificate handle; Failure::Temporary when GnuTLS cannot allocate one.
inline GnutlsCrt new_gnutls_crt()
{
    gnutls_x509_crt_t raw = nullptr;
    if (gnutls_x509_crt_init(&raw) < 0) throw Error(Failure::Temporary, "gnutls_x509_crt_init: out of memory");
    return GnutlsCrt(raw);
}

// One DER certificate read by GnuTLS; null when it cannot be allocated or read (the callers'
// answer to untrusted or token-provided bytes is "no certificate", not an exception).
inline GnutlsCrt import_gnutls_crt(ByteView der) noexcept
{
    gnutls_x509_crt_t raw = nullptr;
    if (gnutls_x509_crt_init(&raw) < 0) return nullptr;
    GnutlsCrt owned(raw);
    const gnutls_datum_t d = datum_view(der);
    if (gnutls_x509_crt_import(raw, &d, GNUTLS_X509_FMT_DER) < 0) return nullptr;
    return owned;
}

// An empty public key handle; Failure::Temporary when GnuTLS cannot allocate one.
inline GnutlsPubkey new_gnutls_pubkey()
{
    gnutls_pubkey_t raw = nullptr;
    if (gnutls_pubkey_init(&raw) < 0) throw Error(Failure::Temporary, "gnutls_pubkey_init: out of memory");
    return GnutlsPubkey(raw);
}

// An empty SubjectPublicKeyInfo parameter handle (to read a key's RSASSA-PSS restrictions);
// Failure::Temporary when GnuTLS cannot allocate one.
inline GnutlsSpki new_gnutls_spki()
{
    gnutls_x509_spki_t raw = nullptr;
    if (gnutls_x509_spki_init(&raw) < 0) throw Error(Failure::Temporary, "gnutls_x509_spki_init: out of memory");
    return GnutlsSpki(raw);
}

}  // namespace ssm
