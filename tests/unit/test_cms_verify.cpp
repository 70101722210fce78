// Unit tests for smime/cms/verify.h against messages signed by `openssl cms -sign` in every
// variant (detached/opaque/-stream BER, v1.5/PSS/ECDSA, -noattr, -nocerts, two signers,
// -cades), tampering and malformed input; and the streaming decoders of smime/mime/decoders.h
// against openssl base64 and Python's quopri.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

#include "smime/cms/oids.h"
#include "smime/cms/signed_attributes.h"
#include "smime/mime/decoders.h"
#include "tests/unit/test_cms_verify_support.h"

using namespace ssm;
using namespace ssm::smime;
using namespace ssm::smime::cms;
using namespace ssm::verifytest;

namespace {

void assert_valid(const std::string& what, const SignerVerification& s, const Bytes& cert)
{
    CPPUNIT_ASSERT_MESSAGE(what + ": " + s.failure, s.signature_valid);
    CPPUNIT_ASSERT_MESSAGE(what, s.failure.empty());
    CPPUNIT_ASSERT_MESSAGE(what + ": signer certificate", s.signer_certificate_der == cert);
}

void assert_fails(const std::string& what, const SignerVerification& s, const std::string& reason)
{
    CPPUNIT_ASSERT_MESSAGE(what, !s.signature_valid);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, reason, s.failure);
    // Only an algorithm we do not implement is "unsupported"; a checked signature that is
    // wrong is not.
    CPPUNIT_ASSERT_EQUAL_MESSAGE(what, reason.rfind("unsupported algorithm", 0) == 0, s.unsupported);
}

// Replaces the last occurrence of `needle` (or the first) in `hay` by `repl`.
Bytes patched(Bytes hay, const Bytes& needle, const Bytes& repl, bool last)
{
    auto it = last ? std::find_end(hay.begin(), hay.end(), needle.begin(), needle.end())
                   : std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
    if (it == hay.end()) throw std::runtime_error("pattern not found");
    std::copy(repl.begin(), repl.end(), it);
    return hay;
}

Bytes from_hex(const std::string& h)
{
    Bytes b;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) b.push_back(std::uint8_t(std::stoi(h.substr(i, 2), nullptr, 16)));
    return b;
}

}  // namespace

class CmsVerifyTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsVerifyTest);
    CPPUNIT_TEST(openssl_detached_variants);
    CPPUNIT_TEST(openssl_opaque_variants);
    CPPUNIT_TEST(reports_signed_attributes);
    CPPUNIT_TEST(no_certificates_needs_extra);
    CPPUNIT_TEST(multi_valued_hint_is_ignored);
    CPPUNIT_TEST(two_signers);
    CPPUNIT_TEST(ess_signing_certificate);
    CPPUNIT_TEST(reencoded_signer_issuer);
    CPPUNIT_TEST(weak_rsa_signer_key_noted);
    CPPUNIT_TEST(swapped_certificate_fails_ess);
    CPPUNIT_TEST(tampered_content);
    CPPUNIT_TEST(tampered_signed_attribute);
    CPPUNIT_TEST(tampered_signature);
    CPPUNIT_TEST(md5_refused);
    CPPUNIT_TEST(pss_over_sha1_is_a_weak_digest);
    CPPUNIT_TEST(garbage_and_truncation);
    CPPUNIT_TEST(detached_with_content_refused);
    CPPUNIT_TEST(base64_decoder);
    CPPUNIT_TEST(base64_body_decoder_skips_trailing_text);
    CPPUNIT_TEST(quoted_printable_decoder);
    CPPUNIT_TEST_SUITE_END();

