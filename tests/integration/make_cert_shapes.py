#!/usr/bin/env python3
"""Generated end-entity certificate shapes and the verdicts RFC 5280 / RFC 8550 give them.

Usage: make_cert_shapes.py PKI OUTDIR   (PKI: tests/fixtures/make-pki.sh's folder)

Writes, with the `openssl` command line only (never our own code):
  OUTDIR/keys/{rsa,rsa1024,rsapss,p256,p384,x25519,ed25519}.key.pem   seven keys, shared by every shape (key
                                               generation is the slow part)
  OUTDIR/ec-ca.cert.pem                        an ECDSA issuing CA under the test root
  OUTDIR/certs/NAME.cert.pem                   one certificate per shape
  OUTDIR/manifest.tsv                          one line per shape, tab-separated:
    name cert key address from enc enc_why sign sign_why ossl_enc ossl_sign
  enc:  usable | refused (a candidate names the address, unusable) | none (none names it)
  sign: pass | fail | - (the key cannot sign)
  ossl_*: ok | fail, what `openssl verify -purpose smimeencrypt/smimesign` should say.

The oracle (verdicts) is written out below from the RFCs, shape by shape, not read from the
gateway. Deterministic: the shapes, names, extensions and serials are fixed; only key material
and signatures differ between runs.
"""
import os
import subprocess
import sys

DOMAIN = "partner.example"
EMAIL_PROTECTION_OK = {"emailProtection", "anyExtendedKeyUsage"}


def shape(name, key="rsa", ca="rsa", ku="default", eku="emailProtection", eku_critical=False,
          san="default", subject_email=None, bc="critical, CA:false", extra="", dates="valid",
          address=None, from_address=None, ku_critical=True, san_section="", v1=False):
    addr = address or f"{name}@{DOMAIN}"
    if v1:  # a version 1 certificate has no extensions at all
        ku, eku, san, bc = None, None, None, None
    if ku == "default":
        ku = "digitalSignature, keyEncipherment" if key.startswith("rsa") else "digitalSignature, keyAgreement"
    if san == "default":
        san = f"email:{addr}"
    return dict(name=name, key=key, ca=ca, ku=ku, ku_critical=ku_critical, eku=eku,
                eku_critical=eku_critical, san=san, subject_email=subject_email, bc=bc, extra=extra,
                dates=dates, address=addr, from_address=from_address or addr, san_section=san_section,
                v1=v1)


UNKNOWN_EXT = "1.3.6.1.4.1.55555.1.1"
POLICY = "1.3.6.1.4.1.55555.2.1"

