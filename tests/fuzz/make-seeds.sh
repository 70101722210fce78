#!/bin/bash
# Regenerates the seed corpora of the CMS fuzz targets in tests/fuzz/corpus/ with OpenSSL
# (never with our own code): signatures, envelopes, receipts and the ESS attribute values taken
# out of them, each prefixed with the selector byte its target reads first (see each target's
# header comment), and the ESS labels of fuzz_security_label (openssl asn1parse -genconf). fuzz_mime
# and fuzz_auth_results seeds are hand-written files, not made here.
# Usage: tests/fuzz/make-seeds.sh [CORPUSDIR]   (default: tests/fuzz/corpus next to this script)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
srcdir=$(cd "$here/../.." && pwd)
corpus=${1:-$here/corpus}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPENSSL_CONF=/dev/null

sh "$srcdir/tests/fixtures/make-pki.sh" "$tmp/pki" >/dev/null
p=$tmp/pki
cd "$tmp"
printf 'Content-Type: text/plain\r\n\r\nHello, verified world.\r\n' > msg.txt  # = fuzz_verify's content
printf 'Content-Type: text/plain\r\n\r\nA short seed message.\r\n' > short.txt

sign() {  # OUT SIGNER [openssl cms options...]
    local out=$1 who=$2; shift 2
    openssl cms -sign -binary -in short.txt -signer "$p/$who.cert.pem" -inkey "$p/$who.key.pem" \
        -outform DER -out "$out" "$@"
}
sign sig_rsa_opaque.der alice -nodetach
sign sig_ec_opaque.der bob -nodetach -md sha384
sign sig_stream.der alice -nodetach -stream
sign sig_pss.der carol -nodetach -keyopt rsa_padding_mode:pss -nocerts
sign sig_receiptreq.der alice -nodetach -receipt_request_to alice@acme.example \
    -receipt_request_from bob@acme.example
openssl cms -sign_receipt -in sig_receiptreq.der -inform DER -signer "$p/bob.cert.pem" \
    -inkey "$p/bob.key.pem" -outform DER -out receipt.der
openssl cms -sign -binary -in msg.txt -signer "$p/alice.cert.pem" -inkey "$p/alice.key.pem" \
    -outform DER -out detached_rsa.der
openssl cms -sign -binary -in msg.txt -signer "$p/bob.cert.pem" -inkey "$p/bob.key.pem" \
    -outform DER -out detached_ec.der -certfile "$p/sub-ca.cert.pem"

enc() {  # OUT [openssl cms options...] RECIPIENT-PEM...
    local out=$1; shift
    openssl cms -encrypt -binary -in short.txt -outform DER -out "$out" "$@"
}
enc env_cbc.der -aes256 "$p/alice.cert.pem"
enc env_gcm.der -aes-256-gcm "$p/alice.cert.pem"
enc env_ecdh.der -aes128 "$p/bob.cert.pem"
enc env_oaep.der -aes256 -recip "$p/carol.cert.pem" -keyopt rsa_padding_mode:oaep \
    -keyopt rsa_oaep_md:sha256

# fuzz_decrypt's stand-in certificates, taken out of its source.
python3 - "$here/fuzz_decrypt.cpp" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
for name, out in (("kRsaCert", "standin_rsa.der"), ("kEcCert", "standin_ec.der")):
    body = re.search(r"const std::uint8_t %s\[\] = \{(.*?)\};" % name, src, re.S).group(1)
    open(out, "wb").write(bytes(int(x, 16) for x in re.findall(r"0x([0-9a-fA-F]{2})", body)))
PY
for c in standin_rsa standin_ec; do openssl x509 -inform DER -in $c.der -out $c.pem; done
enc dec_rsa_cbc.der -aes128 standin_rsa.pem
enc dec_rsa_gcm.der -aes-256-gcm standin_rsa.pem
enc dec_rsa_des3_keyid.der -des3 -keyid standin_rsa.pem
enc dec_rsa_stream.der -aes256 -stream standin_rsa.pem
enc dec_rsa_oaep.der -aes128 -recip standin_rsa.pem -keyopt rsa_padding_mode:oaep
enc dec_ec.der -aes128 standin_ec.pem
enc dec_both.der -aes256 standin_ec.pem standin_rsa.pem "$p/alice.cert.pem"

