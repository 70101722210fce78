// Content-key recovery for KTRI (RSA v1.5, OAEP) and KARI (ECDH + X9.63 KDF + AES or, for
// 3DES content, Triple-DES key unwrap); see decrypt_key.h. The encrypted keys, parameters and
// originator points are attacker-controlled. Where the RSA private operation's output is
// examined, no branch or memory access depends on it: positions follow from the public modulus
// and CEK sizes.
#include "smime/cms/decrypt_key.h"

#include <gnutls/x509.h>
#include <nettle/cbc.h>
#include <nettle/des.h>
#include <nettle/memops.h>
#include <nettle/pss-mgf1.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include <algorithm>
#include <memory>

#include "base/error.h"
#include "base/gnutls_handles.h"
#include "base/secure_buffer.h"
#include "smime/cms/asn1.h"
#include "smime/cms/constant_time.h"
#include "smime/cms/key_agreement.h"
#include "smime/cms/oids.h"
#include "smime/cms/recipient_key.h"

namespace ssm::smime::cms {
namespace {

constexpr const char* kSha224 = "2.16.840.1.101.3.4.2.4";
constexpr const char* kAes192Wrap = "2.16.840.1.101.3.4.1.25";
// id-alg-CMS3DESwrap and its fixed outer IV (RFC 3217 §3.1).
constexpr const char* kDes3Wrap = "1.2.840.113549.1.9.16.3.6";
constexpr std::uint8_t kDes3WrapIv[8] = {0x4a, 0xdd, 0xa2, 0x2c, 0x79, 0xe8, 0x21, 0x05};
// DER of the named-curve OIDs an originatorKey may carry as parameters (fixed constants).
constexpr std::uint8_t kP256Der[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::uint8_t kP384Der[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
constexpr std::uint8_t kP521Der[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};

// dhSinglePass schemes (SEC 1 / RFC 5753 §7.1.4): standard and cofactor DH are the same on
// P-256, P-384 and P-521 (cofactor 1), so both map to the KDF hash.
struct Scheme {
    const char* oid;
    const nettle_hash* hash;
};
const Scheme kSchemes[] = {
    {"1.3.133.16.840.63.0.2", &nettle_sha1},  {"1.3.133.16.840.63.0.3", &nettle_sha1},
    {"1.3.132.1.11.0", &nettle_sha224},       {"1.3.132.1.14.0", &nettle_sha224},
    {"1.3.132.1.11.1", &nettle_sha256},       {"1.3.132.1.14.1", &nettle_sha256},
    {"1.3.132.1.11.2", &nettle_sha384},       {"1.3.132.1.14.2", &nettle_sha384},
    {"1.3.132.1.11.3", &nettle_sha512},       {"1.3.132.1.14.3", &nettle_sha512},
};

const nettle_hash* hash_of(const std::string& oid)
{
    if (oid == cms::oid::kSha1) return &nettle_sha1;
    if (oid == kSha224) return &nettle_sha224;
    if (oid == oid::kSha256) return &nettle_sha256;
    if (oid == oid::kSha384) return &nettle_sha384;
    if (oid == oid::kSha512) return &nettle_sha512;
    return nullptr;
}

// A nettle hash context of any of the hashes above, wiped when it goes away.
class HashCtx {
public:
    explicit HashCtx(const nettle_hash& h) : m_h(h)
    {
        if (h.context_size > sizeof m_u) throw Error(Failure::Internal, "hash context too large");
        h.init(&m_u);
    }
    ~HashCtx() { secure_wipe(&m_u, sizeof m_u); }
    HashCtx(const HashCtx&) = delete;
    HashCtx& operator=(const HashCtx&) = delete;
    void update(const std::uint8_t* p, std::size_t n) { m_h.update(&m_u, n, p); }
    void digest(std::uint8_t* out) { m_h.digest(&m_u, m_h.digest_size, out); }
    const void* ctx() const { return &m_u; }

private:
    const nettle_hash& m_h;
    union {
        sha1_ctx a;
        sha256_ctx b;
        sha512_ctx c;
    } m_u{};
};

// MGF1(seed) of `n` octets into out (RFC 8017 B.2.1), on nettle's pss_mgf1.
void mgf1(const nettle_hash& h, const std::uint8_t* seed, std::size_t seed_len, std::size_t n, std::uint8_t* out)
{
    HashCtx c(h);
    c.update(seed, seed_len);
    pss_mgf1(c.ctx(), &h, n, out);
}

// cek = valid ? msg : cek, octet by octet, without a branch on `valid`.
void ct_select(std::uint8_t valid, const std::uint8_t* msg, SecretBytes& cek)
{
    for (std::size_t i = 0; i < cek.size(); ++i)
        cek.data()[i] = std::uint8_t((msg[i] & valid) | (cek.data()[i] & ~valid));
}

// Octets of the RSA modulus of our certificate (0 if it cannot be read): RFC 8017 §7.2.2
// wants a k-octet ciphertext, but some encoders drop leading zero octets.
std::size_t modulus_size(ByteView cert)
{
    const GnutlsCrt crt = import_gnutls_crt(cert);
    unsigned bits = 0;
    if (!crt || gnutls_x509_crt_get_pk_algorithm(crt.get(), &bits) != GNUTLS_PK_RSA) return 0;
    return (bits + 7) / 8;
}

RecoveredKey random_key(std::size_t size, std::string km)
{
    RecoveredKey r{SecretBytes(size), false, std::move(km), {}};
    random_key_bytes(r.cek.data(), r.cek.size());
    return r;
}

RecoveredKey invalid(RecoveredKey r, std::string problem)
{
    r.valid = false;
    r.problem = std::move(problem);
    return r;
}

// OAEP hash, MGF1 hash and label from RSAES-OAEP-params (absent fields: SHA-1 and the empty
// label, RFC 4055 §4.1). False when unsupported.
bool oaep_params(const AlgorithmId& kea, const nettle_hash*& hash, const nettle_hash*& mgf, Bytes& label)
{
    hash = mgf = &nettle_sha1;
    label.clear();
    if (!kea.parameters || *kea.parameters == der_null()) return true;
    const auto p = Asn1Node::decode("RSAES-OAEP-params", *kea.parameters);
    if (p.read_optional("hashFunc.algorithm")) hash = hash_of(p.read_oid("hashFunc.algorithm"));
    if (p.read_optional("maskGenFunc.algorithm")) {
        if (p.read_oid("maskGenFunc.algorithm") != oid::kMgf1) return false;
        const auto m = Asn1Node::decode("AlgorithmIdentifier", p.read_bytes("maskGenFunc.parameters"));
        mgf = hash_of(m.read_oid("algorithm"));
    }
    if (p.read_optional("pSourceFunc.algorithm")) {
        if (p.read_oid("pSourceFunc.algorithm") != oid::kPSpecified) return false;
        // RFC 8017 §A.2.1: the label, an OCTET STRING (empty by default; OpenSSL's
        // -keyopt rsa_oaep_label sets one).
        if (const auto encoded = p.read_optional("pSourceFunc.parameters"))
            label = Asn1Node::decode("AES-IV", *encoded).read_bytes("");
    }
    return hash && mgf;
}

}  // namespace

std::uint8_t pkcs1v15_decode(ByteView em, SecretBytes& cek)
{
    // EM = 0x00 || 0x02 || PS (>= 8 non-zero octets) || 0x00 || M, with |M| = cek.size():
    // every position is fixed by the public sizes.
    const std::size_t k = em.size(), l = cek.size();
    if (k < l + 11) return 0;
    std::uint8_t good = std::uint8_t(ct_eq(em[0], 0) & ct_eq(em[1], 2));
    for (std::size_t i = 2; i < k - l - 1; ++i) good &= std::uint8_t(~ct_eq(em[i], 0));
    good &= ct_eq(em[k - l - 1], 0);
    ct_select(good, em.data() + (k - l), cek);
    return good;
}

std::uint8_t oaep_decode(ByteView em, const nettle_hash& hash, const nettle_hash& mgf_hash, SecretBytes& cek,
                         ByteView label)
{
    // EM = 0x00 || maskedSeed || maskedDB, DB = lHash || PS (zeros) || 0x01 || M (RFC 8017
    // §7.1.2 step 3), again with |M| = cek.size() fixing every position.
    const std::size_t k = em.size(), h = hash.digest_size, l = cek.size();
    if (k < 2 * h + 2 + l) return 0;
    const std::size_t db_len = k - h - 1;
    SecretBytes seed(h), db(db_len);
    mgf1(mgf_hash, em.data() + 1 + h, db_len, h, seed.data());  // seedMask
    for (std::size_t i = 0; i < h; ++i) seed.data()[i] ^= em[1 + i];
    mgf1(mgf_hash, seed.data(), h, db_len, db.data());  // dbMask
    for (std::size_t i = 0; i < db_len; ++i) db.data()[i] ^= em[1 + h + i];
    Bytes l_hash(h);
    {
        HashCtx c(hash);
        c.update(label.data(), label.size());
        c.digest(l_hash.data());
    }
    std::uint8_t good = ct_eq(em[0], 0);
    for (std::size_t i = 0; i < h; ++i) good &= ct_eq(db.data()[i], l_hash[i]);
    for (std::size_t i = h; i < db_len - l - 1; ++i) good &= ct_eq(db.data()[i], 0);
    good &= ct_eq(db.data()[db_len - l - 1], 1);
    ct_select(good, db.data() + (db_len - l), cek);
    return good;
}

RecoveredKey recover_ktri_key(Decrypter& key, const AlgorithmId& kea, ByteView encrypted_key, std::size_t cek_size)
{
    const bool oaep = kea.oid == oid::kRsaesOaep;
    RecoveredKey r = random_key(cek_size, key_management_name(RecipientKeyType::Rsa, oaep));
    if (!oaep && kea.oid != oid::kRsaEncryption) return invalid(std::move(r), "unsupported key transport " + kea.oid);
    if (key.key_type() != KeyType::Rsa) return invalid(std::move(r), "key transport to a non-RSA key");
    const nettle_hash* hash = nullptr;
    const nettle_hash* mgf = nullptr;
    Bytes label;
    if (oaep && !oaep_params(kea, hash, mgf, label)) return invalid(std::move(r), "unsupported RSAES-OAEP parameters");
    Bytes block(encrypted_key.begin(), encrypted_key.end());
    if (const std::size_t k = modulus_size(key.certificate_der()); block.size() < k)
        block.insert(block.begin(), k - block.size(), 0);
    Bytes em;
    try {
        em = key.rsa_raw_decrypt(block);
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
        return invalid(std::move(r), std::string("encrypted key refused: ") + e.what());
    }
    const std::uint8_t good = oaep ? oaep_decode(em, *hash, *mgf, r.cek, label) : pkcs1v15_decode(em, r.cek);
    secure_wipe(em.data(), em.size());
    r.valid = good == 0xff;  // read only after the content, by the caller
    if (!r.valid) r.problem = oaep ? "OAEP decoding error" : "PKCS#1 v1.5 block invalid or of another length";
    return r;
}

namespace {

// ANSI X9.63 KDF: Hash(Z || counter || SharedInfo) for counter = 1, 2, ...
SecretBytes x963(const nettle_hash& h, ByteView z, ByteView info, std::size_t length)
{
    SecretBytes out(length);
    Bytes block(h.digest_size);
    for (std::uint32_t counter = 1, done = 0; done < length; ++counter) {
        HashCtx c(h);
        c.update(z.data(), z.size());
        const std::uint8_t ctr[4] = {std::uint8_t(counter >> 24), std::uint8_t(counter >> 16),
                                     std::uint8_t(counter >> 8), std::uint8_t(counter)};
        c.update(ctr, 4);
        c.update(info.data(), info.size());
        c.digest(block.data());
        const std::size_t take = std::min<std::size_t>(block.size(), length - done);
        std::copy(block.begin(), block.begin() + std::ptrdiff_t(take), out.data() + done);
        done += std::uint32_t(take);
    }
    secure_wipe(block.data(), block.size());
    return out;
}

// RFC 3217 §3.2, the Triple-DES key unwrap under a 3DES KEK. RFC 3217 wraps a 3DES content
// key (24 octets, into 40); OpenSSL uses the same steps for any key of a multiple of 8 octets
// (an AES-256 key under `-des3-wrap` wraps into 48) and reads them back, so the length comes
// from the content cipher: `out` holds wrapped.size() - 16 octets. OpenSSL uses this wrap for
// 3DES content with ECDH (RFC 5753 lists it beside the AES key wraps).
// False when the SHA-1 checksum does not match (compared in constant time). The key's DES
// parity bits, which the wrap sets, are not checked: 3DES ignores them, OpenSSL does not check
// them either, and the checksum already covers every bit of the key.
bool des3_unwrap(const SecretBytes& kek, ByteView wrapped, SecretBytes& out)
{
    const std::size_t n = out.size();
    if (kek.size() != DES3_KEY_SIZE || n < DES3_BLOCK_SIZE || n % DES3_BLOCK_SIZE != 0 || wrapped.size() != n + 16)
        return false;
    SecretBytes key(DES3_KEY_SIZE);
    des_fix_parity(DES3_KEY_SIZE, key.data(), kek.data());  // X9.63 output has no DES parity
    des3_ctx d;
    des3_set_key(&d, key.data());  // 0 only for a weak key: this one comes from a hash
    // 1. Outer CBC under the fixed IV; 2. reversed, that is IV || TEMP1; 3. TEMP1 under IV.
    SecretBytes temp(wrapped.size());
    std::uint8_t iv[DES3_BLOCK_SIZE];
    std::copy(std::begin(kDes3WrapIv), std::end(kDes3WrapIv), iv);
    cbc_decrypt(&d, reinterpret_cast<nettle_cipher_func*>(des3_decrypt), DES3_BLOCK_SIZE, iv, temp.size(),
                temp.data(), wrapped.data());
    std::reverse(temp.data(), temp.data() + temp.size());
    SecretBytes cek_icv(n + 8);
    cbc_decrypt(&d, reinterpret_cast<nettle_cipher_func*>(des3_decrypt), DES3_BLOCK_SIZE, temp.data(),
                cek_icv.size(), cek_icv.data(), temp.data() + DES3_BLOCK_SIZE);
    secure_wipe(&d, sizeof d);
    // 4. The ICV is the first 8 octets of SHA-1 over the key.
    sha1_ctx h;
    sha1_init(&h);
    sha1_update(&h, n, cek_icv.data());
    std::uint8_t digest[SHA1_DIGEST_SIZE];
    sha1_digest(&h, sizeof digest, digest);
    secure_wipe(&h, sizeof h);
    const bool ok = memeql_sec(digest, cek_icv.data() + n, 8) == 1;
    secure_wipe(digest, sizeof digest);
    std::copy(cek_icv.data(), cek_icv.data() + n, out.data());
    return ok;
}

// The key management name of ECDH on the curve whose field elements have this many octets.
const char* kari_name(std::size_t field_size)
{
    return key_management_name(field_size == 66   ? RecipientKeyType::EcP521
                               : field_size == 48 ? RecipientKeyType::EcP384
                                                  : RecipientKeyType::EcP256);
}

}  // namespace

RecoveredKey recover_kari_key(Decrypter& key, const RecipientInfoView& kari, ByteView encrypted_key,
                              std::size_t cek_size)
{
    const ByteView point = kari.originator_public_key;
    RecoveredKey r = random_key(cek_size, kari_name(point.size() / 2));
    if (key.key_type() != KeyType::Ec) return invalid(std::move(r), "key agreement with a non-EC key");
    if (kari.originator_kind != "originatorKey" || !kari.originator_algorithm ||
        kari.originator_algorithm->oid != oid::kEcPublicKey)
        return invalid(std::move(r), "key agreement without an ephemeral EC originator key");
    if (const auto& p = kari.originator_algorithm->parameters; p && *p != der_null()) {
        const bool p256 = std::equal(p->begin(), p->end(), std::begin(kP256Der), std::end(kP256Der));
        const bool p384 = std::equal(p->begin(), p->end(), std::begin(kP384Der), std::end(kP384Der));
        const bool p521 = std::equal(p->begin(), p->end(), std::begin(kP521Der), std::end(kP521Der));
        if (!(p256 && point.size() == 65) && !(p384 && point.size() == 97) && !(p521 && point.size() == 133))
            return invalid(std::move(r), "originator key on another curve");
    }
    const nettle_hash* kdf = nullptr;
    for (const auto& s : kSchemes)
        if (kari.key_encryption_algorithm.oid == s.oid) kdf = s.hash;
    if (!kdf) return invalid(std::move(r), "unsupported key agreement " + kari.key_encryption_algorithm.oid);
    if (!kari.key_encryption_algorithm.parameters) return invalid(std::move(r), "key agreement without a wrap");
    const auto wrap_node = Asn1Node::decode("AlgorithmIdentifier", *kari.key_encryption_algorithm.parameters);
    const AlgorithmId wrap = read_algorithm_id(wrap_node, "");
    std::size_t kek_size = 0;
    if (wrap.oid == oid::kAes128Wrap) kek_size = 16;
    if (wrap.oid == kAes192Wrap) kek_size = 24;
    if (wrap.oid == oid::kAes256Wrap) kek_size = 32;
    const bool des3_wrap = wrap.oid == kDes3Wrap;  // a key of n octets into n + 16
    if (des3_wrap) kek_size = DES3_KEY_SIZE;
    if (kek_size == 0) return invalid(std::move(r), "unsupported key wrap " + wrap.oid);
    if (des3_wrap && cek_size % DES3_BLOCK_SIZE != 0)
        return invalid(std::move(r), "3DES key wrap for a key of " + std::to_string(cek_size) + " octets");
    if (encrypted_key.size() != (des3_wrap ? cek_size + 16 : cek_size + 8))
        return invalid(std::move(r), "wrapped key of another length");

    Bytes z;
    try {
        z = key.ecdh_derive(point);
    } catch (const Error& e) {
        if (e.failure() != Failure::MalformedMessage) throw;
        return invalid(std::move(r), std::string("originator key refused: ") + e.what());
    }
    r.key_management = kari_name(z.size());
    // ECC-CMS-SharedInfo (RFC 5753 §7.2): the wrap algorithm as received, the ukm, KEK bits.
    auto info = Asn1Node::create("ECC-CMS-SharedInfo");
    write_algorithm_id(info, "keyInfo", wrap);
    if (kari.ukm)
        info.write_bytes("entityUInfo", *kari.ukm);
    else
        info.remove("entityUInfo");
    const std::uint32_t bits = std::uint32_t(kek_size * 8);
    info.write_bytes("suppPubInfo", Bytes{std::uint8_t(bits >> 24), std::uint8_t(bits >> 16),
                                          std::uint8_t(bits >> 8), std::uint8_t(bits)});
    const SecretBytes kek = x963(*kdf, z, info.encode(), kek_size);
    secure_wipe(z.data(), z.size());
    SecretBytes unwrapped(cek_size);
    if (!(des3_wrap ? des3_unwrap(kek, encrypted_key, unwrapped) : aes_key_unwrap(kek, encrypted_key, unwrapped)))
        return invalid(std::move(r), "key unwrap integrity check failed");
    std::copy(unwrapped.data(), unwrapped.data() + cek_size, r.cek.data());
    r.valid = true;
    return r;
}

}  // namespace ssm::smime::cms
