// Unit tests for what an online revocation answer must prove before it counts (pki/revocation.h,
// pki/ocsp_responder.h, pki/revocation_budget.h), against a real Python HTTP server on
// 127.0.0.1: OCSP responses made by `openssl ocsp` acting as an offline responder (about
// certificates of a same-named other CA; signed by delegated responders with and without
// id-pkix-ocsp-nocheck, revoked, expiring, without the OCSPSigning usage, of another CA; signed
// by id-RSASSA-PSS keys within and outside their parameters, the latter re-signed by Python
// cryptography), a CRL without nextUpdate (written with asn1parse -genconf, signed with openssl
// dgst), and URLs that stall, for the per-message time budget. Requests are counted in the
// server's log.
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
# CERT of ISSUER (the responder's -CA), nextUpdate in three days, no nonce; "revoked" when
# $revoked is set (to the index's revocation field).
revoked=
respond() {
  out=$1 issuer=$2 cert=$3 signer=$4; shift 4
  serial=$(openssl x509 -noout -serial -in $cert.pem | cut -d= -f2)
  printf '%s\t301231000000Z\t%s\t%s\tunknown\t/CN=%s\n' $([ -n "$revoked" ] && echo R || echo V) "$revoked" $serial $cert \
    > $out.idx
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
# (pki/ocsp_client.cpp response_verifies_beyond_gnutls does). by-pss-bad: its answer with a
# changed producedAt (a seconds digit), so that its signature no longer fits.
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
# resign IN OUT KEY HASH,MGF1-HASH,SALT | pkcs1 | dropcert: the answer www/IN.ocsp with its tbsResponseData
# signed again by KEY (Python cryptography, which loads an id-RSASSA-PSS key without its
# parameters, so that it signs what OpenSSL refuses to with that key) with those RSASSA-PSS
# parameters, or PKCS#1 v1.5 with SHA-256, into www/OUT.ocsp; the signatureAlgorithm says so,
# the responder's certificates stay. Each DER length is computed by Python, none by our code.
resign() {
  python3 - "$@" <<'PY'
import sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
src, out, keyfile, how = sys.argv[1:5]
def tlv(d, i):  # the TLV at i: where its value starts, where it ends
    n, at = d[i + 1], i + 2
    if n & 0x80:
        n, at = int.from_bytes(d[at:at + (n & 0x7f)], "big"), at + (n & 0x7f)
    return at, at + n
def enc(tag, v):
    n = len(v)
    if n < 0x80:
        return bytes([tag, n]) + v
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(b)]) + b + v
oids = {"sha1": "2b0e03021a", "sha256": "608648016503040201", "sha512": "608648016503040203",
        "mgf1": "2a864886f70d010108", "pss": "2a864886f70d01010a", "sha256rsa": "2a864886f70d01010b"}
algs = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha512": hashes.SHA512}
def alg(name, params=b""):
    return enc(0x30, enc(0x06, bytes.fromhex(oids[name])) + params)
d = open("www/%s.ocsp" % src, "rb").read()
resp, _ = tlv(d, 0)                      # OCSPResponse
_, status_end = tlv(d, resp)             # responseStatus
rb, _ = tlv(d, tlv(d, status_end)[0])    # [0] EXPLICIT ResponseBytes
_, type_end = tlv(d, rb)                 # responseType
basic, basic_end = tlv(d, type_end)      # OCTET STRING { BasicOCSPResponse }
tbs, _ = tlv(d, basic)
_, tbs_end = tlv(d, tbs)
_, alg_end = tlv(d, tbs_end)
_, sig_end = tlv(d, alg_end)
data = d[tbs:tbs_end]
if how == "dropcert":  # the same signed part, without the first certificate the answer carries
    first, certs_end = tlv(d, tlv(d, sig_end)[0])
    inner = enc(0x30, d[tbs:sig_end] + enc(0xa0, enc(0x30, d[tlv(d, first)[1]:certs_end])))
    body = d[resp:status_end] + enc(0xa0, enc(0x30, d[rb:type_end] + enc(0x04, inner)))
    open("www/%s.ocsp" % out, "wb").write(enc(0x30, body))
    sys.exit(0)
