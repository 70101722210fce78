// Signing-rate measurement (see sign_rate.h).
#include "hsm/sign_rate.h"

#include <gnutls/x509.h>

#include "base/bytes.h"
#include "base/error.h"
#include "hsm/cert_facts.h"

namespace ssm::hsm {

double measure_sign_rate(smime::Signer& signer, smime::DigestAlgorithm digest,
                         smime::SignatureScheme scheme, std::chrono::milliseconds duration)
{
    using Clock = std::chrono::steady_clock;
    const Bytes hash(smime::digest_size(digest), 0x5a);
    const auto start = Clock::now();
    const auto end = start + duration;
    std::size_t count = 0;
    do {
        if (scheme == smime::SignatureScheme::Ed25519)
            signer.sign_message(scheme, hash);
        else
            signer.sign_digest(scheme, digest, hash);
        ++count;
    } while (Clock::now() < end);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    return static_cast<double>(count) / elapsed.count();
}

namespace {

// The certificate's public key as the operation's input: for RSA a modulus-sized block
// 00 5a 5a ... (below any modulus), for EC the uncompressed point 04||X||Y.
Bytes dummy_input(const smime::Decrypter& d)
{
    auto cert = X509Cert::parse_der(d.certificate_der());
    if (!cert) throw Error(Failure::Internal, "unparsable decrypter certificate");
    gnutls_datum_t a{nullptr, 0}, b{nullptr, 0};
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
    const bool rsa = d.key_type() == smime::KeyType::Rsa;
    const int rc = rsa ? gnutls_x509_crt_get_pk_rsa_raw(cert->get(), &a, &b)
                       : gnutls_x509_crt_get_pk_ecc_raw(cert->get(), &curve, &a, &b);
    Bytes out;
    if (rc >= 0) {
        auto trim = [](const gnutls_datum_t& x) {
            unsigned skip = 0;
            while (skip < x.size && x.data[skip] == 0) ++skip;
            return Bytes(x.data + skip, x.data + x.size);
        };
        const Bytes first = trim(a);
        if (rsa) {
            out.assign(first.size(), 0x5a);
            if (!out.empty()) out[0] = 0;
        } else {
            const std::size_t field = curve == GNUTLS_ECC_CURVE_SECP384R1 ? 48 : 32;
            const Bytes second = trim(b);
            out.assign(1 + 2 * field, 0);
            out[0] = 0x04;
            std::copy(first.begin(), first.end(), out.begin() + 1 + field - first.size());
            std::copy(second.begin(), second.end(), out.end() - second.size());
        }
    }
    gnutls_free(a.data);
    gnutls_free(b.data);
    if (rc < 0) throw Error(Failure::Internal, "no public key in the decrypter certificate");
    return out;
}

}  // namespace

double measure_decrypt_rate(smime::Decrypter& decrypter, std::chrono::milliseconds duration)
{
    using Clock = std::chrono::steady_clock;
    const Bytes input = dummy_input(decrypter);
    const bool rsa = decrypter.key_type() == smime::KeyType::Rsa;
    const auto start = Clock::now();
    const auto end = start + duration;
    std::size_t count = 0;
    do {
        if (rsa)
            decrypter.rsa_raw_decrypt(input);
        else
            decrypter.ecdh_derive(input);
        ++count;
    } while (Clock::now() < end);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    return static_cast<double>(count) / elapsed.count();
}

}  // namespace ssm::hsm