SHAPES = [
    # keys and the key usage each needs
    shape("base-rsa"),
    shape("rsa-1024", key="rsa1024"),
    shape("base-p256", key="p256"),
    shape("base-p384", key="p384"),
    shape("x25519-ka", key="x25519", ku="keyAgreement"),
    shape("x25519-noku", key="x25519", ku=None),
    shape("x25519-ke", key="x25519", ku="keyEncipherment"),
    shape("rsa-noku", ku=None),
    shape("rsa-ds-only", ku="digitalSignature"),
    shape("rsa-nr-only", ku="nonRepudiation"),
    shape("rsa-ke-only", ku="keyEncipherment"),
    shape("rsa-de-only", ku="dataEncipherment"),
    shape("rsa-ka-only", ku="keyAgreement"),
    shape("rsa-ku-all", ku="digitalSignature, nonRepudiation, keyEncipherment, dataEncipherment, keyAgreement"),
    shape("rsa-ku-noncritical", ku_critical=False),
    shape("rsa-ds-de", ku="digitalSignature, dataEncipherment"),
    # a keyUsage with no bit set (RFC 5280 §4.2.1.3: at least one MUST be): allows nothing
    shape("ku-no-bits", ku=None, extra="2.5.29.15 = critical, DER:03:01:00\n"),
    shape("p256-noku", key="p256", ku=None),
    shape("p256-ds-only", key="p256", ku="digitalSignature"),
    shape("p256-ke", key="p256", ku="digitalSignature, keyEncipherment"),
    shape("p384-ka-only", key="p384", ku="keyAgreement"),
    shape("p256-nr-ka", key="p256", ku="nonRepudiation, keyAgreement"),
    shape("ed25519-ds", key="ed25519", ku="digitalSignature"),
    shape("ed25519-noku", key="ed25519", ku=None),
    shape("rsa-pss-key", key="rsapss", ku="digitalSignature"),
    # extended key usage
    shape("eku-absent", eku=None),
    shape("eku-any", eku="anyExtendedKeyUsage"),
    shape("eku-email-any", eku="emailProtection, anyExtendedKeyUsage"),
    shape("eku-server", eku="serverAuth"),
    shape("eku-server-client", eku="serverAuth, clientAuth"),
    shape("eku-critical-email", eku="emailProtection", eku_critical=True),
    shape("eku-critical-client-email", eku="clientAuth, emailProtection", eku_critical=True),
    shape("eku-critical-any", eku="anyExtendedKeyUsage", eku_critical=True),
    # addresses
    shape("san-domain-upper", san=f"email:san-domain-upper@{DOMAIN.upper()}"),
    shape("san-local-upper", san=f"email:SAN-Local-Upper@{DOMAIN}"),
    shape("san-several", san=f"email:someone-else@{DOMAIN}, email:san-several@{DOMAIN}"),
    shape("subject-email-only", san=None, subject_email=f"subject-email-only@{DOMAIN}"),
    # "FORMAT:UTF8,UTF8:" makes openssl take the value as UTF-8 (else it reads Latin-1 and
    # encodes each octet again); in a section, since the comma cannot stand in a one-line list.
    shape("smtputf8", address=f"jörg-smtputf8@{DOMAIN}", san="@alt",
          san_section=f"[alt]\notherName.1 = 1.3.6.1.5.5.7.8.9;FORMAT:UTF8,UTF8:jörg-smtputf8@{DOMAIN}\n"),
    shape("no-address", san=None),
    # an rfc822Name is a bare Mailbox (RFC 5280 §4.2.1.6); a display-name form names nothing
    shape("san-display-name", san=f"email:Someone <san-display-name@{DOMAIN}>"),
    shape("v1-subject-email", v1=True, subject_email=f"v1-subject-email@{DOMAIN}"),
    shape("other-address-only", san=f"email:somebody@{DOMAIN}"),
    # basic constraints
    shape("bc-absent", bc=None),
    shape("bc-noncritical-false", bc="CA:false"),
    shape("bc-ca-true", bc="critical, CA:true"),
    # other extensions
    shape("unknown-critical", extra=f"{UNKNOWN_EXT} = critical, DER:05:00\n"),
    shape("unknown-noncritical", extra=f"{UNKNOWN_EXT} = DER:05:00\n"),
    shape("policies", extra=f"certificatePolicies = {POLICY}\n"),
    shape("policies-critical", extra=f"certificatePolicies = critical, {POLICY}\n"),
    # validity
    shape("expired", dates="expired"),
    shape("not-yet-valid", dates="future"),
    # the issuing CA's signature algorithm
    shape("ca-rsa-pss", ca="pss"),
    shape("ca-ecdsa-p256", key="p256", ca="ec"),
    shape("ca-ecdsa-rsa-key", ca="ec"),
]


def eku_list(s):
    return [e.strip() for e in s["eku"].split(",")] if s["eku"] else None


def ku_set(s):
    if "2.5.29.15" in s["extra"]:
        return set()
    return {k.strip() for k in s["ku"].split(",")} if s["ku"] else None


def names_address(s):
    """Whether the certificate names its shape's address (RFC 8550 §3)."""
    a = s["address"].lower()
    if s["san"]:
        # rfc822Name: the domain compares case-insensitively (RFC 5280 §7.5); the local part is
        # compared case-insensitively too: RFC 5321 leaves its case to the receiving domain, and
        # the gateway's users' mailboxes (like nearly all) ignore it (PRODUCT §6: address keys
        # are lower-cased). SmtpUTF8Mailbox (RFC 9598) names the address as well.
        san = s["san_section"] if s["san"].startswith("@") else s["san"]
        return any(part.strip().split(":", 1)[-1].split("UTF8:")[-1].lower() == a
                   for part in san.replace("\n", ",").split(","))
    # RFC 8550 §3: receiving agents MUST recognise the PKCS #9 emailAddress of the subject (the
    # gateway reads it when the certificate has no address in subjectAltName).
    return (s["subject_email"] or "").lower() == a


def certificate_problems(s):
    """Problems of the certificate that refuse it for any S/MIME use (RFC 5280 §6.1, §4.2)."""
    out = []
    if s["dates"] == "expired":
        out.append("expired (RFC 5280 §6.1.3 a.2)")
    if s["dates"] == "future":
        out.append("not yet valid (RFC 5280 §6.1.3 a.2)")
    if "critical" in s["extra"] and UNKNOWN_EXT in s["extra"]:
        out.append("unknown critical extension (RFC 5280 §4.2)")
    ekus = eku_list(s)
    if ekus is not None and not EMAIL_PROTECTION_OK & set(ekus):
        out.append("EKU lacks emailProtection and anyExtendedKeyUsage (RFC 8550 §4.4.4)")
    return out