key = serialization.load_pem_private_key(open(keyfile, "rb").read(), None)
if how == "pkcs1":
    algorithm, sig = alg("sha256rsa", b"\x05\x00"), key.sign(data, padding.PKCS1v15(), hashes.SHA256())
else:
    md, mgf, salt = how.split(",")
    salt = int(salt)
    params = enc(0xa0, alg(md)) + enc(0xa1, alg("mgf1", alg(mgf))) + \
        enc(0xa2, enc(0x02, salt.to_bytes(salt.bit_length() // 8 + 1, "big")))
    algorithm = alg("pss", enc(0x30, params))
    sig = key.sign(data, padding.PSS(mgf=padding.MGF1(algs[mgf]()), salt_length=salt), algs[md]())
inner = enc(0x30, data + algorithm + enc(0x03, b"\0" + sig) + d[sig_end:basic_end])
body = d[resp:status_end] + enc(0xa0, enc(0x30, d[rb:type_end] + enc(0x04, inner)))
open("www/%s.ocsp" % out, "wb").write(enc(0x30, body))
PY
}
# pkca: a CA whose own key is id-RSASSA-PSS with parameters: SHA-256, MGF1 over SHA-1 (OpenSSL's
# default when only the hash is given) and a salt of at least 32 octets (RFC 4055 §3.3: it signs
# only so). GnuTLS 3.7.9 verifies an OCSP signature with MGF1 over the signature's hash and the
# key's salt length, whatever the signatureAlgorithm says: it refuses pkca's own answers
# (pk-own...) and accepts a SHA-256 one with MGF1 over SHA-256 (pk-mgf256), outside the key's
# parameters. Each answer is about its own end entity pk-X, at the URL pk-X.
openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 \
  -pkeyopt rsa_pss_keygen_saltlen:32 -out pkca.key 2>/dev/null
openssl req -x509 -key pkca.key -out pkca.pem -subj /CN=rev40-pss-key-root -days 365 \
  -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
  -addext subjectKeyIdentifier=hash 2>/dev/null
n=7000
pk() {  # NAME: pkca's end entity NAME, its OCSP URL $u/NAME
  n=$((n + 1))
  issue pkca $1 $n 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/$1"
}
# Within the key's parameters: its own, the maximum salt, a "revoked" answer, and one re-signed
# by Python within them (sha256, MGF1 over SHA-1, salt 40: the re-signing itself is right).
for c in pk-own pk-max pk-revoked pk-resigned pk-mgf256 pk-salt20 pk-sha512 pk-pkcs1; do pk $c; done
respond pk-own pkca pk-own pkca
respond pk-max pkca pk-max pkca -rsigopt rsa_pss_saltlen:max
revoked=241201000000Z,keyCompromise
respond pk-revoked pkca pk-revoked pkca
revoked=
for c in pk-resigned pk-mgf256 pk-salt20 pk-sha512 pk-pkcs1; do respond $c pkca $c pkca; done
resign pk-resigned pk-resigned pkca.key sha256,sha1,40
# Outside them (OpenSSL refuses to make these with pkca's key): MGF1 over SHA-256, a salt of 20,
# SHA-512, PKCS#1 v1.5 (RFC 4055 §1.2).
resign pk-mgf256 pk-mgf256 pkca.key sha256,sha256,32
resign pk-salt20 pk-salt20 pkca.key sha256,sha1,20
resign pk-sha512 pk-sha512 pkca.key sha512,sha1,64
resign pk-pkcs1 pk-pkcs1 pkca.key pkcs1
# A delegated responder with such a key (r-pk, certified by rca with PKCS#1 v1.5, which GnuTLS
# verifies): its own answer (pk-by-r), and one re-signed with MGF1 over SHA-256 (pk-by-r-mgf256).
openssl genpkey -algorithm RSA-PSS -pkeyopt rsa_keygen_bits:2048 -pkeyopt rsa_pss_keygen_md:sha256 \
  -pkeyopt rsa_pss_keygen_saltlen:32 -out r-pk.key 2>/dev/null
openssl req -new -key r-pk.key -subj /CN=r-pk -out r-pk.csr 2>/dev/null
openssl x509 -req -in r-pk.csr -CA rca.pem -CAkey rca.key -set_serial 0x7101 -days 30 -extfile r-pss.ext -extensions x \
  -out r-pk.pem 2>>openssl.log
for c in pk-by-r pk-by-r-mgf256; do
  n=$((n + 1))
  issue rca $c $n 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/$c"
  respond $c rca $c r-pk
done
resign pk-by-r-mgf256 pk-by-r-mgf256 r-pk.key sha256,sha256,32
# r-renamed: a delegated responder whose certificate names it in PrintableString (string_mask
# default), its answer's responderID in UTF8String (signed as r-renamed-utf8, a self-signed twin
# with the same key, which dropcert then takes out of the answer): the same Name by RFC 5280
# §7.1, other bytes. GnuTLS finds the signer by the bytes (and so takes the CA for it).
key r-renamed
printf '[req]\ndistinguished_name=dn\nstring_mask=default\n[dn]\n' > printable.cnf
openssl req -new -config printable.cnf -key r-renamed.key -subj /CN=r-renamed -out r-renamed.csr 2>/dev/null
printf '[x]\n%b\n' "$rsp$nocheck" > r-renamed.ext
openssl x509 -req -in r-renamed.csr -CA ca.pem -CAkey ca.key -set_serial 0x2008 -days 30 -extfile r-renamed.ext \
  -extensions x -out r-renamed.pem 2>>openssl.log
cp r-renamed.key r-renamed-utf8.key
openssl req -new -key r-renamed.key -subj /CN=r-renamed -out r-renamed-utf8.csr 2>/dev/null
openssl x509 -req -in r-renamed-utf8.csr -key r-renamed.key -days 30 -out r-renamed-utf8.pem 2>>openssl.log
issue ca by-renamed 3101 30 "$ee\nauthorityInfoAccess=OCSP;URI:$u/by-renamed"
respond by-renamed ca by-renamed r-renamed-utf8 -rother r-renamed.pem
resign by-renamed by-renamed - dropcert
# Delegated responders certified by pkca (RSA keys answering with RSASSA-PSS): r-pkok within
# pkca's parameters; r-pkbad outside them (MGF1 over SHA-256), signed with pkca's key as plain
# RSA under the twin pkca-plain (pkca's name, rsaEncryption), as OpenSSL will not otherwise.
python3 -c 'from cryptography.hazmat.primitives import serialization as s
k = s.load_pem_private_key(open("pkca.key", "rb").read(), None)
open("pkca-plain.key", "wb").write(k.private_bytes(s.Encoding.PEM, s.PrivateFormat.TraditionalOpenSSL, s.NoEncryption()))'
openssl req -x509 -key pkca-plain.key -out pkca-plain.pem -subj /CN=rev40-pss-key-root -days 365 \
  -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign,cRLSign \
  -addext subjectKeyIdentifier=hash 2>/dev/null
rsakey() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out $1.key 2>/dev/null; }
for r in r-pkok r-pkbad; do
  rsakey $r; openssl req -new -key $r.key -subj /CN=$r -out $r.csr 2>/dev/null
done
openssl x509 -req -in r-pkok.csr -CA pkca.pem -CAkey pkca.key -set_serial 0x7201 -days 30 -extfile r-pss.ext \
  -extensions x -out r-pkok.pem 2>>openssl.log
openssl x509 -req -in r-pkbad.csr -CA pkca-plain.pem -CAkey pkca-plain.key -set_serial 0x7202 -days 30 \
  -extfile r-pss.ext -extensions x -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -sigopt rsa_mgf1_md:sha256 \
  -out r-pkbad.pem 2>>openssl.log
for r in pkok pkbad; do
  pk pk-by-$r
  respond pk-by-$r pkca pk-by-$r r-$r -rsigopt rsa_padding_mode:pss -rsigopt rsa_pss_saltlen:32
done
# r-pkec: an EC responder certified by pkca within its parameters (a signature GnuTLS does not
# verify: MGF1 over SHA-1), answering with ECDSA.
issue pkca r-pkec 7203 30 "$rsp$nocheck"
pk pk-by-pkec
respond pk-by-pkec pkca pk-by-pkec r-pkec
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
        anchors.push_back(cert("rca"));   // for by-pss, by-pss-bad, pk-by-r...
        anchors.push_back(cert("pkca"));  // for pk-...
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
    CPPUNIT_TEST(pss_key_responders);
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
            // GnuTLS refuses r-noeku's answer; its signature is r-noeku's
            // (response_verifies_beyond_gnutls), its certificate lacks the usage (responder_problem).
            {"by-noeku", 0, false, "responder certificate 'CN=r-noeku' lacks the OCSPSigning extended key usage"},
            {"by-twin", 0, false, "response signature not accepted (untrusted signer)"},
            // responderID by name in other bytes than its certificate's subject (§7.1 equal).
            {"by-renamed", 0, true, "good by OCSP"},
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

    // Answers signed by an id-RSASSA-PSS key with parameters (RFC 4055 §3.3): pkca's own, or a
    // delegated responder's (r-pk), count within the key's parameters and are no answer outside
    // them, whether GnuTLS verifies them or not (hard-fail: never good). Until 2026-12-05 the
    // answers with MGF1 over SHA-256 (pk-mgf256, pk-by-r-mgf256) were good: GnuTLS 3.7.9
    // verifies them (MGF1 over the signature's hash, whatever the key allows) and its answer
    // stood. The salt of 20, SHA-512 and PKCS#1 v1.5 GnuTLS refuses itself, and so did our
    // check after it. A delegated responder's certificate signed by pkca outside its key's
    // parameters (r-pkbad) does not speak for pkca: GnuTLS accepts that certificate's
    // signature, signed_by (responder_problem) refuses it. Until 2026-12-05 r-pkec's answer
    // (ECDSA, its certificate signed within pkca's parameters, which GnuTLS does not verify) was
    // refused: only an RSASSA-PSS answer was checked again when GnuTLS refused.
    void pss_key_responders()
    {
        const auto& p = fixture();
        const std::time_t now = std::time(nullptr);
        const struct {
            const char* name;
            bool good;
            const char* text;
        } cases[] = {
            {"pk-own", true, "good by OCSP"},
            {"pk-max", true, "good by OCSP"},
            {"pk-resigned", true, "good by OCSP"},
            {"pk-by-r", true, "good by OCSP"},
            {"pk-by-pkok", true, "good by OCSP"},
            {"pk-by-pkec", true, "good by OCSP"},
            {"pk-mgf256", false, "not made within its signer's id-RSASSA-PSS key parameters"},
            {"pk-salt20", false, "response signature not accepted"},
            {"pk-sha512", false, "response signature not accepted"},
            // GnuTLS does not verify it at all (the note said "reason 0" until 2026-12-05).
            {"pk-pkcs1", false, "response signature not accepted (not verifiable: The signature is incompatible"},
            {"pk-by-r-mgf256", false, "not made within its signer's id-RSASSA-PSS key parameters"},
            {"pk-by-pkbad", false, "responder certificate 'CN=r-pkbad' is not issued by the certificate's issuer"},
        };
        for (const auto& c : cases) {
            const auto r = p.store(Revocation::HardFail)->validate(p.cert(c.name), {}, now, Purpose::EmailProtection);
            const std::string msg = std::string(c.name) + ": " + notes(r);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(msg, c.good, r.valid());
            if (!c.good) CPPUNIT_ASSERT_MESSAGE(msg, r.has(Problem::RevocationUnknown) && r.problems.size() == 1);
            CPPUNIT_ASSERT_MESSAGE(msg, mentions(r, c.text));
        }
        const auto revoked = p.store(Revocation::HardFail)->validate(p.cert("pk-revoked"), {}, now,
                                                                     Purpose::EmailProtection);
        CPPUNIT_ASSERT_MESSAGE(notes(revoked), !revoked.valid() && revoked.has(Problem::Revoked));
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
