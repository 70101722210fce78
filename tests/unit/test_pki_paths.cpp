// Unit tests for path building and the checks made along a path: bridge CAs with
// cross-certificates in both directions, cross-certificate loops and meshes (bounded work), the
// RFC 9216 example CAs (cross-signed RSA <-> Ed25519), required policy OIDs, policy mappings
// and constraints through a bridge, unknown critical extensions, name constraints, the CA
// checks (basicConstraints, keyCertSign, pathLenConstraint with self-issued CAs exempt), URI
// name constraints.
// Every certificate is made here by openssl; nothing is made by our code.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

#include "pki/certificate.h"
#include "pki/trust_store.h"
#include "pki/name_match.h"
#include "tests/unit/test_pki_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fs = std::filesystem;

namespace {

// All CAs and end entities on P-256 keys (fast), made with test::openssl_pki's functions: cross
// OUT CSR ISSUER EXT signs CSR's key and name with ISSUER; self NAME EXT self-signs.
const char* paths_script = R"SH(
subject_prefix=/O=Paths/CN=
# Bridge: A Root <-> Bridge CA <-> B Root, cross-certified both ways; an end entity under each.
for n in aroot:A-Root broot:B-Root bridge:Bridge-CA; do req "${n%%:*}" "${n#*:}"; self "${n%%:*}" "$ca"; done
cross bridge-by-broot bridge broot "$caki"
cross bridge-by-aroot bridge aroot "$caki"
cross aroot-by-bridge aroot bridge "$caki"
cross broot-by-bridge broot bridge "$caki"
req bee bee; cross bee bee broot "$ee\nsubjectAltName=email:bee@b.example"
req aee aee; cross aee aee aroot "$ee\nsubjectAltName=email:aee@a.example"
# A mesh: 7 CAs, each cross-certified by every other one (42 certificates), an end entity under m1.
for i in 1 2 3 4 5 6 7; do req m$i Mesh-$i; self m$i "$ca"; done
for i in 1 2 3 4 5 6 7; do for j in 1 2 3 4 5 6 7; do
  [ $i = $j ] || cross m$i-by-m$j m$i m$j "$caki"
done; done
req mee mee; cross mee mee m1 "$ee\nsubjectAltName=email:mee@mesh.example"
# A chain of ten CAs, d0 (the root) to d9, and an end entity under d9: nine intermediates.
req d0 Deep-0; self d0 "$ca"
for i in 1 2 3 4 5 6 7 8 9; do req d$i Deep-$i; cross d$i d$i d$((i-1)) "$caki"; done
req dee dee; cross dee dee d9 "$ee\nsubjectAltName=email:dee@deep.example"
# Policies and name constraints under one root.
req proot P-Root; self proot "$ca"
req pany P-CA-any; cross pany pany proot "$caki\ncertificatePolicies=2.5.29.32.0"
req pstrict P-CA-strict; cross pstrict pstrict proot "$caki\ncertificatePolicies=1.3.6.1.4.1.55555.1.1"
req pnone P-CA-none; cross pnone pnone proot "$caki"
p1='certificatePolicies=1.3.6.1.4.1.55555.1.1'
req ee-any-p1 ee1; cross ee-any-p1 ee-any-p1 pany "$ee\nsubjectAltName=email:ee1@p.example\n$p1"
req ee-any-nop ee2; cross ee-any-nop ee-any-nop pany "$ee\nsubjectAltName=email:ee2@p.example"
req ee-strict-p1 ee3; cross ee-strict-p1 ee-strict-p1 pstrict "$ee\nsubjectAltName=email:ee3@p.example\n$p1"
req ee-none-p1 ee4; cross ee-none-p1 ee-none-p1 pnone "$ee\nsubjectAltName=email:ee4@p.example\n$p1"
req nc NC-CA; cross nc nc proot "$caki\nnameConstraints=critical,permitted;email:example.com,permitted;email:.example.com"
req nc-inside inside; cross nc-inside nc-inside nc "$ee\nsubjectAltName=email:alice@example.com"
req nc-outside outside; cross nc-outside nc-outside nc "$ee\nsubjectAltName=email:bob@other.example"
# directoryName constraints; the end entity outside them has 8-bit octets in its name.
req dnc DN-CA; cross dnc dnc proot "$caki\nnameConstraints=critical,permitted;dirName:ncdn\n[ncdn]\nO=Inside"
req dnc-out "Gr$(printf '\303\274')n"; cross dnc-out dnc-out dnc "$ee\nsubjectAltName=email:g@example.com"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out dnc-in.key 2>/dev/null
openssl req -new -key dnc-in.key -subj "/O=Inside/CN=in" -out dnc-in.csr 2>/dev/null
cross dnc-in dnc-in dnc "$ee\nsubjectAltName=email:in@example.com"
# Name chaining across string types (PKITS 4.3.10): Enc-CA's certificate names it in
# PrintableString, its end entity names its issuer in UTF8String (signed through a UTF8String
# twin of the CA certificate, same key, that no store holds).
printf '[req]\ndistinguished_name=dn\nstring_mask=default\n[dn]\n' > printable.cnf
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out encca.key 2>/dev/null
cp encca.key encca-utf8.key
openssl req -new -config printable.cnf -key encca.key -subj "/O=Paths/CN=Enc-CA" -out encca.csr 2>/dev/null
openssl req -new -key encca.key -subj "/O=Paths/CN=Enc-CA" -out encca-utf8.csr 2>/dev/null
cross encca encca proot "$caki"; self encca-utf8 "$ca"
req ee-enc ee-enc; cross ee-enc ee-enc encca-utf8 "$ee\nsubjectAltName=email:enc@p.example"
# The same UTF8String name on another key (an impostor's self-signed CA certificate), and an end
# entity it signs: its issuer Name is Enc-CA's too, its signature not Enc-CA's key's.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out encca-impostor.key 2>/dev/null
openssl req -new -key encca-impostor.key -subj "/O=Paths/CN=Enc-CA" -out encca-impostor.csr 2>/dev/null
self encca-impostor "$ca"
req ee-enc-forged ee-enc-forged; cross ee-enc-forged ee-enc-forged encca-impostor "$ee\nsubjectAltName=email:enc@p.example"
# an end entity of Enc-CA's UTF8String name for TLS servers only (no emailProtection)
req ee-enc-tls ee-enc-tls
cross ee-enc-tls ee-enc-tls encca-utf8 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nsubjectAltName=email:tls@p.example'
# the forged one without an authorityKeyIdentifier (which alone keeps the one above from Enc-CA)
req ee-enc-forged-noaki ee-enc-forged-noaki
cross ee-enc-forged-noaki ee-enc-forged-noaki encca-impostor 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=none\nsubjectAltName=email:enc@p.example'
# URI name constraints (GnuTLS 3.7 does not apply permitted URI subtrees).
req uc URI-CA; cross uc uc proot "$caki\nnameConstraints=critical,permitted;URI:.example.com"
req uc-in uc-in; cross uc-in uc-in uc "$ee\nsubjectAltName=email:a@example.com,URI:http://www.example.com/a"
req uc-out uc-out; cross uc-out uc-out uc "$ee\nsubjectAltName=email:b@example.com,URI:http://www.other.example/b"
req uc-urn uc-urn; cross uc-urn uc-urn uc "$ee\nsubjectAltName=email:c@example.com,URI:urn:example:c"
req uc-none uc-none; cross uc-none uc-none uc "$ee\nsubjectAltName=email:d@example.com"
# Policy bridge (RFC 5280 6.1.4 policy mappings, as bridge CAs use them): the home root
# cross-certifies the bridge mapping its policy H1 to the bridge's BR1 and requiring an explicit
# policy (critical, as RFC 5280 asks); the bridge cross-certifies the partner root mapping BR1 to
# the partner's PA1; the partner's end entities assert PA1 (or an unmapped PA2).
h1=1.3.6.1.4.1.55555.2.1; br1=1.3.6.1.4.1.55555.3.1; pa1=1.3.6.1.4.1.55555.4.1; pa2=1.3.6.1.4.1.55555.4.2
for n in hroot:H-Root pbridge:Policy-Bridge paroot:PA-Root; do req "${n%%:*}" "${n#*:}"; self "${n%%:*}" "$ca"; done
cross pbridge-by-hroot pbridge hroot "$caki\ncertificatePolicies=$h1\npolicyMappings=critical,$h1:$br1\npolicyConstraints=critical,requireExplicitPolicy:0"
cross pbridge-by-hroot-inhibit pbridge hroot "$caki\ncertificatePolicies=$h1\npolicyMappings=critical,$h1:$br1\npolicyConstraints=critical,requireExplicitPolicy:0,inhibitPolicyMapping:0"
cross pbridge-by-hroot-unknown pbridge hroot "$caki\ncertificatePolicies=$h1\n1.3.6.1.4.1.55555.9.9=critical,ASN1:NULL"
cross paroot-by-pbridge paroot pbridge "$caki\ncertificatePolicies=$br1\npolicyMappings=critical,$br1:$pa1"
req pa-ee-pa1 pa1; cross pa-ee-pa1 pa-ee-pa1 paroot "$ee\nsubjectAltName=email:pa1@pa.example\ncertificatePolicies=$pa1"
req pa-ee-pa2 pa2; cross pa-ee-pa2 pa-ee-pa2 paroot "$ee\nsubjectAltName=email:pa2@pa.example\ncertificatePolicies=$pa2"
# A policy bomb: each CA asserts 16 policies and maps every one to all 16 of the next domain,
# so the valid policy tree grows sixteenfold per CA (4096 nodes at the third).
pols() { i=1; out=; while [ $i -le 16 ]; do out="$out${out:+, }1.3.6.1.4.1.55555.7.$1.$i"; i=$((i+1)); done; printf '%s' "$out"; }
maps() { out=; i=1; while [ $i -le 16 ]; do j=1; while [ $j -le 16 ]; do
  out="$out${out:+, }1.3.6.1.4.1.55555.7.$1.$i:1.3.6.1.4.1.55555.7.$2.$j"; j=$((j+1)); done; i=$((i+1)); done; printf '%s' "$out"; }
req bomb1 Bomb-1; cross bomb1 bomb1 proot "$caki\ncertificatePolicies=$(pols 1)\npolicyMappings=$(maps 1 2)"
req bomb2 Bomb-2; cross bomb2 bomb2 bomb1 "$caki\ncertificatePolicies=$(pols 2)\npolicyMappings=$(maps 2 3)"
req bomb3 Bomb-3; cross bomb3 bomb3 bomb2 "$caki\ncertificatePolicies=$(pols 3)\npolicyMappings=$(maps 3 4)"
req bomb-ee bomb-ee; cross bomb-ee bomb-ee bomb3 "$ee\nsubjectAltName=email:bomb@p.example\ncertificatePolicies=$(pols 4)"
# CA checks (RFC 5280 6.1.4 (k)-(n)). L-CA-0 (pathlen 0) rolls its key over: L-CA-0 new is
# self-issued (L-CA-0 name, certified by the old key), so it does not count against the
# pathLenConstraint; L-Sub and L-Sub-2 do. Issuers that are no CA or may not sign certificates,
# and anchors: not a CA, without keyCertSign, with pathlen 0, v1, v3 without basicConstraints.
ca0='basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
req lroot L-Root; self lroot "$ca"
req lca0 L-CA-0; cross lca0 lca0 lroot "$ca0"
req lca0new L-CA-0; cross lca0new lca0new lca0 "$caki"
req lsub L-Sub; cross lsub lsub lca0 "$caki"
req lsub2 L-Sub-2; cross lsub2 lsub2 lca0new "$caki"
req lnotca L-NotCA; cross lnotca lnotca lroot "basicConstraints=critical,CA:false\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid"
req lnobc L-NoBC; cross lnobc lnobc lroot "keyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid"
req lnoks L-NoKeyCertSign; cross lnoks lnoks lroot "basicConstraints=critical,CA:true\nkeyUsage=critical,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid"
req lv1 L-V1; openssl x509 -req -in lv1.csr -CA lroot.pem -CAkey lroot.key -set_serial 900 -days 3650 -out lv1.pem 2>/dev/null
req rnotca R-NotCA; self rnotca "basicConstraints=critical,CA:false\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash"
req rnoks R-NoKeyCertSign; self rnoks "basicConstraints=critical,CA:true\nkeyUsage=critical,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash"
req rpl0 R-Pathlen-0; self rpl0 "basicConstraints=critical,CA:true,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash"
req rpl0sub R-Pathlen-0-Sub; cross rpl0sub rpl0sub rpl0 "$caki"
req rv1 R-V1; openssl x509 -req -in rv1.csr -signkey rv1.key -days 3650 -out rv1.pem 2>/dev/null
req rnobc R-NoBC; self rnobc "subjectKeyIdentifier=hash"
# R-NoBC-2 in the same way, but its issuer Name in UTF8String and lower case, its subject Name
# in PrintableString (signed through a twin with the same key): self-issued by RFC 5280 §7.1,
# not byte for byte (GnuTLS's issuer check also compares the RFC 4514 text: not the case).
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out rnobc2.key 2>/dev/null
cp rnobc2.key rnobc2-utf8.key
openssl req -new -config printable.cnf -key rnobc2.key -subj "/O=Paths/CN=R-NoBC-2" -out rnobc2.csr 2>/dev/null
csr rnobc2-utf8 /O=paths/CN=r-nobc-2 rnobc2; self rnobc2-utf8 "subjectKeyIdentifier=hash"
printf '[x]\nsubjectKeyIdentifier=hash\n' > rnobc2.ext
openssl x509 -req -in rnobc2.csr -CA rnobc2-utf8.pem -CAkey rnobc2.key -set_serial 901 -days 3650 -extfile rnobc2.ext \
  -extensions x -out rnobc2.pem 2>/dev/null
req ee-rnobc2 ee-rnobc2; cross ee-rnobc2 ee-rnobc2 rnobc2 "$ee\nsubjectAltName=email:ee@l.example"
for n in lroot lca0 lca0new lsub lsub2 lnotca lnobc lnoks rnotca rnoks rpl0 rpl0sub rnobc; do
  req ee-$n ee-$n; cross ee-$n ee-$n $n "$ee\nsubjectAltName=email:ee@l.example"
done
for n in lv1 rv1; do  # a v1 issuer has no subjectKeyIdentifier to name
  req ee-$n ee-$n; cross ee-$n ee-$n $n "${ee%\\nauthorityKeyIdentifier=keyid}\nsubjectAltName=email:ee@l.example"
done
)SH";