# Pulls the inner values the typed decoders take out of the OpenSSL output (definite-length DER
# only; the stream seed is used whole) and writes every seed with its selector byte.
python3 - "$corpus" "$p" <<'PY'
import os, sys
corpus, pki = sys.argv[1], sys.argv[2]

def tlv(b, i):
    tag = b[i]; i += 1
    n = b[i]; i += 1
    if n & 0x80:
        k = n & 0x7f
        n = int.from_bytes(b[i:i + k], "big"); i += k
    return tag, i, n  # tag, content offset, content length

def children(b, off, n):
    out, i = [], off
    while i < off + n:
        t, c, l = tlv(b, i)
        out.append((t, c, l, b[i:c + l]))
        i = c + l
    return out

def content_of(ci):  # ContentInfo -> the DER inside [0] EXPLICIT
    _, c, l = tlv(ci, 0)
    kids = children(ci, c, l)
    t, c2, l2, _ = kids[1]
    return ci[c2:c2 + l2]

def oid_der(dotted):
    a = [int(x) for x in dotted.split(".")]
    body = bytes([a[0] * 40 + a[1]])
    for v in a[2:]:
        enc = [v & 0x7f]
        v >>= 7
        while v:
            enc.insert(0, 0x80 | (v & 0x7f)); v >>= 7
        body += bytes(enc)
    return bytes([6, len(body)]) + body

def der(tag, body):
    n = len(body)
    if n < 0x80: return bytes([tag, n]) + body
    nb = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(nb)]) + nb + body

def signed_attrs(sd):  # SignedData -> {oid DER: first value DER}
    _, c, l = tlv(sd, 0)
    kids = children(sd, c, l)
    out = {}
    for _, c2, l2, _ in children(sd, kids[-1][1], kids[-1][2]):  # signerInfos
        for t, c3, l3, _ in children(sd, c2, l2):
            if t == 0xa0:
                for _, c4, l4, _ in children(sd, c3, l3):
                    a = children(sd, c4, l4)
                    vals = children(sd, a[1][1], a[1][2])
                    out.setdefault(a[0][3], vals[0][3])
    return out

def econtent(sd):  # SignedData -> eContent octets
    _, c, l = tlv(sd, 0)
    eci = children(sd, c, l)[2]
    inner = children(sd, eci[1], eci[2])[1]          # [0] EXPLICIT
    octs = children(sd, inner[1], inner[2])[0]       # OCTET STRING
    return sd[octs[1]:octs[1] + octs[2]]

rd = lambda f: open(f, "rb").read()
seeds = {}
def put(target, name, sel, data):
    seeds.setdefault(target, []).append((name, bytes([sel]) + data))

for f in ("sig_rsa_opaque", "sig_ec_opaque", "sig_stream", "sig_pss", "sig_receiptreq",
          "receipt", "detached_rsa"):
    put("fuzz_cms", f, 0, rd(f + ".der"))
    put("fuzz_verify", "encap_" + f, 0, rd(f + ".der"))
for f in ("detached_rsa", "detached_ec"):
    put("fuzz_verify", f, 1, rd(f + ".der"))

types = ["EnvelopedData", "AuthEnvelopedData", "ReceiptRequest", "SigningCertificateV2",
         "ESSSecurityLabel", "MLExpansionHistory", "SMIMECapabilities", "RSASSA-PSS-params",
         "Receipt"]