public:
    void openssl_detached_variants()
    {
        const Bytes content = fixture("content.txt");
        struct Case { const char* file; const char* cert; DigestAlgorithm digest; SignatureScheme scheme; };
        const Case cases[] = {
            {"rsa256.p7s", "alice", DigestAlgorithm::Sha256, SignatureScheme::RsaPkcs1v15},
            {"rsa384.p7s", "alice", DigestAlgorithm::Sha384, SignatureScheme::RsaPkcs1v15},
            {"rsa512.p7s", "alice", DigestAlgorithm::Sha512, SignatureScheme::RsaPkcs1v15},
            {"pss-max.p7s", "alice", DigestAlgorithm::Sha256, SignatureScheme::RsaPss},
            {"pss-hashlen.p7s", "alice", DigestAlgorithm::Sha256, SignatureScheme::RsaPss},
            {"pss512.p7s", "alice", DigestAlgorithm::Sha512, SignatureScheme::RsaPss},
            // MGF1 over another hash than the message's (RFC 4055 §3.1; base/rsa_pss.h).
            {"pss-mgf1sha1.p7s", "alice", DigestAlgorithm::Sha256, SignatureScheme::RsaPss},
            {"pss512-mgf1sha256.p7s", "alice", DigestAlgorithm::Sha512, SignatureScheme::RsaPss},
            {"p256.p7s", "bob", DigestAlgorithm::Sha256, SignatureScheme::Ecdsa},
            {"p384.p7s", "erin", DigestAlgorithm::Sha384, SignatureScheme::Ecdsa},
            {"noattr.p7s", "alice", DigestAlgorithm::Sha256, SignatureScheme::RsaPkcs1v15},
            {"keyid.p7s", "alice", DigestAlgorithm::Sha256, SignatureScheme::RsaPkcs1v15},
        };
        for (const auto& c : cases) {
            const VerifyResult r = detached(fixture(c.file), content);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.file, std::size_t(1), r.signers.size());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.file, std::string(oid::kData), r.econtent_type);
            const auto& s = r.signers[0];
            assert_valid(c.file, s, pki_cert(c.cert));
            CPPUNIT_ASSERT_MESSAGE(c.file, s.digest == c.digest && !s.weak_digest);
            CPPUNIT_ASSERT_MESSAGE(c.file, s.scheme == c.scheme);
            CPPUNIT_ASSERT_MESSAGE(c.file, !r.certificates.empty());
            CPPUNIT_ASSERT_MESSAGE(c.file, s.notes.empty());  // RSA-2048, P-256, P-384: none weak
        }
    }

    void openssl_opaque_variants()
    {
        const Bytes content = fixture("content.txt");
        const char* cases[][2] = {{"rsa256.p7m", "alice"}, {"rsa-stream.p7m", "alice"}, {"pss384.p7m", "alice"},
                                  {"p256.p7m", "bob"}, {"noattr.p7m", "alice"},
                                  {"pss-mgf1sha1.p7m", "alice"}};
        for (const auto& [file, cert] : cases) {
            const Opaque o = opaque(fixture(file));
            CPPUNIT_ASSERT_MESSAGE(file, o.content == content);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(file, std::size_t(1), o.result.signers.size());
            assert_valid(file, o.result.signers[0], pki_cert(cert));
        }
        // The -stream one really is indefinite-length BER (what the streaming reader is for).
        CPPUNIT_ASSERT(fixture("rsa-stream.p7m")[1] == 0x80);
    }

    void reports_signed_attributes()
    {
        const auto s = detached(fixture("rsa256.p7s"), fixture("content.txt")).signers.at(0);
        CPPUNIT_ASSERT(s.signing_time.has_value());
        const std::time_t now = std::time(nullptr);
        CPPUNIT_ASSERT(*s.signing_time > now - 3600 && *s.signing_time <= now + 60);
        CPPUNIT_ASSERT(s.smime_capabilities_der.has_value());
        CPPUNIT_ASSERT(!parse_smime_capabilities(*s.smime_capabilities_der).empty());
        const auto has = [&](const char* o) {
            return std::any_of(s.signed_attributes.begin(), s.signed_attributes.end(),
                               [&](const auto& a) { return a.first == o; });
        };
        CPPUNIT_ASSERT(has(oid::kContentType) && has(oid::kMessageDigest) && has(oid::kSigningTime));
        const auto n = detached(fixture("noattr.p7s"), fixture("content.txt")).signers.at(0);
        CPPUNIT_ASSERT(n.signed_attributes.empty() && !n.signing_time && !n.smime_capabilities_der);
    }

    void multi_valued_hint_is_ignored()
    {
        // One value: read as the hint it is.
        const auto one = detached(fixture("ms-one-value.p7s"), fixture("content.txt")).signers.at(0);
        assert_valid("ms-one-value", one, pki_cert("alice"));
        CPPUNIT_ASSERT(one.microsoft_key_preference_der.has_value() && one.ignored_hints.empty());
        // Two values (the attribute is single-valued): the signature still verifies, the hint
        // is left unread and named; its values stay among the signed attributes.
        const auto two = detached(fixture("ms-two-values.p7s"), fixture("content.txt")).signers.at(0);
        assert_valid("ms-two-values", two, pki_cert("alice"));
        CPPUNIT_ASSERT(!two.microsoft_key_preference_der);
        CPPUNIT_ASSERT(two.ignored_hints == std::vector<std::string>{oid::kMicrosoftEncrypKeyPref});
        CPPUNIT_ASSERT_EQUAL(std::ptrdiff_t(2),
                             std::count_if(two.signed_attributes.begin(), two.signed_attributes.end(),
                                           [](const auto& a) { return a.first == oid::kMicrosoftEncrypKeyPref; }));
        const std::vector<Bytes> certs{pki_cert("alice"), pki_cert("carol"), pki_cert("dave")};
        CPPUNIT_ASSERT(!signer_preferred_encryption_certificate(two, certs));
        // Still covered by the signature: a changed octet in the attribute fails it.
        Bytes sig = fixture("ms-two-values.p7s");
        const Bytes ms_oid{0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x10, 0x04};
        auto at = std::search(sig.begin(), sig.end(), ms_oid.begin(), ms_oid.end());
        CPPUNIT_ASSERT(at != sig.end());
        const Bytes name_text = to_bytes("SSM Test");  // in the first value's issuer Name
        at = std::search(at, sig.end(), name_text.begin(), name_text.end());
        CPPUNIT_ASSERT(at != sig.end());
        *at = 'R';
        assert_fails("ms-two-values tampered", detached(sig, fixture("content.txt")).signers.at(0), "bad signature");
    }

    void no_certificates_needs_extra()
    {
        const Bytes sig = fixture("nocerts.p7s"), content = fixture("content.txt");
        const auto without = detached(sig, content);
        CPPUNIT_ASSERT(without.certificates.empty());
        assert_fails("no certificate", without.signers.at(0), "signer certificate not in message");
        const std::vector<Bytes> extra{pki_cert("bob"), pki_cert("alice")};
        assert_valid("extra certificate", detached(sig, content, extra).signers.at(0), pki_cert("alice"));
    }

    void two_signers()
    {
        const auto r = detached(fixture("two.p7s"), fixture("content.txt"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), r.signers.size());
        // SignerInfos form a SET: DER order, so find each signer by certificate.
        const Bytes alice = pki_cert("alice"), bob = pki_cert("bob");
        int seen = 0;
        for (const auto& s : r.signers) {
            CPPUNIT_ASSERT_MESSAGE(s.failure, s.signature_valid);
            seen |= s.signer_certificate_der == alice ? 1 : s.signer_certificate_der == bob ? 2 : 4;
        }
        CPPUNIT_ASSERT_EQUAL(3, seen);
        // Tampered content fails both.
        Bytes other = fixture("content.txt");
        other.back() ^= 1;
        for (const auto& s : detached(fixture("two.p7s"), other).signers)
            assert_fails("two signers, tampered", s, "message digest mismatch");
    }

    void ess_signing_certificate()
    {
        const Bytes content = fixture("content.txt");
        const auto v2 = detached(fixture("cades.p7s"), content).signers.at(0);
        assert_valid("cades", v2, pki_cert("alice"));
        CPPUNIT_ASSERT(std::any_of(v2.signed_attributes.begin(), v2.signed_attributes.end(),
                                   [](const auto& a) { return a.first == oid::kSigningCertificateV2; }));
        const auto v1 = detached(fixture("cades-sha1.p7s"), content).signers.at(0);
        assert_valid("cades sha1", v1, pki_cert("alice"));
        CPPUNIT_ASSERT(v1.weak_digest);
        CPPUNIT_ASSERT(std::any_of(v1.signed_attributes.begin(), v1.signed_attributes.end(),
                                   [](const auto& a) { return a.first == oid::kSigningCertificate; }));
    }

    // The sid's issuer rebuilt by the sender (tests/fixtures/reencode_issuer.py: upper case,
    // doubled spaces, PrintableString or BMPString for UTF8String; the same Name under RFC 5280
    // §7.1) still finds the signer certificate: the sid is outside the signed attributes, so
    // the signature stays valid. Byte-for-byte issuer comparison lost the certificate ("signer
    // certificate not in message") until 2026-12-04. A Name that differs finds nothing.
    void reencoded_signer_issuer()
    {
        test::TempDir d;
        const Bytes content = fixture("content.txt");
        const std::string script = (test::source_dir() / "tests/fixtures/reencode_issuer.py").string();
        for (const std::string file : {"rsa256.p7s", "cades.p7s", "rsa256.p7m"}) {
            for (const std::string mode : {"printable", "bmp", "changed"}) {
                const std::string label = file + " " + mode;
                const fs::path out = d.path() / (mode + "-" + file);
                test::run("python3 '" + script + "' " + mode + " '" + (fixtures() / file).string() + "' '" +
                          out.string() + "'");
                const Bytes der = file_bytes(out);
                CPPUNIT_ASSERT_MESSAGE(label, der != fixture(file));
                const bool opaque_form = file.back() == 'm';
                const Opaque o = opaque_form ? opaque(der) : Opaque{};
                const VerifyResult r = opaque_form ? o.result : detached(der, content);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::size_t(1), r.signers.size());
                if (mode == "changed") {
                    assert_fails(label, r.signers[0], kSignerCertificateNotFound);
                    continue;
                }
                assert_valid(label, r.signers[0], pki_cert("alice"));
                if (opaque_form) CPPUNIT_ASSERT_MESSAGE(label, o.content == content);
            }
        }
    }

    // RFC 8551 §4: RSA signer keys of 2047 bits or fewer are ones receivers SHOULD NOT accept.
    // They still verify (old mail, the RFC 4134 examples) and are named in the signer's notes,
    // PKCS#1 v1.5 and PSS alike; 2048 bits are not. They passed unremarked until 2026-12-04.
    void weak_rsa_signer_key_noted()
    {
        test::TempDir d;
        const std::string pki = (fixtures() / "pki").string();
        test::run("cd '" + d.path().string() + "' && cp '" + (fixtures() / "content.txt").string() +
                  R"(' . && export OPENSSL_CONF=/dev/null && {
          printf 'basicConstraints=critical,CA:false
keyUsage=critical,digitalSignature
subjectAltName=email:alice@acme.example
' >ee.ext
          for bits in 1024 2047 2048; do
            openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:$bits -out k$bits.pem
            openssl req -new -key k$bits.pem -subj "/O=SSM Test/CN=alice $bits" -out k$bits.csr
            openssl x509 -req -in k$bits.csr -CA )" + pki + "/sub-ca.cert.pem -CAkey " + pki + R"(/sub-ca.key.pem               -set_serial 0x5a$bits -days 30 -extfile ee.ext -out c$bits.pem
            openssl cms -sign -binary -md sha256 -signer c$bits.pem -inkey k$bits.pem -in content.txt -outform DER -out v15-$bits.p7s
            openssl cms -sign -binary -md sha256 -signer c$bits.pem -inkey k$bits.pem -keyopt rsa_padding_mode:pss               -in content.txt -outform DER -out pss-$bits.p7s
          done; } >make.log 2>&1)");
        const Bytes content = fixture("content.txt");
        for (const std::string form : {"v15", "pss"}) {
            for (const auto& [bits, note] : {std::pair<const char*, const char*>{"1024", "signer-key-weak=rsa1024"},
                                             {"2047", "signer-key-weak=rsa2047"}, {"2048", ""}}) {
                const std::string label = form + " " + bits;
                const VerifyResult r = detached(file_bytes(d.path() / (form + "-" + bits + ".p7s")), content);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::size_t(1), r.signers.size());
                const auto& s = r.signers[0];
                CPPUNIT_ASSERT_MESSAGE(label + ": " + s.failure, s.signature_valid);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::size_t(*note ? 1 : 0), s.notes.size());
                if (*note) CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string(note), s.notes[0]);
            }
        }
    }

    void swapped_certificate_fails_ess()
    {
        // alice2 carries alice's key; pointing the (unsigned) sid at it keeps the signature
        // valid, and only the signingCertificateV2 binding notices the substitution.
        const Bytes content = fixture("content.txt");
        const Bytes sig = fixture("cades-nocerts.p7s");
        const Bytes serial = from_hex(test::read_file(fixtures() / "alice.serial"));
        const Bytes serial2 = from_hex(test::read_file(fixtures() / "alice2.serial"));
        const std::vector<Bytes> extra{pki_cert("alice"), fixture("alice2.cert.der")};
        assert_valid("unpatched", detached(sig, content, extra).signers.at(0), pki_cert("alice"));
        const Bytes swapped = patched(sig, serial, serial2, false);  // the sid comes first
        const auto s = detached(swapped, content, extra).signers.at(0);
        CPPUNIT_ASSERT(s.signer_certificate_der == fixture("alice2.cert.der"));
        assert_fails("swapped", s, "signingCertificateV2 does not match the signer certificate");
        // Without ESS the same substitution goes unnoticed: which is why the check is ours.
    }

    void tampered_content()
    {
        Bytes content = fixture("content.txt");
        content[content.size() / 2] ^= 0x20;
        for (const char* f : {"rsa256.p7s", "pss-max.p7s", "p384.p7s", "pss-mgf1sha1.p7s"})
            assert_fails(f, detached(fixture(f), content).signers.at(0), "message digest mismatch");
        // Without signed attributes the signature itself covers the content digest.
        assert_fails("noattr", detached(fixture("noattr.p7s"), content).signers.at(0), "bad signature");
        // Opaque: change a content octet inside the DER.
        const Bytes der = fixture("rsa256.p7m");
        const Bytes needle = to_bytes("verified");
        const Opaque o = opaque(patched(der, needle, to_bytes("Verified"), true));
        assert_fails("opaque", o.result.signers.at(0), "message digest mismatch");
    }

    void tampered_signed_attribute()
    {
        // Change the seconds digit of the signingTime, found by its attribute type and the
        // UTCTime (tag 0x17, 13 octets) in its value set. It was looked for as the last 17 0d in
        // the message, which a random ECDSA or PSS signature value after it holds now and then:
        // another octet changed, or (within its last 13 octets) one written past the end.
        const Bytes signing_time{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                                 0x09, 0x05, 0x31, 0x0f, 0x17, 0x0d};
        for (const char* f : {"rsa256.p7s", "p256.p7s", "pss-hashlen.p7s", "pss-mgf1sha1.p7s", "pss512-mgf1sha256.p7s"}) {
            Bytes sig = fixture(f);
            auto it = std::search(sig.begin(), sig.end(), signing_time.begin(), signing_time.end());
            CPPUNIT_ASSERT_MESSAGE(f, sig.end() - it > std::ptrdiff_t(signing_time.size() + 13));
            it += std::ptrdiff_t(signing_time.size() + 11);
            *it = *it == '0' ? '1' : '0';
            const auto s = detached(sig, fixture("content.txt")).signers.at(0);
            assert_fails(f, s, "bad signature");
        }
    }

    void tampered_signature()
    {
        for (const char* f : {"rsa256.p7s", "pss-max.p7s", "noattr.p7s", "pss-mgf1sha1.p7s"}) {
            Bytes sig = fixture(f);
            sig.back() ^= 0x01;  // the signature value ends the DER
            assert_fails(f, detached(sig, fixture("content.txt")).signers.at(0), "bad signature");
        }
        // ECDSA: a changed octet inside r (or a broken DER) must fail too.
        Bytes sig = fixture("p256.p7s");
        sig[sig.size() - 10] ^= 0x01;
        assert_fails("p256", detached(sig, fixture("content.txt")).signers.at(0), "bad signature");
    }

    void md5_refused()
    {
        assert_fails("md5", detached(fixture("md5.p7s"), fixture("content.txt")).signers.at(0),
                     "unsupported algorithm md5");
    }

    void pss_over_sha1_is_a_weak_digest()
    {
        // RSASSA-PSS with RFC 4055's defaults (SHA-1, mgf1SHA1, salt 20: all absent in DER):
        // checked like any other signature, then flagged as every SHA-1 signer is (it was
        // "unsupported", which a caller reports as neutral while v1.5 over SHA-1 fails).
        const auto s = detached(fixture("pss-sha1.p7s"), fixture("content.txt")).signers.at(0);
        assert_valid("pss-sha1", s, pki_cert("alice"));
        CPPUNIT_ASSERT(s.weak_digest && s.scheme == SignatureScheme::RsaPss);
        Bytes sig = fixture("pss-sha1.p7s");
        sig.back() ^= 0x01;
        assert_fails("pss-sha1 tampered", detached(sig, fixture("content.txt")).signers.at(0), "bad signature");
    }

    void garbage_and_truncation()
    {
        const Bytes content = fixture("content.txt");
        const Bytes garbage = to_bytes("this is not DER at all, just text");
        CPPUNIT_ASSERT(failure_of([&] { detached(garbage, content); }) == Failure::MalformedMessage);
        CPPUNIT_ASSERT(failure_of([&] { opaque(garbage); }) == Failure::MalformedMessage);
        CPPUNIT_ASSERT(failure_of([&] { opaque(Bytes{}); }) == Failure::MalformedMessage);
        for (const char* f : {"rsa256.p7m", "rsa-stream.p7m"}) {
            const Bytes der = fixture(f);
            // Every cut in the last 16 octets too: the end-of-contents octets of the streamed
            // (indefinite-length) form, which text after the base64 could otherwise hide.
            for (std::size_t n = 0; n < der.size(); n += (n < 64 || n + 16 >= der.size() ? 1 : 7)) {
                const Bytes cut(der.begin(), der.begin() + std::ptrdiff_t(n));
                CPPUNIT_ASSERT_MESSAGE(std::string(f) + " cut at " + std::to_string(n),
                                       failure_of([&] { opaque(cut); }) == Failure::MalformedMessage);
            }
            Bytes longer = der;
            longer.push_back(0);
            CPPUNIT_ASSERT(failure_of([&] { opaque(longer); }) == Failure::MalformedMessage);
        }
        const Bytes sig = fixture("rsa256.p7s");
        for (std::size_t n = 0; n < sig.size(); n += 5) {
            const Bytes cut(sig.begin(), sig.begin() + std::ptrdiff_t(n));
            CPPUNIT_ASSERT(failure_of([&] { detached(cut, content); }) == Failure::MalformedMessage);
        }
    }

    void detached_with_content_refused()
    {
        CPPUNIT_ASSERT(failure_of([&] { detached(fixture("rsa256.p7m"), fixture("content.txt")); }) ==
                       Failure::MalformedMessage);
        // And an opaque verifier handed a detached signature has no content to check.
        CPPUNIT_ASSERT(failure_of([&] { opaque(fixture("rsa256.p7s")); }) == Failure::MalformedMessage);
    }

    void base64_decoder()
    {
        test::TempDir d;
        const Bytes data = fixture("rsa512.p7s");
        test::write_file(d.path() / "in", std::string(as_chars(data)));
        test::run("openssl base64 -in " + (d.path() / "in").string() + " -out " + (d.path() / "b64").string());
        std::string b64 = test::read_file(d.path() / "b64");
        // CRLF line ends as in mail, written in awkward chunk sizes.
        std::string crlf;
        for (char c : b64) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
        for (std::size_t chunk : {std::size_t(1), std::size_t(3), std::size_t(77), crlf.size()}) {
            MemorySink out;
            mime::Base64Decoder dec(out);
            for (std::size_t i = 0; i < crlf.size(); i += chunk) dec.write(std::string_view(crlf).substr(i, chunk));
            dec.finish();
            CPPUNIT_ASSERT_MESSAGE("chunk " + std::to_string(chunk), out.data() == data);
        }
        for (const char* bad : {"QUJD*REVG", "QUJDRA==QUJD", "QUJDR"}) {
            const auto f = failure_of([&] {
                MemorySink out;
                mime::Base64Decoder dec(out);
                dec.write(std::string_view(bad));
                dec.finish();
            });
            CPPUNIT_ASSERT_MESSAGE(bad, f == Failure::MalformedMessage);
        }
    }

    void base64_body_decoder_skips_trailing_text()
    {
        // openssl base64 (64-character lines) and an unbroken encoding, of a signature whose
        // base64 ends with padding (rsa512.p7s) and of DER cut to a multiple of 3 (none).
        test::TempDir d;
        const Bytes whole = fixture("rsa512.p7s");
        const Bytes unpadded(whole.begin(), whole.begin() + std::ptrdiff_t(whole.size() / 3 * 3));
        const auto encode = [&](const Bytes& data, const char* flags) {
            test::write_file(d.path() / "in", std::string(as_chars(data)));
            test::run(std::string("openssl base64 ") + flags + " -in " + (d.path() / "in").string() + " -out " +
                      (d.path() / "b64").string());
            std::string crlf;
            for (char c : test::read_file(d.path() / "b64")) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
            return crlf;
        };
        const std::string lines = encode(whole, ""), unbroken = encode(whole, "-A");
        const std::string unpadded_lines = encode(unpadded, "");
        const Bytes first_lines(whole.begin(), whole.begin() + 48);  // the first 64 characters
        CPPUNIT_ASSERT(lines.find('=') != std::string::npos && unpadded_lines.find('=') == std::string::npos);
        CPPUNIT_ASSERT(unbroken.size() > 2 * mime::Base64BodyDecoder::kMaxHeldLine);
        std::string interleaved;  // blank and whitespace-only lines between the base64 lines
        for (char c : lines) interleaved += c == '\n' ? std::string("\n\r\n \t\r\n") : std::string(1, c);
        const std::string disclaimer = "\r\nCAUTION: This email originated from outside the organization.\r\n";
        struct Case {
            std::string what, text;
            const Bytes* expect;  // null: malformed
            bool trailing;
        };
        const Case cases[] = {
            {"plain", lines, &whole, false},
            {"unbroken", unbroken, &whole, false},
            {"blank lines interleaved", interleaved, &whole, false},
            {"whitespace after", lines + "\r\n  \r\n\t\r\n", &whole, false},
            // VT and FF are white space to nettle's decoder, so to this one too.
            {"vertical tab and form feed", lines.substr(0, 66) + "\v\f\r\n" + lines.substr(66) + "\f\r\n", &whole, false},
            {"disclaimer after padding", lines + disclaimer, &whole, true},
            {"base64 words after padding", lines + "Sent from my phone\r\n", &whole, true},
            {"disclaimer after unbroken", unbroken + "\r\n" + disclaimer, &whole, true},
            {"disclaimer, unpadded", unpadded_lines + disclaimer, &unpadded, true},
            {"signature separator, unpadded", unpadded_lines + "-- \r\nThe list\r\n", &unpadded, true},
            {"footer without a line end", lines + "_______________", &whole, true},
            // A row of '=' under the object (an anti-virus note's rule) is no padding: it
            // ends the base64 as any other footer line (it made the object malformed).
            {"row of = after padding", lines + "==========\r\nScanned for viruses\r\n", &whole, true},
            {"row of = after unpadded", unpadded_lines + "====\r\n", &unpadded, true},
            {"= with data after unpadded", unpadded_lines + "== END ==\r\n", &unpadded, true},
            {"garbage before", "Hello:\r\n" + lines, nullptr, false},
            // A damaged short line ends the base64 there: the object is cut short, which the
            // CMS decoder refuses (garbage_and_truncation).
            {"garbage inside", lines.substr(0, 130) + "*\r\n" + lines.substr(130), &first_lines, true},
            {"garbage in an unbroken line", unbroken.substr(0, 1500) + "*" + unbroken.substr(1500), nullptr, false},
            {"truncated, then a footer", lines.substr(0, 129) + "\r\n" + disclaimer, nullptr, false},
        };
        for (const auto& c : cases)
            for (std::size_t chunk : {std::size_t(1), std::size_t(3), std::size_t(77), c.text.size()}) {
                const std::string what = c.what + ", chunk " + std::to_string(chunk);
                MemorySink out;
                mime::Base64BodyDecoder dec(out);
                std::optional<Failure> f;
                try {
                    for (std::size_t i = 0; i < c.text.size(); i += chunk) dec.write(std::string_view(c.text).substr(i, chunk));
                    dec.finish();
                } catch (const Error& e) {
                    f = e.failure();
                }
                if (!c.expect) {
                    CPPUNIT_ASSERT_MESSAGE(what, f == Failure::MalformedMessage);
                    continue;
                }
                CPPUNIT_ASSERT_MESSAGE(what, !f);
                CPPUNIT_ASSERT_MESSAGE(what, out.data() == *c.expect);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, c.trailing, dec.trailing_text());
            }
    }

    void quoted_printable_decoder()
    {
        // Python's quopri (a third-party encoder) over text with trailing spaces, '=', long
        // lines and 8-bit octets; then hand-written cases for soft breaks and padding.
        test::TempDir d;
        std::string text = "caf\xc3\xa9 = 100%\r\ntrailing space   \r\n" + std::string(200, 'x') + "\r\n\ttab\r\nend";
        test::write_file(d.path() / "in", text);
        test::run("python3 -c 'import quopri,sys; quopri.encode(open(sys.argv[1],\"rb\"), open(sys.argv[2],\"wb\"), quotetabs=False)' " +
                  (d.path() / "in").string() + " " + (d.path() / "qp").string());
        const std::string qp = test::read_file(d.path() / "qp");
        for (std::size_t chunk : {std::size_t(1), std::size_t(2), qp.size()}) {
            MemorySink out;
            mime::QuotedPrintableDecoder dec(out);
            for (std::size_t i = 0; i < qp.size(); i += chunk) dec.write(std::string_view(qp).substr(i, chunk));
            dec.finish();
            CPPUNIT_ASSERT_EQUAL_MESSAGE("chunk " + std::to_string(chunk), text, out.str());
        }
        const std::pair<const char*, const char*> cases[] = {
            {"a=3D=3db", "a==b"},  {"soft=\r\nbreak", "softbreak"}, {"soft=  \r\nbreak", "softbreak"},
            {"lf=\nbreak", "lfbreak"}, {"pad   \r\nx", "pad\r\nx"}, {"odd=G1", "odd=G1"},
            {"end=", "end="},      {"end=4", "end=4"},              {"lone\rcr", "lone\rcr"},
            {"a \tb", "a \tb"},    {"tail  ", "tail"},
        };
        for (const auto& [in, want] : cases) {
            MemorySink out;
            mime::QuotedPrintableDecoder dec(out);
            dec.write(std::string_view(in));
            dec.finish();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(in, std::string(want), out.str());
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsVerifyTest);
