// Unit tests for the CRL rules the trust store applies beside GnuTLS (pki/crl_set.h) that NIST
// PKITS (tests/integration/test_pkits.sh) does not show on its own: a delta CRL releases a
// certificate from hold only, only when it applies to the base and is current; reasons split
// between an indirect CRL (another issuer's, named as cRLIssuer) and the CA's own CRL settle a
// status together and neither alone; an indirect CRL's certificateIssuer entries, and what
// makes such a CRL settle nothing; a CRL signer that must itself be valid (RFC 5280 §6.3.3 (f):
// revoked, expired, no path, nested signers, loops). Certificates and CRLs are made here by
// openssl (the CRLs with entry extensions by asn1parse -genconf and dgst, since openssl ca writes
// none).
#include <cppunit/extensions/HelperMacros.h>

#include <ctime>
#include <initializer_list>

#include "pki/certificate.h"
#include "pki/trust_store.h"
#include "tests/unit/test_pki_support.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fs = std::filesystem;

namespace {

// root (anchor) -> CA (issues the end entities and its CRLs); root -> CRL Issuer (cRLSign only,
// issues indirect CRLs). crl-NAME.pem: mkcrl NAME ... (openssl ca -gencrl, this update 2024);
// crl-NAME.der: craft NAME ... (below).
const char* crls_script = R"SH(
ca=$caki  # every CA certificate here names its issuer's key, the roots' their own
ee='basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
# mkcert NAME SUBJECT ISSUER SERIAL EXTENSIONS (printf %b text); ISSUER "-": self-signed
mkcert() {
  key "$1"; csr "$1" "$2"
  if [ "$3" = - ]; then self "$1" "$5" "$4"; else cross "$1" "$1" "$3" "$5" "$4"; fi
}
# mkcrl NAME ISSUER CRLNUMBER NEXTUPDATE EXTENSIONS [CERT:REASON ...]  (REASON hold: certificateHold)
mkcrl() {
  name=$1 issuer=$2 number=$3 next=$4 exts=$5; shift 5
  d=db/$name; mkdir -p "$d"; : > "$d/index.txt"; printf "%02x\n" "$number" > "$d/crlnumber"
  printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\ncrl_extensions=crlext\n[crlext]\nauthorityKeyIdentifier=keyid\n%b\n' "$d" "$d" "$exts" > "$d/ca.cnf"
  for r in "$@"; do
    case ${r#*:} in hold) why="-crl_hold holdInstructionReject" ;; *) why="-crl_reason ${r#*:}" ;; esac
    openssl ca -batch -config "$d/ca.cnf" -cert "$issuer.pem" -keyfile "$issuer.key" -revoke "${r%%:*}.pem" $why 2>>openssl.log
  done
  openssl ca -batch -config "$d/ca.cnf" -cert "$issuer.pem" -keyfile "$issuer.key" -gencrl \
    -crl_lastupdate 20240101000000Z -crl_nextupdate "$next" -out "crl-$name.pem" 2>>openssl.log
}
mkdir -p db
mkcert root "/O=Crl Test/CN=Root" - 1 "$ca"
mkcert ca "/O=Crl Test/CN=CA" root 2 "$ca"
mkcert crlissuer "/O=Crl Test/CN=CRL Issuer" root 3 'keyUsage=critical,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
later=20990101000000Z
mkcrl root root 1 $later ''
# CRL Issuer certificates for the CRL Issuer's key (its indirect CRLs verify with each):
# rekey NAME ISSUER SERIAL DAYS EXTENSIONS
crlsign='keyUsage=critical,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
rekey() {
  openssl req -new -key crlissuer.key -subj "/O=Crl Test/CN=CRL Issuer" -out "$1.csr" 2>/dev/null
  printf '[x]\n%b\n' "$5" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -set_serial "$3" -days "$4" -extfile "$1.ext" -extensions x -out "$1.pem" 2>/dev/null
}
mkcert otherroot "/O=Crl Test/CN=Other Root" - 4 "$ca"
rekey crlissuer-short root 5 1 "$crlsign"
rekey crlissuer-other otherroot 6 3650 "$crlsign"
# its one distribution point is the CRL Issuer's own indirect CRL
rekey crlissuer-self root 7 3650 "$crlsign\ncrlDistributionPoints=dp1\n[dp1]\nfullname=URI:http://crl.example/indirect.crl\nCRLissuer=dirName:crlissuer_dn\n[crlissuer_dn]\nO=Crl Test\nCN=CRL Issuer"
# the CA's key and name again, certified by the root that is no anchor: no path uses it, but it
# verifies the CA's CRLs (ca-again.pem sorts, and loads, before ca.pem)
openssl req -new -key ca.key -subj "/O=Crl Test/CN=CA" -out ca-again.csr 2>/dev/null
printf '[x]\n%b\n' "$ca" > ca-again.ext
openssl x509 -req -in ca-again.csr -CA otherroot.pem -CAkey otherroot.key -set_serial 8 -days 3650 -extfile ca-again.ext -extensions x -out ca-again.pem 2>/dev/null
# CRL issuers s1..s4 of the root's, each one's status on the next one's indirect CRL only (s4's
# on its own); deep4 and deep3 (the CA's) name s1's and s2's CRL: 4 and 3 signers nested.
for k in 1 2 3 4; do
  next=$((k < 4 ? k + 1 : 4))
  mkcert s$k "/O=Crl Test/CN=S$k" root $((20 + k)) "$crlsign\ncrlDistributionPoints=dp\n[dp]\nfullname=URI:http://crl.example/s$next.crl\nCRLissuer=dirName:n\n[n]\nO=Crl Test\nCN=S$next"
  mkcrl s$k s$k 1 $later "issuingDistributionPoint=critical,@idp\n[idp]\nfullname=URI:http://crl.example/s$k.crl\nindirectCRL=TRUE"
done
mkcert deep4 "/CN=deep4" ca 32 "$ee\ncrlDistributionPoints=dp\n[dp]\nfullname=URI:http://crl.example/s1.crl\nCRLissuer=dirName:n\n[n]\nO=Crl Test\nCN=S1"
mkcert deep3 "/CN=deep3" ca 33 "$ee\ncrlDistributionPoints=dp\n[dp]\nfullname=URI:http://crl.example/s2.crl\nCRLissuer=dirName:n\n[n]\nO=Crl Test\nCN=S2"
mkcrl root-ca-only root 2 $later 'issuingDistributionPoint=critical,@idp\n[idp]\nonlyCA=TRUE'
mkcrl root-revokes-crlissuer root 3 $later '' crlissuer:keyCompromise
# delta CRLs: held (on hold on the base), compromised (keyCompromise on the base), good
mkcert held "/CN=held" ca 16 "$ee"
mkcert compromised "/CN=compromised" ca 17 "$ee"
mkcert good "/CN=good" ca 18 "$ee"
mkcrl base ca 1 $later '' held:hold compromised:keyCompromise
mkcrl delta ca 2 $later 'deltaCRL=critical,ASN1:INTEGER:1' held:removeFromCRL compromised:removeFromCRL
mkcrl delta-for-later ca 4 $later 'deltaCRL=critical,ASN1:INTEGER:3' held:removeFromCRL
mkcrl delta-stale ca 2 20240201000000Z 'deltaCRL=critical,ASN1:INTEGER:1' held:removeFromCRL
# reasons split between an indirect CRL (the CRL issuer's) and the CA's own
mkcert split "/CN=split" ca 19 "$ee\ncrlDistributionPoints=dp1,dp2\n[dp1]\nfullname=URI:http://crl.example/indirect.crl\nCRLissuer=dirName:crlissuer_dn\nreasons=keyCompromise,CACompromise\n[dp2]\nfullname=URI:http://crl.example/ca.crl\nreasons=unused,affiliationChanged,superseded,cessationOfOperation,certificateHold,privilegeWithdrawn,AACompromise\n[crlissuer_dn]\nO=Crl Test\nCN=CRL Issuer"
mkcrl indirect crlissuer 1 $later 'issuingDistributionPoint=critical,@idp\n[idp]\nfullname=URI:http://crl.example/indirect.crl\nindirectCRL=TRUE'
mkcrl ca-dp ca 1 $later 'issuingDistributionPoint=critical,@idp\n[idp]\nfullname=URI:http://crl.example/ca.crl\nonlysomereasons=unused,affiliationChanged,superseded,cessationOfOperation,certificateHold,privilegeWithdrawn,AACompromise'
# craft NAME ENTRYEXTS [CRLEXTS]: an indirect CRL of the CRL Issuer for
# http://crl.example/indirect.crl, written with asn1parse -genconf (openssl ca writes no
# certificateIssuer) and signed with openssl dgst into crl-NAME.der: one entry, serial 0x30, whose
# extensions are the lines ENTRYEXTS (printf %b text, sections of their own after an [entryexts]
# line); CRLEXTS replaces the [crlexts] section (its idp_ext is the usual IDP).
craft() {
  printf '%s\n' 'asn1=SEQUENCE:tbs' > "$1.tbs.cnf"
  printf '%b\n' '[tbs]\nversion=INTEGER:1\nalg=SEQUENCE:alg\nissuer=SEQUENCE:crlissuer_name\nthis=UTCTIME:240101000000Z\nnext=GENTIME:20990101000000Z\nrevoked=SEQUENCE:revoked\nexts=EXPLICIT:0,SEQUENCE:crlexts' \
    '[alg]\noid=OID:ecdsa-with-SHA256' \
    '[crlissuer_name]\no=SET:o\ncn=SET:cn_crlissuer\n[ca_name]\no=SET:o\ncn=SET:cn_ca' \
    '[o]\natv=SEQUENCE:o_atv\n[o_atv]\nt=OID:organizationName\nv=UTF8String:Crl Test' \
    '[cn_crlissuer]\natv=SEQUENCE:cn_crlissuer_atv\n[cn_crlissuer_atv]\nt=OID:commonName\nv=UTF8String:CRL Issuer' \
    '[cn_ca]\natv=SEQUENCE:cn_ca_atv\n[cn_ca_atv]\nt=OID:commonName\nv=UTF8String:CA' \
    '[revoked]\ne=SEQUENCE:entry\n[entry]\nserial=INTEGER:0x30\ndate=UTCTIME:240101000000Z\nexts=SEQUENCE:entryexts' \
    "${3:-[crlexts]\nidp=SEQUENCE:idp_ext}" '[idp_ext]\noid=OID:2.5.29.28\ncritical=BOOLEAN:TRUE\nv=OCTWRAP,SEQUENCE:idp' \
    '[idp]\ndp=EXPLICIT:0,EXPLICIT:0,IMPLICIT:6,IA5STRING:http://crl.example/indirect.crl\nindirect=IMPLICIT:4,BOOLEAN:TRUE' \
    "$2" >> "$1.tbs.cnf"
  openssl asn1parse -genconf "$1.tbs.cnf" -out "$1.tbs.der" >/dev/null
  openssl dgst -sha256 -sign crlissuer.key -out "$1.sig" "$1.tbs.der"
  { sed '1s/.*/asn1=SEQUENCE:crl/' "$1.tbs.cnf"
    printf '[crl]\ntbs=SEQUENCE:tbs\nalg=SEQUENCE:alg\nsig=FORMAT:HEX,BITSTRING:%s\n' "$(od -An -v -tx1 "$1.sig" | tr -d ' \n')"
  } > "$1.cnf"
  openssl asn1parse -genconf "$1.cnf" -out "crl-$1.der" >/dev/null
}
# certificateIssuer CA for serial 0x30 (a certificate of the CA's); the same beside an unknown
# critical entry extension; a certificateIssuer naming a URI only (nobody we can match)
mkcert listed "/CN=listed" ca 48 "$ee"
cisec='[ci_ext]\noid=OID:2.5.29.29\ncritical=BOOLEAN:TRUE\nv=OCTWRAP,SEQUENCE:ci_names\n[ci_names]\ndn=EXPLICIT:4,SEQUENCE:ca_name'
craft indirect-listed "[entryexts]\nci=SEQUENCE:ci_ext\n$cisec"
craft indirect-unknown-entry-ext "[entryexts]\nci=SEQUENCE:ci_ext\nx=SEQUENCE:x_ext\n$cisec\n[x_ext]\noid=OID:1.3.6.1.4.1.55555.7\ncritical=BOOLEAN:TRUE\nv=OCTWRAP,NULL"
# two issuing distribution points (RFC 5280 forbids it; OpenSSL refuses to read it, GnuTLS not):
# the first for another point, the second the usual one
craft indirect-two-idps "[entryexts]\nci=SEQUENCE:ci_ext\n$cisec" '[crlexts]\nother=SEQUENCE:other_idp_ext\nidp=SEQUENCE:idp_ext\n[other_idp_ext]\noid=OID:2.5.29.28\ncritical=BOOLEAN:TRUE\nv=OCTWRAP,SEQUENCE:other_idp\n[other_idp]\ndp=EXPLICIT:0,EXPLICIT:0,IMPLICIT:6,IA5STRING:http://crl.example/other.crl\nindirect=IMPLICIT:4,BOOLEAN:TRUE'
craft indirect-uri-issuer '[entryexts]\nci=SEQUENCE:ci_ext\n[ci_ext]\noid=OID:2.5.29.29\ncritical=BOOLEAN:TRUE\nv=OCTWRAP,SEQUENCE:ci_names\n[ci_names]\nuri=IMPLICIT:6,IA5STRING:http://ca.example/'
# review: a CRL-signing certificate with the CA's name but another key, certified by the root that
# is no anchor (no path: not a valid CRL signer); its delta CRL for the CA's base releases held
mkcert ca-rogue "/O=Crl Test/CN=CA" otherroot 9 "$crlsign"
mkcrl delta-rogue ca-rogue 2 $later 'deltaCRL=critical,ASN1:INTEGER:1' held:removeFromCRL
# review: the CA's key and name with the name's strings PrintableString (ca.pem's are UTF8String);
# enc is issued under that encoding of the CA's name, and listed on the CA's CRL
printf '[req]\ndistinguished_name=dn\nstring_mask=default\n[dn]\n' > printable.cnf
cp ca.key ca-printable.key
openssl req -new -config printable.cnf -key ca.key -subj "/O=Crl Test/CN=CA" -out ca-printable.csr 2>/dev/null
printf '[x]\n%b\n' "$ca" > ca-printable.ext
openssl x509 -req -in ca-printable.csr -signkey ca.key -set_serial 10 -days 3650 -extfile ca-printable.ext -extensions x -out ca-printable.pem 2>/dev/null
mkcert enc "/CN=enc" ca-printable 49 "$ee"
mkcrl enc-listed ca 5 $later '' enc:keyCompromise
# and the other way round: renamed is issued under ca.pem's name (UTF8String), the CA's CRL
# printable-listed (signed with its key) names it in PrintableString and lists renamed
mkcert renamed "/CN=renamed" ca 50 "$ee"
mkcrl printable-listed ca-printable 6 $later '' renamed:keyCompromise
# review: two anchors named "/O=Crl Test/CN=Twin": twin-ca (a CA) and twin-ee (not a CA: cA false,
# digitalSignature only); twin-leaf is signed with twin-ee's key and carries no AKI
mkcert twin-ca "/O=Crl Test/CN=Twin" - 11 "$ca"
mkcert twin-ee "/O=Crl Test/CN=Twin" - 12 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash'
mkcert twin-leaf "/CN=twin leaf" twin-ee 13 'authorityKeyIdentifier=none\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nsubjectAltName=email:leaf@twin.example'
# review: anchors partner (not a CA: cA false, digitalSignature only) and root199, a CA whose name
# falls in partner's bucket of GnuTLS's trust list (hash_pjw_bare of the raw Name, mod 127);
# forged: partner's name and key, cA true, "issued" under root199's name but signed by another
# key; victim: signed with partner's key, no AKI
mkcert root199 "/O=Crl Test/CN=Root 199" - 14 "$ca"
mkcert partner "/O=Crl Test/CN=Partner" - 15 'basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash'
mkcert fakeroot "/O=Crl Test/CN=Root 199" - 16 "$ca"
openssl req -new -key partner.key -subj "/O=Crl Test/CN=Partner" -out forged.csr 2>/dev/null
printf '[x]\n%b\n' 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=none' > forged.ext
openssl x509 -req -in forged.csr -CA fakeroot.pem -CAkey fakeroot.key -set_serial 17 -days 3650 -extfile forged.ext -extensions x -out forged.pem 2>/dev/null
mkcert victim "/CN=victim" partner 18 'authorityKeyIdentifier=none\nbasicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nsubjectAltName=email:ceo@victim.example'


)SH";

test::openssl_pki::ScriptedPki& made_pki()
{
    static test::openssl_pki::ScriptedPki pki("make", crls_script);
    return pki;
}

const fs::path& pki_dir() { return made_pki().dir(); }

Certificate cert(const std::string& name) { return made_pki().cert(name); }

// A hard-fail store (no OCSP, no fetching) with the root as anchor, the intermediates named (CA
// and CRL Issuer by default) and the CRLs named (crl-NAME.pem).
class Store {
public:
    explicit Store(std::initializer_list<const char*> crls,
                   std::initializer_list<const char*> intermediates = {"ca", "crlissuer"},
                   Revocation mode = Revocation::HardFail)
    {
        const fs::path trust = m_dir.path() / "trust", inter = m_dir.path() / "inter", folder = m_dir.path() / "crls";
        for (const auto& d : {trust, inter, folder}) fs::create_directories(d);
        fs::copy_file(pki_dir() / "root.pem", trust / "root.pem");
        for (const char* i : intermediates) {
            const std::string file = std::string(i) + ".pem";
            fs::copy_file(pki_dir() / file, inter / file);
        }
        for (const char* c : crls) {
            std::string file = "crl-" + std::string(c) + ".pem";
            if (!fs::exists(pki_dir() / file)) file = "crl-" + std::string(c) + ".der";  // craft's
            fs::copy_file(pki_dir() / file, folder / file);
        }
        TrustStoreConfig config{trust, inter, folder};
        config.revocation = mode;
        config.online.ocsp = false;
        config.online.crl_distribution_points = false;
        m_store = std::make_unique<TrustStore>(config);
        CPPUNIT_ASSERT_EQUAL(crls.size(), m_store->crl_count());
    }
    ValidationResult validate(const std::string& name, std::time_t now = std::time(nullptr)) const
    {
        return m_store->validate(cert(name), {}, now, Purpose::Any);
    }

private:
    test::TempDir m_dir;
    std::unique_ptr<TrustStore> m_store;
};

void expect_valid(const Store& s, const std::string& name)
{
    const auto r = s.validate(name);
    CPPUNIT_ASSERT_MESSAGE(name + ": " + r.describe(), r.valid());
}

void expect_problem(const Store& s, const std::string& name, Problem p)
{
    const auto r = s.validate(name);
    CPPUNIT_ASSERT_MESSAGE(name + ": " + r.describe(), r.has(p));
}

}  // namespace

class PkiCrlTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PkiCrlTest);
    CPPUNIT_TEST(delta_releases_held_certificates_only);
    CPPUNIT_TEST(delta_for_another_base_or_outdated_releases_nothing);
    CPPUNIT_TEST(reasons_split_between_indirect_and_own_crl);
    CPPUNIT_TEST(indirect_entries_and_what_settles_nothing);
    CPPUNIT_TEST(crl_signer_must_itself_be_valid);
    CPPUNIT_TEST_SUITE_END();

public:
    // base (cRLNumber 1): held on hold, compromised keyCompromise; delta (2, base 1):
    // removeFromCRL for both. removeFromCRL releases a hold, never a revocation.
    void delta_releases_held_certificates_only()
    {
        const Store base_only({"root", "base"});
        expect_problem(base_only, "held", Problem::Revoked);  // on hold counts as revoked
        expect_problem(base_only, "compromised", Problem::Revoked);
        expect_valid(base_only, "good");
        const Store with_delta({"root", "base", "delta"});
        expect_valid(with_delta, "held");
        expect_problem(with_delta, "compromised", Problem::Revoked);
        expect_valid(with_delta, "good");
        // A delta alone settles nothing: the base is needed.
        expect_problem(Store({"root", "delta"}), "good", Problem::RevocationUnknown);
    }

    // A delta whose deltaCRLIndicator (3) is above the base's cRLNumber (1) is for a later base;
    // an outdated delta (nextUpdate 2024-02-01) no longer speaks: the hold stays.
    void delta_for_another_base_or_outdated_releases_nothing()
    {
        const Store later({"root", "base", "delta-for-later"});
        expect_problem(later, "held", Problem::Revoked);
        expect_valid(later, "good");
        const Store stale({"root", "base", "delta-stale"});
        expect_problem(stale, "held", Problem::Revoked);
        expect_valid(stale, "good");
    }

    // split's points: keyCompromise and cACompromise from the CRL Issuer's indirect CRL, every
    // other reason from the CA's own CRL (onlySomeReasons). Both are needed.
    void reasons_split_between_indirect_and_own_crl()
    {
        expect_valid(Store({"root", "indirect", "ca-dp"}), "split");
        expect_problem(Store({"root", "ca-dp"}), "split", Problem::RevocationUnknown);
        expect_problem(Store({"root", "indirect"}), "split", Problem::RevocationUnknown);
        // The CA's CRL for its distribution point does not cover a certificate that names none.
        expect_problem(Store({"root", "indirect", "ca-dp"}), "good", Problem::RevocationUnknown);
    }

    // Indirect CRLs of the CRL Issuer with one entry, serial 0x30, whose certificateIssuer is the
    // CA: it revokes the CA's certificate 0x30. Beside an unknown critical entry extension, or
    // with a certificateIssuer we cannot match (a URI), the CRL settles nothing (fail closed).
    void indirect_entries_and_what_settles_nothing()
    {
        expect_valid(Store({"root", "base"}), "listed");
        const Store listed({"root", "base", "indirect-listed"});
        expect_problem(listed, "listed", Problem::Revoked);
        expect_valid(listed, "good");
        expect_valid(Store({"root", "ca-dp", "indirect-listed"}), "split");
        expect_problem(Store({"root", "ca-dp", "indirect-unknown-entry-ext"}), "split", Problem::RevocationUnknown);
        expect_problem(Store({"root", "ca-dp", "indirect-uri-issuer"}), "split", Problem::RevocationUnknown);
        // A second issuing distribution point does not widen (or narrow) what the first says:
        // the CRL settles nothing. Its entries still revoke.
        const Store two_idps({"root", "ca-dp", "indirect-two-idps"});
        expect_problem(two_idps, "split", Problem::RevocationUnknown);
        expect_problem(two_idps, "listed", Problem::Revoked);
    }

    // RFC 5280 §6.3.3 (f): the indirect CRL settles split's status only while the CRL Issuer's
    // certificate is itself valid: not revoked, not expired, on a path to the same anchor.
    // Otherwise (hard-fail) the status is unknown.
    void crl_signer_must_itself_be_valid()
    {
        expect_problem(Store({"root-revokes-crlissuer", "indirect", "ca-dp"}), "split", Problem::RevocationUnknown);
        const Store short_lived({"root", "indirect", "ca-dp"}, {"ca", "crlissuer-short"});
        expect_valid(short_lived, "split");
        const auto later = short_lived.validate("split", std::time(nullptr) + 3 * 86400);
        CPPUNIT_ASSERT_MESSAGE(later.describe(), later.has(Problem::RevocationUnknown));
        CPPUNIT_ASSERT_MESSAGE(later.describe(), later.describe().find("CRL signer is not valid") != std::string::npos);
        expect_problem(Store({"root", "indirect", "ca-dp"}, {"ca", "crlissuer-other", "otherroot"}), "split",
                       Problem::RevocationUnknown);
        // crlissuer-self: the root's CRL for CA certificates does not cover it, its own indirect
        // CRL does (as in PKITS 4.14.30): the loop ends, and that CRL counts for it. Without the
        // root's CRL for the CA, nothing settles the CA's status.
        expect_valid(Store({"root", "indirect", "ca-dp"}, {"ca", "crlissuer-self"}), "split");
        expect_valid(Store({"root-ca-only", "indirect", "ca-dp"}, {"ca", "crlissuer-self"}), "split");
        expect_problem(Store({"indirect", "ca-dp"}, {"ca", "crlissuer-self"}), "split", Problem::RevocationUnknown);
        // CRL signers nested three deep are validated; four deep, the innermost is not.
        const Store nested({"root-ca-only", "s1", "s2", "s3", "s4"}, {"ca", "s1", "s2", "s3", "s4"});
        expect_valid(nested, "deep3");
        const auto deep = nested.validate("deep4");
        CPPUNIT_ASSERT_MESSAGE(deep.describe(), deep.has(Problem::RevocationUnknown));
        CPPUNIT_ASSERT_MESSAGE(deep.describe(), deep.describe().find("nested too deeply") != std::string::npos);
        // The CA's CRL verified with another certificate of the CA's key and name is the CA's.
        expect_valid(Store({"root", "base"}, {"ca-again", "ca", "crlissuer"}), "good");
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PkiCrlTest);