typed = lambda name, data: put("fuzz_cms", "type_" + name, 1 + 3 * types.index(name), data)
typed("EnvelopedData", content_of(rd("env_cbc.der")))
typed("AuthEnvelopedData", content_of(rd("env_gcm.der")))
attrs = signed_attrs(content_of(rd("sig_receiptreq.der")))
typed("ReceiptRequest", attrs[oid_der("1.2.840.113549.1.9.16.2.1")])
caps = attrs[oid_der("1.2.840.113549.1.9.15")]
typed("SMIMECapabilities", caps)
scv2 = attrs.get(oid_der("1.2.840.113549.1.9.16.2.47"))
# OpenSSL 3.0 adds no signingCertificateV2 by default: one ESSCertIDv2 (SHA-256 default).
typed("SigningCertificateV2", scv2 or der(0x30, der(0x30, der(0x30, der(0x04, bytes(32))))))
typed("Receipt", econtent(content_of(rd("receipt.der"))))
# No OpenSSL command writes a security label, ML history or bare PSS parameters: built here
# from their RFC 2634 / RFC 4055 definitions.
category = der(0x30, der(0x80, oid_der("1.2.3.4.5")[2:]) + der(0xa1, der(0x0c, b"need-to-know")))
typed("ESSSecurityLabel", der(0x31, oid_der("1.3.6.1.4.1.99999.1") + der(0x02, b"\x02") +
                          der(0x13, b"CONFIDENTIAL") + der(0x31, category)))
typed("MLExpansionHistory", der(0x30, der(0x30, der(0x04, bytes(range(20))) +
                            der(0x18, b"20261130080000Z") + der(0x80, b""))))
sha256 = der(0x30, oid_der("2.16.840.1.101.3.4.2.1"))
mgf1 = der(0x30, oid_der("1.2.840.113549.1.1.8") + sha256)
typed("RSASSA-PSS-params", der(0x30, der(0xa0, sha256) + der(0xa1, mgf1) + der(0xa2, der(2, b"\x20"))))
put("fuzz_cms", "der_header_long", 2, b"\x30\x82\x01\x00")
put("fuzz_cms", "der_header_indef", 2, b"\x30\x80")

for f in ("env_cbc", "env_gcm", "env_ecdh", "env_oaep"):
    put("fuzz_cms_envelope", f, 0, rd(f + ".der"))
for f in ("alice", "bob", "erin"):
    put("fuzz_cms_envelope", "cert_" + f, 1, rd(os.path.join(pki, f + ".cert.der")))
put("fuzz_cms_envelope", "smime_caps", 2, caps)

for f in ("dec_rsa_cbc", "dec_rsa_gcm", "dec_rsa_des3_keyid", "dec_rsa_oaep", "dec_ec", "dec_both"):
    put("fuzz_decrypt", f, 0, rd(f + ".der"))
put("fuzz_decrypt", "dec_rsa_stream_7", 7, rd("dec_rsa_stream.der"))
put("fuzz_decrypt", "dec_ec_1", 1, rd("dec_ec.der"))

put("fuzz_verify", "base64", 2, b"TUlNRS1WZXJzaW9uOiAxLjAN\r\nCkNvbnRlbnQtVHlwZTog\r\ndGV4dA==\r\n")
put("fuzz_verify", "qp", 3, b"Caf=C3=A9 soft=\r\nbreak =3D end  \r\n=\r\n")

for target, items in seeds.items():
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    for name in os.listdir(d):
        if not name.startswith("crash-") and not name.startswith("regress-"):
            os.unlink(os.path.join(d, name))
    for name, data in items:
        open(os.path.join(d, name), "wb").write(data)
PY
# fuzz_security_label: ESS labels written by `openssl asn1parse -genconf` from their RFC 2634
# definitions in tests/fixtures/labels/ess-labels.cnf (shared with test_security_label; OpenSSL has
# no label command), and SIO-Label values (RFC 7444) carrying them.
# Selector byte: 0 ESSSecurityLabel, 1 EquivalentLabels, 2 SIO-Label value, 3 SET OF Attribute.
genconf() {  # NAME ROOT: DER of the section ROOT of ess-labels.cnf to NAME.der
    { echo "asn1=$2"; cat "$srcdir/tests/fixtures/labels/ess-labels.cnf"; } >"$1.cnf"
    openssl asn1parse -genconf "$1.cnf" -out "$1.der" -noout
}
genconf label_full SET:full
genconf label_utf8 SET:utf8
genconf label_min SET:min
genconf label_bits SET:bits_label
genconf equivalent SEQUENCE:eq3
genconf attrs SET:attrs
python3 - "$corpus/fuzz_security_label" <<'PY'
import base64, os, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
for name in os.listdir(d):
    if not name.startswith("crash-") and not name.startswith("regress-"):
        os.unlink(os.path.join(d, name))