test::openssl_pki::ScriptedPki& made_pki()
{
    static test::openssl_pki::ScriptedPki pki("paths", paths_script);
    return pki;
}

const fs::path& dir() { return made_pki().dir(); }

Certificate load(const fs::path& p)
{
    auto v = Certificate::load_file(p);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(p.string(), std::size_t{1}, v.size());
    return std::move(v.front());
}

Certificate cert(const std::string& name) { return made_pki().cert(name); }

std::vector<Certificate> certs(std::initializer_list<const char*> names)
{
    std::vector<Certificate> v;
    for (const char* n : names) v.push_back(cert(n));
    return v;
}

const fs::path rfc9216 = test::vectors_dir() / "rfc9216" / "certs";

}  // namespace

class PkiPathsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PkiPathsTest);
    CPPUNIT_TEST(bridge_both_directions);
    CPPUNIT_TEST(mesh_of_cross_certificates_is_bounded);
    CPPUNIT_TEST(chains_longer_than_the_search_say_so);
    CPPUNIT_TEST(rfc9216_cross_signed_cas);
    CPPUNIT_TEST(required_policies);
    CPPUNIT_TEST(name_constraints);
    CPPUNIT_TEST(dn_name_constraints_reason_is_printable);
    CPPUNIT_TEST(anchor_name_constraints_apply);
    CPPUNIT_TEST(ca_constraints);
    CPPUNIT_TEST(uri_name_constraints);
    CPPUNIT_TEST(names_differing_in_string_type_chain);
    CPPUNIT_TEST(uri_hosts_and_subtrees);
    CPPUNIT_TEST(policy_mappings_through_a_bridge);
    CPPUNIT_TEST(unknown_critical_extension_refused);
    CPPUNIT_TEST(policy_tree_is_bounded);
    CPPUNIT_TEST_SUITE_END();

