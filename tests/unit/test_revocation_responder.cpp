// Unit tests for what an online revocation answer must prove before it counts (pki/revocation.h,
// pki/ocsp_responder.h, pki/revocation_budget.h), against a real Python HTTP server on
// 127.0.0.1: OCSP responses made by `openssl ocsp` acting as an offline responder (about
// certificates of a same-named other CA; signed by delegated responders with and without
// id-pkix-ocsp-nocheck, revoked, expiring, without the OCSPSigning usage, of another CA), a CRL
// without nextUpdate (written with asn1parse -genconf, signed with openssl dgst), and URLs that
// stall, for the per-message time budget. Requests are counted in the server's log.
#include <cppunit/extensions/HelperMacros.h>

#include <chrono>
#include <memory>

#include "pki/revocation.h"
#include "pki/trust_store.h"
#include "tests/unit/test_revocation_support.h"

using namespace ssm;
using namespace ssm::pki;

namespace {

// $1 folder, $2 the web server's port.
const char* responder_script = R"SH(
set -eu
cd "$1"
u=http://127.0.0.1:$2
export OPENSSL_CONF=/dev/null
mkdir -p www
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1.key 2>/dev/null; }
# ca NAME: a self-signed CA whose subject is CN=rev21-root (twin: the same name, another key)
ca() {
  key $1
  openssl req -x509 -key $1.key -out $1.pem -subj /CN=rev21-root -days 365 -addext basicConstraints=critical,CA:true \
    -addext keyUsage=critical,keyCertSign,cRLSign -addext subjectKeyIdentifier=hash 2>/dev/null
}
ca ca
ca twin
# issue ISSUER NAME SERIAL DAYS EXTENSIONS
issue() {
  key $2
  openssl req -new -key $2.key -subj "/CN=$2" -out $2.csr 2>/dev/null
  printf '[x]\n%b\n' "$5" > $2.ext
  openssl x509 -req -in $2.csr -CA $1.pem -CAkey $1.key -set_serial 0x$3 -days $4 -extfile $2.ext -extensions x \
    -out $2.pem 2>>openssl.log
}
ee='basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=emailProtection\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid'
rsp='basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\nsubjectKeyIdentifier=hash'
nocheck='\nnoCheck=ignored'
cdp="\ncrlDistributionPoints=URI:$u/ca.crl"
# respond OUT ISSUER CERT SIGNER [openssl ocsp options]: www/OUT.ocsp, SIGNER's "good" about
# CERT of ISSUER (the responder's -CA), nextUpdate in three days, no nonce
respond() {
  out=$1 issuer=$2 cert=$3 signer=$4; shift 4
  serial=$(openssl x509 -noout -serial -in $cert.pem | cut -d= -f2)
  printf 'V\t301231000000Z\t\t%s\tunknown\t/CN=%s\n' $serial $cert > $out.idx
  openssl ocsp -issuer $issuer.pem -cert $cert.pem -reqout $out.req -no_nonce 2>>openssl.log
  openssl ocsp -index $out.idx -CA $issuer.pem -rsigner $signer.pem -rkey $signer.key -reqin $out.req \
    -respout www/$out.ocsp -ndays 3 "$@" >>openssl.log 2>&1
}
# The CertID: twin-ee and victim share their issuer's name and their serial, not its key.
issue twin twin-ee 4242 30 "$ee"
issue ca victim 4242 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/victim"
respond victim twin twin-ee ca
issue ca direct 1001 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/direct"
respond direct ca direct ca
# Delegated responders r-X, each signing the answer about by-X.
issue ca r-nocheck 2001 30 "$rsp$nocheck"
issue ca r-good 2002 30 "$rsp$cdp"
issue ca r-revoked 2003 30 "$rsp$cdp"
issue ca r-nocdp 2004 30 "$rsp"
issue ca r-expiring 2005 1 "$rsp$nocheck"
issue ca r-noeku 2006 30 "basicConstraints=critical,CA:false\nkeyUsage=critical,digitalSignature$nocheck"
issue twin r-twin 2007 30 "$rsp$nocheck"
n=3000
for r in nocheck good revoked nocdp expiring noeku twin; do
  n=$((n + 1))
  issue ca by-$r $n 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/by-$r"
  opt=; [ $r = revoked ] && opt=-resp_key_id  # responderID by key: found by its key hash
  respond by-$r ca by-$r r-$r $opt
