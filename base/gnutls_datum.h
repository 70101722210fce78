// Owner of a gnutls_datum_t whose data GnuTLS allocated (gnutls_*_export2, get_*_dn3, ...):
// one RAII type for every layer that calls such functions.
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
};

}  // namespace ssm