public:
    // The certificates are made first: their notBefore is the moment they were made.
    void setUp() override { (void)dir(); }

    void bridge_both_directions()
    {
        const std::time_t now = std::time(nullptr);
        // The store lists the cross-certificate that leads back into B's own domain first, so
        // the first fitting issuer at the bridge is a dead end (loop to B Root): only
        // backtracking finds A Root.
        struct Case {
            const char* anchor;
            const char* ee;
            bool as_extra;  // the cross-certificates come with the message instead of the store
            std::size_t path_length;
        };
        const Case cases[] = {
            {"aroot", "bee", false, 4}, {"broot", "aee", false, 4}, {"aroot", "bee", true, 4},
            {"broot", "aee", true, 4},  {"bridge", "bee", false, 3}, {"aroot", "aee", false, 2},
        };
        for (const auto& c : cases) {
            const std::string msg = std::string(c.ee) + " under " + c.anchor + (c.as_extra ? " (extra)" : "");
            auto crosses = certs({"bridge-by-broot", "aroot-by-bridge", "broot-by-bridge", "bridge-by-aroot"});
            std::vector<Certificate> anchors;
            anchors.push_back(cert(c.anchor));
            std::vector<Certificate> in_store, extra;
            (c.as_extra ? extra : in_store) = std::move(crosses);
            const TrustStore store(std::move(anchors), std::move(in_store), Revocation::Off);
            const auto r = store.validate(cert(c.ee), extra, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(msg + ": " + r.describe(), r.valid());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.path_length, r.path_length);
        }
        // Without the cross-certificate from A Root to the bridge there is no path from B.
        std::vector<Certificate> anchors;
        anchors.push_back(cert("aroot"));
        const TrustStore partial(std::move(anchors), certs({"bridge-by-broot", "aroot-by-bridge", "broot-by-bridge"}),
                                 Revocation::Off);
        const auto r = partial.validate(cert("bee"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.has(Problem::NoTrustedPath));
    }

    void mesh_of_cross_certificates_is_bounded()
    {
        std::vector<Certificate> mesh;
        for (int i = 1; i <= 7; ++i)
            for (int j = 1; j <= 7; ++j)
                if (i != j) mesh.push_back(cert("m" + std::to_string(i) + "-by-m" + std::to_string(j)));
        const std::time_t now = std::time(nullptr);
        // An unrelated anchor: thousands of loop-free paths exist, none ends at an anchor.
        std::vector<Certificate> unrelated;
        unrelated.push_back(cert("aroot"));
        const TrustStore lost(std::move(unrelated), {}, Revocation::Off);
        const auto start = std::chrono::steady_clock::now();
        const auto r = lost.validate(cert("mee"), mesh, now, Purpose::EmailProtection);
        const auto took = std::chrono::steady_clock::now() - start;
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.has(Problem::NoTrustedPath));
        CPPUNIT_ASSERT(took < std::chrono::seconds(5));
        bool limited = false;
        for (const auto& n : r.notes) limited = limited || n.find("stopped at its limit") != std::string::npos;
        CPPUNIT_ASSERT_MESSAGE("the mesh exceeds the work bound", limited);
        // A loop of two CAs only (each cross-certifies the other): exhausted quickly, no limit hit.
        const auto loop = lost.validate(cert("mee"), certs({"m1-by-m2", "m2-by-m1"}), now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(loop.describe(), loop.has(Problem::NoTrustedPath) && loop.notes.empty());
        // With one mesh CA as anchor the path is found (directly, or through the others).
        for (const char* anchor : {"m1", "m7"}) {
            std::vector<Certificate> a;
            a.push_back(cert(anchor));
            const TrustStore store(std::move(a), {}, Revocation::Off);
            const auto ok = store.validate(cert("mee"), mesh, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(std::string(anchor) + ": " + ok.describe(), ok.valid());
        }
    }

    // Eight intermediates are followed (PathLimits), nine are not, and the reason says so.
    void chains_longer_than_the_search_say_so()
    {
        const std::time_t now = std::time(nullptr);
        const auto chain = certs({"d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9"});
        for (const char* root : {"d0", "d1"}) {
            std::vector<Certificate> a;
            a.push_back(cert(root));
            const TrustStore store(std::move(a), {}, Revocation::Off);
            const auto r = store.validate(cert("dee"), chain, now, Purpose::EmailProtection);
            if (std::string(root) == "d1") {
                CPPUNIT_ASSERT_MESSAGE(r.describe(), r.valid());
                continue;
            }
            CPPUNIT_ASSERT_MESSAGE(r.describe(), r.has(Problem::NoTrustedPath));
            CPPUNIT_ASSERT_MESSAGE(r.describe(), r.describe().find("(issuers beyond 8 intermediate certificates are "
                                                                   "not followed)") != std::string::npos);
        }
        // A chain that reaches no anchor within the limit does not blame the limit.
        std::vector<Certificate> other;
        other.push_back(cert("aroot"));
        const TrustStore lost(std::move(other), {}, Revocation::Off);
        const auto r = lost.validate(cert("dee"), certs({"d8", "d9"}), now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.has(Problem::NoTrustedPath));
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.describe().find("not followed") == std::string::npos);
    }

    void rfc9216_cross_signed_cas()
    {
        // Inside every certificate's validity (2020-12-15 .. 2052).
        const std::time_t now = 1893456000;  // 2030-01-01
        const auto rsa_root = load(rfc9216 / "Sample_LAMPS_RSA_Certification_Authority.selfsigned.pem");
        const auto ed_root = load(rfc9216 / "Sample_LAMPS_Ed25519_Certification_Authority.selfsigned.pem");
        struct Case {
            const char* ee;
            bool rsa_anchor;
            bool valid;
        };
        // Dana is issued by the Ed25519 CA, Bob by the RSA CA; each reaches the other root
        // through the cross-certificate. Both cross-certificates are always offered (a loop).
        const Case cases[] = {
            {"dana@smime.example.sig.pem", true, true}, {"bob@smime.example.sig.pem", false, true},
            {"dana@smime.example.sig.pem", false, true}, {"bob@smime.example.sig.pem", true, true},
            {"alice@smime.example.sig.pem", false, true}, {"carlos@smime.example.sig.pem", true, true},
        };
        for (const auto& c : cases) {
            std::vector<Certificate> anchors;
            anchors.push_back((c.rsa_anchor ? rsa_root : ed_root).clone());
            std::vector<Certificate> crosses;
            crosses.push_back(load(rfc9216 / "Sample_LAMPS_RSA_Certification_Authority.crosssigned.pem"));
            crosses.push_back(load(rfc9216 / "Sample_LAMPS_Ed25519_Certification_Authority.crosssigned.pem"));
            const TrustStore store(std::move(anchors), std::move(crosses), Revocation::Off);
            const auto r = store.validate(load(rfc9216 / c.ee), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.ee) + ": " + r.describe(), c.valid, r.valid());
        }
        // Without the cross-certificates Dana has no path to the RSA root.
        std::vector<Certificate> anchors;
        anchors.push_back(rsa_root.clone());
        const TrustStore alone(std::move(anchors), {}, Revocation::Off);
        CPPUNIT_ASSERT(alone.validate(load(rfc9216 / "dana@smime.example.sig.pem"), {}, now, Purpose::EmailProtection)
                           .has(Problem::NoTrustedPath));
        // And before Dana's notBefore (2020-12-15) the path is not valid yet.
        std::vector<Certificate> crosses;
        crosses.push_back(load(rfc9216 / "Sample_LAMPS_Ed25519_Certification_Authority.crosssigned.pem"));
        const auto early = alone.validate(load(rfc9216 / "dana@smime.example.sig.pem"), crosses, 1590000000,
                                          Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(early.describe(), early.has(Problem::NotYetValid));
    }

    void required_policies()
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("proot"));
        const TrustStore store(std::move(anchors), certs({"pany", "pstrict", "pnone"}), Revocation::Off);
        const std::string p1 = "1.3.6.1.4.1.55555.1.1", p2 = "1.3.6.1.4.1.55555.1.2";
        struct Case {
            const char* ee;
            std::vector<std::string> required;
            bool valid;
        };
        const std::vector<Case> cases = {
            {"ee-any-p1", {p1}, true},        // EE asserts it, the CA asserts anyPolicy
            {"ee-any-p1", {p2}, false},       // another policy required
            {"ee-any-p1", {p2, p1}, true},    // any one of the list suffices
            {"ee-any-nop", {p1}, false},      // EE asserts no policy
            {"ee-any-nop", {}, true},         // no requirement
            {"ee-strict-p1", {p1}, true},     // the CA asserts the same OID
            {"ee-none-p1", {p1}, false},      // the CA asserts no policy
            {"ee-none-p1", {}, true},
        };
        for (const auto& c : cases) {
            ValidationOptions options;
            options.required_policies = c.required;
            const auto r = store.validate(cert(c.ee), {}, std::time(nullptr), Purpose::EmailProtection, options);
            const std::string msg = std::string(c.ee) + " requiring " + std::to_string(c.required.size()) + ": " +
                                    r.describe();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.valid, r.valid());
            if (!c.valid) CPPUNIT_ASSERT_MESSAGE(msg, r.has(Problem::Policy) && r.problems.size() == 1);
        }
    }

    void name_constraints()
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("proot"));
        const TrustStore store(std::move(anchors), certs({"nc"}), Revocation::Off);
        const std::time_t now = std::time(nullptr);
        const auto inside = store.validate(cert("nc-inside"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(inside.describe(), inside.valid());
        const auto outside = store.validate(cert("nc-outside"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(outside.describe(), outside.has(Problem::Constraints));
    }

    // A name outside directoryName constraints is refused, and the reason names it in printable
    // ASCII only (it reaches logs and Authentication-Results; until 2026-12-01 its octets went
    // there as they came).
    void dn_name_constraints_reason_is_printable()
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("proot"));
        const TrustStore store(std::move(anchors), certs({"dnc"}), Revocation::Off);
        const auto r = store.validate(cert("dnc-out"), {}, std::time(nullptr), Purpose::EmailProtection);
        const std::string why = r.describe();
        CPPUNIT_ASSERT_MESSAGE(why, r.has(Problem::Constraints) && r.problems.size() == 1);
        CPPUNIT_ASSERT_MESSAGE(why, why.find("outside the permitted subtrees") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(why, std::all_of(why.begin(), why.end(), [](char c) {
                                   return static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) <= 0x7e;
                               }));
        const auto in = store.validate(cert("dnc-in"), {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(in.describe(), in.valid());
    }

    // A constrained CA configured as the trust anchor: its directoryName constraints bind the
    // path as an intermediate's do (until 2026-12-01 only GnuTLS's name types were applied).
    void anchor_name_constraints_apply()
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("dnc"));
        const TrustStore store(std::move(anchors), {}, Revocation::Off);
        const std::time_t now = std::time(nullptr);
        const auto out = store.validate(cert("dnc-out"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(out.describe(), out.has(Problem::Constraints) && out.problems.size() == 1);
        const auto in = store.validate(cert("dnc-in"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(in.describe(), in.valid());
    }

    // Names that differ in string type only (PrintableString vs UTF8String, PKITS 4.3.10) are one
    // Name (RFC 5280 §7.1) and chain: GnuTLS, which compares their bytes, verifies the path cut at
    // that link (check_path), the link's signature is ours. Their CRLs: test_pki_crls.cpp. The
    // same name on another key chains nowhere: the link's signature decides, not the name.
    void names_differing_in_string_type_chain()
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("proot"));
        const TrustStore store(std::move(anchors), certs({"encca"}), Revocation::Off);
        const auto r = store.validate(cert("ee-enc"), {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.valid());
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), r.path_length);
        // The link is checked apart from GnuTLS; the end entity's purpose still counts.
        const auto tls = store.validate(cert("ee-enc-tls"), {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(tls.describe(), !tls.valid() && tls.has(Problem::WrongPurpose));
        // The forged end entity's authorityKeyIdentifier names the impostor's key: Enc-CA is no candidate.
        const auto forged = store.validate(cert("ee-enc-forged"), {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(forged.describe(), !forged.valid() && forged.has(Problem::NoTrustedPath));
        // Without one, Enc-CA is tried and its key does not verify the signature.
        const auto noaki = store.validate(cert("ee-enc-forged-noaki"), {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(noaki.describe(), !noaki.valid() && noaki.has(Problem::BadSignature));
        // issued_by (names, and key identifiers where both carry them; no signature): the
        // names chain, the forged end entity's authorityKeyIdentifier is not Enc-CA's.
        CPPUNIT_ASSERT(cert("ee-enc").issued_by(cert("encca")));
        CPPUNIT_ASSERT(!cert("ee-enc-forged").issued_by(cert("encca")));
        CPPUNIT_ASSERT(cert("ee-enc-forged-noaki").issued_by(cert("encca")));
        CPPUNIT_ASSERT(!cert("ee-enc").issued_by(cert("proot")));
        // Carried in the message, the impostor's CA certificate is no anchor: no path either.
        std::vector<Certificate> carried;
        carried.push_back(cert("encca-impostor"));
        for (const char* ee : {"ee-enc-forged", "ee-enc-forged-noaki"}) {
            const auto with = store.validate(cert(ee), carried, std::time(nullptr), Purpose::EmailProtection);
            CPPUNIT_ASSERT_MESSAGE(with.describe(), !with.valid());
        }
    }

    // Permitted URI subtrees bind the end entity's URIs; a URI without a domain name as host
    // fails them (RFC 5280 4.2.1.10); an end entity without URIs is not concerned.
    void uri_name_constraints()
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("proot"));
        const TrustStore store(std::move(anchors), certs({"uc"}), Revocation::Off);
        const std::time_t now = std::time(nullptr);
        for (const auto& [ee, valid] : std::vector<std::pair<const char*, bool>>{
                 {"uc-in", true}, {"uc-none", true}, {"uc-out", false}, {"uc-urn", false}}) {
            const auto r = store.validate(cert(ee), {}, now, Purpose::EmailProtection);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(ee) + ": " + r.describe(), valid, r.valid());
            if (!valid) CPPUNIT_ASSERT_MESSAGE(r.describe(), r.has(Problem::Constraints) && r.problems.size() == 1);
        }
    }

    void uri_hosts_and_subtrees()
    {
        const std::vector<std::pair<const char*, std::optional<std::string>>> hosts = {
            {"http://host.example.com/path", "host.example.com"},
            {"HTTP://User:pw@Host.Example.COM:8080/x", "host.example.com"},
            {"http://a.example.com?x", "a.example.com"},
            {"ldap://host.example.com./o=x", "host.example.com"},
            {"http://192.0.2.1/", std::nullopt},
            {"http://[2001:db8::1]/", std::nullopt},
            {"http://ho%73t.example.com/", std::nullopt},
            {"urn:example:c", std::nullopt},
            {"mailto:a@b.example", std::nullopt},
            {"://host.example.com", std::nullopt},
            {"http:///path", std::nullopt},
        };
        for (const auto& [uri, host] : hosts) CPPUNIT_ASSERT_MESSAGE(uri, uri_host(uri) == host);
        struct Case {
            const char* host;
            const char* constraint;
            bool in;
        };
        for (const Case& c : std::vector<Case>{{"host.example.com", ".example.com", true},
                                               {"a.host.example.com", ".example.com", true},
                                               {"example.com", ".example.com", false},
                                               {"example.com", "example.com", true},
                                               {"host.example.com", "example.com", false},
                                               {"xexample.com", ".example.com", false},
                                               {"host.example.com", "", false}})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(std::string(c.host) + " in " + c.constraint, c.in,
                                         in_uri_subtree(c.host, c.constraint));
    }

    // The CA checks TrustStore makes itself (GnuTLS's are off: it counts self-issued CAs against
    // pathLenConstraint): every issuer a CA with keyCertSign, pathLenConstraint with a key
    // rollover exempt, the anchor's own constraints as GnuTLS applied them.
    void ca_constraints()
    {
        struct Case {
            const char* anchor;
            std::vector<const char*> intermediates;
            const char* ee;
            std::optional<Problem> problem;  // nullopt: valid
        };
        const std::vector<Case> cases = {
            {"lroot", {"lca0"}, "ee-lca0", std::nullopt},                            // pathlen 0 allows an end entity
            {"lroot", {"lca0", "lca0new"}, "ee-lca0new", std::nullopt},              // self-issued: exempt (6.1.4 (l))
            {"lroot", {"lca0", "lsub"}, "ee-lsub", Problem::Constraints},            // one CA too many
            {"lroot", {"lca0", "lca0new", "lsub2"}, "ee-lsub2", Problem::Constraints},  // pathlen 0 holds past the rollover
            {"lroot", {"lnotca"}, "ee-lnotca", Problem::IssuerNotCa},                // cA false
            {"lroot", {"lnobc"}, "ee-lnobc", Problem::IssuerNotCa},                  // no basicConstraints
            {"lroot", {"lv1"}, "ee-lv1", Problem::IssuerNotCa},                      // v1 intermediate
            {"lroot", {"lnoks"}, "ee-lnoks", Problem::Constraints},                  // keyUsage without keyCertSign
            {"lroot", {}, "ee-lroot", std::nullopt},
            {"rnotca", {}, "ee-rnotca", Problem::IssuerNotCa},                       // anchor with cA false
            {"rnoks", {}, "ee-rnoks", Problem::Constraints},                         // anchor without keyCertSign
            {"rpl0", {}, "ee-rpl0", std::nullopt},
            {"rpl0", {"rpl0sub"}, "ee-rpl0sub", Problem::Constraints},               // the anchor's pathlen 0 counts
            {"rv1", {}, "ee-rv1", std::nullopt},                                     // a v1 anchor is a CA
            {"rnobc", {}, "ee-rnobc", std::nullopt},                                 // so is a self-issued v3 one
            {"rnobc2", {}, "ee-rnobc2", std::nullopt},                               // its Names equal by §7.1
        };
        const std::time_t now = std::time(nullptr);
        for (const auto& c : cases) {
            std::vector<Certificate> anchors;
            anchors.push_back(cert(c.anchor));
            std::vector<Certificate> intermediates;
            for (const char* n : c.intermediates) intermediates.push_back(cert(n));
            const std::size_t expected_length = c.intermediates.size() + 2;
            const TrustStore store(std::move(anchors), std::move(intermediates), Revocation::Off);
            const auto r = store.validate(cert(c.ee), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(c.ee) + " under " + c.anchor + ": " + r.describe();
            if (!c.problem) {
                CPPUNIT_ASSERT_MESSAGE(msg, r.valid());
                CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, expected_length, r.path.size());
            } else {
                CPPUNIT_ASSERT_MESSAGE(msg, r.has(*c.problem));
                CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, std::size_t{1}, r.problems.size());
                // the reason names the CA at fault: the anchor itself when it is (here: when it
                // issued the end entity), a CA below a pathLenConstraint it exceeds
                CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.intermediates.empty(), r.describe().rfind("trust anchor '", 0) == 0);
            }
        }
    }

    // Critical policyMappings and policyConstraints (which GnuTLS 3.7 alone refuses) are
    // processed: the mapped policy is valid in the home domain, requireExplicitPolicy holds
    // only for mapped policies, inhibitPolicyMapping ends the mapping.
    void policy_mappings_through_a_bridge()
    {
        const std::string h1 = "1.3.6.1.4.1.55555.2.1", br1 = "1.3.6.1.4.1.55555.3.1", pa1 = "1.3.6.1.4.1.55555.4.1";
        const auto store_with = [](const char* bridge_cross) {
            std::vector<Certificate> anchors;
            anchors.push_back(cert("hroot"));
            return TrustStore(std::move(anchors), certs({bridge_cross, "paroot-by-pbridge"}), Revocation::Off);
        };
        const TrustStore mapped = store_with("pbridge-by-hroot");
        const TrustStore inhibited = store_with("pbridge-by-hroot-inhibit");
        struct Case {
            const TrustStore* store;
            const char* what;
            const char* ee;
            std::vector<std::string> required;
            bool valid;
        };
        const std::vector<Case> cases = {
            {&mapped, "mapped", "pa-ee-pa1", {}, true},           // H1 -> BR1 -> PA1: explicit policy met
            {&mapped, "mapped", "pa-ee-pa1", {h1}, true},         // required in the home domain
            {&mapped, "mapped", "pa-ee-pa1", {pa1}, false},       // the partner's own OID is not the home domain's
            {&mapped, "mapped", "pa-ee-pa1", {br1}, false},
            {&mapped, "mapped", "pa-ee-pa2", {}, false},          // PA2 is mapped from nothing: no valid policy
            {&inhibited, "inhibited", "pa-ee-pa1", {}, false},    // the bridge may not map further
            {&inhibited, "inhibited", "pa-ee-pa1", {h1}, false},
        };
        const std::time_t now = std::time(nullptr);
        for (const auto& c : cases) {
            ValidationOptions options;
            options.required_policies = c.required;
            const auto r = c.store->validate(cert(c.ee), {}, now, Purpose::EmailProtection, options);
            const std::string msg = std::string(c.what) + " " + c.ee + " requiring " +
                                    (c.required.empty() ? std::string("none") : c.required.front()) + ": " + r.describe();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.valid, r.valid());
            if (!c.valid) CPPUNIT_ASSERT_MESSAGE(msg, r.has(Problem::Policy) && r.problems.size() == 1);
            if (c.valid) CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, std::size_t{4}, r.path.size());
        }
    }

    // A path built to blow up the valid policy tree is refused at its bound, in bounded time.
    void policy_tree_is_bounded()
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("proot"));
        const TrustStore store(std::move(anchors), certs({"bomb1", "bomb2", "bomb3"}), Revocation::Off);
        const auto started = std::chrono::steady_clock::now();
        const auto r = store.validate(cert("bomb-ee"), {}, std::time(nullptr), Purpose::EmailProtection);
        const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.has(Problem::Policy));
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.describe().find("too many") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(std::to_string(seconds) + " s", seconds < 30);  // a hang guard, not a benchmark
    }

    // GnuTLS is told to let unknown critical extensions pass (so that the policy ones reach
    // policies.cpp); any other unknown critical extension must still refuse the path.
    void unknown_critical_extension_refused()
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("hroot"));
        const TrustStore store(std::move(anchors), certs({"pbridge-by-hroot-unknown", "paroot-by-pbridge"}),
                               Revocation::Off);
        const auto r = store.validate(cert("pa-ee-pa1"), {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(r.describe(), !r.valid());
        CPPUNIT_ASSERT_MESSAGE(r.describe(), r.describe().find("critical extension 1.3.6.1.4.1.55555.9.9") !=
                                                 std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PkiPathsTest);
