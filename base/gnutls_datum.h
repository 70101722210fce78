// Owner of a gnutls_datum_t whose data GnuTLS allocated (gnutls_*_export2, get_*_dn3, ...):
// one RAII type for every layer that calls such functions; and the one read-only view of our
// bytes as a gnutls_datum_t.
#pragma once
#include <gnutls/gnutls.h>

#include "base/bytes.h"

namespace ssm {

struct GnutlsDatum {
    gnutls_datum_t d{nullptr, 0};
    GnutlsDatum() = default;
    GnutlsDatum(const GnutlsDatum&) = delete;
    GnutlsDatum& operator=(const GnutlsDatum&) = delete;
    ~GnutlsDatum() { gnutls_free(d.data); }
    Bytes bytes() const { return d.data ? Bytes(d.data, d.data + d.size) : Bytes{}; }
    ByteView view() const { return d.data ? ByteView(d.data, d.size) : ByteView{}; }  // lives as long as this
};

// `b` as a gnutls_datum_t for GnuTLS functions that only read their input but take a non-const
// pointer (imports, verifies, encoders). The view lives no longer than `b`; GnuTLS must not
// write through it or free it.
inline gnutls_datum_t datum_view(ByteView b)
{
    return {const_cast<unsigned char*>(b.data()), static_cast<unsigned>(b.size())};
}

}  // namespace ssm
