// RSA v1.5 (GnuTLS) and RSAES-OAEP-SHA256 (nettle MGF1 + GMP) encryption; see
// key_transport.h. Only public-key operations happen here, so nothing needs constant time
// except that the OAEP seed and message are secret and wiped.
#include "smime/cms/key_transport.h"

#include <gnutls/abstract.h>
#include <nettle/bignum.h>
#include <nettle/pss-mgf1.h>
#include <nettle/sha2.h>

#include <algorithm>
#include <memory>
#include <string>

#include "base/error.h"
#include "base/gnutls_handles.h"

namespace ssm::smime::cms {
namespace {

void require_rsa(const RecipientKey& key)
{
    if (key.type != RecipientKeyType::Rsa || key.rsa_modulus.empty() || key.rsa_exponent.empty())
        throw Error(Failure::Internal, "RSA key transport needs an RSA key");
}

}  // namespace

Bytes rsa_pkcs1v15_encrypt(const RecipientKey& key, const SecretBytes& message)
{
    require_rsa(key);
    const GnutlsPubkey pub = new_gnutls_pubkey();
    gnutls_datum_t m{const_cast<std::uint8_t*>(key.rsa_modulus.data()), unsigned(key.rsa_modulus.size())};
    gnutls_datum_t e{const_cast<std::uint8_t*>(key.rsa_exponent.data()), unsigned(key.rsa_exponent.size())};
    int rc = gnutls_pubkey_import_rsa_raw(pub.get(), &m, &e);
    if (rc < 0) throw Error(Failure::PolicyViolation, std::string("RSA key: ") + gnutls_strerror(rc));
    gnutls_datum_t plain{const_cast<std::uint8_t*>(message.data()), unsigned(message.size())};
    gnutls_datum_t out{nullptr, 0};
    rc = gnutls_pubkey_encrypt_data(pub.get(), 0, &plain, &out);
    if (rc < 0)
        throw Error(Failure::PolicyViolation, std::string("RSA PKCS#1 v1.5 encryption: ") + gnutls_strerror(rc));
    Bytes c(out.data, out.data + out.size);
    gnutls_free(out.data);
    return c;
}

Bytes rsa_oaep_sha256_encrypt(const RecipientKey& key, const SecretBytes& message)
{
    require_rsa(key);
    constexpr std::size_t h_len = SHA256_DIGEST_SIZE;
    SecretMpz n, e, m, c;
    nettle_mpz_set_str_256_u(n.get(), key.rsa_modulus.size(), key.rsa_modulus.data());
    nettle_mpz_set_str_256_u(e.get(), key.rsa_exponent.size(), key.rsa_exponent.data());
    const std::size_t k = nettle_mpz_sizeinbase_256_u(n.get());
    // RFC 8017 §7.1.1 step 1b: mLen <= k - 2hLen - 2.
    if (k < 2 * h_len + 2 || message.size() > k - 2 * h_len - 2 || mpz_sgn(e.get()) <= 0)
        throw Error(Failure::PolicyViolation, "RSA modulus too small for OAEP-SHA256");

    // EM = 0x00 || maskedSeed || maskedDB, DB = lHash || PS || 0x01 || M.
    SecretBytes em(k);
    std::uint8_t* seed = em.data() + 1;
    std::uint8_t* db = em.data() + 1 + h_len;
    const std::size_t db_len = k - h_len - 1;
    em.data()[0] = 0;
    struct sha256_ctx h;
    sha256_init(&h);
    sha256_digest(&h, h_len, db);  // lHash = SHA-256 of the empty label
    std::fill(db + h_len, db + db_len, std::uint8_t(0));
    db[db_len - message.size() - 1] = 0x01;
    std::copy(message.data(), message.data() + message.size(), db + db_len - message.size());
    random_key_bytes(seed, h_len);

    SecretBytes mask(db_len);
    sha256_init(&h);
    sha256_update(&h, h_len, seed);
    pss_mgf1(&h, &nettle_sha256, db_len, mask.data());  // dbMask = MGF1(seed)
    for (std::size_t i = 0; i < db_len; ++i) db[i] ^= mask.data()[i];
    sha256_init(&h);
    sha256_update(&h, db_len, db);
    pss_mgf1(&h, &nettle_sha256, h_len, mask.data());  // seedMask = MGF1(maskedDB)
    for (std::size_t i = 0; i < h_len; ++i) seed[i] ^= mask.data()[i];
    secure_wipe(&h, sizeof h);

    // RSAEP: c = m^e mod n, as k octets.
    nettle_mpz_set_str_256_u(m.get(), em.size(), em.data());
    if (mpz_cmp(m.get(), n.get()) >= 0) throw Error(Failure::Internal, "OAEP message representative out of range");
    mpz_powm(c.get(), m.get(), e.get(), n.get());
    Bytes out(k);
    nettle_mpz_get_str_256(k, out.data(), c.get());
    return out;
}

}  // namespace ssm::smime::cms
