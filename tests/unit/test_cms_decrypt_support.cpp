// Test helpers for decryption; see test_cms_decrypt_support.h. The keys are real (made by
// OpenSSL); only the place they live differs from production (memory instead of a token).
#include "tests/unit/test_cms_decrypt_support.h"

#include <gmp.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>

#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>

#include "base/error.h"
#include "base/mpz.h"
#include "tests/unit/test_support.h"

namespace fs = std::filesystem;

namespace ssm::test {
namespace {


void set_datum(mpz_t v, const gnutls_datum_t& d)
{
    nettle_mpz_set_str_256_u(v, d.size, d.data);
}

struct Datum {
    gnutls_datum_t d{nullptr, 0};
    ~Datum() { gnutls_free(d.data); }
};

}  // namespace

struct SoftDecrypter::Impl {
    // RSA: the modulus and the CRT parts (d mod p-1, d mod q-1, q^-1 mod p): the decryption
    // tests make thousands of private operations (garbage_truncation_and_flips alone ~2400),
    // and two half-size exponentiations take about a third of the time of one with d.
    Mpz n, p, q, dp, dq, qinv;
    std::size_t k = 0;
    // EC
    const ecc_curve* curve = nullptr;
    std::size_t field = 0;
    ecc_scalar scalar{};
    bool has_scalar = false;
    ~Impl()
    {
        if (has_scalar) ecc_scalar_clear(&scalar);
    }
};

SoftDecrypter::SoftDecrypter() : m_impl(std::make_unique<Impl>()) {}
SoftDecrypter::~SoftDecrypter() = default;

std::shared_ptr<SoftDecrypter> SoftDecrypter::load(const fs::path& key_path, const fs::path& cert_path)
{
    auto s = std::make_shared<SoftDecrypter>();
    const Bytes cert = read_bytes(cert_path);
    gnutls_x509_crt_t crt;
    gnutls_x509_crt_init(&crt);
    gnutls_datum_t cd{const_cast<std::uint8_t*>(cert.data()), unsigned(cert.size())};
    const bool pem = cert.size() > 5 && cert[0] == '-';
    if (gnutls_x509_crt_import(crt, &cd, pem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER) < 0)
        throw std::runtime_error("cannot read certificate " + cert_path.string());
    Datum der;
    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der.d);
    s->m_cert.assign(der.d.data, der.d.data + der.d.size);
    gnutls_x509_crt_deinit(crt);

    const Bytes key = read_bytes(key_path);
    gnutls_x509_privkey_t pk;
    gnutls_x509_privkey_init(&pk);
    gnutls_datum_t kd{const_cast<std::uint8_t*>(key.data()), unsigned(key.size())};
    const bool kpem = key.size() > 5 && key[0] == '-';
    if (gnutls_x509_privkey_import2(pk, &kd, kpem ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER, nullptr,
                                    GNUTLS_PKCS_PLAIN) < 0) {
        gnutls_x509_privkey_deinit(pk);
        throw std::runtime_error("cannot read key " + key_path.string());
    }
    const int algo = gnutls_x509_privkey_get_pk_algorithm(pk);
    if (algo == GNUTLS_PK_RSA) {
        Datum m, e, d, p, q, u, e1, e2;
        gnutls_x509_privkey_export_rsa_raw2(pk, &m.d, &e.d, &d.d, &p.d, &q.d, &u.d, &e1.d, &e2.d);
        auto& im = *s->m_impl;
        Mpz dv, p1, q1;
        set_datum(im.n.v, m.d);
        set_datum(dv.v, d.d);
        set_datum(im.p.v, p.d);
        set_datum(im.q.v, q.d);
        mpz_sub_ui(p1.v, im.p.v, 1);
        mpz_sub_ui(q1.v, im.q.v, 1);
        mpz_mod(im.dp.v, dv.v, p1.v);
        mpz_mod(im.dq.v, dv.v, q1.v);
        if (!mpz_invert(im.qinv.v, im.q.v, im.p.v)) throw std::runtime_error("bad RSA key " + key_path.string());
        im.k = nettle_mpz_sizeinbase_256_u(im.n.v);
        s->m_type = smime::KeyType::Rsa;
    } else if (algo == GNUTLS_PK_EC) {
        gnutls_ecc_curve_t c;
        Datum x, y, k;
        gnutls_x509_privkey_export_ecc_raw(pk, &c, &x.d, &y.d, &k.d);
        auto& im = *s->m_impl;
        im.curve = c == GNUTLS_ECC_CURVE_SECP256R1   ? nettle_get_secp_256r1()
                   : c == GNUTLS_ECC_CURVE_SECP384R1 ? nettle_get_secp_384r1()
                                                     : nettle_get_secp_521r1();
        im.field = c == GNUTLS_ECC_CURVE_SECP256R1 ? 32 : c == GNUTLS_ECC_CURVE_SECP384R1 ? 48 : 66;
        ecc_scalar_init(&im.scalar, im.curve);
        im.has_scalar = true;
        Mpz kv;
        set_datum(kv.v, k.d);
        if (!ecc_scalar_set(&im.scalar, kv.v)) throw std::runtime_error("bad EC key");
        s->m_type = smime::KeyType::Ec;
    } else {
        gnutls_x509_privkey_deinit(pk);
        throw std::runtime_error("unsupported key " + key_path.string());
    }
    gnutls_x509_privkey_deinit(pk);
    return s;
}

