// How many values, and how many instances, a signed attribute may have (RFC 5652 §5.3, §11;
// RFC 8551 §2.5; RFC 5035): the attributes the verification rests on (contentType,
// messageDigest, signingTime, ESS signing certificate) fail the signer with any count but
// one; the sender's hints (SMIMECapabilities, sMIMEEncryptionKeyPreference) are left unread
// and named; an attribute type twice fails whatever it is; attributes sent out of DER order
// or by a BER encoder verify over their DER when that is what was signed; opaque SignedData
// verifies whatever digestAlgorithms lists. SignedData put together by Python
// (tests/fixtures/der_build.py) and signed by `openssl dgst`, not by our code.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>

#include "smime/cms/oids.h"
#include "smime/cms/verify.h"
#include "smime/cms/verify_stream.h"
#include "tests/unit/test_cms_verify_support.h"

using namespace ssm;
using namespace ssm::smime;
using namespace ssm::smime::cms;
using namespace ssm::verifytest;

namespace {

// Usage: attrs.py SRC CERT.der KEY.pem CONTENT OUTDIR; writes OUTDIR/NAME.p7s per case.
const char* const kScript = R"PY(
import hashlib, os, subprocess, sys
src, cert, key, content, outdir = sys.argv[1:6]
sys.path.insert(0, os.path.join(src, 'tests/fixtures'))
from der_build import tlv, children, oid, der

c = open(cert, 'rb').read()
def issuer_and_serial(c):
    tbs = children(c, *tlv(c, 0)[1:])[0]
    f = children(c, tbs[2], tbs[3])
    k = 1 if f[0][0] == 0xa0 else 0
    return c[f[k + 2][1]:f[k + 2][3]] + c[f[k][1]:f[k][3]]

sha256 = der(0x30, oid('2.16.840.1.101.3.4.2.1') + b'\x05\x00')
def attr(o, *values): return der(0x30, oid(o) + der(0x31, b''.join(sorted(values))))
CT, MD, ST = '1.2.840.113549.1.9.3', '1.2.840.113549.1.9.4', '1.2.840.113549.1.9.5'
CAPS, PREF, ESS2 = '1.2.840.113549.1.9.15', '1.2.840.113549.1.9.16.2.11', '1.2.840.113549.1.9.16.2.47'
data = oid('1.2.840.113549.1.7.1')
digest = der(0x04, hashlib.sha256(open(content, 'rb').read()).digest())
other_digest = der(0x04, hashlib.sha256(b'other').digest())
t1, t2 = der(0x17, b'260101000000Z'), der(0x17, b'260102000000Z')
caps1 = der(0x30, der(0x30, oid('2.16.840.1.101.3.4.1.42')))   # aes256-CBC
caps2 = der(0x30, der(0x30, oid('1.2.840.113549.3.7')))        # des-ede3-cbc
pref1 = der(0xa0, issuer_and_serial(c))
pref2 = der(0x81, hashlib.sha1(c).digest())                    # subjectKeyIdentifier form
ess1 = der(0x30, der(0x30, der(0x30, der(0x04, hashlib.sha256(c).digest()))))
ess2 = der(0x30, der(0x30, der(0x30, der(0x04, hashlib.sha256(b'x').digest()))))
base = [attr(CT, data), attr(MD, digest), attr(ST, t1)]
cases = {
    'plain': base,
    'ess-one-value': base + [attr(ESS2, ess1)],
    'ct-two-values': [attr(CT, data, oid('1.2.840.113549.1.7.2')), attr(MD, digest), attr(ST, t1)],
    'md-two-values': [attr(CT, data), attr(MD, digest, other_digest), attr(ST, t1)],
    'st-two-values': [attr(CT, data), attr(MD, digest), attr(ST, t1, t2)],
    'ess-two-values': base + [attr(ESS2, ess1, ess2)],
    'st-no-value': [attr(CT, data), attr(MD, digest), attr(ST)],
    'caps-two-values': base + [attr(CAPS, caps1, caps2)],
    'caps-no-value': base + [attr(CAPS)],
    'pref-two-values': base + [attr(PREF, pref1, pref2)],
    'ct-twice': base + [attr(CT, data)],
    'caps-twice': base + [attr(CAPS, caps1), attr(CAPS, caps2)],
    'pref-twice': base + [attr(PREF, pref1), attr(PREF, pref1)],
}
# ESS signingCertificate(V2) whose issuerSerial names alice's issuer as the certificate writes it,
# rebuilt (reencode_issuer.py: upper case, extra spaces, PrintableString or BMPString: the same
# Name under RFC 5280 7.1), with a value changed, and as another CA's name (the root's).
from reencode_issuer import reencoded_name
ESS1 = '1.2.840.113549.1.9.16.2.12'
def tbs_fields(c):
    tbs = children(c, *tlv(c, 0)[1:])[0]
    f = children(c, tbs[2], tbs[3])
    return f[1:] if f[0][0] == 0xa0 else f  # serial, signature, issuer, validity, subject, ...
def tlv_at(c, field): return c[field[1]:field[3]]
serial, issuer = tlv_at(c, tbs_fields(c)[0]), tlv_at(c, tbs_fields(c)[2])
root = open(os.path.join(os.path.dirname(cert), 'root-ca.cert.der'), 'rb').read()
issuers = {'exact': issuer, 'printable': reencoded_name(issuer, 'printable'), 'bmp': reencoded_name(issuer, 'bmp'),
           'changed': reencoded_name(issuer, 'changed'), 'other-ca': tlv_at(root, tbs_fields(root)[4])}
for form, name_der in issuers.items():
    issuer_serial = der(0x30, der(0x30, der(0xa4, name_der)) + serial)  # GeneralNames { directoryName }
    ess_v2 = der(0x30, der(0x30, der(0x30, der(0x04, hashlib.sha256(c).digest()) + issuer_serial)))
    ess_v1 = der(0x30, der(0x30, der(0x30, der(0x04, hashlib.sha1(c).digest()) + issuer_serial)))
    cases['ess2-issuer-' + form] = base + [attr(ESS2, ess_v2)]
    cases['ess1-issuer-' + form] = base + [attr(ESS1, ess_v1)]
# Out of DER order (RFC 5652 §5.4: the signature is over the DER, a sorted SET OF): signed
# over the DER and sent reversed; signed over the reversed octets as sent; signed over the
# DER, sent reversed with another signing time (no order makes that one verify).
unsorted = list(reversed(sorted(base)))
orders = {'sent-unsorted': (sorted(base), unsorted), 'signed-unsorted': (unsorted, unsorted),
          'sent-unsorted-changed': (sorted(base), list(reversed(sorted([attr(CT, data), attr(MD, digest), attr(ST, t2)]))))}
for name, attrs in list(cases.items()) + [(n, o) for n, o in orders.items()]:
    signed_order, sent_order = attrs if isinstance(attrs, tuple) else (sorted(attrs), sorted(attrs))
    signed = der(0x31, b''.join(signed_order))
    sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', key], input=signed,
                         capture_output=True, check=True).stdout
    signed = der(0x31, b''.join(sent_order))
    si = der(0x30, b'\x02\x01\x01' + der(0x30, issuer_and_serial(c)) + sha256 + b'\xa0' + signed[1:] +
             der(0x30, oid('1.2.840.113549.1.1.1') + b'\x05\x00') + der(0x04, sig))
    sd = der(0x30, b'\x02\x01\x01' + der(0x31, sha256) + der(0x30, data) + der(0xa0, c) + der(0x31, si))
    open(os.path.join(outdir, name + '.p7s'), 'wb').write(der(0x30, oid('1.2.840.113549.1.7.2') + der(0xa0, sd)))