done
# An RSA CA whose delegated responder's certificate it signed with RSASSA-PSS and OpenSSL's
# default "max" salt, the responder signing its answers so too: GnuTLS 3.7.9 verifies neither
# (pki/ocsp_client.cpp pss_response_verifies does). by-pss-bad: its answer with a changed
# producedAt (a seconds digit), so that its signature no longer fits.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rca.key 2>/dev/null
openssl req -x509 -key rca.key -out rca.pem -subj /CN=rev38-rsa-root -days 365 -addext basicConstraints=critical,CA:true \
  -addext keyUsage=critical,keyCertSign,cRLSign -addext subjectKeyIdentifier=hash 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out r-pss.key 2>/dev/null
openssl req -new -key r-pss.key -subj /CN=r-pss -out r-pss.csr 2>/dev/null
printf '[x]\n%b\n' "$rsp$nocheck" > r-pss.ext
openssl x509 -req -in r-pss.csr -CA rca.pem -CAkey rca.key -set_serial 0x6001 -days 30 -sigopt rsa_padding_mode:pss \
  -sigopt rsa_pss_saltlen:max -extfile r-pss.ext -extensions x -out r-pss.pem 2>>openssl.log
for b in by-pss by-pss-bad; do
  n=$((n + 1))
  issue rca $b $n 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/$b"
  respond $b rca $b r-pss -rsigopt rsa_padding_mode:pss -rsigopt rsa_pss_saltlen:max
done
python3 -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read())
i = d.index(b"\x18\x0f")  # producedAt, the first GeneralizedTime
d[i + 2 + 13] ^= 1
open(sys.argv[1], "wb").write(d)' www/by-pss-bad.ocsp
# ca.crl revokes r-revoked (openssl ca -gencrl from a database written here)
mkdir -p db; printf 'R\t301231000000Z\t241201000000Z,keyCompromise\t2003\tunknown\t/CN=r-revoked\n' > db/index.txt
echo 01 > db/crlnumber
printf '[ca]\ndefault_ca=c\n[c]\ndatabase=db/index.txt\ncrlnumber=db/crlnumber\ndefault_md=sha256\n' > db/ca.cnf
openssl ca -batch -config db/ca.cnf -cert ca.pem -keyfile ca.key -gencrl -crldays 2 -out ca.crl.pem 2>>openssl.log
openssl crl -in ca.crl.pem -outform DER -out www/ca.crl
# nonext.crl: the CA's CRL without nextUpdate (openssl ca always writes one), thisUpdate now
issue ca nonext 4001 30 "$ee\ncrlDistributionPoints=URI:$u/nonext.crl"
printf '%b\n' 'asn1=SEQUENCE:tbs\n[tbs]\nversion=INTEGER:1\nalg=SEQUENCE:alg\nissuer=SEQUENCE:name' \
  "this=UTCTIME:$(date -u +%y%m%d%H%M%SZ)" '[alg]\noid=OID:ecdsa-with-SHA256\n[name]\ncn=SET:cn\n[cn]\natv=SEQUENCE:atv' \
  '[atv]\nt=OID:commonName\nv=UTF8String:rev21-root' > nonext.tbs.cnf
openssl asn1parse -genconf nonext.tbs.cnf -out nonext.tbs.der >/dev/null
openssl dgst -sha256 -sign ca.key -out nonext.sig nonext.tbs.der
{ sed '1s/.*/asn1=SEQUENCE:crl/' nonext.tbs.cnf
  printf '[crl]\ntbs=SEQUENCE:tbs\nalg=SEQUENCE:alg\nsig=FORMAT:HEX,BITSTRING:%s\n' "$(od -An -v -tx1 nonext.sig | tr -d ' \n')"
} > nonext.cnf
openssl asn1parse -genconf nonext.cnf -out www/nonext.crl >/dev/null
# slow: three responders and a distribution point that all stall
issue ca slow 5001 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/stall1,OCSP;URI:$u/stall2,OCSP;URI:$u/stall3\ncrlDistributionPoints=URI:$u/stall4.crl"
issue ca slow2 5002 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/stall5"
)SH";