Bytes SoftDecrypter::rsa_raw_decrypt(ByteView block)
{
    if (m_type != smime::KeyType::Rsa) throw Error(Failure::Internal, "not an RSA key");
    ++raw_calls;
    auto& im = *m_impl;
    if (block.size() != im.k) throw Error(Failure::MalformedMessage, "RSA block of the wrong length");
    Mpz c, m, m2, h;
    nettle_mpz_set_str_256_u(c.v, block.size(), block.data());
    if (mpz_cmp(c.v, im.n.v) >= 0) throw Error(Failure::MalformedMessage, "RSA block out of range");
    // m = m2 + q * (qinv * (m1 - m2) mod p), m1 = c^dp mod p, m2 = c^dq mod q (Garner). Not
    // constant time: a test key, and no test measures time.
    mpz_powm(m.v, c.v, im.dp.v, im.p.v);
    mpz_powm(m2.v, c.v, im.dq.v, im.q.v);
    mpz_sub(h.v, m.v, m2.v);
    mpz_mul(h.v, h.v, im.qinv.v);
    mpz_mod(h.v, h.v, im.p.v);
    mpz_mul(m.v, h.v, im.q.v);
    mpz_add(m.v, m.v, m2.v);
    Bytes out(im.k);
    nettle_mpz_get_str_256(out.size(), out.data(), m.v);
    return out;
}

Bytes SoftDecrypter::ecdh_derive(ByteView peer)
{
    if (m_type != smime::KeyType::Ec) throw Error(Failure::Internal, "not an EC key");
    ++raw_calls;
    auto& im = *m_impl;
    if (peer.size() != 1 + 2 * im.field || peer[0] != 0x04)
        throw Error(Failure::MalformedMessage, "EC point of the wrong form");
    Mpz x, y;
    nettle_mpz_set_str_256_u(x.v, im.field, peer.data() + 1);
    nettle_mpz_set_str_256_u(y.v, im.field, peer.data() + 1 + im.field);
    ecc_point p, r;
    ecc_point_init(&p, im.curve);
    ecc_point_init(&r, im.curve);
    if (!ecc_point_set(&p, x.v, y.v)) {
        ecc_point_clear(&p);
        ecc_point_clear(&r);
        throw Error(Failure::MalformedMessage, "EC point not on the curve");
    }
    ecc_point_mul(&r, &im.scalar, &p);
    ecc_point_get(&r, x.v, nullptr);
    Bytes z(im.field);
    nettle_mpz_get_str_256(z.size(), z.data(), x.v);
    ecc_point_clear(&p);
    ecc_point_clear(&r);
    return z;
}

const fs::path& scratch_dir()
{
    static TempDir dir;
    return dir.path();
}

const fs::path& pki_dir()
{
    static const fs::path p = [] {
        const fs::path out = scratch_dir() / "pki";
        run("sh '" + (source_dir() / "tests/fixtures/make-pki.sh").string() + "' '" + out.string() + "' >/dev/null");
        return out;
    }();
    return p;
}

std::shared_ptr<SoftDecrypter> soft_key(const std::string& id)
{
    static std::map<std::string, std::shared_ptr<SoftDecrypter>> cache;
    auto& k = cache[id];
    if (!k) k = SoftDecrypter::load(pki_dir() / (id + ".key.pem"), pki_dir() / (id + ".cert.der"));
    return k;
}

Bytes read_bytes(const fs::path& p)
{
    const std::string s = read_file(p);
    return Bytes(s.begin(), s.end());
}

void write_bytes(const fs::path& p, ByteView data)
{
    write_file(p, std::string(as_chars(data)));
}

void openssl(const std::string& args)
{
    run("cd '" + pki_dir().string() + "' && OPENSSL_CONF=/dev/null openssl " + args);
}

FileSource::FileSource(const fs::path& p, std::size_t piece) : m_piece(piece)
{
    m_f = std::fopen(p.c_str(), "rb");
    if (!m_f) throw std::runtime_error("cannot open " + p.string());
    m_size = fs::file_size(p);
}

FileSource::~FileSource()
{
    if (m_f) std::fclose(m_f);
}

std::size_t FileSource::read(std::span<std::uint8_t> buf)
{
    const std::size_t n = m_piece ? std::min(buf.size(), m_piece) : buf.size();
    return std::fread(buf.data(), 1, n, m_f);
}

void FileSource::rewind()
{
    std::rewind(m_f);
}

smime::cms::DecryptOutcome decrypt_bytes(ByteView der, const std::vector<std::shared_ptr<smime::Decrypter>>& keys,
                                         Bytes& out)
{
    MemorySource src(der);
    MemorySink sink;
    auto o = smime::cms::decrypt_envelope(src, keys, sink);
    out = sink.data();
    return o;
}

long peak_rss_kib()
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}

}  // namespace ssm::test