rd = lambda f: open(f, "rb").read()
b64 = lambda f: base64.b64encode(rd(f)).decode()
seeds = {
    "label_full": b"\0" + rd("label_full.der"),
    "label_utf8": b"\0" + rd("label_utf8.der"),
    "label_min": b"\0" + rd("label_min.der"),
    "label_bits": b"\0" + rd("label_bits.der"),
    "equivalent": b"\1" + rd("equivalent.der"),
    "attrs": b"\3" + rd("attrs.der"),
}
full = b64("label_full.der")
sio = {
    "sio_ess": 'marking="CONFIDENTIAL"; fgcolor=black; bgcolor=#ff8000;\r\n\ttype=":ess"; label="%s"' % full,
    "sio_sections": 'type=":ess";\r\n label*0="%s";\r\n label*1="%s"' % (full[:40], full[40:]),
    "sio_utf8_marking": "marking*=utf-8''Geheim%20%E2%80%93%20nur%20f%C3%BCr; type=\":ess\"; label=\"" + b64("label_utf8.der") + '"',
    "sio_marking_only": 'marking="UNCLASSIFIED"; fgcolor=white; bgcolor=green',
    "sio_x411": 'marking="SECRET"; type=":x411"; label="%s"' % b64("label_min.der"),
    "sio_xml": 'type=":xml"; label="%s"' % base64.b64encode(b"<label><policy>1.2.3</policy></label>").decode(),
}
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
for name, text in sio.items():
    open(os.path.join(d, name), "wb").write(b"\2" + text.encode())
PY
# fuzz_receipt: ReceiptRequests as `openssl cms -sign -receipt_request_*` writes them (all,
# first tier, a receipt list, several receiptsTo), the Receipt and msgSigDigest of an `openssl
# cms -sign_receipt` receipt. Selector byte: 0 ReceiptRequest, 1 Receipt, 2 msgSigDigest.
printf 'Content-Type: text/plain\r\n\r\nreceipt seed\r\n' >receipt.txt
rsign() {  # NAME OPTIONS...: alice signs receipt.txt with a receipt request
  local name=$1; shift
  openssl cms -sign -binary -nodetach -in receipt.txt -signer pki/alice.cert.pem -inkey pki/alice.key.pem \
    "$@" -outform DER -out "$name.der"
}
rsign rr_all -receipt_request_all -receipt_request_to alice@acme.example
rsign rr_first -receipt_request_first -receipt_request_to a@acme.example -receipt_request_to b@acme.example
rsign rr_list -receipt_request_from dave@partner.example -receipt_request_from frank@partner.example \
  -receipt_request_to alice@acme.example
openssl cms -sign_receipt -in rr_all.der -inform DER -signer pki/dave.cert.pem -inkey pki/dave.key.pem \
  -outform DER -out receipt.der
python3 - "$corpus/fuzz_receipt" <<'PY'
import os, subprocess, sys
d = sys.argv[1]
os.makedirs(d, exist_ok=True)
for name in os.listdir(d):
    if not name.startswith("crash-") and not name.startswith("regress-"):
        os.unlink(os.path.join(d, name))
def parse(f):
    # Element lines only: a printed OCTET STRING of text can spill lines of its own.
    out = subprocess.run(["openssl", "asn1parse", "-inform", "DER", "-in", f], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l.split(":")[0].strip().isdigit() and "hl=" in l]
