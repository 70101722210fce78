// Unit tests for online revocation (pki/revocation.h, pki/http_fetcher.h) against real servers on
// 127.0.0.1: CRLs made by `openssl ca -gencrl` served by python3 -m http.server, and an
// `openssl ocsp` responder with a delegated signing certificate. The certificates name those
// ports in crlDistributionPoints and authorityInfoAccess. Indirect CRLs (with a certificateIssuer
// entry: asn1parse -genconf, openssl dgst) and delta CRLs (freshestCRL) are served the same way.
// Requests are counted in server logs.
#include <cppunit/extensions/HelperMacros.h>

#include <atomic>
#include <optional>
#include <memory>
#include <thread>

#include "pki/revocation.h"
#include "pki/trust_store.h"
#include "tests/unit/test_revocation_support.h"

using namespace ssm;
using namespace ssm::pki;
namespace fs = std::filesystem;

namespace {

// $1 folder, $2 CRL port, $3 OCSP port, $4 a port nobody listens on.
const char* revocation_script = R"SH(
set -eu
cd "$1"
crl=$2 ocsp=$3 dead=$4
export OPENSSL_CONF=/dev/null
mkdir -p www
make_root
ca='basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
issue root ica "$ca\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/root.crl"
cadir ica
ee='basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
both="authorityInfoAccess=OCSP;URI:http://127.0.0.1:$ocsp/\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/ica.crl"
issue ica good "$ee\n$both"
issue ica revoked-ocsp "$ee\n$both"
issue ica crl-good "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/ica.crl"
issue ica crl-revoked "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/ica.crl"
issue ica dead "$ee\nauthorityInfoAccess=OCSP;URI:http://127.0.0.1:$dead/\ncrlDistributionPoints=URI:http://127.0.0.1:$dead/ica.crl"
issue ica none "$ee"
# many-urls: six OCSP responders and six distribution points, none answering
aia= cdp=
for i in 1 2 3 4 5 6; do aia="$aia${aia:+,}OCSP;URI:http://127.0.0.1:$dead/$i"; cdp="$cdp${cdp:+,}URI:http://127.0.0.1:$dead/$i.crl"; done
issue ica many-urls "$ee\nauthorityInfoAccess=$aia\ncrlDistributionPoints=$cdp"
# The delegated responder carries id-pkix-ocsp-nocheck (without it, its own status would need a CRL).
issue ica responder "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,OCSPSigning\nnoCheck=ignored"
# Indirect CRLs: cri and cri2 sign CRLs for ica's certificates (cRLSign only; their own status
# from the root's CRL, which revokes cri2). ind-*: distribution point indirect.crl, cRLIssuer cri.
crlsign='keyUsage=critical,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
issue root cri "$crlsign\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/root.crl"
issue root cri2 "$crlsign\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/root.crl"
openssl ca -batch -config root/ca.cnf -revoke cri2.pem -crl_reason keyCompromise 2>>openssl.log
indirect() { printf '%s' "crlDistributionPoints=dp1\n[dp1]\nfullname=URI:http://127.0.0.1:$crl/$1.crl\nCRLissuer=dirName:cri_dn\n[cri_dn]\nCN=$2"; }
issue ica ind-good "$ee\n$(indirect indirect cri)"
issue ica ind-revoked "$ee\n$(indirect indirect cri)"
issue ica ind2-good "$ee\n$(indirect indirect2 cri2)"
# craft NAME SIGNER SERIAL: an indirect CRL of SIGNER for http://127.0.0.1:$crl/NAME.crl with one
# entry, SERIAL, whose certificateIssuer is ica (openssl ca writes no certificateIssuer: the CRL
# is written with asn1parse -genconf and signed with openssl dgst)
craft() {
  printf '%b\n' 'asn1=SEQUENCE:tbs\n[tbs]\nversion=INTEGER:1\nalg=SEQUENCE:alg\nissuer=SEQUENCE:signer_name' \
    'this=UTCTIME:240101000000Z\nnext=GENTIME:20990101000000Z\nrevoked=SEQUENCE:revoked\nexts=EXPLICIT:0,SEQUENCE:crlexts' \
    '[alg]\noid=OID:ecdsa-with-SHA256\n[signer_name]\ncn=SET:cn_signer\n[cn_signer]\natv=SEQUENCE:cn_signer_atv' \
    "[cn_signer_atv]\nt=OID:commonName\nv=UTF8String:$2\n[ica_name]\ncn=SET:cn_ica\n[cn_ica]\natv=SEQUENCE:cn_ica_atv" \
    '[cn_ica_atv]\nt=OID:commonName\nv=UTF8String:ica' \
    "[revoked]\ne=SEQUENCE:entry\n[entry]\nserial=INTEGER:0x$3\ndate=UTCTIME:240101000000Z\nexts=SEQUENCE:entryexts" \
    '[entryexts]\nci=SEQUENCE:ci_ext\n[ci_ext]\noid=OID:2.5.29.29\ncritical=BOOLEAN:TRUE\nv=OCTWRAP,SEQUENCE:ci_names' \
    '[ci_names]\ndn=EXPLICIT:4,SEQUENCE:ica_name\n[crlexts]\nidp=SEQUENCE:idp_ext' \
    '[idp_ext]\noid=OID:2.5.29.28\ncritical=BOOLEAN:TRUE\nv=OCTWRAP,SEQUENCE:idp' \
    "[idp]\ndp=EXPLICIT:0,EXPLICIT:0,IMPLICIT:6,IA5STRING:http://127.0.0.1:$crl/$1.crl\nindirect=IMPLICIT:4,BOOLEAN:TRUE" \
    > $1.tbs.cnf
  openssl asn1parse -genconf $1.tbs.cnf -out $1.tbs.der >/dev/null
  openssl dgst -sha256 -sign $2.key -out $1.sig $1.tbs.der
  { sed '1s/.*/asn1=SEQUENCE:crl/' $1.tbs.cnf
    printf '[crl]\ntbs=SEQUENCE:tbs\nalg=SEQUENCE:alg\nsig=FORMAT:HEX,BITSTRING:%s\n' "$(od -An -v -tx1 $1.sig | tr -d ' \n')"
  } > $1.cnf
  openssl asn1parse -genconf $1.cnf -out www/$1.crl >/dev/null
}
serial() { openssl x509 -noout -serial -in $1.pem | cut -d= -f2; }
craft indirect cri "$(serial ind-revoked)"
craft indirect2 cri2 "$(serial ind-revoked)"
# Delta CRLs: dbase.crl (cRLNumber 1, freshestCRL delta.crl) puts delta-held on hold; delta.crl
# (base 1) adds delta-revoked and removes delta-held.
issue ica delta-good "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/dbase.crl"
issue ica delta-revoked "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/dbase.crl"
issue ica delta-held "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/dbase.crl"
# mkcrl NAME NUMBER EXTENSIONS [CERT:REASON ...]: ica's CRL www/NAME.crl from a database of its own,
# signed with $signer's key (ica's by default)
signer=ica
mkcrl() {
  name=$1 number=$2 exts=$3; shift 3
  d=db-$name; mkdir -p $d; : > $d/index.txt; printf '%02x\n' $number > $d/crlnumber
  printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\ndefault_crl_days=2\ncrl_extensions=crlext\n[crlext]\nauthorityKeyIdentifier=keyid\n%b\n' $d $d "$exts" > $d/ca.cnf
  for r in "$@"; do
    case ${r#*:} in hold) why="-crl_hold holdInstructionReject" ;; *) why="-crl_reason ${r#*:}" ;; esac
    openssl ca -batch -config $d/ca.cnf -cert $signer.pem -keyfile $signer.key -revoke ${r%%:*}.pem $why 2>>openssl.log
  done
  openssl ca -batch -config $d/ca.cnf -cert $signer.pem -keyfile $signer.key -gencrl -out $name.crl.pem 2>>openssl.log
  openssl crl -in $name.crl.pem -outform DER -out www/$name.crl
}
mkcrl dbase 1 "freshestCRL=URI:http://127.0.0.1:$crl/delta.crl" delta-held:hold
mkcrl delta 2 'deltaCRL=critical,ASN1:INTEGER:1' delta-revoked:keyCompromise delta-held:removeFromCRL
# The certificate's own freshestCRL: fresh-* name dbase2.crl (no freshestCRL) and delta2.crl.
fresh="crlDistributionPoints=URI:http://127.0.0.1:$crl/dbase2.crl\nfreshestCRL=URI:http://127.0.0.1:$crl/delta2.crl"
issue ica fresh-good "$ee\n$fresh"
issue ica fresh-revoked "$ee\n$fresh"
mkcrl dbase2 1 ''
mkcrl delta2 2 'deltaCRL=critical,ASN1:INTEGER:1' fresh-revoked:keyCompromise
# ica's separate CRL-signing certificate (same name, a key of its own, cRLSign only) signs
# sep.crl, which revokes sep-revoked.
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ica-crlsign.key 2>/dev/null
openssl req -new -key ica-crlsign.key -subj /CN=ica -out ica-crlsign.csr 2>/dev/null
printf '[x]\n%b\n' "$crlsign\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/root.crl" > ica-crlsign.ext
openssl ca -batch -notext -config root/ca.cnf -in ica-crlsign.csr -out ica-crlsign.pem -extfile ica-crlsign.ext -extensions x 2>>openssl.log
issue ica sep-good "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/sep.crl"
issue ica sep-revoked "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/sep.crl"
signer=ica-crlsign mkcrl sep 1 '' sep-revoked:keyCompromise
# A delta CRL signed by another key than its base (ica-crlsign, a valid CRL signer in itself)
# releases nothing (RFC 5280 6.3.3 (h)): dbase3.crl holds xkey-held, delta3.crl removes it.
issue ica xkey-held "$ee\ncrlDistributionPoints=URI:http://127.0.0.1:$crl/dbase3.crl"
mkcrl dbase3 1 "freshestCRL=URI:http://127.0.0.1:$crl/delta3.crl" xkey-held:hold
signer=ica-crlsign mkcrl delta3 2 'deltaCRL=critical,ASN1:INTEGER:1' xkey-held:removeFromCRL
openssl ca -batch -config ica/ca.cnf -revoke revoked-ocsp.pem -crl_reason keyCompromise 2>>openssl.log
openssl ca -batch -config ica/ca.cnf -revoke crl-revoked.pem 2>>openssl.log
openssl ca -batch -config ica/ca.cnf -gencrl -out ica.crl.pem 2>>openssl.log
openssl crl -in ica.crl.pem -outform DER -out www/ica.crl
openssl ca -batch -config root/ca.cnf -gencrl -out www/root.crl 2>>openssl.log
head -c 100000 /dev/urandom > www/big.bin
)SH";

struct Pki {
    test::TempDir dir;
    int crl_port = test::free_port();
    int ocsp_port = test::free_port();
    int dead_port = test::free_port();
    Pki() { test::run_pki_script(dir.path(), revocation_script, {crl_port, ocsp_port, dead_port}); }
    Certificate cert(const std::string& name) const { return test::fixture_certificate(dir.path(), name); }
    std::unique_ptr<test::Server> crl_server() const { return test::web_server(dir.path(), crl_port); }
    // next_update false: responses without nextUpdate (no -ndays).
    std::unique_ptr<test::Server> ocsp_server(bool next_update = true) const
    {
        // stdbuf: the responder's stdout (one response text per request) reaches the log at once;
        // -ignore_err: the readiness probe (connect, close) must not end it.
        std::vector<std::string> argv{"stdbuf", "-o0", "openssl", "ocsp", "-index", "ica/index.txt", "-CA", "ica.pem",
                                      "-rsigner", "responder.pem", "-rkey", "responder.key", "-port",
                                      std::to_string(ocsp_port), "-resp_text", "-ignore_err"};
        if (next_update) argv.insert(argv.end(), {"-ndays", "1"});
        return std::make_unique<test::Server>(argv, dir.path(), dir.path() / "ocsp-server.log", ocsp_port);
    }
    // A store with the root as anchor and the issuing CA (and `more`) as intermediates.
    std::unique_ptr<TrustStore> store(Revocation mode, const std::vector<std::string>& more = {}) const
    {
        std::vector<Certificate> anchors, inter;
        anchors.push_back(cert("root"));
        inter.push_back(cert("ica"));
        for (const auto& name : more) inter.push_back(cert(name));
        OnlineRevocationConfig online;
        online.limits.connect_timeout = std::chrono::milliseconds(1000);
        online.limits.timeout = std::chrono::milliseconds(3000);
        return std::make_unique<TrustStore>(std::move(anchors), std::move(inter), mode, online);
    }
};

const Pki& fixture()
{
    static const Pki p;
    return p;
}

using test::any_note;
using test::mentions;
using test::notes;

}  // namespace

class RevocationTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RevocationTest);
    CPPUNIT_TEST(fetcher_limits);
    CPPUNIT_TEST(statuses_table);
    CPPUNIT_TEST(responder_down);
    CPPUNIT_TEST(responses_without_next_update_age);
    CPPUNIT_TEST(urls_per_certificate_are_bounded);
    CPPUNIT_TEST(answers_are_cached);
    CPPUNIT_TEST(concurrent_validation);
    CPPUNIT_TEST(indirect_and_delta_crls_fetched);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { (void)fixture(); }

    // Fetched CRLs go through the rules of loaded ones. Indirect: cri's CRL (the ind-*
    // certificates name it as cRLIssuer; its entry names ica as certificateIssuer) counts while
    // cri's certificate is in the store and valid; cri2's certificate is revoked on the root's
    // CRL, so its CRL settles nothing. Delta: dbase.crl's freshestCRL names delta.crl, which
    // revokes delta-revoked and releases delta-held from hold; it is cached like its base. The
    // fresh-* certificates name their delta CRL themselves (freshestCRL), their base does not.
    // sep.crl is signed by ica's separate CRL-signing certificate (same name, another key).
    void indirect_and_delta_crls_fetched()
    {
        const auto& p = fixture();
        const auto crl_server = p.crl_server();
        const std::time_t now = std::time(nullptr);
        const auto hard = p.store(Revocation::HardFail, {"cri", "cri2", "ica-crlsign"});
        const auto soft = p.store(Revocation::SoftFail, {"cri", "cri2", "ica-crlsign"});
        struct Case {
            const char* name;
            const TrustStore& store;
            std::vector<Problem> problems;
            const char* text;  // in describe() or a note
        };
        const std::size_t deltas_before = crl_server->count("GET /delta.crl");
        const std::vector<Case> cases = {
            {"ind-good", *hard, {}, "/indirect.crl"},
            {"ind-revoked", *hard, {Problem::Revoked}, "listed on an indirect CRL"},
            {"ind-revoked", *soft, {Problem::Revoked}, "listed on an indirect CRL"},
            {"ind2-good", *hard, {Problem::RevocationUnknown}, "CRL signer is not valid"},
            {"ind2-good", *soft, {}, "unknown (soft-fail)"},
            {"delta-good", *hard, {}, "/dbase.crl and its delta CRL"},
            {"delta-revoked", *hard, {Problem::Revoked}, "listed on a delta CRL"},
            {"delta-held", *hard, {}, "/dbase.crl and its delta CRL"},
            {"delta-good", *hard, {}, "(cached)"},
            {"fresh-good", *hard, {}, "/dbase2.crl and its delta CRL"},
            {"fresh-revoked", *hard, {Problem::Revoked}, "listed on a delta CRL"},
            {"sep-good", *hard, {}, "/sep.crl"},
            {"sep-revoked", *hard, {Problem::Revoked}, "/sep.crl"},
            {"xkey-held", *hard, {Problem::Revoked}, "/dbase3.crl"},
        };
        for (const auto& c : cases) {
            const auto r = c.store.validate(p.cert(c.name), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(c.name) + ": " + notes(r);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.problems.size(), r.problems.size());
            for (auto pr : c.problems) CPPUNIT_ASSERT_MESSAGE(msg, r.has(pr));
            CPPUNIT_ASSERT_MESSAGE(msg, mentions(r, c.text));
        }
        CPPUNIT_ASSERT_EQUAL(deltas_before + 1, crl_server->count("GET /delta.crl"));
        // Without the CRL issuer's certificate in the store, its CRL is nobody's.
        const auto r = p.store(Revocation::HardFail)->validate(p.cert("ind-good"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(r), r.has(Problem::RevocationUnknown));
        CPPUNIT_ASSERT_MESSAGE(notes(r), r.describe().find("nor a known CRL issuer") != std::string::npos);
        const auto sep = p.store(Revocation::HardFail)->validate(p.cert("sep-good"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(sep), sep.has(Problem::RevocationUnknown));
        CPPUNIT_ASSERT_MESSAGE(notes(sep), sep.describe().find("does not verify with the issuer") != std::string::npos);
        // Without the delta, the base alone: the hold stands.
        fs::rename(p.dir.path() / "www" / "delta.crl", p.dir.path() / "www" / "delta.crl.away");
        const auto held =
            p.store(Revocation::HardFail)->validate(p.cert("delta-held"), {}, now, Purpose::EmailProtection);
        fs::rename(p.dir.path() / "www" / "delta.crl.away", p.dir.path() / "www" / "delta.crl");
        CPPUNIT_ASSERT_MESSAGE(notes(held), held.has(Problem::Revoked));
    }

    void fetcher_limits()
    {
        const auto& p = fixture();
        const auto server = p.crl_server();
        const CurlFetcher f;
        const std::string base = "http://127.0.0.1:" + std::to_string(p.crl_port) + "/";
        FetchLimits small;
        small.max_bytes = 50000;
        struct Case {
            std::string url;
            bool ok;
            FetchLimits limits;
        };
        const FetchLimits normal;
        const std::vector<Case> cases = {
            {base + "ica.crl", true, normal},
            {base + "big.bin", true, normal},
            {base + "big.bin", false, small},  // larger than the limit
            {base + "absent.crl", false, normal},  // 404
            {"https://127.0.0.1:" + std::to_string(p.crl_port) + "/ica.crl", false, normal},
            {"file:///etc/passwd", false, normal},
            {"http://127.0.0.1:" + std::to_string(p.dead_port) + "/x", false, normal},
            {"http:///nohost", false, normal},
            {base + "ica.crl\r\nX: y", false, normal},
        };
        for (const auto& c : cases) CPPUNIT_ASSERT_EQUAL_MESSAGE(c.url, c.ok, f.get(c.url, c.limits).has_value());
        CPPUNIT_ASSERT_EQUAL(std::size_t{100000}, f.get(base + "big.bin", {})->size());
        // An answer over the limit is the administrator's to know about (the same answer is too
        // large next time): a warning naming the key, not a debug line like a passing failure.
        test::TempDir t;
        test::StderrCapture capture(t.path() / "log");
        CPPUNIT_ASSERT(!f.get(base + "big.bin", small).has_value());
        CPPUNIT_ASSERT(!f.get(base + "absent.crl", normal).has_value());
        const std::string log = capture.finish();
        CPPUNIT_ASSERT_MESSAGE(log, log.find("warning: pki_fetch_too_large url=" + base + "big.bin limit=50000 "
                                             "key=\"[pki] max_crl_size\"") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(log, log.find("absent.crl") == std::string::npos);  // debug level
    }

    void statuses_table()
    {
        const auto& p = fixture();
        const auto crl_server = p.crl_server();
        const auto ocsp_server = p.ocsp_server();
        const std::time_t now = std::time(nullptr);
        struct Case {
            const char* name;
            Revocation mode;
            std::vector<Problem> problems;
            const char* text;  // in describe() or a note
        };
        const std::vector<Case> cases = {
            {"good", Revocation::HardFail, {}, "good by OCSP http://127.0.0.1"},
            {"good", Revocation::SoftFail, {}, "good by OCSP"},
            {"revoked-ocsp", Revocation::SoftFail, {Problem::Revoked}, "revoked (OCSP http://127.0.0.1"},
            {"revoked-ocsp", Revocation::HardFail, {Problem::Revoked}, "reason 1"},  // keyCompromise
            {"crl-good", Revocation::HardFail, {}, "good by CRL http://127.0.0.1"},
            {"crl-revoked", Revocation::SoftFail, {Problem::Revoked}, "revoked (CRL http://127.0.0.1"},
            {"none", Revocation::SoftFail, {}, "unknown (soft-fail)"},
            {"none", Revocation::HardFail, {Problem::RevocationUnknown}, "no OCSP responder"},
            {"revoked-ocsp", Revocation::Off, {}, "valid"},
        };
        for (const auto& c : cases) {
            const auto store = p.store(c.mode);
            const auto r = store->validate(p.cert(c.name), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(c.name) + " mode " + std::to_string(static_cast<int>(c.mode)) + ": " +
                                    notes(r);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.problems.size(), r.problems.size());
            for (auto pr : c.problems) CPPUNIT_ASSERT_MESSAGE(msg, r.has(pr));
            CPPUNIT_ASSERT_MESSAGE(msg, mentions(r, c.text));
        }
        // The issuing CA's own status came from the root's CRL distribution point.
        const auto store = p.store(Revocation::HardFail);
        const auto r = store->validate(p.cert("good"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(r), any_note(r, "CA certificate 'CN=ica' good by CRL"));
        // A per-validation override: a store in soft-fail asked for hard-fail.
        ValidationOptions hard;
        hard.revocation = Revocation::HardFail;
        CPPUNIT_ASSERT(p.store(Revocation::SoftFail)
                           ->validate(p.cert("none"), {}, now, Purpose::EmailProtection, hard)
                           .has(Problem::RevocationUnknown));
        // Offline validation (no network) of a revoked certificate passes in soft-fail.
        ValidationOptions offline;
        offline.online_revocation = false;
        CPPUNIT_ASSERT(p.store(Revocation::SoftFail)
                           ->validate(p.cert("revoked-ocsp"), {}, now, Purpose::EmailProtection, offline)
                           .valid());
        // An OCSP answer is believed only inside its window: a day and a half later (-ndays 1)
        // the fresh answer is stale, and the CRL (2 days) still answers.
        const auto later = p.store(Revocation::HardFail)
                               ->validate(p.cert("good"), {}, now + 36 * 3600, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(later), later.valid() && any_note(later, "certificate good by CRL"));
    }

    // A response without nextUpdate says "newer information is available all the time": one
    // captured once (no nonce needed) would prove "good" for ever if replayed, after a
    // revocation too. It counts for max_age_without_next_update (a day) after its thisUpdate.
    void responses_without_next_update_age()
    {
        const auto& p = fixture();
        const auto ocsp_server = p.ocsp_server(false);
        const std::time_t now = std::time(nullptr);
        const auto fresh = p.store(Revocation::SoftFail)->validate(p.cert("good"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(fresh), any_note(fresh, "certificate good by OCSP"));
        // The same responder's answer, its thisUpdate now, judged two days later: as a replay.
        const auto later =
            p.store(Revocation::SoftFail)->validate(p.cert("good"), {}, now + 2 * 86400, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(later), !any_note(later, "certificate good by OCSP"));
        CPPUNIT_ASSERT_MESSAGE(notes(later), any_note(later, "without nextUpdate is too old"));
    }

    // A certificate naming six responders and six distribution points (none answering): only
    // the first four of each are asked, each of which could cost fetch_timeout.
    void urls_per_certificate_are_bounded()
    {
        const auto& p = fixture();
        const auto many = p.cert("many-urls");
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, ocsp_urls(many).size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{4}, crl_distribution_urls(many).size());
        CPPUNIT_ASSERT(ocsp_urls(many).back().find("/4") != std::string::npos);
        const auto r = p.store(Revocation::HardFail)->validate(many, {}, std::time(nullptr), Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(r), r.has(Problem::RevocationUnknown));
        CPPUNIT_ASSERT_MESSAGE(notes(r), r.describe().find("/4.crl: no answer") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(notes(r), r.describe().find("/5") == std::string::npos);
    }

    void responder_down()
    {
        const auto& p = fixture();
        const std::time_t now = std::time(nullptr);
        const auto start = std::chrono::steady_clock::now();
        // No server at all: the dead ports refuse, the CRL server for the CA is absent too.
        test::TempDir t;
        std::optional<test::StderrCapture> capture(std::in_place, t.path() / "log");
        const auto soft_store = p.store(Revocation::SoftFail);
        const auto soft = soft_store->validate(p.cert("dead"), {}, now, Purpose::EmailProtection);
        const std::string log = capture->finish();
        capture.emplace(t.path() / "log2");
        CPPUNIT_ASSERT(soft_store->validate(p.cert("dead"), {}, now, Purpose::EmailProtection).valid());
        const std::string again = capture->finish();
        capture.reset();
        // Once an hour per certificate, not with every message it comes with.
        CPPUNIT_ASSERT_MESSAGE(again, again.find("pki_revocation_unknown") == std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(notes(soft), soft.valid() && any_note(soft, "unknown (soft-fail)"));
        // Accepted unchecked, and logged so (the note alone reaches no log).
        CPPUNIT_ASSERT_MESSAGE(log, log.find("notice: pki_revocation_unknown for=\"\" certificate=\"CN=dead\"") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(log, log.find("revocation=soft-fail detail=") != std::string::npos);
        const auto hard = p.store(Revocation::HardFail)->validate(p.cert("dead"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(hard), hard.has(Problem::RevocationUnknown) && !hard.has(Problem::Revoked));
        CPPUNIT_ASSERT_MESSAGE(hard.describe(), hard.describe().find("no answer") != std::string::npos);
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    }

    void answers_are_cached()
    {
        const auto& p = fixture();
        const auto crl_server = p.crl_server();
        const auto ocsp_server = p.ocsp_server();
        const std::size_t ocsp0 = ocsp_server->count("OCSP Response Data:");
        const std::size_t root0 = crl_server->count("GET /root.crl");
        const std::size_t ica0 = crl_server->count("GET /ica.crl");
        const auto store = p.store(Revocation::HardFail);
        const std::time_t now = std::time(nullptr);
        struct Step {
            const char* name;
            std::size_t ocsp, root_crl, ica_crl;  // requests seen so far by this store
            bool cached;                           // the end entity's answer came from the cache
        };
        const Step steps[] = {
            {"good", 1, 1, 0, false},
            {"good", 1, 1, 0, true},      // nothing fetched again
            {"crl-good", 1, 1, 1, false}, // the CA's CRL is fetched once...
            {"crl-revoked", 1, 1, 1, true},  // ...and answers for its other certificates
            {"good", 1, 1, 1, true},
        };
        for (const auto& s : steps) {
            const auto r = store->validate(p.cert(s.name), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(s.name) + ": " + notes(r);
            std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the servers log
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, s.ocsp, ocsp_server->count("OCSP Response Data:") - ocsp0);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, s.root_crl, crl_server->count("GET /root.crl") - root0);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, s.ica_crl, crl_server->count("GET /ica.crl") - ica0);
            CPPUNIT_ASSERT_MESSAGE(msg, any_note(r, "(cached)") || !s.cached);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, std::string(s.name) != "crl-revoked", r.valid());
        }
        CPPUNIT_ASSERT_EQUAL(std::size_t{1}, store->revocation_checker()->ocsp().cache_size());
        CPPUNIT_ASSERT_EQUAL(std::size_t{2}, store->revocation_checker()->crls().cache_size());
        // Once the answers expire (OCSP nextUpdate in 1 day, CRLs in 2), they are fetched again.
        const auto r = store->validate(p.cert("good"), {}, now + 3 * 86400, Purpose::EmailProtection);
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(notes(r), std::size_t{2}, ocsp_server->count("OCSP Response Data:") - ocsp0);
    }

    void concurrent_validation()
    {
        const auto& p = fixture();
        const auto crl_server = p.crl_server();
        const auto ocsp_server = p.ocsp_server();
        const auto store = p.store(Revocation::HardFail);
        const std::time_t now = std::time(nullptr);
        std::atomic<int> wrong{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&] {
                const auto good = p.cert("good");
                const auto revoked = p.cert("crl-revoked");
                for (int i = 0; i < 10; ++i) {
                    if (!store->validate(good, {}, now, Purpose::EmailProtection).valid()) ++wrong;
                    if (!store->validate(revoked, {}, now, Purpose::EmailProtection).has(Problem::Revoked)) ++wrong;
                }
            });
        for (auto& t : threads) t.join();
        CPPUNIT_ASSERT_EQUAL(0, wrong.load());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RevocationTest);