// GET /NAME: www/NAME; POST /NAME: www/NAME.ocsp (whatever was asked); /stall*: no answer for
// a minute. One thread per request, so that stalls do not hold the others.
const char* server_script = R"PY(
import http.server, os, sys, time
folder = sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self):
        name = os.path.basename(self.path)
        if self.command == "POST":
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            name += ".ocsp"
        if name.startswith("stall"):
            time.sleep(60)
        try:
            with open(os.path.join(folder, name), "rb") as f:
                data = f.read()
        except OSError:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = answer
    do_POST = answer
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
)PY";

struct Pki {
    test::TempDir dir;
    int port = test::free_port();
    std::unique_ptr<test::Server> server;
    Pki()
    {
        test::run_pki_script(dir.path(), responder_script, {port});
        server = test::web_server(dir.path(), port, server_script);
    }
    Certificate cert(const std::string& name) const { return test::fixture_certificate(dir.path(), name); }
    // `ca` (and `rca`) as the anchors: the end entities are issued by them directly.
    std::unique_ptr<TrustStore> store(Revocation mode, std::chrono::milliseconds timeout = std::chrono::seconds(3),
                                      std::chrono::milliseconds budget = std::chrono::seconds(20)) const
    {
        std::vector<Certificate> anchors;
        anchors.push_back(cert("ca"));
        anchors.push_back(cert("rca"));  // for by-pss, by-pss-bad
        OnlineRevocationConfig online;
        online.limits.connect_timeout = std::chrono::milliseconds(1000);
        online.limits.timeout = timeout;
        online.time_budget = budget;
        return std::make_unique<TrustStore>(std::move(anchors), std::vector<Certificate>{}, mode, online);
    }
};

const Pki& fixture()
{
    static const Pki p;
    return p;
}

using test::mentions;
using test::notes;

}  // namespace

class RevocationResponderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RevocationResponderTest);
    CPPUNIT_TEST(responses_table);
    CPPUNIT_TEST(crl_without_next_update);
    CPPUNIT_TEST(time_budget);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override { (void)fixture(); }

    // Which OCSP answers count (hard-fail: the answer is the only source for these certificates).
    void responses_table()
    {
        const auto& p = fixture();
        const std::time_t now = std::time(nullptr);
        struct Case {
            const char* name;
            std::time_t at;   // seconds after now
            bool good;        // valid by OCSP, else RevocationUnknown
            const char* text;  // in describe() or a note
        };
        const std::vector<Case> cases = {
            {"direct", 0, true, "good by OCSP"},
            // A response about the same-named twin CA's certificate with the same serial: its
            // CertID's issuer name hash and serial fit, its issuerKeyHash does not.
            {"victim", 0, false, "response is about another certificate"},
            {"by-nocheck", 0, true, "good by OCSP"},
            // Without id-pkix-ocsp-nocheck the responder's own status is asked of CRLs: ca.crl
            // says r-good is not revoked, revokes r-revoked (responderID by key), and r-nocdp
            // names no distribution point.
            {"by-good", 0, true, "good by OCSP"},
            {"by-revoked", 0, false, "responder certificate 'CN=r-revoked' revoked"},
            {"by-nocdp", 0, false, "responder certificate 'CN=r-nocdp': revocation status unknown"},
            // r-expiring is valid for a day: its answer (nextUpdate in three) counts today, and
            // not at a time after the responder expired, whatever the wall clock says.
            {"by-expiring", 0, true, "good by OCSP"},
            {"by-expiring", 36 * 3600, false, "responder certificate 'CN=r-expiring' expired"},
            {"by-noeku", 0, false, "response signature not accepted"},
            {"by-twin", 0, false, "response signature not accepted"},
            // RSASSA-PSS with the "max" salt, in the responder's certificate and its answer.
            {"by-pss", 0, true, "good by OCSP"},
            {"by-pss-bad", 0, false, "response signature not accepted"},
        };
        for (const auto& c : cases) {
            const auto r = p.store(Revocation::HardFail)->validate(p.cert(c.name), {}, now + c.at,
                                                                  Purpose::EmailProtection);
            const std::string msg = std::string(c.name) + " +" + std::to_string(c.at) + ": " + notes(r);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.good, r.valid());
            if (!c.good) CPPUNIT_ASSERT_MESSAGE(msg, r.has(Problem::RevocationUnknown) && r.problems.size() == 1);
            CPPUNIT_ASSERT_MESSAGE(msg, mentions(r, c.text));
        }
        // Soft-fail: an untrusted responder's answer is no answer, accepted with a note.
        const auto soft = p.store(Revocation::SoftFail)->validate(p.cert("by-revoked"), {}, now,
                                                                  Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(soft), soft.valid() && mentions(soft, "unknown (soft-fail)"));
    }

    // A fetched CRL without nextUpdate settles a status for a day after its thisUpdate, and is
    // fetched again each time (not cached without nextUpdate).
    void crl_without_next_update()
    {
        const auto& p = fixture();
        const std::time_t now = std::time(nullptr);
        const auto store = p.store(Revocation::HardFail);
        const std::size_t before = p.server->count("GET /nonext.crl");
        const auto fresh = store->validate(p.cert("nonext"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(fresh), fresh.valid() && mentions(fresh, "good by CRL"));
        const auto later = store->validate(p.cert("nonext"), {}, now + 36 * 3600, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(later), later.has(Problem::RevocationUnknown));
        CPPUNIT_ASSERT_MESSAGE(notes(later), mentions(later, "CRL without nextUpdate is too old"));
        CPPUNIT_ASSERT_EQUAL(before + 2, p.server->count("GET /nonext.crl"));
    }

    // Three stalling responders and a stalling distribution point, 2 s each: 8 s without a
    // budget; 3 s with one (the bound leaves room for a loaded machine and the sanitizer build).
    // A second validation sharing the spent budget asks nothing.
    void time_budget()
    {
        const auto& p = fixture();
        const std::time_t now = std::time(nullptr);
        const auto store = p.store(Revocation::HardFail, std::chrono::seconds(2), std::chrono::seconds(3));
        const auto start = std::chrono::steady_clock::now();
        const auto r = store->validate(p.cert("slow"), {}, now, Purpose::EmailProtection);
        const auto took = std::chrono::steady_clock::now() - start;
        CPPUNIT_ASSERT_MESSAGE(notes(r), r.has(Problem::RevocationUnknown) && mentions(r, kBudgetSpent));
        CPPUNIT_ASSERT_MESSAGE(notes(r), took < std::chrono::milliseconds(6500));
        CPPUNIT_ASSERT_MESSAGE(notes(r), took > std::chrono::milliseconds(2500));

        ValidationOptions message;
        message.revocation_budget = std::make_shared<const RevocationBudget>(std::chrono::milliseconds(1500));
        const auto first = store->validate(p.cert("slow"), {}, now, Purpose::EmailProtection, message);
        const auto second_start = std::chrono::steady_clock::now();
        const auto second = store->validate(p.cert("slow2"), {}, now, Purpose::EmailProtection, message);
        CPPUNIT_ASSERT(std::chrono::steady_clock::now() - second_start < std::chrono::milliseconds(500));
        CPPUNIT_ASSERT_MESSAGE(notes(first), first.has(Problem::RevocationUnknown));
        CPPUNIT_ASSERT_MESSAGE(notes(second),
                               second.has(Problem::RevocationUnknown) && mentions(second, "not asked, "));
        // Soft-fail: accepted, the note says why.
        const auto soft = p.store(Revocation::SoftFail, std::chrono::seconds(2), std::chrono::seconds(1))
                              ->validate(p.cert("slow2"), {}, now, Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(soft), soft.valid() && mentions(soft, kBudgetSpent));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RevocationResponderTest);
