// Unit tests for pki/: certificate parsing and facts (checked against openssl's own view of the
// same certificates) and trust-store validation statuses over an OpenSSL-made PKI.
#include <cppunit/extensions/HelperMacros.h>

#include <cctype>

#include <algorithm>
#include <array>
#include <cstdio>
#include <thread>

#include "pki/certificate.h"
#include "base/der_tlv.h"
#include "pki/trust_store.h"
#include "tests/unit/test_pki_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fx = ssm::test::pki_fixture;
namespace fs = std::filesystem;

namespace {

std::string shell(const std::string& cmd)
{
    std::string out;
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("popen failed");
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    if (pclose(p) != 0) throw std::runtime_error("command failed: " + cmd);
    return out;
}

// "AB:CD:..." or "abcd" (possibly after "key=") -> lower-case hex without separators.
std::string hex_of(std::string s)
{
    if (auto eq = s.find('='); eq != std::string::npos) s = s.substr(eq + 1);
    std::string out;
    for (char c : s)
        if (std::isxdigit(static_cast<unsigned char>(c))) out.push_back(static_cast<char>(std::tolower(c)));
    return out;
}

std::string openssl_x509(const std::string& name, const std::string& args)
{
    return shell("OPENSSL_CONF=/dev/null openssl x509 -in '" + fx::cert_path(name).string() + "' -noout " + args);
}

std::string join(const std::vector<std::string>& v)
{
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
}

}  // namespace

class PkiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PkiTest);
    CPPUNIT_TEST(facts_table);
    CPPUNIT_TEST(identifiers_match_openssl);
    CPPUNIT_TEST(validity_dates);
    CPPUNIT_TEST(parse_rejects_bad_input);
    CPPUNIT_TEST(pem_bundles_and_files);
    CPPUNIT_TEST(validation_statuses);
    CPPUNIT_TEST(validation_uses_given_time);
    CPPUNIT_TEST(extra_intermediates_complete_the_path);
    CPPUNIT_TEST(revocation_modes);
    CPPUNIT_TEST(missing_folders_are_empty);
    CPPUNIT_TEST(crl_files_are_listed);
    CPPUNIT_TEST(outdated_anchor_crl_loads);
    CPPUNIT_TEST(crl_signed_rsassa_pss_with_mgf1_sha1_revokes);
    CPPUNIT_TEST(load_errors_name_the_file);
    CPPUNIT_TEST(concurrent_validation);
    CPPUNIT_TEST(der_object_identifiers);
    CPPUNIT_TEST(rsassa_pss_key_facts);
    CPPUNIT_TEST(key_ids_of_keys_gnutls_refuses);
    CPPUNIT_TEST_SUITE_END();