def encryption_verdict(s):
    if not names_address(s):
        return "none", "the certificate does not name the address (RFC 8550 §3)"
    out = certificate_problems(s)
    # PRODUCT §6: a CA certificate is chain material, never a recipient's key (RFC 5280 §4.2.1.9
    # would allow it; the gateway's rule is stricter on purpose, documented in ssm-milter.toml(5)).
    if s["bc"] and "CA:true" in s["bc"]:
        out.append("a CA certificate (PRODUCT §6)")
    ku = ku_set(s)
    if s["key"] == "ed25519":
        out.append("an Ed25519 key only signs (RFC 8410 §5)")
    if s["key"] == "rsapss":
        out.append("an id-RSASSA-PSS key only signs (RFC 4055 §1.2)")
    # RFC 8551 §2.3: sending agents SHOULD NOT encrypt to RSA keys shorter than 2048 bits; the
    # gateway encrypts new mail and so does not (a signer's short key is only noted, see
    # signing_verdict).
    if s["key"] == "rsa1024":
        out.append("RSA key shorter than 2048 bits (RFC 8551 §2.3)")
    if s["key"] in ("rsa", "rsa1024") and ku is not None and "keyEncipherment" not in ku:
        out.append("RSA key transport needs keyEncipherment (RFC 8550 §4.4.2)")
    if s["key"] in ("p256", "p384", "x25519") and ku is not None and "keyAgreement" not in ku:
        out.append("ECDH/X25519 needs keyAgreement (RFC 8550 §4.4.2)")
    return ("refused", "; ".join(out)) if out else ("usable", "names the address, usages allow encryption")


def signing_verdict(s):
    if s["key"] == "x25519":
        return "-", "X25519 cannot sign (RFC 8410)"
    if s["key"] == "ed25519":  # (test_interop_bouncycastle.sh signs with Ed25519 instead)
        return "-", "OpenSSL 3.0's cms cannot sign with Ed25519 (eddsa: invalid digest)"
    # RFC 8551 §2.2 says receiving agents SHOULD NOT accept RSA keys shorter than 2048 bits;
    # ssm-milter(8) documents that the gateway still verifies them (older mail has them) and
    # notes signer-key-weak=rsaN, so rsa-1024 passes here.
    out = certificate_problems(s)
    ku = ku_set(s)
    if ku is not None and not ku & {"digitalSignature", "nonRepudiation"}:
        out.append("KU lacks digitalSignature and nonRepudiation (RFC 8550 §4.4.2)")
    if not names_address(s):
        out.append("From does not match the certificate (RFC 8550 §3)")
    # A CA:TRUE end entity may sign mail: RFC 5280 and RFC 8550 forbid nothing of the kind.
    return ("fail", "; ".join(out)) if out else ("pass", "valid signer named in From")


def openssl_verdicts(s):
    """OpenSSL 3.0's purpose checks (crypto/x509/v3_purp.c check_purpose_smime*): these differ
    from RFC 8550 in two places: anyExtendedKeyUsage alone does not satisfy XKU_SMIME, and
    smimeencrypt demands keyEncipherment whatever the key type (no keyAgreement for ECDH).
    `openssl verify` checks no address and does not refuse a CA:TRUE leaf."""
    base = bool([p for p in certificate_problems(s) if "EKU" not in p])
    ekus = eku_list(s)
    eku_bad = ekus is not None and "emailProtection" not in ekus
    ku = ku_set(s)
    enc_bad = ku is not None and "keyEncipherment" not in ku
    sign_bad = ku is not None and not ku & {"digitalSignature", "nonRepudiation"}
    enc = "fail" if base or eku_bad or enc_bad else "ok"
    sign = "fail" if base or eku_bad or sign_bad else "ok"
    return enc, sign


def run(args, cwd):
    r = subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=dict(os.environ, OPENSSL_CONF="/dev/null"))
    if r.returncode != 0:
        sys.exit("make_cert_shapes: %s: %s" % (" ".join(args), r.stdout.decode(errors="replace")[-400:]))


def ext_text(s):
    lines = ["[ee]"]
    if s["bc"]:
        lines.append(f"basicConstraints = {s['bc']}")
    if s["ku"]:
        lines.append(f"keyUsage = {'critical, ' if s['ku_critical'] else ''}{s['ku']}")
    if s["eku"]:
        lines.append(f"extendedKeyUsage = {'critical, ' if s['eku_critical'] else ''}{s['eku']}")
    if s["san"]:
        lines.append(f"subjectAltName = {s['san']}")
    lines += ["subjectKeyIdentifier = hash", "authorityKeyIdentifier = keyid", s["extra"], s["san_section"]]
    return "\n".join(lines) + "\n"


