#!/usr/bin/env python3
"""The OUTER S/MIME wrapper forms real MUAs and gateways write, generated around CMS objects
that peers made (tests/integration/test_inbound_wrappers.sh: openssl cms, gpgsm, NSS cmsutil;
never our code). Deterministic: the same input directory gives the same messages.

  make_smime_wrappers.py DIR FROM RCPT

DIR holds, for each entity E (the script's plain, mixed, 8bit): E.entity (the MIME entity,
CRLF), E.det.der (a detached signature over it), E.opq.der (an opaque signature holding it),
E.env.der (an EnvelopedData holding it). Writes DIR/cases/NAME.eml and prints one line a case:
  NAME KIND ENTITY EXPECT
KIND det | opq | env; EXPECT what RFC 8551/2045/2046 ask of a receiver:
  pass       smime=pass for the signer, the message delivered as received
  decrypted  the entity delivered in place of the encryption
  other:WORD a defined outcome for an illegal form, named by WORD (see illegal_cases).

Multipart/signed is varied over fourteen axes, application/pkcs7-mime (opaque signed and
enveloped) over nine; pick() chooses each axis's value per case so that every value comes
in every round of n cases and the values of different axes meet in changing combinations. Input is our own fixtures; nothing here is trusted.
"""
import base64
import os
import sys

ENTITIES = ["plain", "mixed", "8bit"]
CRLF = "\r\n"


def b64_lines(der, width, eol=CRLF):
    text = base64.b64encode(der).decode()
    if width == 0:
        return text + eol
    return "".join(text[i:i + width] + eol for i in range(0, len(text), width))