public:
    // id-RSASSA-PSS keys whose parameters name MGF1 over another hash than theirs (RFC 4055
    // §3.1), issued by the ordinary RSA CA: MGF1-SHA-1 (absent in DER, GnuTLS 3.7.9 reads the
    // key) and MGF1-SHA-512 (explicit, GnuTLS refuses the key with GNUTLS_E_CONSTRAINT_ERROR).
    // The second read as key type "other" with 0 bits until 2026-12-05 (so a directory said
    // "other key cannot be used for encryption"); now RSA-PSS with its modulus' bits.
    void rsassa_pss_key_facts()
    {
        test::TempDir d;
        const std::string dir = d.path().string(), pki = fx::dir().string();
        test::run("cd '" + dir + "' && export OPENSSL_CONF=/dev/null && for m in sha1:2048 sha512:2048 sha512:1536; do "
                  "k=pss-${m%%:*}-${m#*:}; openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:${m#*:} "
                  "-pkeyopt rsa_pss_keygen_md:sha256 -pkeyopt rsa_pss_keygen_mgf1_md:${m%%:*} "
                  "-pkeyopt rsa_pss_keygen_saltlen:32 -out $k.key && openssl req -new -key $k.key -subj /CN=pss -out $k.csr "
                  "&& openssl x509 -req -in $k.csr -CA '" + pki + "/sub-ca.cert.pem' -CAkey '" + pki + "/sub-ca.key.pem' "
                  "-set_serial 7 -days 30 -out $k.cert.pem || exit 1; done >openssl.log 2>&1 || { cat openssl.log; false; }");
        for (const auto& [name, bits] : {std::pair<const char*, unsigned>{"pss-sha1-2048", 2048},
                                         {"pss-sha512-2048", 2048}, {"pss-sha512-1536", 1536}}) {
            auto certs = Certificate::load_file(d.path() / (std::string(name) + ".cert.pem"));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::size_t{1}, certs.size());
            const auto f = facts(certs.front());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::string("RSA-PSS"), std::string(key_type_name(f.key_type)));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, bits, f.key_bits);
        }
    }

    // key_id_hex keys the OCSP and revocation caches on an issuer (pki/ocsp_client.cpp,
    // revocation.cpp). GnuTLS's id (gnutls_x509_crt_get_key_id, flags 0) is SHA-1 over the DER
    // SubjectPublicKeyInfo; for an id-RSASSA-PSS key with MGF1 over another hash than its own
    // GnuTLS refuses the key and the id was "", one cache slot for every such issuer. Expected
    // ids come from OpenSSL: SHA-1 over `openssl x509 -pubkey` in DER. For an ordinary RSA key
    // the same formula must give GnuTLS's own id, so the two paths agree.
    void key_ids_of_keys_gnutls_refuses()
    {
        test::TempDir d;
        const std::string dir = d.path().string(), pki = fx::dir().string();
        test::run("cd '" + dir + "' && export OPENSSL_CONF=/dev/null && for k in pss-a pss-b; do "
                  "openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 "
                  "-pkeyopt rsa_pss_keygen_mgf1_md:sha512 -out $k.key && openssl req -new -key $k.key -subj /CN=pss "
                  "-out $k.csr && openssl x509 -req -in $k.csr -CA '" + pki + "/sub-ca.cert.pem' -CAkey '" + pki +
                  "/sub-ca.key.pem' -set_serial 7 -days 30 -out $k.cert.pem || exit 1; done >openssl.log 2>&1 && "
                  "cp '" + pki + "/alice.cert.pem' rsa.cert.pem && for k in pss-a pss-b rsa; do "
                  "openssl x509 -in $k.cert.pem -pubkey -noout | openssl pkey -pubin -outform DER | "
                  "openssl dgst -sha1 -r | cut -c1-40 >$k.id || exit 1; done 2>>openssl.log || { cat openssl.log; false; }");
        const auto id_of = [&](const std::string& name) {
            auto certs = Certificate::load_file(d.path() / (name + ".cert.pem"));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::size_t{1}, certs.size());
            return key_id_hex(certs.front());
        };
        const auto expected = [&](const std::string& name) {
            std::string id = test::read_file(d.path() / (name + ".id"));
            while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::size_t{40}, id.size());
            return id;
        };
        // The ordinary key: GnuTLS computes it; OpenSSL's formula agrees.
        CPPUNIT_ASSERT_EQUAL(expected("rsa"), id_of("rsa"));
        // Keys GnuTLS refuses: the same formula, and two keys never share an id.
        CPPUNIT_ASSERT_EQUAL(expected("pss-a"), id_of("pss-a"));
        CPPUNIT_ASSERT_EQUAL(expected("pss-b"), id_of("pss-b"));
        CPPUNIT_ASSERT(id_of("pss-a") != id_of("pss-b"));
    }

    void facts_table()
    {
        struct Case {
            const char* name;
            const char* addresses;
            KeyType type;
            unsigned bits;
            bool ca;
            int key_usage;  // -1 absent, else 1 when keyEncipherment, 2 keyAgreement, 4 digitalSignature (OR)
            int eku;        // -1 absent, 0 present without email, 1 allows email
        };
        const Case cases[] = {
            {"alice", "alice@acme.example", KeyType::Rsa, 2048, false, 1 | 4, 1},
            {"bob", "bob@acme.example", KeyType::EcP256, 256, false, 2 | 4, 1},
            {"erin", "erin@acme.example", KeyType::EcP384, 384, false, 2 | 4, 1},
            {"x25519", "xavier@acme.example", KeyType::X25519, 256, false, 2, 1},
            {"ed", "ed@acme.example", KeyType::Ed25519, 256, false, 4, 1},
            {"legacy", "legacy@acme.example", KeyType::Rsa, 2048, false, 1, 1},
            {"multi", "one@acme.example,two@acme.example", KeyType::Rsa, 2048, false, 1, 1},
            // An rfc822Name we drop (a space) leaves no address: never the DN's emailAddress.
            {"implausible", "", KeyType::Rsa, 2048, false, 1, 1},
            {"noeku", "noeku@acme.example", KeyType::Rsa, 2048, false, -1, -1},
            {"serveronly", "serveronly@acme.example", KeyType::Rsa, 2048, false, 1, 0},
            {"anyeku", "anyeku@acme.example", KeyType::EcP256, 256, false, 2, 1},
            {"sigonly", "sigonly@acme.example", KeyType::Rsa, 2048, false, 4, 1},
            {"caflag", "ca-flag@acme.example", KeyType::Rsa, 2048, true, 1, 1},
            {"root-ca", "", KeyType::Rsa, 2048, true, 0, -1},
        };
        for (const auto& c : cases) {
            const auto f = facts(fx::cert(c.name));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(c.addresses), join(f.email_addresses));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(key_type_name(c.type)),
                                         std::string(key_type_name(f.key_type)));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.bits, f.key_bits);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.ca, f.is_ca);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.key_usage >= 0, f.key_usage.has_value());
            if (f.key_usage) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, (c.key_usage & 1) != 0, f.key_usage->key_encipherment);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, (c.key_usage & 2) != 0, f.key_usage->key_agreement);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, (c.key_usage & 4) != 0, f.key_usage->digital_signature);
            }
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.eku >= 0, f.extended_key_usage.has_value());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, c.eku != 0, f.allows_email_protection());
        }
        const auto root = facts(fx::cert("root-ca"));
        CPPUNIT_ASSERT(root.self_signed && root.key_usage->key_cert_sign && root.key_usage->crl_sign);
        CPPUNIT_ASSERT(!facts(fx::cert("alice")).self_signed);
        CPPUNIT_ASSERT(facts(fx::cert("selfsigned")).self_signed);
        const auto legacy = facts(fx::cert("legacy"));
        CPPUNIT_ASSERT(legacy.key_usage->data_encipherment);
        CPPUNIT_ASSERT(legacy.has_address("legacy@acme.example") && !legacy.has_address("Legacy@Acme.Example"));
        const auto serveronly = facts(fx::cert("serveronly"));
        CPPUNIT_ASSERT_EQUAL(std::string("1.3.6.1.5.5.7.3.1"), join(*serveronly.extended_key_usage));
    }

    void identifiers_match_openssl()
    {
        for (const char* name : {"alice", "bob", "x25519", "mallory", "expired", "partner-domain"}) {
            const auto c = fx::cert(name);
            const auto f = facts(c);
            // serialNumber contents octets: openssl prints the same value in hex (it drops a
            // leading zero octet that DER adds before a high bit).
            std::string ours = to_hex(f.serial);
            if (ours.size() > 2 && ours.rfind("00", 0) == 0) ours = ours.substr(2);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, hex_of(openssl_x509(name, "-serial")), ours);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, hex_of(openssl_x509(name, "-fingerprint -sha256")),
                                         to_hex(f.sha256_fingerprint));
            CPPUNIT_ASSERT_MESSAGE(name, f.subject_key_identifier.has_value());
            std::string ski = openssl_x509(name, "-ext subjectKeyIdentifier");
            ski = ski.substr(ski.find('\n'));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, hex_of(ski), to_hex(*f.subject_key_identifier));
            // DER as read, byte for byte.
            CPPUNIT_ASSERT_MESSAGE(name, fx::der_of(name) == c.der());
        }
        CPPUNIT_ASSERT_EQUAL(std::string("1000"), to_hex(facts(fx::cert("expired")).serial));
        CPPUNIT_ASSERT_EQUAL(std::string("7f01"), to_hex(facts(fx::cert("x25519")).serial));

        // The issuer Name DER: the sub-CA's subject for certificates it issued, alice's for mallory.
        const auto sub = fx::cert("sub-ca");
        gnutls_datum_t dn{nullptr, 0};
        CPPUNIT_ASSERT(gnutls_x509_crt_get_raw_dn(sub.get(), &dn) >= 0);
        const Bytes sub_dn(dn.data, dn.data + dn.size);
        gnutls_free(dn.data);
        CPPUNIT_ASSERT(facts(fx::cert("alice")).issuer_der == sub_dn);
        CPPUNIT_ASSERT(facts(fx::cert("x25519")).issuer_der == sub_dn);
        CPPUNIT_ASSERT(facts(fx::cert("mallory")).issuer_der != sub_dn);
        CPPUNIT_ASSERT_EQUAL(std::uint8_t{0x30}, sub_dn.at(0));
        CPPUNIT_ASSERT(std::string(as_chars(sub_dn)).find("SSM Test Issuing CA") != std::string::npos);
        CPPUNIT_ASSERT(facts(fx::cert("selfsigned")).subject.find("CN=self") != std::string::npos);
    }

    void validity_dates()
    {
        const auto f = facts(fx::cert("expired"));
        CPPUNIT_ASSERT_EQUAL(std::time_t{1577836800}, f.not_before);  // 2020-01-01T00:00:00Z
        CPPUNIT_ASSERT_EQUAL(std::time_t{1609459200}, f.not_after);   // 2021-01-01T00:00:00Z
        CPPUNIT_ASSERT_EQUAL(std::string("2021-01-01T00:00:00Z"), format_time(f.not_after));
        const auto twin_new = facts(fx::cert("twin-new"));
        CPPUNIT_ASSERT(twin_new.not_before > facts(fx::cert("twin-old")).not_before);
    }

    void parse_rejects_bad_input()
    {
        const Bytes good = fx::der_of("alice");
        CPPUNIT_ASSERT(Certificate::parse_der(good).has_value());
        CPPUNIT_ASSERT(!Certificate::parse_der({}).has_value());
        CPPUNIT_ASSERT(!Certificate::parse_der(as_bytes("not a certificate")).has_value());
        for (std::size_t cut : {std::size_t{1}, std::size_t{4}, good.size() / 2, good.size() - 1})
            CPPUNIT_ASSERT(!Certificate::parse_der(ByteView(good).first(cut)).has_value());
        Bytes trailing = good;
        trailing.push_back(0);
        CPPUNIT_ASSERT(!Certificate::parse_der(trailing).has_value());
        Bytes huge(max_certificate_size + 1, 0x30);
        CPPUNIT_ASSERT(!Certificate::parse_der(huge).has_value());
        // A wrong length octet inside the certificate.
        Bytes bad_len = good;
        bad_len[1] ^= 0x01;
        CPPUNIT_ASSERT(!Certificate::parse_der(bad_len).has_value());
    }

    void pem_bundles_and_files()
    {
        const std::string chain = test::read_file(fx::dir() / "chain.pem");
        auto two = Certificate::from_pem(chain);
        CPPUNIT_ASSERT(two && two->size() == 2);
        CPPUNIT_ASSERT(facts((*two)[0]).subject.find("Issuing") != std::string::npos);
        // Keys and other blocks beside the certificate are ignored.
        const std::string with_key = test::read_file(fx::dir() / "alice.key.pem") +
                                     test::read_file(fx::dir() / "alice.cert.pem");
        auto one = Certificate::from_pem(with_key);
        CPPUNIT_ASSERT(one && one->size() == 1);
        // One corrupt certificate block spoils the bundle; so does having none.
        std::string corrupt = chain;
        corrupt.insert(corrupt.find("-----END CERTIFICATE-----"), "AAAA\n");
        CPPUNIT_ASSERT(!Certificate::from_pem(corrupt).has_value());
        CPPUNIT_ASSERT(!Certificate::from_pem(test::read_file(fx::dir() / "alice.key.pem")).has_value());
        CPPUNIT_ASSERT(!Certificate::from_pem("").has_value());

        test::TempDir t;
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, Certificate::load_file(fx::dir() / "alice.cert.der").size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, Certificate::load_file(fx::dir() / "chain.pem").size());
        test::write_file(t.path() / "broken.pem", corrupt);
        test::write_file(t.path() / "junk.cer", "\x30\x03\x02\x01");
        for (const char* f : {"broken.pem", "junk.cer", "absent.pem"}) {
            try {
                Certificate::load_file(t.path() / f);
                CPPUNIT_FAIL(std::string("no error for ") + f);
            } catch (const LoadError& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(f) != std::string::npos);
            }
        }
        // An unreadable file says why, and a folder is not read as a file with no certificate.
        for (const auto& [path, why] : {std::pair{t.path() / "absent.pem", "No such file or directory"},
                                        std::pair{t.path(), "Is a directory"}}) {
            try {
                Certificate::load_file(path);
                CPPUNIT_FAIL("no error for " + path.string());
            } catch (const LoadError& e) {
                CPPUNIT_ASSERT_EQUAL("cannot read certificate file " + path.string() + ": " + why, std::string(e.what()));
            }
        }
        // The clone is an independent owner of the same certificate.
        auto a = fx::cert("alice");
        auto b = a.clone();
        CPPUNIT_ASSERT(a.get() != b.get() && a.der() == b.der());
    }

    void validation_statuses()
    {
        TrustStore store(fx::store_paths());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store.anchor_count());
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store.intermediate_count());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, store.crl_count());
        const std::time_t now = std::time(nullptr);
        struct Case {
            const char* name;
            std::vector<Problem> problems;
            const char* reason;  // substring of describe()
        };
        const std::vector<Case> cases = {
            {"alice", {}, "valid"},
            {"bob", {}, "valid"},
            {"x25519", {}, "valid"},
            {"noeku", {}, "valid"},
            {"anyeku", {}, "valid"},
            {"twin-old", {}, "valid"},
            {"expired", {Problem::Expired}, "certificate expired 2021-01-01T00:00:00Z"},
            {"notyet", {Problem::NotYetValid}, "not valid before 2040-01-01T00:00:00Z"},
            {"serveronly", {Problem::WrongPurpose}, "wrong purpose"},
            {"revoked", {Problem::Revoked}, "revoked"},
            {"selfsigned", {Problem::NoTrustedPath}, "no path to a trust anchor"},
            {"mallory", {Problem::NoTrustedPath}, "no path"},
        };
        for (const auto& c : cases) {
            const auto r = store.validate(fx::cert(c.name), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(c.name) + ": " + r.describe();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.problems.size(), r.problems.size());
            for (auto p : c.problems) CPPUNIT_ASSERT_MESSAGE(msg, r.has(p));
            CPPUNIT_ASSERT_MESSAGE(msg, r.describe().find(c.reason) != std::string::npos);
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, store.validate(fx::cert("alice"), {}, now, Purpose::EmailProtection).path_length);
        // Without the purpose check a serverAuth-only certificate chains fine.
        CPPUNIT_ASSERT(store.validate(fx::cert("serveronly"), {}, now, Purpose::Any).valid());
        // An end entity used as a CA: the path exists when alice is supplied, but alice is no CA.
        std::vector<Certificate> extra;
        extra.push_back(fx::cert("alice"));
        const auto m = store.validate(fx::cert("mallory"), extra, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(m.describe(), m.has(Problem::IssuerNotCa));
        // A tampered signature.
        Bytes der = fx::der_of("alice");
        der[der.size() - 5] ^= 0x40;
        const auto bad = store.validate(*Certificate::parse_der(der), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(bad.describe(), bad.has(Problem::BadSignature));
        // Without the CRL the revoked certificate is valid: the CRL is what revokes it.
        TrustStore no_crl({fx::dir() / "trust", fx::dir() / "intermediates", {}});
        CPPUNIT_ASSERT(no_crl.validate(fx::cert("revoked"), {}, now, Purpose::EmailProtection).valid());
    }

    void validation_uses_given_time()
    {
        TrustStore store(fx::store_paths());
        const auto alice = fx::cert("alice");
        const std::time_t later = std::time(nullptr) + 20L * 365 * 86400;  // past every CA's expiry
        const auto r = store.validate(alice, {}, later, Purpose::EmailProtection);
        CPPUNIT_ASSERT(r.has(Problem::Expired));
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.describe().find("CA certificate 'CN=SSM Test Issuing CA") !=
                                                 std::string::npos);
        // The expired fixture was valid in 2020.
        CPPUNIT_ASSERT(!store.validate(fx::cert("expired"), {}, 1590000000, Purpose::EmailProtection)
                            .has(Problem::Expired));
    }

    void extra_intermediates_complete_the_path()
    {
        TrustStore anchors_only({fx::dir() / "trust", fx::dir() / "no-such-folder", {}});
        const std::time_t now = std::time(nullptr);
        CPPUNIT_ASSERT(anchors_only.validate(fx::cert("alice"), {}, now, Purpose::EmailProtection)
                           .has(Problem::NoTrustedPath));
        std::vector<Certificate> extra;
        extra.push_back(fx::cert("bob"));  // an unrelated certificate is skipped
        extra.push_back(fx::cert("sub-ca"));
        const auto with_extra = anchors_only.validate(fx::cert("alice"), extra, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT(with_extra.valid());
        // The path that passed, end entity first and anchor last (RFC 5913 constraints read it).
        CPPUNIT_ASSERT_EQUAL(std::size_t{3}, with_extra.path.size());
        CPPUNIT_ASSERT(with_extra.path[0] == fx::der_of("alice"));
        CPPUNIT_ASSERT(with_extra.path[1] == fx::der_of("sub-ca"));
        CPPUNIT_ASSERT(with_extra.path[2] == fx::der_of("root-ca"));
        CPPUNIT_ASSERT(anchors_only.validate(fx::cert("alice"), {}, now, Purpose::EmailProtection).path.empty());
        // A re-keyed CA of the same name, listed first, is passed over for the one that signed.
        std::vector<Certificate> rekeyed;
        rekeyed.push_back(fx::cert("rekeyed-ca"));
        rekeyed.push_back(fx::cert("sub-ca"));
        CPPUNIT_ASSERT(anchors_only.validate(fx::cert("alice"), rekeyed, now, Purpose::EmailProtection).valid());
        rekeyed.pop_back();
        const auto wrong_key = anchors_only.validate(fx::cert("alice"), rekeyed, now, Purpose::EmailProtection);
        // (GnuTLS reports the wrong-key issuer as "not found" rather than a bad signature.)
        CPPUNIT_ASSERT_MESSAGE(wrong_key.describe(), !wrong_key.valid());
        // An issuing CA configured as an anchor is trusted directly...
        TrustStore inverted({fx::dir() / "intermediates", fx::dir() / "trust", {}});
        CPPUNIT_ASSERT(inverted.validate(fx::cert("alice"), {}, now, Purpose::EmailProtection).valid());
        // ...but intermediates (even a self-signed root among them) never are.
        TrustStore sub_only(std::vector<Certificate>{}, [] {
            std::vector<Certificate> v;
            v.push_back(fx::cert("sub-ca"));
            v.push_back(fx::cert("root-ca"));
            return v;
        }());
        CPPUNIT_ASSERT(sub_only.validate(fx::cert("alice"), {}, now, Purpose::EmailProtection)
                           .has(Problem::NoTrustedPath));
    }

    void revocation_modes()
    {
        const std::time_t now = std::time(nullptr);
        auto config = fx::store_paths();
        config.revocation = Revocation::Off;
        CPPUNIT_ASSERT(TrustStore(config).validate(fx::cert("revoked"), {}, now, Purpose::EmailProtection).valid());

        config.revocation = Revocation::HardFail;
        TrustStore hard(config);
        CPPUNIT_ASSERT(hard.validate(fx::cert("alice"), {}, now, Purpose::EmailProtection).valid());
        CPPUNIT_ASSERT(hard.validate(fx::cert("revoked"), {}, now, Purpose::EmailProtection).has(Problem::Revoked));
        // The CRLs say nextUpdate in 30 days: after that the status is unknown.
        const auto stale = hard.validate(fx::cert("alice"), {}, now + 40L * 86400, Purpose::EmailProtection);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(stale.describe(), std::size_t{2}, stale.problems.size());
        CPPUNIT_ASSERT(stale.has(Problem::RevocationUnknown));
        // Without the root's CRL the sub-CA's status is unknown (soft-fail does not mind).
        test::TempDir t;
        fs::copy_file(fx::dir() / "crls/sub-ca.crl.pem", t.path() / "sub-ca.crl.pem");
        config.crls = t.path();
        const auto no_root = TrustStore(config).validate(fx::cert("alice"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(no_root.describe(), std::size_t{1}, no_root.problems.size());
        CPPUNIT_ASSERT_MESSAGE(no_root.describe(),
                               no_root.describe().find("no current CRL from 'CN=SSM Test Root CA") != std::string::npos);
        config.revocation = Revocation::SoftFail;
        CPPUNIT_ASSERT(TrustStore(config).validate(fx::cert("alice"), {}, now, Purpose::EmailProtection).valid());
    }

    // A trust anchor's CRL past its nextUpdate still loads (GnuTLS's own CRL check refused it,
    // and with it the whole configuration: no start, no reload). It revokes what it lists; the
    // sub-CA it covers has no current revocation data: soft-fail notes it, hard-fail refuses.
    void outdated_anchor_crl_loads()
    {
        test::TempDir tmp;
        const fs::path crls = tmp.path() / "crls";
        fs::create_directories(crls);
        test::write_file(tmp.path() / "index.txt", "");
        test::write_file(tmp.path() / "ca.cnf", "[ca]\ndefault_ca = c\n[c]\ndatabase = " + (tmp.path() / "index.txt").string() +
                                              "\ndefault_md = sha256\n");
        const fs::path pki = fx::dir();
        test::run("OPENSSL_CONF=/dev/null openssl ca -batch -config '" + (tmp.path() / "ca.cnf").string() + "' -gencrl -cert '" +
            (pki / "root-ca.cert.pem").string() + "' -keyfile '" + (pki / "root-ca.key.pem").string() +
            "' -crl_lastupdate 20240101000000Z -crl_nextupdate 20240201000000Z -out '" +
            (crls / "root.crl.pem").string() + "' 2>/dev/null");
        auto config = fx::store_paths();
        config.crls = crls;
        config.revocation = Revocation::SoftFail;
        TrustStore soft(config);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), soft.crl_count());
        CPPUNIT_ASSERT_EQUAL(std::time_t(1706745600), soft.crl_files().at(0).next_update);  // 2024-02-01
        const auto alice = fx::cert("alice");
        const std::time_t now = std::time(nullptr);
        CPPUNIT_ASSERT(soft.validate(alice, {}, now, Purpose::EmailProtection).valid());
        config.revocation = Revocation::HardFail;
        TrustStore hard(config);
        const auto r = hard.validate(alice, {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(r.describe(), !r.valid());
    }

    // The sub-CA's CRL signed RSASSA-PSS SHA-256 with MGF1 over SHA-1 (RFC 4055 §3.1 allows any
    // pair; OpenSSL -sigopt rsa_mgf1_md:sha1), which gnutls_x509_crl_verify refuses as it refuses
    // such certificate signatures. It must load and revoke what it lists, as the same CRL signed
    // PKCS#1 v1.5 does (certificate_verifies); ignored, the revoked certificate passed soft-fail.
    void crl_signed_rsassa_pss_with_mgf1_sha1_revokes()
    {
        test::TempDir tmp;
        const fs::path crls = tmp.path() / "crls", pki = fx::dir();
        fs::create_directories(crls);
        fs::copy_file(pki / "extra/index.txt", tmp.path() / "index.txt");
        test::write_file(tmp.path() / "crlnumber", "2000\n");
        test::write_file(tmp.path() / "ca.cnf", "[ca]\ndefault_ca = c\n[c]\ndatabase = " +
                                                    (tmp.path() / "index.txt").string() + "\ncrlnumber = " +
                                                    (tmp.path() / "crlnumber").string() +
                                                    "\ndefault_md = sha256\ndefault_crl_days = 30\n");
        test::run("OPENSSL_CONF=/dev/null openssl ca -batch -config '" + (tmp.path() / "ca.cnf").string() +
                  "' -gencrl -cert '" + (pki / "sub-ca.cert.pem").string() + "' -keyfile '" +
                  (pki / "sub-ca.key.pem").string() + "' -sigopt rsa_padding_mode:pss -sigopt rsa_mgf1_md:sha1 " +
                  "-sigopt rsa_pss_saltlen:32 -out '" + (crls / "sub-ca.crl.pem").string() + "' 2>/dev/null");
        test::run("OPENSSL_CONF=/dev/null openssl crl -noout -text -in '" + (crls / "sub-ca.crl.pem").string() +
                  "' | grep -q 'Mask Algorithm: mgf1 with sha1'");
        fs::copy_file(pki / "crls/root-ca.crl.pem", crls / "root-ca.crl.pem");
        auto config = fx::store_paths();
        config.crls = crls;
        const std::time_t now = std::time(nullptr);
        for (const auto mode : {Revocation::SoftFail, Revocation::HardFail}) {
            config.revocation = mode;
            TrustStore store(config);
            CPPUNIT_ASSERT_EQUAL(std::size_t{2}, store.crl_count());
            const auto revoked = store.validate(fx::cert("revoked"), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(revoked.describe(), revoked.has(Problem::Revoked));
            const auto alice = store.validate(fx::cert("alice"), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(alice.describe(), alice.valid());
        }
        // A tampered signature still does not verify: the CRL is left out.
        const fs::path der = crls / "sub-ca.crl.der";
        test::run("OPENSSL_CONF=/dev/null openssl crl -in '" + (crls / "sub-ca.crl.pem").string() +
                  "' -outform DER -out '" + der.string() + "'");
        fs::remove(crls / "sub-ca.crl.pem");
        std::string bytes = test::read_file(der);
        bytes[bytes.size() - 3] ^= 0x01;
        test::write_file(der, bytes);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, TrustStore(config).crl_count());
    }

    // The CRL files with their issuer and nextUpdate, for the operations gauge.
    void crl_files_are_listed()
    {
        TrustStore store(fx::store_paths());
        const auto& files = store.crl_files();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), files.size());
        const std::time_t now = std::time(nullptr);
        for (const auto& f : files) {
            CPPUNIT_ASSERT_MESSAGE(f.file, f.file.size() > 8 && f.file.substr(f.file.size() - 8) == ".crl.pem");
            CPPUNIT_ASSERT_MESSAGE(f.issuer, f.issuer.find("O=SSM Test") != std::string::npos);
            CPPUNIT_ASSERT(f.next_update > now + 29 * 86400 && f.next_update < now + 31 * 86400);  // 30 days
        }
    }

    void missing_folders_are_empty()
    {
        test::TempDir t;
        TrustStore store({t.path() / "a", t.path() / "b", t.path() / "c"});
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, store.anchor_count() + store.intermediate_count() + store.crl_count());
        CPPUNIT_ASSERT(store.validate(fx::cert("alice"), {}, std::time(nullptr), Purpose::EmailProtection)
                           .has(Problem::NoTrustedPath));
    }

    void load_errors_name_the_file()
    {
        test::TempDir t;
        const fs::path trust = t.path() / "trust", inter = t.path() / "inter", crls = t.path() / "crls";
        fs::create_directories(trust);
        fs::create_directories(inter);
        fs::create_directories(crls);
        fs::copy_file(fx::dir() / "trust/root-ca.cert.pem", trust / "root.pem");
        fs::copy_file(fx::dir() / "intermediates/sub-ca.cert.pem", inter / "sub.pem");
        auto expect_error = [&](const std::string& file) {
            try {
                TrustStore store({trust, inter, crls});
                CPPUNIT_FAIL("no error for " + file);
            } catch (const LoadError& e) {
                CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find(file) != std::string::npos);
            }
        };
        // A corrupt anchor, then a corrupt intermediate.
        test::write_file(trust / "bad.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        expect_error("bad.pem");
        fs::remove(trust / "bad.pem");
        test::write_file(inter / "junk.crt", "junk");
        expect_error("junk.crt");
        fs::remove(inter / "junk.crt");
        // A CRL whose signature was tampered with.
        const std::string crl_der = (crls / "sub.crl.der").string();
        test::run("OPENSSL_CONF=/dev/null openssl crl -in '" + (fx::dir() / "crls/sub-ca.crl.pem").string() +
                  "' -outform DER -out '" + crl_der + "'");
        std::string crl = test::read_file(crl_der);
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, TrustStore({trust, inter, crls}).crl_count());  // DER accepted
        crl[crl.size() - 3] ^= 0x01;
        test::write_file(crl_der, crl);
        // A CRL nobody here vouches for is left out (warning pki_crl_ignored), not a
        // configuration error: a forged or stray CRL must not stop the gateway (PKITS 4.4.7);
        // the sub CA's certificates then have no current CRL (hard-fail refuses them).
        {
            TrustStore store({trust, inter, crls});
            CPPUNIT_ASSERT_EQUAL(std::size_t{0}, store.crl_count());
            CPPUNIT_ASSERT(store.crl_files().empty());
            ValidationOptions hard;
            hard.revocation = Revocation::HardFail;
            hard.online_revocation = false;
            CPPUNIT_ASSERT(!store.validate(fx::cert("alice"), {}, std::time(nullptr), Purpose::EmailProtection, hard).valid());
        }
        // A CRL of an issuer the store does not know.
        fs::copy_file(fx::dir() / "crls/sub-ca.crl.pem", crls / "sub.crl.der", fs::copy_options::overwrite_existing);
        fs::remove(inter / "sub.pem");
        CPPUNIT_ASSERT_EQUAL(std::size_t{0}, TrustStore({trust, inter, crls}).crl_count());
        // A file in the CRL folder that holds no CRL at all stays an error naming it.
        test::write_file(crls / "junk.crl", "junk");
        expect_error("junk.crl");
        // A folder path that is a file.
        TrustStoreConfig file_as_folder{fx::dir() / "chain.pem", {}, {}};
        CPPUNIT_ASSERT_THROW(TrustStore{file_as_folder}, LoadError);
        // A CRL file over [pki] max_crl_size (here 5 MiB: text before the PEM block, which
        // PEM readers pass over) is an error naming the key, and is read once the key allows it.
        fs::remove(crls / "junk.crl");
        fs::remove(crls / "sub.crl.der");
        fs::copy_file(fx::dir() / "intermediates/sub-ca.cert.pem", inter / "sub.pem");
        test::write_file(crls / "big.crl", std::string(5 << 20, '#') + "\n" +
                                               test::read_file(fx::dir() / "crls/sub-ca.crl.pem"));
        TrustStoreConfig big{trust, inter, crls};
        try {
            TrustStore store(big);
            CPPUNIT_FAIL("a 5 MiB CRL file was read under the 4 MiB default");
        } catch (const LoadError& e) {
            CPPUNIT_ASSERT_EQUAL("cannot read CRL file " + (crls / "big.crl").string() +
                                     ": it is larger than 4 MiB ([pki] max_crl_size)",
                                 std::string(e.what()));
        }
        big.online.limits.max_bytes = 8 << 20;
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, TrustStore(big).crl_count());
    }

    void concurrent_validation()
    {
        const TrustStore store(fx::store_paths());
        const std::time_t now = std::time(nullptr);
        std::vector<std::thread> threads;
        std::array<int, 4> wrong{};
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&, t] {
                const auto alice = fx::cert("alice");
                const auto revoked = fx::cert("revoked");
                for (int i = 0; i < 50; ++i) {
                    if (!store.validate(alice, {}, now, Purpose::EmailProtection).valid()) ++wrong[t];
                    if (!store.validate(revoked, {}, now, Purpose::EmailProtection).has(Problem::Revoked)) ++wrong[t];
                }
            });
        for (auto& t : threads) t.join();
        for (int w : wrong) CPPUNIT_ASSERT_EQUAL(0, w);
    }

    // base/der_tlv.h reads the OIDs of policy mappings from untrusted certificates.
    void der_object_identifiers()
    {
        const auto text = [](std::vector<std::uint8_t> der) -> std::optional<std::string> {
            const auto t = read_tlv(der.data(), der.size());
            if (!t || t->total != der.size()) return std::string("unreadable TLV");
            return oid_text(*t);
        };
        CPPUNIT_ASSERT_EQUAL(std::string("2.5.29.32.0"), text({0x06, 0x04, 0x55, 0x1d, 0x20, 0x00}).value_or("?"));
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.840.113549"),
                             text({0x06, 0x06, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d}).value_or("?"));
        CPPUNIT_ASSERT_EQUAL(std::string("2.999.3"), text({0x06, 0x03, 0x88, 0x37, 0x03}).value_or("?"));
        CPPUNIT_ASSERT_EQUAL(std::string("0.39"), text({0x06, 0x01, 0x27}).value_or("?"));
        CPPUNIT_ASSERT(!text({0x06, 0x02, 0x80, 0x01}));  // not minimal
        CPPUNIT_ASSERT(!text({0x06, 0x01, 0x86}));        // the last arc does not end
        CPPUNIT_ASSERT(!text({0x06, 0x00}));              // empty
        CPPUNIT_ASSERT(!text({0x04, 0x01, 0x01}));        // not an OID
        CPPUNIT_ASSERT(!text({0x06, 0x06, 0x8f, 0xff, 0xff, 0xff, 0xff, 0x7f}));  // an arc beyond 32 bits
        CPPUNIT_ASSERT_EQUAL(std::string("unreadable TLV"), text({0x06, 0x05, 0x55}).value_or("?"));
        CPPUNIT_ASSERT_EQUAL(std::string("unreadable TLV"), text({0x06, 0x85, 0, 0, 0, 0, 1, 0}).value_or("?"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PkiTest);