def main():
    pki, out = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(f"{out}/keys", exist_ok=True)
    os.makedirs(f"{out}/certs", exist_ok=True)
    os.makedirs(f"{out}/tmp", exist_ok=True)
    k = f"{out}/keys"
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{k}/rsa.key.pem"], out)
    for c, curve in (("p256", "P-256"), ("p384", "P-384"), ("ec-ca", "P-256")):
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", f"ec_paramgen_curve:{curve}", "-out", f"{k}/{c}.key.pem"], out)
    run(["openssl", "genpkey", "-algorithm", "X25519", "-out", f"{k}/x25519.key.pem"], out)
    run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", f"{k}/rsa1024.key.pem"], out)
    run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", f"{k}/ed25519.key.pem"], out)
    run(["openssl", "genpkey", "-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048", "-out", f"{k}/rsapss.key.pem"], out)
    for key in ("rsa", "rsa1024", "p256", "p384", "x25519", "ed25519", "rsapss"):
        run(["openssl", "pkey", "-in", f"{k}/{key}.key.pem", "-pubout", "-out", f"{k}/{key}.pub.pem"], out)
    # One request for every shape: its subject and key are replaced (-subj, -force_pubkey).
    run(["openssl", "req", "-new", "-key", f"{k}/p256.key.pem", "-subj", "/CN=shape", "-out", "tmp/req.csr"], out)
    run(["openssl", "req", "-new", "-key", f"{k}/rsa.key.pem", "-subj", "/CN=shape", "-out", "tmp/rsa.csr"], out)
    with open(f"{out}/tmp/ca.ext", "w") as f:
        f.write("[ca]\nbasicConstraints = critical, CA:true\nkeyUsage = critical, keyCertSign, cRLSign\n"
                "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n")
    run(["openssl", "req", "-new", "-key", f"{k}/ec-ca.key.pem", "-subj", "/O=SSM Test/CN=SSM Test ECDSA Issuing CA",
         "-out", "tmp/ec-ca.csr"], out)
    run(["openssl", "x509", "-req", "-in", "tmp/ec-ca.csr", "-CA", f"{pki}/root-ca.cert.pem", "-CAkey",
         f"{pki}/root-ca.key.pem", "-set_serial", "0x5ec0", "-days", "3650", "-sha256", "-extfile", "tmp/ca.ext",
         "-extensions", "ca", "-out", "ec-ca.cert.pem"], out)
    # `openssl ca` for the dated shapes (openssl x509 -req of 3.0 sets no notBefore).
    with open(f"{out}/tmp/ca.cnf", "w") as f:
        f.write("[ca]\ndefault_ca = x\n[x]\ndatabase = tmp/index.txt\nnew_certs_dir = tmp\nserial = tmp/serial\n"
                "default_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n"
                "organizationName = optional\nemailAddress = optional\n")
    open(f"{out}/tmp/index.txt", "w").close()
    with open(f"{out}/tmp/serial", "w") as f:
        f.write("5d00\n")
    lines = []
    for i, s in enumerate(SHAPES):
        n = s["name"]
        with open(f"{out}/tmp/{n}.ext", "w") as f:
            f.write(ext_text(s))
        subj = f"/O=SSM Shapes/CN={n}" + (f"/emailAddress={s['subject_email']}" if s["subject_email"] else "")
        ca_cert, ca_key = f"{pki}/sub-ca.cert.pem", f"{pki}/sub-ca.key.pem"
        if s["ca"] == "ec":
            ca_cert, ca_key = f"{out}/ec-ca.cert.pem", f"{k}/ec-ca.key.pem"
        cert = f"certs/{n}.cert.pem"
        if s["dates"] != "valid":
            assert s["key"] == "rsa"
            start, end = ("20200101000000Z", "20210101000000Z") if s["dates"] == "expired" else \
                ("20990101000000Z", "20991231000000Z")
            run(["openssl", "ca", "-batch", "-config", "tmp/ca.cnf", "-cert", ca_cert, "-keyfile", ca_key,
                 "-in", "tmp/rsa.csr", "-subj", subj, "-startdate", start, "-enddate", end, "-extfile",
                 f"tmp/{n}.ext", "-extensions", "ee", "-notext", "-out", cert], out)
        else:
            args = ["openssl", "x509", "-req", "-in", "tmp/req.csr", "-subj", subj, "-force_pubkey",
                    f"{k}/{s['key']}.pub.pem", "-CA", ca_cert, "-CAkey", ca_key, "-set_serial", f"0x5c{i:02x}",
                    "-days", "365", "-sha256", "-out", cert]
            if not s["v1"]:
                args += ["-extfile", f"tmp/{n}.ext", "-extensions", "ee"]
            if s["ca"] == "pss":
                args += ["-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32"]
            run(args, out)
        enc, enc_why = encryption_verdict(s)
        sign, sign_why = signing_verdict(s)
        ossl_enc, ossl_sign = openssl_verdicts(s)
        lines.append("\t".join([n, f"{out}/{cert}", f"{k}/{s['key']}.key.pem", s["address"], s["from_address"],
                                enc, enc_why, sign, sign_why, ossl_enc, ossl_sign]))
    with open(f"{out}/manifest.tsv", "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