// Findings of the review of the PKI merge (f845e8c..f92f03a): each test fails on that code.
class PkiCrlReviewTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PkiCrlReviewTest);
    CPPUNIT_TEST(delta_of_an_invalid_signer_releases_no_hold);
    CPPUNIT_TEST(issuer_name_differing_in_string_type_finds_its_crls);
    CPPUNIT_TEST(path_accepted_through_a_non_ca_anchor_of_a_twin_name);
    CPPUNIT_TEST(path_accepted_through_a_forged_ca_certificate_for_an_anchor_key);
    CPPUNIT_TEST_SUITE_END();

public:
    // held is on hold on the CA's base CRL. delta-rogue, a delta CRL for that base that
    // releases held, is signed by ca-rogue: the CA's name, another key, certified by a root that
    // is no anchor. RFC 5280 §6.3.3 (f), (h): a delta CRL is believed only with the key validated
    // for its base (at the least: a valid signer). crl_set.cpp newest_delta/released ask
    // nothing about the delta's signer, so the hold is released and held accepted.
    void delta_of_an_invalid_signer_releases_no_hold()
    {
        const Store rogue({"root", "base", "delta-rogue"}, {"ca", "crlissuer", "ca-rogue"});
        expect_problem(rogue, "held", Problem::Revoked);
    }

    // enc's issuer Name is the CA's with PrintableString where ca.pem has UTF8String: the same
    // Name (RFC 5280 §7.1), and enc is listed on the CA's (plain) CRL, whose issuer Name is
    // ca.pem's. GnuTLS looks CRLs up by a hash of the raw issuer Name (verify-high.c) and misses
    // it; the review of 2026-12-01 found a revoked certificate accepted in soft-fail when path
    // building chained such names and the CRL lookups compared raw names. Now every CRL lookup
    // compares Names as path building does (plain_crl_lists, crls_settle, the distribution
    // points): listed is revoked in either mode, and an issuer CRL that does not list it settles
    // its status. The other way round as well: renamed's issuer Name is ca.pem's byte for byte
    // (GnuTLS chains and applies CRLs itself) and its CA's CRL names the CA in PrintableString.
    void issuer_name_differing_in_string_type_finds_its_crls()
    {
        for (const Revocation mode : {Revocation::SoftFail, Revocation::HardFail}) {
            expect_problem(Store({"root", "enc-listed"}, {"ca", "crlissuer"}, mode), "enc", Problem::Revoked);
            expect_problem(Store({"root", "printable-listed"}, {"ca", "crlissuer"}, mode), "renamed", Problem::Revoked);
        }
        expect_valid(Store({"root", "base"}), "enc");
        expect_valid(Store({"root", "printable-listed"}), "good");
    }

    // Anchors twin-ca (a CA) and twin-ee (cA false) share a name; twin-leaf is signed by
    // twin-ee's key (no AKI). The path to twin-ee fails check_ca_constraints; path_builder then
    // offers twin-ca as the anchor though its key does not verify twin-leaf. GnuTLS, asked with
    // the chain alone, picks its own issuer among the anchors of that name (verify.c find_issuer:
    // the last one currently valid, twin-ee), finds the signature good and, its CA check being
    // off (GNUTLS_VERIFY_DISABLE_CA_SIGN), raises nothing; check_ca_constraints checks twin-ca.
    // Before a92edea GnuTLS's check_if_ca refused twin-ee.
    // Anchors partner (cA false) and root199 (a CA in the same GnuTLS trust-list bucket). The
    // message carries victim, signed with partner's key, and forged: partner's name and key with
    // cA true, under root199's name with a signature that does not verify. path_builder offers
    // victim <- forged <- root199. GnuTLS's _gnutls_verify_crt_status (verify.c) cuts the chain
    // at forged (same name and key as the trusted partner: _gnutls_check_if_same_key) and
    // verifies victim with partner only: forged's signature is checked by nobody, and
    // check_ca_constraints checks forged and root199 instead of partner. Before a92edea,
    // GnuTLS's check_if_ca refused partner as victim's issuer.
    void path_accepted_through_a_forged_ca_certificate_for_an_anchor_key()
    {
        test::TempDir dir;
        const fs::path trust = dir.path() / "trust", inter = dir.path() / "inter";
        fs::create_directories(trust);
        fs::create_directories(inter);
        fs::copy_file(pki_dir() / "root199.pem", trust / "root199.pem");
        fs::copy_file(pki_dir() / "partner.pem", trust / "partner.pem");
        TrustStoreConfig config{trust, inter, {}};
        config.revocation = Revocation::Off;
        config.online.ocsp = false;
        config.online.crl_distribution_points = false;
        const TrustStore store(config);
        const auto alone = store.validate(cert("victim"), {}, std::time(nullptr), Purpose::Any);
        CPPUNIT_ASSERT_MESSAGE("victim alone: " + alone.describe(), !alone.valid());
        std::vector<Certificate> carried;
        carried.push_back(cert("forged"));
        const auto r = store.validate(cert("victim"), carried, std::time(nullptr), Purpose::Any);
        CPPUNIT_ASSERT_MESSAGE("victim with forged: " + r.describe(), !r.valid());
    }

    void path_accepted_through_a_non_ca_anchor_of_a_twin_name()
    {
        test::TempDir dir;
        const fs::path trust = dir.path() / "trust", inter = dir.path() / "inter";
        fs::create_directories(trust);
        fs::create_directories(inter);
        fs::copy_file(pki_dir() / "twin-ca.pem", trust / "twin-ca.pem");
        fs::copy_file(pki_dir() / "twin-ee.pem", trust / "twin-ee.pem");
        TrustStoreConfig config{trust, inter, {}};
        config.revocation = Revocation::Off;
        config.online.ocsp = false;
        config.online.crl_distribution_points = false;
        const TrustStore store(config);
        const auto r = store.validate(cert("twin-leaf"), {}, std::time(nullptr), Purpose::Any);
        CPPUNIT_ASSERT_MESSAGE("twin-leaf: " + r.describe(), !r.valid());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PkiCrlReviewTest);