def element(f, offset):
    # The DER element at `offset` of file f (header and content, from asn1parse's hl/l).
    data = open(f, "rb").read()
    for line in parse(f):
        head = line.split(":")[0].strip()
        if int(head) == offset:
            hl = int(line.split("hl=")[1].split()[0]); l = int(line.split(" l=")[1].split()[0])
            return data[offset:offset + hl + l]
    raise SystemExit("no element at %d in %s" % (offset, f))
def after_oid(f, oid_name, skip=1):
    # The element that follows the OBJECT line naming oid_name, `skip` elements later (the
    # attribute's SET, then its value).
    lines = parse(f)
    for i, line in enumerate(lines):
        if "OBJECT" in line and oid_name in line:
            return element(f, int(lines[i + skip].split(":")[0].strip()))
    raise SystemExit("%s not in %s" % (oid_name, f))
seeds = {}
for n in ("rr_all", "rr_first", "rr_list"):
    seeds[n] = b"\0" + after_oid(n + ".der", "id-smime-aa-receiptRequest", 2)
seeds["msg_sig_digest"] = b"\2" + after_oid("receipt.der", "id-smime-aa-msgSigDigest", 2)
# The Receipt is the eContent: the OCTET STRING after the id-smime-ct-receipt content type.
lines = parse("receipt.der")
for i, line in enumerate(lines):
    if "OBJECT" in line and "id-smime-ct-receipt" in line:
        for follow in lines[i + 1:]:
            if "OCTET STRING" in follow:
                off = int(follow.split(":")[0].strip())
                hl = int(follow.split("hl=")[1].split()[0])
                seeds["receipt"] = b"\1" + element("receipt.der", off)[hl:]
                break
        break
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
PY
# fuzz_ml_expansion: mlExpansionHistory values written by OpenSSL's ASN.1 generator from
# RFC 2634 §4.3 (never our encoder): issuerAndSerialNumber and subjectKeyIdentifier
# identifiers, each receipt policy, two entries.
mkdir -p "$corpus/fuzz_ml_expansion"
mlgen() {  # NAME BODY: the genconf sections after "asn1 = SEQUENCE:h"
  printf 'asn1 = SEQUENCE:h\n%s\n' "$2" >"ml_$1.cnf"
  openssl asn1parse -genconf "ml_$1.cnf" -out "$corpus/fuzz_ml_expansion/$1" >/dev/null
}
mlgen ski_none '[h]
e = SEQUENCE:d
[d]
id = FORMAT:HEX,OCTETSTRING:0102030405
t = GENERALIZEDTIME:20261201101112Z
p = IMPLICIT:0C,NULL'
mlgen ias_instead '[h]
e = SEQUENCE:d
[d]
id = SEQUENCE:ias
t = GENERALIZEDTIME:20261201101112Z
p = IMPLICIT:1C,SEQUENCE:names
[ias]
issuer = SEQUENCE:name
serial = INTEGER:0x3BAB8FBBB5
[name]
rdn = SET:cn
[cn]
a = SEQUENCE:cnv
[cnv]
o = OID:commonName
v = UTF8:SSM Test Issuing CA
[names]
n = SEQUENCE:gn
[gn]
r = IMPLICIT:1C,IA5STRING:owner@acme.example'
mlgen two_addition '[h]
e1 = SEQUENCE:d1
e2 = SEQUENCE:d2
[d1]
id = FORMAT:HEX,OCTETSTRING:aabbcc
t = GENERALIZEDTIME:20261130000000Z
[d2]
id = FORMAT:HEX,OCTETSTRING:ddeeff
t = GENERALIZEDTIME:20261201000000Z
p = IMPLICIT:2C,SEQUENCE:names
[names]
n1 = SEQUENCE:gn1
n2 = SEQUENCE:gn2
[gn1]
r = IMPLICIT:1C,IA5STRING:a@acme.example
[gn2]
r = IMPLICIT:2C,IA5STRING:acme.example'
du -sh "$corpus"