def content_info(sd): return der(0x30, oid('1.2.840.113549.1.7.2') + der(0xa0, sd))
def signer_info(sent_attrs, sig):
    return der(0x30, b'\x02\x01\x01' + der(0x30, issuer_and_serial(c)) + sha256 + b'\xa0' + sent_attrs[1:] +
               der(0x30, oid('1.2.840.113549.1.1.1') + b'\x05\x00') + der(0x04, sig))
signed = der(0x31, b''.join(sorted(base)))
sig = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', key], input=signed, capture_output=True, check=True).stdout
# Signed over the DER, sent as a BER encoder may send them (RFC 5652 §5.4: "a separate
# encoding"): indefinite lengths throughout, the messageDigest value in two segments.
def indef(tag, body): return bytes([tag, 0x80]) + body + b'\0\0'
d = hashlib.sha256(open(content, 'rb').read()).digest()
ber_md = indef(0x24, der(0x04, d[:16]) + der(0x04, d[16:]))
ber_attrs = indef(0x31, b''.join(indef(0x30, oid(o) + indef(0x31, v)) for o, v in sorted(
    [(CT, data), (MD, ber_md), (ST, t1)], key=lambda a: attr(a[0], digest if a[0] == MD else a[1]))))
sd = der(0x30, b'\x02\x01\x01' + der(0x31, sha256) + der(0x30, data) + der(0xa0, c) + der(0x31, signer_info(ber_attrs, sig)))
open(os.path.join(outdir, 'sent-ber.p7s'), 'wb').write(content_info(sd))
# Opaque, with digestAlgorithms that do not list the signer's SHA-256 (a hint, RFC 5652 §5.1).
econtent = der(0x30, data + der(0xa0, der(0x04, open(content, 'rb').read())))
for name, listed in (('listed-none', b''), ('listed-sha1', der(0x30, oid('1.3.14.3.2.26') + b'\x05\x00')),
                     ('listed-sha256', sha256)):
    sd = der(0x30, b'\x02\x01\x01' + der(0x31, listed) + econtent + der(0xa0, c) + der(0x31, signer_info(signed, sig)))
    open(os.path.join(outdir, name + '.p7m'), 'wb').write(content_info(sd))
)PY";

}  // namespace

class CmsVerifyAttrsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CmsVerifyAttrsTest);
    CPPUNIT_TEST(value_and_instance_counts);
    CPPUNIT_TEST(attributes_out_of_der_order);
    CPPUNIT_TEST(attributes_from_a_ber_encoder);
    CPPUNIT_TEST(opaque_digest_not_listed);
    CPPUNIT_TEST(ess_issuer_as_rfc5280_compares);
    CPPUNIT_TEST_SUITE_END();

    test::TempDir d;
    bool made = false;

    // The signatures of kScript, made once per fixture.
    void make()
    {
        if (made) return;
        made = true;
        test::write_file(d.path() / "attrs.py", kScript);
        const auto p = [&](const std::string& f) { return "'" + f + "'"; };
        test::run("python3 " + p((d.path() / "attrs.py").string()) + " " + p(test::source_dir().string()) + " " +
                  p((fixtures() / "pki/alice.cert.der").string()) + " " + p((fixtures() / "pki/alice.key.pem").string()) +
                  " " + p((fixtures() / "content.txt").string()) + " " + p(d.path().string()));
    }

public:
    void value_and_instance_counts()
    {
        make();
        const Bytes alice = pki_cert("alice");
        struct Case {
            const char* name;
            const char* failure;       // empty: the signer is valid
            const char* ignored_hint;  // the OID named in ignored_hints, or null
        };
        const Case cases[] = {
            {"plain", "", nullptr},
            {"ess-one-value", "", nullptr},
            {"ct-two-values", "signed attribute 1.2.840.113549.1.9.3 must have exactly one value", nullptr},
            {"md-two-values", "signed attribute 1.2.840.113549.1.9.4 must have exactly one value", nullptr},
            {"st-two-values", "signed attribute 1.2.840.113549.1.9.5 must have exactly one value", nullptr},
            {"st-no-value", "signed attribute 1.2.840.113549.1.9.5 must have exactly one value", nullptr},
            {"ess-two-values", "signed attribute 1.2.840.113549.1.9.16.2.47 must have exactly one value", nullptr},
            {"caps-two-values", "", oid::kSmimeCapabilities},
            {"caps-no-value", "", oid::kSmimeCapabilities},
            {"pref-two-values", "", oid::kEncrypKeyPref},
            {"ct-twice", "duplicate signed attribute 1.2.840.113549.1.9.3", nullptr},
            {"caps-twice", "duplicate signed attribute 1.2.840.113549.1.9.15", nullptr},
            {"pref-twice", "duplicate signed attribute 1.2.840.113549.1.9.16.2.11", nullptr},
        };
        for (const auto& c : cases) {
            const Bytes sig = file_bytes(d.path() / (std::string(c.name) + ".p7s"));
            const SignerVerification s = detached(sig, fixture("content.txt")).signers.at(0);
            if (*c.failure) {
                CPPUNIT_ASSERT_MESSAGE(c.name, !s.signature_valid);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(c.failure), s.failure);
                continue;
            }
            CPPUNIT_ASSERT_MESSAGE(std::string(c.name) + ": " + s.failure, s.signature_valid && s.failure.empty());
            CPPUNIT_ASSERT_MESSAGE(c.name, s.signer_certificate_der == alice);
            if (!c.ignored_hint) {
                CPPUNIT_ASSERT_MESSAGE(c.name, s.ignored_hints.empty());
                continue;
            }
            // Left unread: nothing to harvest as capabilities, no certificate preferred for
            // encryption to the sender; the values stay listed as what the signature covers.
            CPPUNIT_ASSERT_MESSAGE(c.name, s.ignored_hints == std::vector<std::string>{c.ignored_hint});
            CPPUNIT_ASSERT_MESSAGE(c.name, !s.smime_capabilities_der && !s.encryption_key_preference_der &&
                                               !s.microsoft_key_preference_der);
            CPPUNIT_ASSERT_MESSAGE(c.name, !signer_preferred_encryption_certificate(s, std::vector<Bytes>{alice}));
            const auto listed = std::count_if(s.signed_attributes.begin(), s.signed_attributes.end(),
                                              [&](const auto& a) { return a.first == c.ignored_hint; });
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c.name, std::string(c.name) == "caps-no-value" ? 0 : 2, int(listed));
        }
    }

    // The issuerSerial of an ESS signingCertificate(V2) (RFC 2634 §5.4, RFC 5035) names the
    // issuer by a Name the signer may rebuild rather than copy from the certificate: re-encoded
    // (another string type, case, spacing: the same Name under RFC 5280 §7.1) it still names the
    // signer certificate. Until 2026-12-04 it was compared byte for byte, and the signer's own
    // good signature failed as a mismatch. A Name with another value, or another CA's Name (the
    // root's, which signed alice's issuer), still does not match.
    void ess_issuer_as_rfc5280_compares()
    {
        make();
        const std::string v1_mismatch = "signingCertificate does not match the signer certificate";
        const std::string v2_mismatch = "signingCertificateV2 does not match the signer certificate";
        const std::pair<const char*, std::string> cases[] = {
            {"ess2-issuer-exact", ""},           {"ess1-issuer-exact", ""},
            {"ess2-issuer-printable", ""},       {"ess1-issuer-printable", ""},
            {"ess2-issuer-bmp", ""},             {"ess1-issuer-bmp", ""},
            {"ess2-issuer-changed", v2_mismatch}, {"ess1-issuer-changed", v1_mismatch},
            {"ess2-issuer-other-ca", v2_mismatch}, {"ess1-issuer-other-ca", v1_mismatch},
        };
        for (const auto& [name, failure] : cases) {
            const SignerVerification s =
                detached(file_bytes(d.path() / (std::string(name) + ".p7s")), fixture("content.txt")).signers.at(0);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, failure, s.failure);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, failure.empty(), s.signature_valid);
            CPPUNIT_ASSERT_MESSAGE(name, s.signer_certificate_der == pki_cert("alice"));
        }
    }

    // Sent out of DER order: verified over the octets received, else over their DER (then
    // what the signer signed, and what a receipt's msgSigDigest is over). Failed over the
    // received octets only until 2026-12-04, as OpenSSL 3.0 fails it.
    void attributes_out_of_der_order()
    {
        make();
        const auto signer = [&](const char* name) {
            return detached(file_bytes(d.path() / (std::string(name) + ".p7s")), fixture("content.txt")).signers.at(0);
        };
        const SignerVerification sent = signer("sent-unsorted");
        CPPUNIT_ASSERT_MESSAGE(sent.failure, sent.signature_valid && sent.failure.empty());
        const SignerVerification plain = signer("plain");
        CPPUNIT_ASSERT_MESSAGE("the DER form is kept", sent.signed_attributes_der == plain.signed_attributes_der);
        const SignerVerification as_sent = signer("signed-unsorted");
        CPPUNIT_ASSERT_MESSAGE(as_sent.failure, as_sent.signature_valid && as_sent.failure.empty());
        CPPUNIT_ASSERT_MESSAGE("the octets signed are kept", as_sent.signed_attributes_der != plain.signed_attributes_der);
        const SignerVerification changed = signer("sent-unsorted-changed");
        CPPUNIT_ASSERT(!changed.signature_valid);
        CPPUNIT_ASSERT_EQUAL(std::string("bad signature"), changed.failure);
    }

    // Signed over their DER, sent with indefinite lengths and the messageDigest in segments:
    // verified over their DER form, which is kept. Failed as a bad signature until 2026-12-04.
    void attributes_from_a_ber_encoder()
    {
        make();
        const auto signer = [&](const char* name) {
            return detached(file_bytes(d.path() / (std::string(name) + ".p7s")), fixture("content.txt")).signers.at(0);
        };
        const SignerVerification ber = signer("sent-ber");
        CPPUNIT_ASSERT_MESSAGE(ber.failure, ber.signature_valid && ber.failure.empty());
        CPPUNIT_ASSERT_MESSAGE("the DER form is kept", ber.signed_attributes_der == signer("plain").signed_attributes_der);
    }

    // Opaque SignedData whose digestAlgorithms do not list the signer's digest (empty, or SHA-1
    // only): the content is hashed again with it, as the detached form is hashed per signer.
    // Failed with "digest algorithm not listed in digestAlgorithms" until 2026-12-04.
    void opaque_digest_not_listed()
    {
        make();
        const Bytes content = fixture("content.txt");
        for (const char* name : {"listed-none", "listed-sha1", "listed-sha256"}) {
            const Opaque o = opaque(file_bytes(d.path() / (std::string(name) + ".p7m")));
            CPPUNIT_ASSERT_MESSAGE(name, o.content == content);
            const SignerVerification& s = o.result.signers.at(0);
            CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + s.failure, s.signature_valid && s.failure.empty());
        }
        // The second pass hashes the content with the digests the first lacked, and with
        // those alone: SHA-1, which digestAlgorithms lists, was hashed by the first.
        const Bytes der = file_bytes(d.path() / "listed-sha1.p7m");
        MemorySource src(der);
        MemorySink out;
        const AlgorithmId sha256 = digest_algorithm_id(DigestAlgorithm::Sha256);
        const StreamedSignedData again = read_signed_data_stream(src, out, std::span(&sha256, 1));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), again.content_digests.size());
        CPPUNIT_ASSERT_EQUAL(sha256.oid, again.content_digests[0].first);
        CPPUNIT_ASSERT(out.data() == content);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CmsVerifyAttrsTest);
