// RSA raw decryption and ECDH inside the token (see token_decrypter.h). Ciphertext blocks
// and peer points are attacker-controlled: lengths, ranges and curve membership are checked
// (nettle ecc_point_set) before anything reaches the token.
#include "hsm/token_decrypter.h"

#include <gnutls/x509.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/log.h"
#include "base/metrics.h"
#include "base/nettle_ecc.h"
#include "base/secure_buffer.h"
#include "hsm/cert_facts.h"
#include "hsm/pkcs11_library.h"
#include "hsm/token_ecdh.h"

namespace ssm::hsm {

using smime::KeyType;

namespace {

// Every decryption (RSA or ECDH) reaches the token here, once: counted for
// ssm_hsm_operations_total by the token's answer (no session at all is an error too).
CK_RV run_counted(SessionPool& pool, const KeyMatch& key, const SessionPool::Operation& op)
{
    CK_RV rv = CKR_GENERAL_ERROR;
    try {
        rv = pool.run(key, op);
    } catch (...) {
        metrics::count_hsm_operation(metrics::HsmOperation::Decrypt, false);
        throw;
    }
    metrics::count_hsm_operation(metrics::HsmOperation::Decrypt, rv == CKR_OK);
    return rv;
}

// Owns GnuTLS-allocated datum memory.
struct Datum {
    gnutls_datum_t d{nullptr, 0};
    Datum() = default;
    Datum(const Datum&) = delete;
    Datum& operator=(const Datum&) = delete;
    ~Datum() { gnutls_free(d.data); }
    // Big-endian integer without leading zero bytes.
    Bytes integer() const
    {
        std::size_t skip = 0;
        while (skip < d.size && d.data[skip] == 0) ++skip;
        return Bytes(d.data + skip, d.data + d.size);
    }
};

}  // namespace

TokenDecrypter::TokenDecrypter(std::shared_ptr<SessionPool> pool, Bytes certificate_der,
                               Bytes key_id, const std::string& description)
    : m_pool(std::move(pool)), m_certificate(std::move(certificate_der)),
      m_key(key_match_for(m_certificate, key_id)), m_description(description)
{
    auto cert = X509Cert::parse_der(m_certificate);
    if (!cert) throw Error(Failure::HsmUnavailable, "unparsable certificate of " + m_description);
    switch (gnutls_x509_crt_get_pk_algorithm(cert->get(), nullptr)) {
    case GNUTLS_PK_RSA: {
        Datum n, e;
        if (gnutls_x509_crt_get_pk_rsa_raw(cert->get(), &n.d, &e.d) < 0)
            throw Error(Failure::HsmUnavailable, "no RSA modulus in the certificate of " +
                                                     m_description);
        m_modulus = n.integer();
        m_size = m_modulus.size();
        m_key_type = KeyType::Rsa;
        break;
    }
    case GNUTLS_PK_ECDSA: {
        gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
        Datum x, y;
        if (gnutls_x509_crt_get_pk_ecc_raw(cert->get(), &curve, &x.d, &y.d) < 0)
            throw Error(Failure::HsmUnavailable, "no EC point in the certificate of " +
                                                     m_description);
        if (curve == GNUTLS_ECC_CURVE_SECP256R1) {
            m_curve = nettle_get_secp_256r1();
            m_size = 32;
        } else if (curve == GNUTLS_ECC_CURVE_SECP384R1) {
            m_curve = nettle_get_secp_384r1();
            m_size = 48;
        } else if (curve == GNUTLS_ECC_CURVE_SECP521R1) {
            m_curve = nettle_get_secp_521r1();
            m_size = 66;  // 521 bits in whole octets: the width of coordinates and of Z (SEC 1 §2.3.5)
        } else {
            throw Error(Failure::HsmUnavailable,
                        "unsupported curve for key agreement: " + m_description);
        }
        m_key_type = KeyType::Ec;
        break;
    }
    default:
        // X25519 included: SoftHSM 2.6.1 has no CKK_EC_MONTGOMERY (see key_store.h).
        throw Error(Failure::HsmUnavailable,
                    "key type cannot decrypt or agree keys: " + m_description);
    }
}

void TokenDecrypter::token_failed(const char* what, CK_RV rv) const
{
    log::warning("hsm_operation_failed",
                 {{"key", m_description}, {"operation", what}, {"result", rv_name(rv)}});
    throw Error(Failure::HsmUnavailable,
                std::string("PKCS#11 ") + what + " with " + m_description +
                    " failed: " + rv_name(rv));
}

Bytes TokenDecrypter::rsa_raw_decrypt(ByteView block)
{
    if (m_key_type != KeyType::Rsa)
        throw Error(Failure::Internal, "RSA decryption asked of an EC key: " + m_description);
    if (block.size() != m_size)
        throw Error(Failure::MalformedMessage,
                    "RSA block of " + std::to_string(block.size()) + " bytes for a " +
                        std::to_string(m_size) + "-byte modulus");
    // The ciphertext is public: an ordinary comparison is fine. Equal sizes, big-endian.
    if (!std::lexicographical_compare(block.begin(), block.end(), m_modulus.begin(),
                                      m_modulus.end()))
        throw Error(Failure::MalformedMessage, "RSA block not below the modulus");

    Bytes out(m_size);
    CK_ULONG out_size = 0;
    const CK_RV rv = run_counted(
        *m_pool, m_key, [&](CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
            CK_MECHANISM mech{CKM_RSA_X_509, nullptr, 0};
            CK_RV r = f->C_DecryptInit(s, &mech, key);
            if (r != CKR_OK) return r;
            // A modulus-sized buffer is always large enough: no size query, so no operation
            // is ever left active on the session.
            out_size = out.size();
            return f->C_Decrypt(s, const_cast<std::uint8_t*>(block.data()), block.size(),
                                out.data(), &out_size);
        });
    if (rv != CKR_OK) {
        secure_wipe(out.data(), out.size());
        token_failed("RSA decryption", rv);
    }
    align_rsa_block(out, out_size);
    return out;
}

void align_rsa_block(Bytes& block, CK_ULONG returned)
{
    if (returned > block.size()) {
        // The block holds what the token wrote, a padded session key perhaps: not left in
        // freed memory on the way out.
        secure_wipe(block.data(), block.size());
        throw Error(Failure::HsmUnavailable, "token returned a " + std::to_string(returned) +
                                                 "-byte block for a " + std::to_string(block.size()) +
                                                 "-byte modulus");
    }
    // Some tokens strip leading zeros: right-align into a modulus-sized block.
    if (returned < block.size()) {
        const std::size_t gap = block.size() - returned;
        std::memmove(block.data() + gap, block.data(), returned);
        std::memset(block.data(), 0, gap);
    }
}

Bytes TokenDecrypter::ecdh_derive(ByteView peer)
{
    if (m_key_type != KeyType::Ec)
        throw Error(Failure::Internal, "ECDH asked of an RSA key: " + m_description);
    if (peer.size() != 1 + 2 * m_size || peer[0] != 0x04)
        throw Error(Failure::MalformedMessage,
                    "ECDH peer key is not an uncompressed point of this curve (" +
                        std::to_string(peer.size()) + " bytes)");
    EccPoint point(m_curve);
    if (!set_ec_point(point, peer.subspan(1, m_size), peer.subspan(1 + m_size, m_size)))
        throw Error(Failure::MalformedMessage, "ECDH peer key is not a point on the curve");

    Bytes z(m_size);
    CK_ULONG z_size = 0;
    const CK_RV rv = run_counted(*m_pool, m_key, [&](CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key) {
        return token_ecdh(f, s, key, peer, z, z_size);
    });
    if (rv != CKR_OK) {
        secure_wipe(z.data(), z.size());
        token_failed("ECDH derivation", rv);
    }
    if (z_size != m_size) {
        secure_wipe(z.data(), z.size());
        throw Error(Failure::HsmUnavailable, "token returned a " + std::to_string(z_size) +
                                                 "-byte ECDH secret with " + m_description);
    }
    return z;
}

}  // namespace ssm::hsm