def pick(axis, i, k):
    """Axis k's value for case i: each round of n cases takes every value once, forwards for
    even k and backwards for odd k, and round r shifts axis k by r * k, so that the values of
    two axes meet in other pairs each round."""
    n = len(axis)
    a = 1 if k % 2 == 0 else n - 1
    return axis[(i * a + (i // n) * k) % n]


# --- multipart/signed ---------------------------------------------------------------------------
# Each axis: (name, [values]). Values are small tags interpreted by det_case.
DET_AXES = [
    ("order", ["pmb", "bpm", "mbp", "bmp"]),
    ("case", ["lower", "mixed", "upper"]),
    ("quote", ["all", "none", "boundary-only"]),
    ("fold", ["none", "each", "space-eq", "before-semi"]),
    ("comment", ["none", "type", "value", "param"]),
    ("protocol", ["pkcs7", "x-pkcs7"]),
    ("micalg", ["sha-256", "SHA-256", "list", "missing", "unknown", "list-spaced"]),
    ("boundary", ["token", "tspecials", "rfc2231", "rfc2231-split", "space", "bchars", "rfc2231-pct"]),
    ("frame", ["standard", "none", "epilogue", "dash-preamble"]),
    ("padding", ["none", "spaces", "tabs-all"]),
    ("sigenc", ["b64-64", "b64-76", "b64-one", "b64-lf", "binary"]),
    ("siglabel", ["name+disp", "bare", "filename", "inline", "octet-stream"]),
    # the case of the field names (outer and signature part) and of the encoding's name
    ("fieldcase", ["Content-Type", "content-type", "CONTENT-TYPE"]),
    # a Content-Transfer-Encoding on the multipart itself (Outlook writes 8bit; RFC 2045 §6.4
    # allows 7bit, 8bit, binary there) and Content-Description fields (Thunderbird's
    # "S/MIME Cryptographic Signature") on both
    ("extras", ["none", "8bit+description", "binary", "description"]),
]


def cased(word, case):
    if case == "upper":
        return word.upper()
    if case == "mixed":
        return "-".join(p[:1].upper() + p[1:] for p in word.split("-"))
    return word


def param(name, value, quoted, case, fold, comment="", pre=""):
    """One '; name=value' parameter, in the given case, quoting and folding (RFC 5322 §3.2.2:
    folding and comments where white space may be; "space-eq": blanks around "=", which
    RFC 2045's tokens allow); `pre` a comment before the name, `comment` one after the value."""
    n = name.upper() if case == "upper" else (name.capitalize() if case == "mixed" else name)
    v = '"%s"' % value if quoted else value
    eq = " = " if fold == "space-eq" else "="
    sep = {"each": ";\r\n\t", "before-semi": "\r\n ; "}.get(fold, "; ")
    return sep + pre + n + eq + v + comment


def det_case(i, der, entity):
    v = {name: pick(vals, i, k) for k, (name, vals) in enumerate(DET_AXES)}
    case = v["case"]
    # Values: cased as a client writing "Application/PKCS7-Signature" does (the types are
    # case-insensitive, RFC 2045 §5.1); the boundary is case-sensitive and left alone.
    proto_sub = "x-pkcs7-signature" if v["protocol"] == "x-pkcs7" else "pkcs7-signature"
    proto = cased("application", case) + "/" + cased(proto_sub, case)
    micalg = {"sha-256": "sha-256", "SHA-256": "SHA-256", "list": "sha-1,sha-256",
              "unknown": "x-unknown-hash", "missing": None, "list-spaced": "sha-256, sha-512"}[v["micalg"]]
    # RFC 2046 §5.1.1 bchars: a space (not last) and ' ( ) + _ , - . / : = ? in a boundary
    b = {"token": "wrap-%d.b" % i, "tspecials": "=_Part/%d:(b)?" % i,
         "rfc2231": "wrap-%d-2231" % i, "rfc2231-split": "wrap-%d-split" % i,
         "space": "wrap %d b" % i, "bchars": "'(+_,-./:=?)%d" % i, "rfc2231-pct": "wrap-%d=pct" % i}[v["boundary"]]
    fc = v["fieldcase"]
    ct_name = fc
    cte_name = {"Content-Type": "Content-Transfer-Encoding", "content-type": "content-transfer-encoding",
                "CONTENT-TYPE": "CONTENT-TRANSFER-ENCODING"}[fc]
    b64_name = {"Content-Type": "base64", "content-type": "Base64", "CONTENT-TYPE": "BASE64"}[fc]
    q = v["quote"]
    fold = v["fold"]
    comment = v["comment"]
    pre = "(the delimiter) " if comment == "param" else ""
    parts = {}
    # protocol holds "/", a tspecial: unquoted it is not a token (RFC 2045 §5.1), but clients
    # write it so (Outlook 2003); "none" leaves it bare, as they do.
    parts["p"] = param("protocol", proto, q == "all", case, fold,
                       " (signature type)" if comment == "value" else "")
    if micalg is not None:
        # a list holds ",", a tspecial: always quoted
        parts["m"] = param("micalg", micalg, q == "all" or "," in micalg, case, fold)
    if v["boundary"] == "rfc2231":
        parts["b"] = param("boundary*", "us-ascii'en'" + b, False, case, fold, pre=pre)
    elif v["boundary"] == "rfc2231-pct":
        # RFC 2231 §4: an encoded first segment (%XX for "-" and "="), a plain second one
        cut = b.index("=")
        parts["b"] = param("boundary*0*", "us-ascii''" + b[:cut].replace("-", "%2D") + "%3D", False, case, fold, pre=pre) + \
            param("boundary*1", b[cut + 1:], True, case, fold)
    elif v["boundary"] == "rfc2231-split":
        half = len(b) // 2
        parts["b"] = param("boundary*0", b[:half], True, case, fold, pre=pre) + param("boundary*1", b[half:], True, case, fold)
    else:
        parts["b"] = param("boundary", b, q != "none" or v["boundary"] in ("tspecials", "space", "bchars"), case, fold, pre=pre)
    ctype = cased("multipart", case) + "/" + cased("signed", case)
    if comment == "type":
        ctype += " (RFC 1847)"
    header = ct_name + ": " + ctype + "".join(parts[k] for k in v["order"] if k in parts) + CRLF
    if v["extras"] in ("8bit+description", "binary"):
        header += cte_name + ": " + v["extras"].split("+")[0] + CRLF
    if "description" in v["extras"]:
        header += "Content-Description: signed message (S/MIME)" + CRLF

    pad = {"none": "", "spaces": "  ", "tabs-all": "\t "}[v["padding"]]
    close_pad = pad if v["padding"] == "tabs-all" else ""
    preamble = {"standard": "This is a cryptographically signed message in MIME format." + CRLF + CRLF,
                "none": "", "epilogue": "", "dash-preamble": "-- not a delimiter" + CRLF + "--" + CRLF + "---" + CRLF + CRLF}[v["frame"]]
    epilogue = {"epilogue": CRLF + "An epilogue readers do not show." + CRLF + CRLF}.get(v["frame"], "")

    if v["siglabel"] == "octet-stream":
        sct = "application/octet-stream; name=smime.p7s"
    else:
        sct = cased("application", case) + "/" + cased(proto_sub, case)
        if v["siglabel"] in ("name+disp", "inline"):
            sct += "; name=smime.p7s"
    sig_fields = ct_name + ": " + sct + CRLF
    enc = v["sigenc"]
    sig_fields += cte_name + ": " + ("binary" if enc == "binary" else b64_name) + CRLF
    disp = {"name+disp": 'attachment; filename="smime.p7s"', "filename": "attachment; filename=smime.p7s",
            "inline": "inline", "octet-stream": "attachment; filename=smime.p7s"}.get(v["siglabel"])
    if disp:
        sig_fields += "Content-Disposition: " + disp + CRLF
    if "description" in v["extras"]:
        sig_fields += "Content-Description: S/MIME Cryptographic Signature" + CRLF
    if enc == "binary":
        sig_body = der
    else:
        width = {"b64-64": 64, "b64-76": 76, "b64-one": 0, "b64-lf": 64}[enc]
        sig_body = b64_lines(der, width, "\n" if enc == "b64-lf" else CRLF).encode()

    body = (preamble + "--" + b + pad + CRLF).encode() + entity + \
        (CRLF + "--" + b + pad + CRLF + sig_fields + CRLF).encode() + sig_body + \
        (CRLF + "--" + b + "--" + close_pad + CRLF + epilogue).encode()
    tag = "-".join([v["order"], v["case"], v["micalg"], v["boundary"], v["sigenc"], v["siglabel"]])
    return tag, header.encode(), body


# --- application/pkcs7-mime ---------------------------------------------------------------------
CMS_AXES = [
    ("type", ["pkcs7-mime", "x-pkcs7-mime", "Mixed-Case", "octet-stream"]),
    ("smime_type", ["lower", "missing", "Capitalised", "UPPER-quoted"]),
    ("name", ["smime.p7m", "SMIME.P7M", "smime.p7s", "smime.p7z", "none", "rfc2231", "rfc2231-pct"]),
    ("disposition", ["none", "attachment", "inline", "filename-only"]),
    ("encoding", ["b64-64", "b64-76", "b64-one", "b64-lf", "binary", "b64-blank-first"]),
    ("cte", ["base64", "Base64", "BASE64 (comment)"]),
    ("description", ["none", "S/MIME Encrypted Message"]),
    ("order", ["type-first", "name-first"]),
    ("fold", ["none", "each"]),
]


def cms_case(i, der, kind):
    v = {name: pick(vals, i, k + 1) for k, (name, vals) in enumerate(CMS_AXES)}
    st = "signed-data" if kind == "opq" else "enveloped-data"
    t = v["type"]
    name = v["name"]
    disp = v["disposition"]
    if t == "octet-stream" and (name in ("smime.p7s", "smime.p7z", "none")) and disp != "filename-only":
        # RFC 8551 §3.2.1: application/octet-stream is S/MIME only by a .p7m name; the
        # illegal combinations are ILLEGAL's cases, here the name becomes .p7m.
        name = "smime.p7m"
    ctype = {"pkcs7-mime": "application/pkcs7-mime", "x-pkcs7-mime": "application/x-pkcs7-mime",
             "Mixed-Case": "Application/PKCS7-MIME", "octet-stream": "application/octet-stream"}[t]
    params = []
    if t != "octet-stream" and v["smime_type"] != "missing":
        val = {"lower": st, "Capitalised": st.capitalize(), "UPPER-quoted": '"%s"' % st.upper()}[v["smime_type"]]
        params.append("smime-type=" + val)
    if name == "rfc2231":
        params.append("name*=utf-8''smime.p7m")
    elif name == "rfc2231-pct":
        params.append("name*=utf-8'en'smime%2Ep7m")
    elif name != "none":
        params.append('name="%s"' % name)
    if v["order"] == "name-first":
        params.reverse()
    sep = ";\r\n\t" if v["fold"] == "each" else "; "
    fields = "Content-Type: " + ctype + "".join(sep + p for p in params) + CRLF
    enc = v["encoding"]
    fields += "Content-Transfer-Encoding: " + ("binary" if enc == "binary" else v["cte"]) + CRLF
    if v["description"] != "none":
        fields += "Content-Description: " + v["description"] + CRLF
    fname = "smime.p7m" if name in ("none", "rfc2231", "rfc2231-pct") else name
    if disp == "attachment":
        fields += 'Content-Disposition: attachment; filename="%s"%s' % (fname, CRLF)
    elif disp == "inline":
        fields += "Content-Disposition: inline" + CRLF
    elif disp == "filename-only":
        fields += "Content-Disposition: attachment; filename=smime.p7m" + CRLF
    if enc == "binary":
        body = der
    else:
        # b64-blank-first: an empty line before the base64 (RFC 2045 §6.8: decoders ignore
        # line breaks), as some gateways re-wrap it
        width = {"b64-64": 64, "b64-76": 76, "b64-one": 0, "b64-lf": 64, "b64-blank-first": 76}[enc]
        body = (CRLF if enc == "b64-blank-first" else "") + b64_lines(der, width, "\n" if enc == "b64-lf" else CRLF)
        body = body.encode()
    tag = "-".join([t, v["smime_type"], name, disp, enc])
    return tag, fields.encode(), body


# --- illegal or odd forms, each with its named outcome -----------------------------------------
# What an experienced administrator expects when a label is not S/MIME by RFC 8551 or a MIME
# structure is broken: the mail is delivered (nothing is dropped), never shown as signed, and
# never decrypted on a label that does not ask for it:
#   other:none       no S/MIME layer (log action=none): delivered unchanged, no smime result
#   other:permerror  an S/MIME layer that cannot be read: smime=permerror, delivered unchanged
#   other:fail       a signature over other bytes than those sent: smime=fail, delivered
def illegal_cases(d):
    e = "plain"
    entity = read(d, e + ".entity")
    det = read(d, e + ".det.der")
    opq = read(d, e + ".opq.der")
    env = read(d, e + ".env.der")
    out = []

    def signed(name, header, boundary, sig_fields, expect):
        body = ("--" + boundary + CRLF).encode() + entity + (CRLF + "--" + boundary + CRLF + sig_fields + CRLF).encode() + \
            b64_lines(det, 64).encode() + (CRLF + "--" + boundary + "--" + CRLF).encode()
        out.append((name, "det", e, expect, header.encode(), body))

    sig = "Content-Type: application/pkcs7-signature; name=smime.p7s" + CRLF + "Content-Transfer-Encoding: base64" + CRLF
    # A protocol other than S/MIME's (RFC 1847 §2.1: the protocol names the signature's type):
    # a PGP-labelled multipart/signed is not ours to pass.
    signed("illegal-protocol-pgp", 'Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="pgp"\r\n',
           "pgp", sig, "other:none")
    # No boundary parameter: the body cannot be split (RFC 2046 §5.1.1 requires it).
    signed("illegal-no-boundary", 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256\r\n',
           "nob", sig, "other:permerror")
    # The boundary parameter names another delimiter than the body's: no parts.
    signed("illegal-boundary-mismatch", 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="other"\r\n',
           "body", sig, "other:permerror")
    # The control that shows the sweep can fail: one octet of the signed entity changed.
    entity = entity.replace(b"Hello", b"Hallo")
    signed("control-entity-changed", 'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256; boundary="chg"\r\n',
           "chg", sig, "other:fail")

    def cms(name, kind, der, fields, expect):
        body = b64_lines(der, 64).encode()
        out.append((name, kind, e, expect, (fields + "Content-Transfer-Encoding: base64" + CRLF).encode(), body))

    # application/octet-stream without a .p7m name is an attachment, not S/MIME (RFC 8551
    # §3.2.1): not decrypted, not verified, delivered as received.
    cms("illegal-octet-stream-unnamed-env", "env", env, "Content-Type: application/octet-stream" + CRLF, "other:none")
    cms("illegal-octet-stream-p7s-opq", "opq", opq, "Content-Type: application/octet-stream; name=smime.p7s" + CRLF, "other:none")
    # base64 labelled binary would be garbage to every reader: the layer cannot be read.
    return out


def read(d, f):
    with open(os.path.join(d, f), "rb") as h:
        return h.read()


def outer(name, frm, rcpt):
    return ("From: Dave <%s>\r\nTo: %s\r\nSubject: wrapper %s\r\nDate: Sat, 5 Dec 2026 09:00:00 +0000\r\n"
            "Message-ID: <%s@mua.partner.example>\r\nMIME-Version: 1.0\r\n" % (frm, rcpt, name, name)).encode()


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: make_smime_wrappers.py DIR FROM RCPT")
    d, frm, rcpt = sys.argv[1:]
    os.makedirs(os.path.join(d, "cases"), exist_ok=True)
    cases = []
    n_det, n_cms = 48, 20
    for i in range(n_det):
        e = ENTITIES[i % 3]
        tag, header, body = det_case(i, read(d, e + ".det.der"), read(d, e + ".entity"))
        cases.append(("det-%02d-%s-%s" % (i, e, tag), "det", e, "pass", header, body))
    for kind, expect in (("opq", "pass"), ("env", "decrypted")):
        for i in range(n_cms):
            e = ENTITIES[(i + (kind == "env")) % 3]
            tag, header, body = cms_case(i + (kind == "env") * 5, read(d, e + "." + kind + ".der"), kind)
            cases.append(("%s-%02d-%s-%s" % (kind, i, e, tag), kind, e, expect, header, body))
    cases += illegal_cases(d)
    for name, kind, e, expect, header, body in cases:
        with open(os.path.join(d, "cases", name + ".eml"), "wb") as h:
            h.write(outer(name, frm, rcpt) + header + b"\r\n" + body)
        print(name, kind, e, expect)


if __name__ == "__main__":
    main()
