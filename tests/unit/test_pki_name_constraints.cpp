// Unit tests for name constraints of every form (pki/name_constraints.h): constraints that bind
// intermediate CAs (GnuTLS 3.7 checks the end entity only), excluded directoryName and URI
// subtrees (GnuTLS 3.7 refuses every path below them), rfc822Name hosts and domains, the
// subject's emailAddress, iPAddress subtrees, forms we do not compare, the anchor's subtrees, TLS
// features (the other meaning of GnuTLS's signer-constraints bit); and table-driven cases of the
// per-form matching.
// Every certificate is made here by openssl; nothing is made by our code.
#include <cppunit/extensions/HelperMacros.h>

#include <ctime>
#include <string>
#include <utility>
#include <vector>

#include "base/der_tlv.h"
#include "pki/certificate.h"
#include "pki/certificate_signature.h"
#include "pki/name_match.h"
#include "pki/trust_store.h"
#include "tests/unit/test_pki_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fs = std::filesystem;

namespace {

// All on P-256 keys, made with test::openssl_pki's functions. issue OUT SUBJECT ISSUER EXT
// issues a certificate; root OUT SUBJECT EXT self-signs.
const char* nc_script = R"SH(
root_ca=$ca    # a root's own: no authorityKeyIdentifier
ca=$caki       # every issued CA certificate names its issuer's key
root() {  # OUT SUBJECT EXT
  key "$1"; csr "$1" "$2"; self "$1" "$root_ca\n$3"
}
issue() {  # OUT SUBJECT ISSUER EXT
  key "$1"; csr "$1" "$2"; cross "$1" "$1" "$3" "$4"
}
root nroot "/O=NC/CN=NC-Root" ""
# Constraints that bind an intermediate CA's own names (rfc822Name, dNSName).
issue top-mail "/O=NC/CN=Top-Mail" nroot "$ca\nnameConstraints=critical,permitted;email:.example.com"
issue sub-mail-ok "/O=NC/CN=Sub-Mail-OK" top-mail "$ca\nsubjectAltName=email:ca@mail.example.com"
issue sub-mail-bad "/O=NC/CN=Sub-Mail-Bad" top-mail "$ca\nsubjectAltName=email:ca@other.example"
issue sub-mail-dn "/O=NC/CN=Sub-Mail-DN/emailAddress=ca@other.example" top-mail "$ca"
for s in ok bad dn; do issue ee-sub-mail-$s "/O=NC/CN=ee" sub-mail-$s "$ee\nsubjectAltName=email:ee@mail.example.com"; done
issue top-dns "/O=NC/CN=Top-DNS" nroot "$ca\nnameConstraints=critical,permitted;DNS:example.com"
issue sub-dns-ok "/O=NC/CN=Sub-DNS-OK" top-dns "$ca\nsubjectAltName=DNS:ca.example.com"
issue sub-dns-bad "/O=NC/CN=Sub-DNS-Bad" top-dns "$ca\nsubjectAltName=DNS:ca.example.org"
for s in ok bad; do issue ee-sub-dns-$s "/O=NC/CN=ee" sub-dns-$s "$ee\nsubjectAltName=DNS:host.example.com"; done
# An excluded directoryName subtree.
issue xdn "/O=NC/CN=Excluded-DN" nroot "$ca\nnameConstraints=critical,excluded;dirName:bad\n[bad]\nO=Bad"
issue xdn-out "/O=Good/CN=ee" xdn "$ee\nsubjectAltName=email:ee@good.example"
issue xdn-in "/O=Bad/CN=ee" xdn "$ee\nsubjectAltName=email:ee@bad.example"
issue xdn-san "/O=Good/CN=ee" xdn "$ee\nsubjectAltName=email:ee@good.example,dirName:badsan\n[badsan]\nO=Bad\nCN=alias"
# ... and one whose value has a space: RFC 4518 insignificant space handling (RFC 5280 7.1).
issue xsp "/O=NC/CN=Excluded-Spaced-DN" nroot "$ca\nnameConstraints=critical,excluded;dirName:bad\n[bad]\nO=Bad Org"
issue xsp-in "/O=Bad  Org/CN=ee" xsp "$ee\nsubjectAltName=email:ee@good.example"
issue xsp-out "/O=Good Org/CN=ee" xsp "$ee\nsubjectAltName=email:ee@good.example"
# rfc822Name: a domain (".example.com": hosts below it only) and a host ("example.com" only).
issue xdom "/O=NC/CN=Excluded-Domain" nroot "$ca\nnameConstraints=critical,excluded;email:.example.com"
issue xdom-host "/O=NC/CN=ee" xdom "$ee\nsubjectAltName=email:a@example.com"
issue xdom-below "/O=NC/CN=ee" xdom "$ee\nsubjectAltName=email:a@mail.EXAMPLE.com"
issue xdom-sub "/O=NC/CN=XDom-Sub" xdom "$ca\nsubjectAltName=email:ca@mail.example.com"
issue xdom-sub-ee "/O=NC/CN=ee" xdom-sub "$ee\nsubjectAltName=email:a@example.com"
issue xhost "/O=NC/CN=Excluded-Host" nroot "$ca\nnameConstraints=critical,excluded;email:example.com"
issue xhost-host "/O=NC/CN=ee" xhost "$ee\nsubjectAltName=email:a@Example.COM"
issue xhost-below "/O=NC/CN=ee" xhost "$ee\nsubjectAltName=email:a@mail.example.com"
# The subject's emailAddress (RFC 5280 4.2.1.6) under rfc822Name constraints.
issue pmail "/O=NC/CN=Permitted-Mail" nroot "$ca\nnameConstraints=critical,permitted;email:.example.com"
issue pmail-dn-in "/O=NC/CN=ee/emailAddress=ee@mail.example.com" pmail "$ee"
issue pmail-dn-out "/O=NC/CN=ee/emailAddress=ee@other.example" pmail "$ee"
issue pmail-dn-out-san "/O=NC/CN=ee/emailAddress=ee@other.example" pmail "$ee\nsubjectAltName=email:ee@mail.example.com"
# iPAddress: IPv4 permitted and excluded.
issue ipca "/O=NC/CN=IP-CA" nroot "$ca\nnameConstraints=critical,permitted;IP:192.0.2.0/255.255.255.0,excluded;IP:192.0.2.128/255.255.255.128"
issue ip-in "/O=NC/CN=ee" ipca "$ee\nsubjectAltName=IP:192.0.2.1"
issue ip-excluded "/O=NC/CN=ee" ipca "$ee\nsubjectAltName=IP:192.0.2.200"
issue ip-outside "/O=NC/CN=ee" ipca "$ee\nsubjectAltName=IP:198.51.100.1"
issue ip-sub "/O=NC/CN=IP-Sub" ipca "$ca\nsubjectAltName=IP:192.0.2.200"
issue ip-sub-ee "/O=NC/CN=ee" ip-sub "$ee\nsubjectAltName=IP:192.0.2.1"
# A form we do not compare (otherName) under a CA that constrains it, and an excluded URI subtree.
issue oca "/O=NC/CN=OtherName-CA" nroot "$ca\nnameConstraints=critical,excluded;otherName:1.3.6.1.4.1.55555.8.1;UTF8:x"
issue oca-none "/O=NC/CN=ee" oca "$ee\nsubjectAltName=email:ee@example.com"
issue oca-other "/O=NC/CN=ee" oca "$ee\nsubjectAltName=email:ee@example.com,otherName:1.3.6.1.4.1.55555.8.1;UTF8:y"
issue oca-sub "/O=NC/CN=OtherName-Sub" oca "$ca"
issue oca-sub-ee "/O=NC/CN=ee" oca-sub "$ee\nsubjectAltName=email:ee@example.com"
issue upnca "/O=NC/CN=UPN-CA" nroot "$ca\nnameConstraints=critical,permitted;otherName:1.3.6.1.4.1.311.20.2.3;UTF8:@example.com"
issue upnca-ee "/O=NC/CN=ee" upnca "$ee\nsubjectAltName=email:ee@example.com"
# An RSA CA that signs with RSA-PSS, its salt as long as the hash (pki/certificate_signature.h
# signed_by; GnuTLS 3.7.9 verifies no other salt length in a certificate, certtool neither).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out psca.key 2>/dev/null
printf '[x]\n%b\n' "$ca" > psca.ext
openssl req -new -key psca.key -subj "/O=NC/CN=PSS-CA" -out psca.csr 2>/dev/null
openssl x509 -req -in psca.csr -CA nroot.pem -CAkey nroot.key -set_serial 900 -days 3650 -extfile psca.ext -extensions x -out psca.pem 2>/dev/null
for salt in digest max; do
  key pss-$salt-ee; printf '[x]\n%b\n' "$ee\nsubjectAltName=email:ee@example.com" > pss-$salt-ee.ext
  openssl req -new -key pss-$salt-ee.key -subj "/O=NC/CN=ee" -out pss-$salt-ee.csr 2>/dev/null
  openssl x509 -req -in pss-$salt-ee.csr -CA psca.pem -CAkey psca.key -set_serial 90$((${#salt})) -days 3650 \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:$salt -extfile pss-$salt-ee.ext -extensions x -out pss-$salt-ee.pem 2>/dev/null
done
# The same CA signing RSA-PSS SHA-256 with MGF1 over SHA-1 (RFC 4055 §3.1 allows any pair; OpenSSL
# makes and accepts it): GnuTLS 3.7.9 reports the signature invalid, as for the "max" salt above.
key pss-mgf1sha1-ee; cp pss-digest-ee.ext pss-mgf1sha1-ee.ext
openssl req -new -key pss-mgf1sha1-ee.key -subj "/O=NC/CN=ee" -out pss-mgf1sha1-ee.csr 2>/dev/null
openssl x509 -req -in pss-mgf1sha1-ee.csr -CA psca.pem -CAkey psca.key -set_serial 910 -days 3650 -sha256 \
  -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha1 -extfile pss-mgf1sha1-ee.ext \
  -extensions x -out pss-mgf1sha1-ee.pem 2>/dev/null
# RSA CAs the PSS-CA signs as above (MGF1 over SHA-1), and what hangs below them: GnuTLS 3.7.9
# checks nothing of a path below such a link itself (check_path verifies the parts).
pss_sub() {  # OUT SUBJECT EXT: an RSA CA signed by psca with RSA-PSS SHA-256, MGF1-SHA-1
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
  serial=$((serial+1)); printf '[x]\n%b\n' "$3" > "$1.ext"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA psca.pem -CAkey psca.key -set_serial $serial -days 3650 -sha256 \
    -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha1 -extfile "$1.ext" \
    -extensions x -out "$1.pem" 2>/dev/null
}
pss_sub pssub "/O=NC/CN=PSS-Sub" "$caki"
issue pssub-ee "/O=NC/CN=ee" pssub "$ee\nsubjectAltName=email:ee@example.com"
issue pssub-revoked "/O=NC/CN=revoked" pssub "$ee\nsubjectAltName=email:revoked@example.com"
issue pssub-server-ee "/O=NC/CN=ee" pssub "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=email:ee@example.com"
issue pssub-tls "/O=NC/CN=PSS-Sub-TLS" pssub "$caki\nextendedKeyUsage=serverAuth"
issue pssub-tls-ee "/O=NC/CN=ee" pssub-tls "$ee\nsubjectAltName=email:ee@example.com"
pss_sub pssub-srv "/O=NC/CN=PSS-Sub-Server" "$caki\nextendedKeyUsage=serverAuth"
issue pssub-srv-ee "/O=NC/CN=ee" pssub-srv "$ee\nsubjectAltName=email:ee@example.com"
pss_sub pssub-featca "/O=NC/CN=PSS-Sub-Feature-Above" "$caki\ntlsfeature=status_request"
issue pssub-featca-ee "/O=NC/CN=ee" pssub-featca "$ee\nsubjectAltName=email:ee@example.com"
# Two such links: pssub signs an end entity with RSA-PSS and the "max" salt.
key pssub-max-ee; printf '[x]\n%b\n' "$ee\nsubjectAltName=email:ee@example.com" > pssub-max-ee.ext
openssl req -new -key pssub-max-ee.key -subj "/O=NC/CN=ee" -out pssub-max-ee.csr 2>/dev/null
openssl x509 -req -in pssub-max-ee.csr -CA pssub.pem -CAkey pssub.key -set_serial 920 -days 3650 \
  -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:max -extfile pssub-max-ee.ext -extensions x -out pssub-max-ee.pem 2>/dev/null
issue xuri "/O=NC/CN=Excluded-URI" nroot "$ca\nnameConstraints=critical,excluded;URI:.bad.example"
issue xuri-out "/O=NC/CN=ee" xuri "$ee\nsubjectAltName=email:ee@example.com,URI:http://www.good.example/"
issue xuri-in "/O=NC/CN=ee" xuri "$ee\nsubjectAltName=email:ee@example.com,URI:http://www.bad.example/"
# TLS features (RFC 7633) the CA requires: GnuTLS's signer-constraints bit still counts for them.
issue tfca "/O=NC/CN=TLS-Feature-CA" nroot "$ca\ntlsfeature=status_request"
issue tf-ee-with "/O=NC/CN=ee" tfca "$ee\nsubjectAltName=email:ee@example.com\ntlsfeature=status_request"
issue tf-ee-without "/O=NC/CN=ee" tfca "$ee\nsubjectAltName=email:ee@example.com"
# A trust anchor's own excluded subtree.
root aroot "/O=NC/CN=Anchor-Excluding" "nameConstraints=critical,excluded;dirName:bad\n[bad]\nO=Bad"
issue aroot-out "/O=Good/CN=ee" aroot "$ee\nsubjectAltName=email:ee@good.example"
issue aroot-in "/O=Bad/CN=ee" aroot "$ee\nsubjectAltName=email:ee@bad.example"
# Revoked end entities on plain CRLs: below a CA whose excluded directoryName subtree makes GnuTLS
# set its signer-constraints bit (and then skip its CRL checks), and below one it does not.
crl() {  # CA CERT...: CA's CRL (valid 30 days) listing CERT...
  c=$1; shift; : > $c.idx; echo 01 > $c.crlnum
  printf '[ca]\ndefault_ca=x\n[x]\ndatabase=%s\ncertificate=%s.pem\nprivate_key=%s.key\ncrlnumber=%s\ndefault_md=sha256\ndefault_crl_days=30\n' \
    $c.idx $c $c $c.crlnum > $c.crl.cnf
  for r in "$@"; do openssl ca -batch -config $c.crl.cnf -revoke $r.pem 2>/dev/null; done
  mkdir -p crls; openssl ca -batch -config $c.crl.cnf -gencrl -out crls/$c.crl.pem 2>/dev/null
}
issue xdn-revoked "/O=Good/CN=revoked" xdn "$ee\nsubjectAltName=email:revoked@good.example"
issue xdom-revoked "/O=NC/CN=revoked" xdom "$ee\nsubjectAltName=email:revoked@good.example"
crl xdn xdn-revoked
crl xdom xdom-revoked
crl nroot
mkdir -p rev-trust rev-int; cp nroot.pem rev-trust/; cp xdn.pem xdom.pem rev-int/
# CRLs for the path through pssub, in their own folder.
crl psca; crl pssub pssub-revoked
mkdir -p pss-trust pss-int pss-crls; cp nroot.pem pss-trust/; cp psca.pem pssub.pem pss-int/
mv crls/psca.crl.pem crls/pssub.crl.pem pss-crls/; cp crls/nroot.crl.pem pss-crls/
# End entities signed with RSA-MD5 whose subject is their issuer's name and without key
# identifiers (GnuTLS's is_issuer(cert, cert): it then reports no insecure algorithm, only
# GNUTLS_CERT_INVALID from verifying the signature), below RSA CAs with and without an excluded
# directoryName subtree.
rsa_ca() {  # OUT SUBJECT EXT
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1.key" 2>/dev/null
  serial=$((serial+1)); printf '[x]\n%b\n' "$3" > "$1.ext"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA nroot.pem -CAkey nroot.key -set_serial $serial -days 3650 \
    -extfile "$1.ext" -extensions x -out "$1.pem" 2>/dev/null
}
md5_ee() {  # OUT SUBJECT ISSUER [DIGEST]
  key "$1"; serial=$((serial+1))
  printf '[x]\n%b\n' "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectAltName=email:ee@good.example\nsubjectKeyIdentifier=none\nauthorityKeyIdentifier=none" > "$1.ext"
  openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA "$3.pem" -CAkey "$3.key" -${4:-md5} -set_serial $serial -days 3650 \
    -extfile "$1.ext" -extensions x -out "$1.pem" 2>/dev/null
}
rsa_ca xdnr "/O=NC/CN=Excluded-DN-RSA" "$ca\nnameConstraints=critical,excluded;dirName:bad\n[bad]\nO=Bad"
rsa_ca plainr "/O=NC/CN=Plain-RSA" "$ca"
md5_ee md5-self-xdnr "/O=NC/CN=Excluded-DN-RSA" xdnr
md5_ee md5-other-xdnr "/O=Good/CN=ee" xdnr
md5_ee md5-self-plainr "/O=NC/CN=Plain-RSA" plainr
# The same with RSA-SHA1, which GnuTLS 3.7.9 verifies but reports insecure for certificates,
# except for one whose subject and missing key identifiers name itself as its issuer.
md5_ee sha1-self-plainr "/O=NC/CN=Plain-RSA" plainr sha1
md5_ee sha1-other-plainr "/O=Good/CN=ee" plainr sha1
)SH";

test::openssl_pki::ScriptedPki& made_pki()
{
    static test::openssl_pki::ScriptedPki pki("nc", nc_script);
    return pki;
}

const fs::path& dir() { return made_pki().dir(); }

Certificate cert(const std::string& name) { return made_pki().cert(name); }

struct PathCase {
    const char* ee;
    std::vector<const char*> intermediates;
    bool valid;
};

// Each end entity under `anchor` with its intermediates in the store: valid, or refused for
// name constraints alone.
void check_cases(const char* anchor, const std::vector<PathCase>& cases)
{
    const std::time_t now = std::time(nullptr);
    for (const PathCase& c : cases) {
        std::vector<Certificate> anchors, intermediates;
        anchors.push_back(cert(anchor));
        for (const char* i : c.intermediates) intermediates.push_back(cert(i));
        const TrustStore store(std::move(anchors), std::move(intermediates), Revocation::Off);
        const auto r = store.validate(cert(c.ee), {}, now, Purpose::EmailProtection);
        const std::string msg = std::string(c.ee) + ": " + r.describe();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.valid, r.valid());
        if (!c.valid) CPPUNIT_ASSERT_MESSAGE(msg, r.has(Problem::Constraints) && r.problems.size() == 1);
    }
}

GeneralName gn(NameForm f, std::string v)
{
    return GeneralName{f, std::move(v), true};
}

// DER for the directoryName cases (the header by base/der_tlv.h, which the comparison does not use).
std::string der(unsigned char tag, const std::string& value)
{
    const Bytes header = der_header(tag, value.size());
    return std::string(header.begin(), header.end()) + value;
}

// An AttributeTypeAndValue: `type` 'C', 'O', 'U' (organizationalUnitName) or 'N' (commonName),
// its value as the string type `tag`.
std::string ava(char type, unsigned char tag, const std::string& value)
{
    const char arc = type == 'C' ? 6 : type == 'O' ? 10 : type == 'U' ? 11 : 3;
    return der(0x30, der(0x06, std::string("\x55\x04", 2) + arc) + der(tag, value));
}

constexpr unsigned char kUtf8 = 0x0c, kPrintable = 0x13, kIa5 = 0x16, kVisible = 0x1a, kBmp = 0x1e;

// A Name of RDNs, each the concatenated AttributeTypeAndValues of one RDN, the most general first.
std::string name_der(const std::vector<std::string>& rdns)
{
    std::string seq;
    for (const auto& r : rdns) seq += der(0x31, r);
    return der(0x30, seq);
}

GeneralName dir(const std::vector<std::string>& rdns)
{
    return directory_name(as_bytes(name_der(rdns)));
}

}  // namespace

class PkiNameConstraintsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PkiNameConstraintsTest);
    CPPUNIT_TEST(constraints_bind_intermediate_cas);
    CPPUNIT_TEST(excluded_directory_name);
    CPPUNIT_TEST(rfc822_domain_and_host);
    CPPUNIT_TEST(subject_email_address);
    CPPUNIT_TEST(ip_address_v4);
    CPPUNIT_TEST(form_not_compared_and_excluded_uri);
    CPPUNIT_TEST(pss_signatures_gnutls_does_not_verify);
    CPPUNIT_TEST(pss_links_in_paths);
    CPPUNIT_TEST(anchor_excluded_subtree_binds);
    CPPUNIT_TEST(tls_features_still_refused);
    CPPUNIT_TEST(revoked_below_excluded_directory_name);
    CPPUNIT_TEST(md5_end_entity_below_excluded_directory_name);
    CPPUNIT_TEST(sha1_end_entity_naming_itself);
    CPPUNIT_TEST(matching_per_form);
    CPPUNIT_TEST(smtp_utf8_mailboxes_compare_by_key);
    CPPUNIT_TEST(directory_names_in_subtrees);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { (void)dir(); }

    void constraints_bind_intermediate_cas()
    {
        check_cases("nroot", {
                                 {"ee-sub-mail-ok", {"top-mail", "sub-mail-ok"}, true},
                                 {"ee-sub-mail-bad", {"top-mail", "sub-mail-bad"}, false},
                                 {"ee-sub-mail-dn", {"top-mail", "sub-mail-dn"}, false},
                                 {"ee-sub-dns-ok", {"top-dns", "sub-dns-ok"}, true},
                                 {"ee-sub-dns-bad", {"top-dns", "sub-dns-bad"}, false},
                             });
    }

    void excluded_directory_name()
    {
        check_cases("nroot", {{"xdn-out", {"xdn"}, true}, {"xdn-in", {"xdn"}, false}, {"xdn-san", {"xdn"}, false},
                              {"xsp-out", {"xsp"}, true}, {"xsp-in", {"xsp"}, false}});
    }

    void rfc822_domain_and_host()
    {
        check_cases("nroot", {
                                 {"xdom-host", {"xdom"}, true},
                                 {"xdom-below", {"xdom"}, false},
                                 {"xhost-host", {"xhost"}, false},
                                 {"xhost-below", {"xhost"}, true},
                                 {"xdom-sub-ee", {"xdom", "xdom-sub"}, false},  // the CA's own name
                             });
    }

    void subject_email_address()
    {
        check_cases("nroot", {
                                 {"pmail-dn-in", {"pmail"}, true},
                                 {"pmail-dn-out", {"pmail"}, false},
                                 // GnuTLS 3.7 reads the emailAddress only when there is no rfc822Name
                                 {"pmail-dn-out-san", {"pmail"}, false},
                             });
    }

    void ip_address_v4()
    {
        check_cases("nroot", {
                                 {"ip-in", {"ipca"}, true},
                                 {"ip-excluded", {"ipca"}, false},
                                 {"ip-outside", {"ipca"}, false},
                                 {"ip-sub-ee", {"ipca", "ip-sub"}, false},  // the CA's own address
                             });
    }

    void form_not_compared_and_excluded_uri()
    {
        check_cases("nroot", {
                                 // GnuTLS 3.7.9 cannot read oca's otherName subtree (it stops
                                 // there, leaving the certificates below unchecked, and leaks
                                 // memory reading it): refused before GnuTLS sees the path, with
                                 // or without an otherName below
                                 {"oca-none", {"oca"}, false},
                                 {"oca-other", {"oca"}, false},
                                 {"oca-sub-ee", {"oca", "oca-sub"}, false},
                                 // Microsoft's UPN is the one otherName GnuTLS reads: no
                                 // otherName below it, nothing to compare
                                 {"upnca-ee", {"upnca"}, true},
                                 {"pss-digest-ee", {"psca"}, true},
                                 {"xuri-out", {"xuri"}, true},
                                 {"xuri-in", {"xuri"}, false},
                             });
        // The reason names the name through printable().
        const TrustStore store([] {
            std::vector<Certificate> a;
            a.push_back(cert("nroot"));
            return a;
        }(), [] {
            std::vector<Certificate> i;
            i.push_back(cert("oca"));
            return i;
        }(), Revocation::Off);
        const auto r = store.validate(cert("oca-other"), {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.describe().find("otherName") != std::string::npos);
    }

    // RSASSA-PSS certificate signatures GnuTLS 3.7.9 does not verify although they are right:
    // SHA-256 with MGF1 over SHA-1, and a salt longer than the hash (OpenSSL's default "max").
    // signed_by and signature_verifies (pki/certificate_signature.h) check those themselves with
    // base/rsa_pss.h; they refused them until 2026-12-04. A changed signature, or another
    // key than the issuer's, still fails.
    // Paths through them were refused "bad signature in the certificate path" until 2026-12-05
    // (gnutls_x509_trust_list_verify_crt2 stops at such a link); check_path now has GnuTLS verify
    // the path in parts cut at them (pss_links_in_paths below).
    void pss_signatures_gnutls_does_not_verify()
    {
        const Certificate ca = cert("psca");
        for (const char* name : {"pss-digest-ee", "pss-max-ee", "pss-mgf1sha1-ee"}) {
            const Certificate ee = cert(name);
            CPPUNIT_ASSERT_MESSAGE(name, signed_by(ee, ca));
            CPPUNIT_ASSERT_MESSAGE(name, signature_verifies(ee, ca));
            CPPUNIT_ASSERT_MESSAGE(name, !signed_by(ee, cert("nroot")) && !signature_verifies(ee, cert("nroot")));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::string(name) != "pss-digest-ee", signed_beyond_gnutls(ee, ca));
            Bytes der = ee.der();
            der.back() ^= 0x01;  // the signature's last octet
            const auto changed = Certificate::parse_der(der);
            CPPUNIT_ASSERT_MESSAGE(name, changed && !signed_by(*changed, ca) && !signature_verifies(*changed, ca));
            CPPUNIT_ASSERT_MESSAGE(name, !signed_beyond_gnutls(*changed, ca));
        }
    }

    // Paths with links GnuTLS 3.7.9 refuses and signed_beyond_gnutls verifies: at the end
    // entity, at a CA, at both. What GnuTLS would have checked below such a link still counts
    // (a changed signature, a CA's key purpose below or at the link, the end entity's purpose,
    // TLS features from above the link), and loaded CRLs still revoke.
    void pss_links_in_paths()
    {
        const std::time_t now = std::time(nullptr);
        struct Case {
            const char* ee;
            std::vector<const char*> intermediates;
            std::vector<Problem> problems;  // empty: valid
        };
        const std::vector<Case> cases{
            {"pss-max-ee", {"psca"}, {}},
            {"pss-mgf1sha1-ee", {"psca"}, {}},
            {"pssub-ee", {"psca", "pssub"}, {}},
            {"pssub-max-ee", {"psca", "pssub"}, {}},
            {"pssub-tls-ee", {"psca", "pssub", "pssub-tls"}, {Problem::WrongPurpose}},
            {"pssub-srv-ee", {"psca", "pssub-srv"}, {Problem::WrongPurpose}},
            {"pssub-server-ee", {"psca", "pssub"}, {Problem::WrongPurpose}},
            {"pssub-featca-ee", {"psca", "pssub-featca"}, {Problem::Constraints}},
        };
        for (const Case& c : cases) {
            std::vector<Certificate> anchors, intermediates;
            anchors.push_back(cert("nroot"));
            for (const char* i : c.intermediates) intermediates.push_back(cert(i));
            const TrustStore store(std::move(anchors), std::move(intermediates), Revocation::Off);
            const auto r = store.validate(cert(c.ee), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(c.ee) + ": " + r.describe();
            if (c.problems.empty()) {
                CPPUNIT_ASSERT_MESSAGE(msg, r.valid());
            } else {
                CPPUNIT_ASSERT_MESSAGE(msg, !r.valid());
                for (const Problem p : c.problems) CPPUNIT_ASSERT_MESSAGE(msg, r.has(p));
            }
        }
        // A changed signature below the cut: the end entity's, and (as the message's chain) a
        // changed CA certificate above it.
        {
            std::vector<Certificate> anchors, intermediates;
            anchors.push_back(cert("nroot"));
            intermediates.push_back(cert("psca"));
            intermediates.push_back(cert("pssub"));
            const TrustStore store(std::move(anchors), std::move(intermediates), Revocation::Off);
            Bytes der = cert("pssub-ee").der();
            der.back() ^= 0x01;
            const auto changed = Certificate::parse_der(der);
            CPPUNIT_ASSERT(changed);
            const auto r = store.validate(*changed, {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(r.describe(), !r.valid() && r.has(Problem::BadSignature));
        }
        // Loaded CRLs, from a folder: the revoked end entity below the cut is refused, the other
        // one valid also when every certificate needs an answer (hard-fail). The CRL of pssub is
        // signed by pssub, whose own path goes through the cut.
        OnlineRevocationConfig offline;
        offline.ocsp = false;
        offline.crl_distribution_points = false;
        for (const Revocation mode : {Revocation::SoftFail, Revocation::HardFail}) {
            const TrustStore store(
                TrustStoreConfig{dir() / "pss-trust", dir() / "pss-int", dir() / "pss-crls", mode, offline});
            const auto revoked = store.validate(cert("pssub-revoked"), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE("pssub-revoked: " + revoked.describe(),
                                   !revoked.valid() && revoked.has(Problem::Revoked));
            const auto ok = store.validate(cert("pssub-ee"), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE("pssub-ee: " + ok.describe(), ok.valid());
        }
    }

    void anchor_excluded_subtree_binds()
    {
        check_cases("aroot", {{"aroot-out", {}, true}, {"aroot-in", {}, false}});
    }

    // GnuTLS 3.7.9 sets the same bit for TLS features as for name constraints: setting it aside
    // for names must not let a certificate without its issuer's TLS features pass.
    void tls_features_still_refused()
    {
        check_cases("nroot", {{"tf-ee-with", {"tfca"}, true}, {"tf-ee-without", {"tfca"}, false}});
    }

    // GnuTLS 3.7.9 skips its CRL checks (verify-high.c: "if (*voutput != 0 ...) goto cleanup")
    // for a path it refused; when its signer-constraints bit is set aside for an excluded
    // directoryName subtree, the plain CRLs it would have applied must still revoke.
    void revoked_below_excluded_directory_name()
    {
        OnlineRevocationConfig offline;
        offline.ocsp = false;
        offline.crl_distribution_points = false;
        for (const Revocation mode : {Revocation::SoftFail, Revocation::HardFail}) {
            const TrustStore store(
                TrustStoreConfig{dir() / "rev-trust", dir() / "rev-int", dir() / "crls", mode, offline});
            for (const char* name : {"xdom-revoked", "xdn-revoked"}) {
                const auto r = store.validate(cert(name), {}, std::time(nullptr), Purpose::EmailProtection);
                CPPUNIT_ASSERT_MESSAGE(std::string(name) + ": " + r.describe(), !r.valid() && r.has(Problem::Revoked));
            }
            const auto ok = store.validate(cert("xdn-out"), {}, std::time(nullptr), Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE("xdn-out: " + ok.describe(), ok.valid());
        }
    }

    // The signer-constraints bit is set aside together with GNUTLS_CERT_INVALID; at the end
    // entity's link GNUTLS_CERT_INVALID may also stand for a signature GnuTLS refused to verify
    // (verify.c: _gnutls_x509_verify_data answering GNUTLS_E_INSUFFICIENT_SECURITY for RSA-MD5,
    // MARK_INVALID(0)), with no GNUTLS_CERT_INSECURE_ALGORITHM when the certificate names itself
    // as its issuer. signature_verifies allows broken algorithms, so that must not pass.
    void md5_end_entity_below_excluded_directory_name()
    {
        for (const auto& [ee, ca] : {std::pair{"md5-self-plainr", "plainr"}, std::pair{"md5-other-xdnr", "xdnr"},
                                     std::pair{"md5-self-xdnr", "xdnr"}}) {
            std::vector<Certificate> anchors, intermediates;
            anchors.push_back(cert("nroot"));
            intermediates.push_back(cert(ca));
            const TrustStore store(std::move(anchors), std::move(intermediates), Revocation::Off);
            const auto r = store.validate(cert(ee), {}, std::time(nullptr), Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(std::string(ee) + ": " + r.describe(), !r.valid());
        }
    }

    // Not a name constraint: GnuTLS 3.7.9 (verify.c verify_crt) skips its insecure-algorithm
    // check for a certificate that is_issuer(cert, cert) calls its own issuer, meant for
    // self-signed roots; an end entity signed with RSA-SHA1 whose subject is its issuer's name
    // (no key identifiers) got status 0 and was valid.
    void sha1_end_entity_naming_itself()
    {
        for (const char* ee : {"sha1-other-plainr", "sha1-self-plainr"}) {
            std::vector<Certificate> anchors, intermediates;
            anchors.push_back(cert("nroot"));
            intermediates.push_back(cert("plainr"));
            const TrustStore store(std::move(anchors), std::move(intermediates), Revocation::Off);
            const auto r = store.validate(cert(ee), {}, std::time(nullptr), Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(std::string(ee) + ": " + r.describe(),
                                   !r.valid() && r.has(Problem::WeakAlgorithm));
        }
    }

    void matching_per_form()
    {
        struct Case {
            NameForm form;
            std::string name, subtree;
            bool excluded;
            Match expect;
        };
        using F = NameForm;
        const std::string v4net("\xc0\x00\x02\x00\xff\xff\xff\x00", 8);
        const std::string v6net = std::string("\x20\x01\x0d\xb8", 4) + std::string(12, '\0') +
                                  std::string(4, '\xff') + std::string(12, '\0');
        const std::vector<Case> cases = {
            {F::Rfc822, "a@example.com", "example.com", false, Match::In},
            {F::Rfc822, "a@EXAMPLE.COM", "example.com", false, Match::In},
            {F::Rfc822, "a@mail.example.com", "example.com", false, Match::Out},
            {F::Rfc822, "a@mail.example.com", ".example.com", false, Match::In},
            {F::Rfc822, "a@example.com", ".example.com", false, Match::Out},
            {F::Rfc822, "a@example.com", "a@example.com", false, Match::In},
            {F::Rfc822, "b@example.com", "a@example.com", false, Match::Out},
            {F::Rfc822, "a@notexample.com", ".example.com", false, Match::Out},
            {F::Rfc822, "no-at-sign", "example.com", false, Match::Unreadable},
            {F::Dns, "example.com", "example.com", false, Match::In},
            {F::Dns, "www.Example.com", "example.com", false, Match::In},
            {F::Dns, "notexample.com", "example.com", false, Match::Out},
            {F::Dns, "example.com", ".example.com", false, Match::Out},
            {F::Dns, "*.example.com", "example.com", false, Match::In},
            {F::Dns, "*.example.com", "bad.example.com", false, Match::Out},
            {F::Dns, "*.example.com", "bad.example.com", true, Match::In},
            {F::Dns, "bad host", "example.com", false, Match::Unreadable},
            // empty labels: not a name below the subtree's base, not a way out of an exclusion
            {F::Dns, "www.bad.example..", "bad.example", true, Match::Unreadable},
            {F::Dns, "www.bad..example", "bad.example", true, Match::Unreadable},
            {F::Dns, "www.bad.example.", "bad.example", true, Match::In},
            {F::Rfc822, "a@bad.example..", ".example", true, Match::Unreadable},
            {F::Uri, "http://www.bad.example\\@good.example/", ".bad.example", true, Match::Unreadable},
            {F::Uri, "http://user:pw@www.bad.example:8080/", ".bad.example", true, Match::In},
            {F::Dns, "anything.example", "", false, Match::In},
            {F::IpAddress, std::string("\xc0\x00\x02\x05", 4), v4net, false, Match::In},
            {F::IpAddress, std::string("\xc0\x00\x03\x05", 4), v4net, false, Match::Out},
            {F::IpAddress, std::string("\x20\x01\x0d\xb8", 4) + std::string(12, '\x01'), v4net, false, Match::Out},
            {F::IpAddress, std::string("\x20\x01\x0d\xb8", 4) + std::string(12, '\x01'), v6net, false, Match::In},
            {F::IpAddress, std::string("\xc0\x00\x02", 3), v4net, false, Match::Unreadable},
            {F::IpAddress, std::string("\xc0\x00\x02\x05", 4), std::string("\xc0\x00\x02\x00\xff\x00\xff\x00", 8),
             false, Match::Unreadable},  // a mask that is not contiguous
            {F::Uri, "https://www.example.com/x", ".example.com", false, Match::In},
            {F::Uri, "https://example.com/x", ".example.com", false, Match::Out},
            {F::Uri, "urn:x:y", ".example.com", false, Match::Unreadable},
            {F::OtherName, "", "", false, Match::Unreadable},
        };
        for (const Case& c : cases) {
            const Match m = in_subtree(gn(c.form, c.name), gn(c.form, c.subtree), c.excluded);
            CPPUNIT_ASSERT_MESSAGE(std::string(name_form_text(c.form)) + " '" + printable(c.name) + "' in '" +
                                       printable(c.subtree) + "'",
                                   m == c.expect);
        }
    }

    // directoryName subtrees (RFC 5280 §4.2.1.10): the base's RDNs begin the name's, each
    // compared as §7.1 compares Names (base/name_compare.h). Until 2026-12-06 the comparison was
    // on GnuTLS's RFC 4514 text, suffix by suffix, with its escapes and "#" hex values undone
    // here; the attributes of a multi-valued RDN then had to come in the same order.
    void directory_names_in_subtrees()
    {
        const auto o = [](const std::string& v, unsigned char tag = kPrintable) { return ava('O', tag, v); };
        const std::string ee = ava('N', kUtf8, "ee"), de = ava('C', kPrintable, "DE");
        const std::string bmp_muller("\0M\0\xdc\0L\0L\0E\0R", 12);  // BMPString "MÜLLER"
        const struct {
            std::vector<std::string> name, base;
            Match expect;
            const char* what;
        } cases[] = {
            {{o("bad"), ee}, {o("bad")}, Match::In, "below the base"},
            {{o("bad")}, {o("bad")}, Match::In, "the base itself"},
            {{o("bad"), ee}, {}, Match::In, "an empty base holds every name"},
            {{o("bad2"), ee}, {o("bad")}, Match::Out, "another organisation"},
            {{ava('N', kUtf8, "ee,o=bad")}, {o("bad")}, Match::Out, "RFC 4514 syntax in a value is a value"},
            {{o("bad")}, {o("bad"), ee}, Match::Out, "above the base"},
            {{o("bad"), ee}, {de, o("bad")}, Match::Out, "the base's first RDN is not the name's"},
            {{de, o("bad"), ee}, {o("bad")}, Match::Out, "a subtree is a prefix, not a suffix"},
            {{o("bad  org"), ee}, {o("bad org")}, Match::In, "insignificant spaces"},
            {{o(" bad\t org ", kUtf8), ee}, {o("bad org")}, Match::In, "leading, trailing, tab"},
            {{o("bad org"), ee}, {o("badorg")}, Match::Out, "a space that counts"},
            {{o("BAD", kUtf8), ee}, {o("bad")}, Match::In, "case, UTF8String against PrintableString"},
            // Not a way around an exclusion: the organisation in an ASCII type it does not allow.
            {{o("bad", kIa5), ee}, {o("bad")}, Match::In, "IA5String"},
            {{o("Bad", kVisible) + ava('U', kUtf8, "x"), ee}, {o("bad") + ava('U', kUtf8, "x")}, Match::In,
             "VisibleString in a multi-valued RDN"},
            {{ava('U', kUtf8, "x") + o("bad"), ee}, {o("bad") + ava('U', kUtf8, "x")}, Match::In,
             "a multi-valued RDN's attributes in another order"},
            {{o("bad") + ava('U', kUtf8, "y"), ee}, {o("bad") + ava('U', kUtf8, "x")}, Match::Out,
             "a multi-valued RDN with another value"},
            {{o("bad"), ee}, {o("bad") + ava('U', kUtf8, "x")}, Match::Out, "a multi-valued base RDN is all of it"},
            {{o("#1603626164"), ee}, {o("bad")}, Match::Out, "RFC 4514 hex is text in a value"},
            // RFC 4518 beyond ASCII: Unicode case folding and NFKC; another letter stays another.
            {{o("M\xc3\x9cller", kUtf8), ee}, {o("m\xc3\xbcller", kUtf8)}, Match::In, "MÜller"},
            {{o("mu\xcc\x88ller", kUtf8), ee}, {o("m\xc3\xbcller", kUtf8)}, Match::In, "decomposed"},
            {{o(bmp_muller, kBmp), ee}, {o("m\xc3\xbcller", kUtf8)}, Match::In, "BMPString"},
            {{o("m\xc3\xb6ller", kUtf8), ee}, {o("m\xc3\xbcller", kUtf8)}, Match::Out, "another letter"},
        };
        for (const auto& c : cases)
            for (const bool excluded : {false, true})
                CPPUNIT_ASSERT_MESSAGE(c.what, in_subtree(dir(c.name), dir(c.base), excluded) == c.expect);
        // A Name that does not read (an RDN that is no SET) cannot be compared.
        GeneralName broken = directory_name(as_bytes(der(0x30, der(0x30, ee))));
        CPPUNIT_ASSERT(!broken.readable);
        CPPUNIT_ASSERT(in_subtree(broken, dir({o("bad")}), true) == Match::Unreadable);
        CPPUNIT_ASSERT(in_subtree(dir({o("bad"), ee}), broken, false) == Match::Unreadable);
    }

    // A SmtpUTF8Mailbox name (its key: ünal@example.org) against mailbox subtrees. ASCII ones
    // compare by key; a subtree with other octets is no IA5String and does not read: compared
    // octet by octet, an excluded "Ünal@example.org" did not bind ünal@example.org, the
    // mailbox ÜNAL@example.org and Ünal@example.org are everywhere else.
    void smtp_utf8_mailboxes_compare_by_key()
    {
        GeneralName name = gn(NameForm::Rfc822, "\u00fcnal@example.org");
        name.smtp_utf8 = true;
        const struct { const char* subtree; Match expect; } cases[] = {
            {"\u00dcnal@example.org", Match::Unreadable},
            {"\u00fcnal@example.org", Match::Unreadable},
            {"unal@example.org", Match::Out},
            {"example.org", Match::In},
            {".example.org", Match::Out},
        };
        for (const auto& c : cases)
            for (const bool excluded : {false, true})
                CPPUNIT_ASSERT_MESSAGE(printable(c.subtree),
                                       in_subtree(name, gn(NameForm::Rfc822, c.subtree), excluded) == c.expect);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PkiNameConstraintsTest);
