#!/usr/bin/env python3
# MIME shapes for the outbound sweeps (tests/integration/test_sign_shapes.sh,
# test_encrypt_shapes.sh):
#   make_mime_shapes.py generate DIR [N]    writes DIR/shape-NN.eml and DIR/shape-NN.json
#   make_mime_shapes.py check LIST          compares input and signed or encrypted output,
#                                           PASS/FAIL lines
#   make_mime_shapes.py entity IN OUT       the MIME entity a peer signs (inbound sweep)
#   make_mime_shapes.py inbound-check LIST  leaves of delivered inbound mail against the entity
# `generate` is deterministic (seed i makes message i; no clock, no os randomness): nesting of
# multipart/mixed, /alternative, /related, /digest and message/rfc822 (0-3 levels), text/plain
# and text/html leaves, a PDF-ish binary and images, in every transfer encoding mailers write
# (7bit, 8bit UTF-8 and Latin-1, quoted-printable with soft breaks, trailing blanks and careless
# '=' or raw 8-bit octets, base64 in 76, 64 and one unbroken line, binary, none, labels in odd
# spellings), CRLF, LF and mixed line ends, lone CRs and NULs, lines over 998 octets, preamble
# and epilogue text (also 8-bit), boundaries that are prefixes of each other or hold spaces,
# padding after delimiters, empty parts, folded header fields with RFC 2047 words and RFC 2231
# parameters, labels on composites, a message without MIME fields; malformed: a missing close
# delimiter, a header line over 998 octets with no blank, base64 holding raw 8-bit octets and
# NULs. One function per feature; the seed picks and combines them, and the manifest
# (shape-NN.json) says what the checks may expect.
# `check` reads what it compares as untrusted bytes (our own output): its small MIME reader
# never trusts a length and bounds its recursion.
import ast
import base64
import json
import os
import random
import re
import sys


# Senders the test's policy signs for, with the key each one's certificate holds.
SENDERS = [
    ("alice@acme.example", "rsa"),
    ("bob@acme.example", "ecdsa"),
    ("carol@acme.example", "rsa"),
]

# Every message forces one of these (message i: FEATURES[i % len]), the seed adds others, so
# that each appears in the default 60 messages whatever the random choices.
FEATURES = [
    "depth0", "depth1", "depth2", "depth3", "rfc822", "cte-7bit", "cte-8bit-utf8",
    "cte-8bit-latin1", "cte-qp", "cte-b64-76", "cte-b64-64", "cte-b64-oneline", "cte-binary",
    "cte-none", "long-line", "trailing-ws", "preamble", "preamble-8bit", "prefix-boundaries",
    "empty-part", "empty-body", "folded-headers", "rfc2047", "rfc2231", "missing-close",
    "eol-lf", "eol-mixed", "qp-long-line", "odd-boundary", "delimiter-padding", "cte-spelling",
    "digest", "rfc822-top", "raw-8bit-param", "long-preamble-line", "lone-cr", "nul-in-7bit",
    "qp-sloppy", "composite-cte", "no-mime", "unquoted-boundary", "qp-raw-8bit",
    "long-header-token", "b64-garbage",
]

WORDS = ("invoice quarterly figures attached meeting agenda please review the draft before "
         "friday regards team budget approval schedule notes minutes project").split()
UTF8_WORDS = ["Grüße", "naïve", "café", "Zürich", "déjà", "Ærø", "日本語", "€100", "–", "Œuvre"]
LATIN1_WORDS = [w.encode("latin-1") for w in ["Grüße", "naïve", "café", "Zürich", "déjà", "Ærø"]]


# --- leaf contents -----------------------------------------------------------------------------

def ascii_lines(rng, n, width=(20, 70)):
    out = []
    for _ in range(n):
        line, target = [], rng.randint(*width)
        while len(" ".join(line)) < target:
            line.append(rng.choice(WORDS))
        out.append(" ".join(line).encode())
    return out


def text_utf8(rng, n):
    lines = ascii_lines(rng, n)
    for i in range(0, n, 2):
        lines[i] += b" " + rng.choice(UTF8_WORDS).encode("utf-8")
    return lines


def text_latin1(rng, n):
    lines = ascii_lines(rng, n)
    for i in range(0, n, 2):
        lines[i] += b" " + rng.choice(LATIN1_WORDS)
    return lines


def with_trailing_ws(rng, lines):
    """Blanks and tabs at line ends (QP must protect them; 7bit keeps them as they are)."""
    return [l + rng.choice([b" ", b"  ", b"\t", b" \t "]) if i % 2 == 0 else l
            for i, l in enumerate(lines)]


def with_long_line(rng, lines):
    """One line over 998 octets (RFC 5322 §2.1.1): no transport carries it unencoded."""
    long = b" ".join(rng.choice(WORDS).encode() for _ in range(220))
    return lines[:1] + [long[:rng.randint(1000, 1400)]] + lines[1:]


def with_tricky_starts(lines):
    """Lines that SMTP and mbox treat specially: a leading dot, "From ", a lone dot."""
    return lines + [b".hidden by dot-stuffing", b"From the desk of the CFO", b"."]


def html_of(lines):
    body = b"".join(b"<p>" + l + b"</p>\n" for l in lines)
    return (b"<html><head><meta charset=\"utf-8\"></head><body>\n" + body + b"</body></html>").split(b"\n")


def pdfish(rng, size):
    """A PDF-like binary: NULs, lone CR and LF, CRLF, high octets, a fake boundary-ish line."""
    out = bytearray(b"%PDF-1.4\r\n%\xe2\xe3\xcf\xd3\r\n1 0 obj\n<< /Type /Catalog >>\rendobj\r\n")
    while len(out) < size:
        out += bytes(rng.randrange(256) for _ in range(rng.randint(8, 64)))
        out += rng.choice([b"\r\n", b"\n", b"\r", b"\x00\x00", b"stream\r\n"])
    out += b"\r\n%%EOF\r\n"
    return bytes(out)


# --- transfer encodings (each returns the body as logical lines, or raw bytes for binary) -----

def qp_encode(data, long_line=False):
    """Quoted-printable (RFC 2045 §6.7): '=' is "=3D", blanks before a line end are =20/=09,
    lines soft-broken ("=" at the end) within 76 characters, never inside an =XX escape;
    with `long_line` not broken at all (a mailer that ignores the limit)."""
    out_lines = []
    for raw in data.split(b"\n"):
        tokens = []
        for i, c in enumerate(raw):
            last = i == len(raw) - 1
            if (c in (0x20, 0x09) and last) or c == 0x3D or c > 0x7E or (c < 0x20 and c != 0x09):
                tokens.append(b"=%02X" % c)
            else:
                tokens.append(bytes([c]))
        line = b""
        for t in tokens:
            if not long_line and len(line) + len(t) > 75:
                out_lines.append(line + b"=")
                line = b""
            line += t
        out_lines.append(line)
    return out_lines


# What careless encoders write inside a quoted-printable line: an '=' left unencoded before a
# blank or a tab, an '=' before non-hex, lower-case hex. RFC 2045 §6.7 note (1): a decoder keeps
# the first two as they are and may accept the third.
SLOPPY_QP = b" x = y, a =\tb, =ZZ, caf=c3=a9"


def b64_lines(data, width):
    text = base64.b64encode(data)
    if width == 0:
        return [text]
    return [text[i:i + width] for i in range(0, len(text), width)] or [b""]


def with_b64_garbage(shape, lines):
    """Raw 8-bit octets and NULs among base64 lines (a broken mailer or a relay put them in):
    outside the alphabet, skipped by every decoder (RFC 2045 §6.8), so the content is the same;
    the signed entity must hold none of them (`transport`, `labels`) and decode to what Python
    reads in the input (`base64`). Inside a line, at its ends, on a line of their own, inside
    and after the final padding."""
    rng = shape.aux
    if shape.forced != "b64-garbage" and rng.random() >= 0.03:
        return lines
    shape.features.add("b64-garbage")
    junk = lambda: bytes(rng.choice([0x00, 0x80, 0xa0, 0xc3, 0xe9, 0xff]) for _ in range(rng.randint(1, 3)))
    out = list(lines)
    for i in rng.sample(range(len(out)), min(len(out), 3)):
        at = rng.randint(0, len(out[i]))
        out[i] = out[i][:at] + junk() + out[i][at:]
    out.insert(rng.randint(0, len(out)), junk())
    last = out[-1]
    if last.endswith(b"=="):
        last = last[:-1] + junk() + last[-1:]
    out[-1] = last + junk()
    return out


# --- header fields -----------------------------------------------------------------------------

def rfc2047(text):
    return "=?utf-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def rfc2231_filename(name):
    """A filename parameter split in RFC 2231 continuations with percent-encoded UTF-8."""
    enc = "".join("%%%02X" % b if b > 0x7E else chr(b) for b in name.encode("utf-8"))
    parts = [enc[i:i + 20] for i in range(0, len(enc), 20)]
    return ";\n ".join("filename*%d*=%s%s" % (i, "utf-8''" if i == 0 else "", p)
                       for i, p in enumerate(parts))


def content_type(mtype, params, fold):
    sep = ";\n\t" if fold else "; "
    return "Content-Type: " + mtype + "".join(sep + p for p in params)


# --- tree ------------------------------------------------------------------------------------

class Leaf:
    def __init__(self, header_lines, body, raw=False):
        self.header_lines = header_lines  # list of str, logical lines (folds inside with \n)
        self.body = body                  # list of bytes lines, or bytes when raw
        self.raw = raw                    # binary body: its bytes are never touched


class Multi:
    def __init__(self, subtype, boundary, children, preamble=None, epilogue=None, close=True,
                 fold=False):
        self.subtype, self.boundary, self.children = subtype, boundary, children
        self.preamble, self.epilogue = preamble, epilogue
        self.close, self.fold = close, fold
        self.padding = False
        self.cte = None        # a Content-Transfer-Encoding on the multipart itself
        self.quoted = True     # boundary="..." or boundary=...


class Rfc822:
    def __init__(self, inner_headers, inner, cte=None):
        self.inner_headers, self.inner, self.cte = inner_headers, inner, cte


class Shape:
    """One message being built: the seed's choices and what they imply for the checks."""

    def __init__(self, index):
        self.index = index
        self.rng = random.Random(1000 + index)
        self.forced = FEATURES[index % len(FEATURES)]
        # For features added later, so that adding one leaves the earlier choices as they were.
        self.aux = random.Random(5000 + index)
        self.features = {self.forced}
        self.boundary_count = 0

    def want(self, feature, p):
        if feature == self.forced or self.rng.random() < p:
            self.features.add(feature)
            return True
        return False

    def boundary(self, prefix_of=None):
        self.boundary_count += 1
        if prefix_of is not None:  # the inner boundary starts with the outer one
            return prefix_of + "_" + str(self.boundary_count)
        if self.want("odd-boundary", 0.1):
            # Outlook's form, RFC 2046's own example (a space), every bchars character.
            return self.rng.choice(["----=_NextPart_%03d_%04X_01DB4A2C.5F3E8A10" % (self.index, self.boundary_count),
                                    "simple boundary %d" % self.boundary_count,
                                    "'()+_,-./:=? %d" % self.boundary_count])
        return "=_shape%d_part%d" % (self.index, self.boundary_count)


def leaf_text(shape, html=False):
    """A text/plain or text/html leaf in an encoding the seed picks."""
    rng = shape.rng
    kinds = ["cte-7bit", "cte-8bit-utf8", "cte-8bit-latin1", "cte-qp", "cte-b64-76",
             "cte-b64-64", "cte-b64-oneline", "cte-none", "cte-binary", "qp-long-line"]
    cte = shape.forced if shape.forced in kinds and "leaf-forced" not in shape.features \
        else rng.choice(kinds)
    if shape.forced in ("nul-in-7bit", "lone-cr") and "leaf-forced" not in shape.features:
        cte = "cte-7bit"
    if shape.forced == "qp-sloppy" and "leaf-forced" not in shape.features:
        cte = "qp-long-line"
    if shape.forced == "qp-raw-8bit" and "leaf-forced" not in shape.features:
        cte = "cte-qp"
    if shape.forced == "b64-garbage" and "leaf-forced" not in shape.features:
        cte = "cte-b64-76"
    shape.features.add("leaf-forced")
    shape.features.add(cte)
    n = rng.randint(3, 12)
    charset = "us-ascii"
    if cte in ("cte-8bit-latin1",):
        lines, charset = text_latin1(rng, n), "iso-8859-1"
    elif cte in ("cte-7bit",):
        lines = ascii_lines(rng, n)
    elif cte == "cte-none" and rng.random() < 0.5:
        lines = ascii_lines(rng, n)
    else:
        lines, charset = text_utf8(rng, n), "utf-8"
    if shape.want("trailing-ws", 0.2):
        lines = with_trailing_ws(rng, lines)
    if shape.want("long-line", 0.1) or cte == "qp-long-line":
        lines = with_long_line(rng, lines)
    if rng.random() < 0.3:
        lines = with_tricky_starts(lines)
    if cte in ("cte-7bit", "cte-none", "cte-8bit-utf8") and shape.want("lone-cr", 0.05):
        lines[0] += b"\rover-printed"  # a CR inside a line (old printers, some web forms)
    if cte in ("cte-7bit", "cte-none") and shape.want("nul-in-7bit", 0.05):
        lines[-1] += b"\x00\x00 after NULs"  # labelled 7bit, holding NULs: must be base64
    if html:
        lines = html_of(lines)
    if shape.want("empty-body", 0.05):
        lines = []
    mtype = "text/html" if html else "text/plain"
    params = []
    # An 8bit text part that names no charset: the canonical form must label it.
    if not (cte == "cte-none" and rng.random() < 0.3):
        params.append("charset=" + (charset if rng.random() < 0.8 else '"%s"' % charset))
    if rng.random() < 0.2:
        params.append("format=flowed")
    header = [content_type(mtype, params, shape.want("folded-headers", 0.2))]
    if rng.random() < 0.2:
        header.append("Content-Disposition: inline")
    data = b"\n".join(lines) + (b"\n" if lines else b"")
    cte_field = {
        "cte-7bit": "7bit", "cte-8bit-utf8": "8bit", "cte-8bit-latin1": "8bit",
        "cte-qp": "quoted-printable", "qp-long-line": "quoted-printable",
        "cte-b64-76": "base64", "cte-b64-64": "base64", "cte-b64-oneline": "base64",
        "cte-binary": "binary", "cte-none": None,
    }[cte]
    if cte_field:
        if shape.want("cte-spelling", 0.1):  # case and a comment (RFC 2045 §6.1, RFC 5322 CFWS)
            cte_field = rng.choice([cte_field.upper(), cte_field.title() + " (as sent)",
                                    " " + cte_field + "\n\t"])
        header.append("Content-Transfer-Encoding: " + cte_field)
    if cte in ("cte-qp", "qp-long-line"):
        body = qp_encode(data.rstrip(b"\n"), long_line=cte == "qp-long-line")
        if shape.want("qp-sloppy", 0.1):
            body[0] += SLOPPY_QP
        if shape.want("qp-raw-8bit", 0.05):  # labelled quoted-printable, 8-bit text left raw
            body[0] += " Grüße, naïve".encode("utf-8")
        if cte == "cte-qp" and rng.random() < 0.5:  # transport padding after a soft break
            body = [l + b"  " if l.endswith(b"=") else l for l in body]
        return Leaf(header, body)
    if cte.startswith("cte-b64"):
        width = {"cte-b64-76": 76, "cte-b64-64": 64, "cte-b64-oneline": 0}[cte]
        if width == 0 and len(data) < 1000:
            data = data * (1000 // max(len(data), 1) + 1)  # one line over 998 octets
        return Leaf(header, with_b64_garbage(shape, b64_lines(data, width)))
    if cte == "cte-binary":  # the CRLF line ends of text, taken as bytes
        return Leaf(header, data.replace(b"\n", b"\r\n"), raw=True)
    return Leaf(header, lines)


def leaf_pdf(shape):
    """An attachment: application/pdf in binary or base64, RFC 2231 or 2047 filename."""
    rng = shape.rng
    data = pdfish(rng, rng.randint(300, 3000))
    name = rng.choice(["report.pdf", "Übersicht März 2026 – final.pdf", "a b.pdf"])
    header = []
    if shape.want("long-header-token", 0.02):
        # Malformed: a header line over 998 octets with no blank to fold at (RFC 5322 §2.1.1).
        # Defined result: signed with the line as it came (LongLineFolder folds only at blanks;
        # splitting the value would change it: line_folder.cpp says why); `transport` checks
        # that it is kept verbatim.
        header.append('Content-Type: application/pdf; name="%s.pdf"' % ("x" * 1100))
        header.append("Content-Disposition: attachment")
    elif shape.want("raw-8bit-param", 0.05):  # raw UTF-8 in a quoted filename (RFC 6532 style)
        header.append('Content-Type: application/pdf; name="%s"' % name)
        header.append('Content-Disposition: attachment; filename="%s"' % name)
        shape.features.add("raw-8bit-header")
    elif shape.want("rfc2231", 0.3):
        header.append("Content-Type: application/pdf")
        header.append("Content-Disposition: attachment;\n " + rfc2231_filename(name))
    elif shape.want("rfc2047", 0.2):
        header.append('Content-Type: application/pdf; name="%s"' % rfc2047(name))
        header.append('Content-Disposition: attachment; filename="%s"' % rfc2047(name))
    else:
        header.append('Content-Type: application/pdf; name="report.pdf"')
        header.append('Content-Disposition: attachment; filename="report.pdf"')
    if shape.want("cte-binary", 0.3):
        header.append("Content-Transfer-Encoding: binary")
        return Leaf(header, data, raw=True)
    header.append("Content-Transfer-Encoding: base64")
    return Leaf(header, with_b64_garbage(shape, b64_lines(data, rng.choice([76, 64, 76]))))


def leaf_empty(shape):
    """An empty body part (RFC 2046 allows it): no header fields and an empty body, or
    nothing at all, not even the empty line that ends a header."""
    shape.features.add("empty-part")
    return Leaf([], None if shape.rng.random() < 0.5 else [])


def leaf_image(shape):
    rng = shape.rng
    data = b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(rng.randint(50, 400)))
    return Leaf(["Content-Type: image/png", "Content-ID: <img%d@acme.example>" % shape.index,
                 "Content-Transfer-Encoding: base64"], with_b64_garbage(shape, b64_lines(data, 76)))


def any_leaf(shape):
    r = shape.rng.random()
    if r < 0.55:
        return leaf_text(shape)
    if r < 0.7:
        return leaf_text(shape, html=True)
    if r < 0.9:
        return leaf_pdf(shape)
    return leaf_image(shape)


def digest(shape):
    """multipart/digest: its parts are message/rfc822 by default (RFC 2046 §5.1.5), named by
    no Content-Type of their own; one part says text/plain."""
    shape.features.add("digest")
    children = []
    for k in range(shape.rng.randint(2, 3)):
        inner = leaf_text(shape)
        children.append(Leaf(["From: list%d@partner.example" % k, "Subject: digest item %d" % k,
                              "MIME-Version: 1.0"] + inner.header_lines, inner.body, inner.raw))
    children.append(Leaf(["Content-Type: text/plain; charset=us-ascii"], [b"end of digest"]))
    return Multi("digest", shape.boundary(), children, preamble=[b"Digest of the list"])


def preamble_text(shape, eight_bit):
    text = [b"This is a multi-part message in MIME format."]
    if shape.want("long-preamble-line", 0.03):  # over 998 octets: no MUA shows it
        text.append(b"x" * 500 + b" " + b"y" * 600)
    if eight_bit:
        shape.features.add("preamble-8bit")
        text.append("Dies ist eine Nachricht im MIME-Format – Grüße.".encode("utf-8"))
    return text


def multipart(shape, depth, outer_boundary=None):
    """multipart/mixed, /alternative or /related with children down to `depth` more levels."""
    rng = shape.rng
    subtype = rng.choice(["mixed", "mixed", "alternative", "related"])
    prefix = shape.want("prefix-boundaries", 0.3) and outer_boundary is not None
    b = shape.boundary(outer_boundary if prefix else None)
    if subtype == "alternative":
        children = [leaf_text(shape), leaf_text(shape, html=True)]
    elif subtype == "related":
        children = [leaf_text(shape, html=True), leaf_image(shape)]
    else:
        children = [leaf_text(shape)] + [any_leaf(shape) for _ in range(rng.randint(0, 2))]
    if depth > 1:
        if shape.want("digest", 0.1):
            nested = digest(shape)
        elif shape.want("rfc822", 0.3):
            nested = rfc822(shape, depth - 1, b)
        else:
            nested = multipart(shape, depth - 1, b)
        children.insert(rng.randint(1, len(children)), nested)
    if shape.want("empty-part", 0.1):
        children.insert(rng.randint(0, len(children)), leaf_empty(shape))
    eight = shape.want("preamble-8bit", 0.05)
    pre = preamble_text(shape, eight) if (eight or shape.want("preamble", 0.4)
                                          or shape.forced == "long-preamble-line") else None
    epi = [b"epilogue: ignore me"] + ([("Epilog – Ende").encode()] if eight else []) \
        if shape.want("preamble", 0.2) else None
    m = Multi(subtype, b, children, preamble=pre, epilogue=epi, fold=shape.want("folded-headers", 0.3))
    composite_labels(shape, m)
    return m


def composite_labels(shape, m):
    """A transfer encoding on a multipart (7bit or 8bit: RFC 2045 §6.4 allows only identity
    encodings there), true or not once its leaves are re-encoded; a boundary without quotes."""
    if shape.want("composite-cte", 0.15):
        m.cte = shape.rng.choice(["7bit", "8bit", "8BIT", "binary"])
    if shape.want("unquoted-boundary", 0.1):
        m.boundary = re.sub(r"[^A-Za-z0-9_.-]", "", m.boundary) or "plain"
        m.quoted = False


def rfc822(shape, depth, outer_boundary):
    """message/rfc822 around a whole message with a multipart of its own."""
    shape.features.add("rfc822")
    headers = ["From: Dave <dave@partner.example>", "To: alice@acme.example",
               "Subject: " + rfc2047("Weitergeleitet: Grüße"), "Date: Mon, 2 Nov 2026 10:00:00 +0000",
               "MIME-Version: 1.0"]
    inner = multipart(shape, max(depth, 1), outer_boundary)
    cte = shape.rng.choice(["7bit", "8bit"]) if shape.want("composite-cte", 0.3) else None
    return Rfc822(headers, inner, cte)


# --- rendering -------------------------------------------------------------------------------

def render(node, out):
    """Appends (kind, bytes) segments: "text" lines end in "\n" (line_ends() decides their
    wire form), "raw" bytes are written as they are."""
    if isinstance(node, Leaf):
        if node.body is None:
            return
        for h in node.header_lines:
            out.append(("text", h.encode("utf-8") + b"\n"))
        out.append(("text", b"\n"))
        if node.raw:
            out.append(("raw", node.body))
        elif node.body:
            out.append(("text", b"\n".join(node.body)))
        return
    if isinstance(node, Rfc822):
        out.append(("text", rfc822_header(node).encode()))
        for h in node.inner_headers:
            out.append(("text", h.encode() + b"\n"))
        render_multi_header(node.inner, out)
        render_multi_body(node.inner, out)
        return
    render_multi_header(node, out)
    render_multi_body(node, out)


def render_multi_header(m, out):
    sep = ";\n\t" if m.fold else "; "
    q = '"' if m.quoted else ""
    out.append(("text", ('Content-Type: multipart/%s%sboundary=%s%s%s\n' % (m.subtype, sep, q, m.boundary, q)).encode()))
    if m.cte:
        out.append(("text", ("Content-Transfer-Encoding: %s\n" % m.cte).encode()))
    out.append(("text", b"\n"))


def rfc822_header(node):
    return "Content-Type: message/rfc822\n" + ("Content-Transfer-Encoding: %s\n" % node.cte if node.cte else "") + "\n"


def render_multi_body(m, out):
    if m.preamble:
        out.append(("text", b"\n".join(m.preamble) + b"\n"))
    for child in m.children:
        pad = " \t" if m.padding else ""  # transport padding after a delimiter (RFC 2046 §5.1.1)
        out.append(("text", ("--%s%s\n" % (m.boundary, pad)).encode()))
        render(child, out)
        out.append(("text", b"\n"))  # the line end before the next delimiter belongs to it
    if m.close:
        out.append(("text", ("--%s--\n" % m.boundary).encode()))
        if m.epilogue:
            out.append(("text", b"\n".join(m.epilogue) + b"\n"))


def line_ends(segments, style, rng):
    """CRLF, LF-only or mixed (each line's end picked at random) for the text segments."""
    out = bytearray()
    for kind, data in segments:
        if kind == "raw" or style == "lf":
            out += data
        elif style == "crlf":
            out += data.replace(b"\n", b"\r\n")
        else:
            for i, piece in enumerate(data.split(b"\n")):
                if i:
                    out += rng.choice([b"\r\n", b"\n"])
                out += piece
    return bytes(out)


def top_header(shape, sender):
    rng = shape.rng
    h = ["From: %s <%s>" % (rfc2047("Müller, Anna") if shape.want("rfc2047", 0.3) else "Shape Test", sender),
         "To: someone@elsewhere.example",
         "Subject: shape %d %s" % (shape.index, shape.forced),
         "Date: Sat, 5 Dec 2026 08:00:00 +0000",
         "Message-ID: <shape-%d@acme.example>" % shape.index]
    if shape.want("folded-headers", 0.3):
        h[2] += "\n\tcontinued on a folded line " + rfc2047("– Grüße")
        h.append("X-Long-Folded: first\n second\n\tthird")
    if shape.want("rfc2047", 0.2):
        h.append("Comments: " + rfc2047("Ærø café") + " plain " + rfc2047("日本語"))
    if rng.random() < 0.85 and shape.forced != "no-mime":
        h.append("MIME-Version: 1.0")
    return h


def build(index):
    """Message `index` and its manifest."""
    shape = Shape(index)
    rng = shape.rng
    sender, key = SENDERS[index % len(SENDERS)]
    depth = {"depth0": 0, "depth1": 1, "depth2": 2, "depth3": 3}.get(shape.forced)
    if shape.forced == "no-mime":
        depth = 0
    if depth is None:
        depth = rng.choice([0, 1, 1, 2, 2, 3])
        if shape.forced in ("prefix-boundaries", "rfc822") and depth < 2:
            depth = 2
        if shape.forced in ("preamble", "preamble-8bit", "empty-part", "missing-close", "odd-boundary",
                            "delimiter-padding", "long-preamble-line", "composite-cte",
                            "unquoted-boundary") and depth < 1:
            depth = 1
    shape.features.add("depth%d" % depth)
    if shape.forced == "no-mime":  # cron, scripts: no MIME fields at all, maybe 8-bit text
        root = Leaf([], text_utf8(rng, 5) if rng.random() < 0.7 else ascii_lines(rng, 5))
        shape.features.add("depth0")
    elif shape.forced == "rfc822-top":  # a message that is only a forwarded message
        root = rfc822(shape, max(depth, 1), None)
    elif shape.forced == "digest":
        root = digest(shape)
    elif depth == 0:
        root = leaf_pdf(shape) if shape.forced in ("cte-binary", "rfc2231", "raw-8bit-param",
                                                   "long-header-token") else any_leaf(shape)
    elif shape.forced == "rfc822" or (depth >= 2 and shape.want("rfc822", 0.15)):
        root = Multi("mixed", shape.boundary(), [leaf_text(shape), rfc822(shape, depth - 1, None)])
    else:
        root = multipart(shape, depth)
    if shape.forced == "preamble-8bit" and isinstance(root, Multi):
        root.preamble = preamble_text(shape, True)
    if shape.forced in ("rfc2231", "rfc2047", "raw-8bit-param", "long-header-token") and isinstance(root, Multi):
        root.children.append(leaf_pdf(shape))
    if shape.forced == "empty-part" and isinstance(root, Multi):
        root.children.append(leaf_empty(shape))
    if isinstance(root, Multi) and shape.want("delimiter-padding", 0.1):
        root.padding = True
    missing_close = isinstance(root, Multi) and shape.want("missing-close", 0.05)
    if missing_close:  # the innermost multipart on the last branch loses its close delimiter
        m = root
        while isinstance(m.children[-1], Multi):
            m = m.children[-1]
        m.close = False
        if m is not root:
            missing_close = "nested"
    segments = []
    for h in top_header(shape, sender):
        segments.append(("text", h.encode("utf-8") + b"\n"))
    # The top-level entity's Content-* fields are in the message header.
    if isinstance(root, Rfc822):
        segments.append(("text", rfc822_header(root).encode()[:-1]))  # the header's empty line below
        segments.append(("text", b"\n"))
        for h in root.inner_headers:
            segments.append(("text", h.encode() + b"\n"))
        render_multi_header(root.inner, segments)
        render_multi_body(root.inner, segments)
    elif isinstance(root, Leaf):
        for h in root.header_lines:
            segments.append(("text", h.encode("utf-8") + b"\n"))
        segments.append(("text", b"\n"))
        if root.raw:
            segments.append(("raw", root.body))
        elif root.body:
            segments.append(("text", b"\n".join(root.body) + b"\n"))
    else:
        render_multi_header(root, segments)
        render_multi_body(root, segments)
    style = {"eol-lf": "lf", "eol-mixed": "mixed"}.get(shape.forced) or rng.choice(["crlf", "crlf", "lf", "mixed"])
    # A binary part must reach the milter as it is: only CRLF files are fed unchanged (an MTA,
    # and ssmctl like it, turns every bare LF of an LF-only message into CRLF).
    if any(k == "raw" for k, _ in segments) and style != "crlf":
        style = "crlf"
    shape.features.add("eol-" + style)
    data = line_ends(segments, style, rng)
    manifest = {
        "index": index, "forced": shape.forced, "features": sorted(f for f in shape.features if f != "leaf-forced"),
        "sender": sender, "key": key, "eol": style,
        "missing_close": bool(missing_close),
        "long_header_token": "long-header-token" in shape.features,
        # 8-bit octets outside any leaf body (a preamble, a header field) cannot be re-encoded:
        # the multipart is then labelled 8bit and the output is not 7-bit clean.
        "expect_7bit": not ({"preamble-8bit", "raw-8bit-header"} & shape.features),
    }
    return data, manifest


def generate(directory, n):
    os.makedirs(directory, exist_ok=True)
    for i in range(n):
        data, manifest = build(i)
        with open(os.path.join(directory, "shape-%02d.eml" % i), "wb") as f:
            f.write(data)
        with open(os.path.join(directory, "shape-%02d.json" % i), "w") as f:
            json.dump(manifest, f, sort_keys=True)


# --- checking ----------------------------------------------------------------------------------
# A small MIME reader of our own (the email package repairs what it reads, which would hide
# the differences we look for). Same reader for input and output: its reading of a malformed
# structure (a missing close delimiter) is the same on both sides.

MAX_DEPTH = 40


def wire_form(msg):
    """The message as an MTA hands it to the milter: when the header's first line ends in a
    bare LF, every bare LF becomes CRLF (Postfix; ssmctl process does the same)."""
    first = msg.find(b"\n")
    if first > 0 and msg[first - 1:first] != b"\r":
        return re.sub(rb"(?<!\r)\n", b"\r\n", msg)
    return msg


def split_header(entity):
    """(header fields [(name, raw value)], body) of an entity; line ends CRLF or LF."""
    m = re.search(rb"\r?\n\r?\n", entity)
    if entity.startswith(b"\r\n") or entity.startswith(b"\n"):
        head, body = b"", entity[2 if entity.startswith(b"\r\n") else 1:]
    elif m is None:
        head, body = entity, b""
    else:
        head, body = entity[:m.start()], entity[m.end():]
    fields = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1][1] += b"\n" + line
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append([name.strip().lower().decode("latin-1"), value])
    return fields, body


def unfold(value):
    return re.sub(rb"\r?\n", b"", value).strip()


def without_comments(text):
    """`text` without its RFC 5322 comments (nested, with quoted pairs), quoted strings kept
    as they are: a boundary such as "'()+_,-./:=? 1" (every bchars character) holds "()",
    which is no comment."""
    out, depth, quoted, escaped = [], 0, False, False
    for ch in text:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(ch)
        elif ch == "\\" and (quoted or depth):
            escaped = True
            if depth == 0:
                out.append(ch)
        elif depth:
            depth += {"(": 1, ")": -1}.get(ch, 0)
        elif quoted:
            out.append(ch)
            quoted = ch != '"'
        elif ch == "(":
            depth = 1
        else:
            out.append(ch)
            quoted = ch == '"'
    return "".join(out)


def parse_params(value):
    """Media type and parameters; RFC 2231 continuations and charsets joined and decoded."""
    text = without_comments(unfold(value).decode("latin-1"))
    mtype, _, rest = text.partition(";")
    params, pieces = {}, {}
    for m in re.finditer(r';?\s*([A-Za-z0-9_.*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;\s]*)', ";" + rest):
        name, val = m.group(1).lower(), m.group(2)
        if val.startswith('"'):
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        c = re.match(r"^(.*?)\*(\d+)(\*?)$", name)
        if c:
            pieces.setdefault(c.group(1), []).append((int(c.group(2)), c.group(3) == "*", val))
        elif name.endswith("*"):
            pieces.setdefault(name[:-1], []).append((0, True, val))
        else:
            params[name] = val
    for name, parts in pieces.items():
        raw = b""
        charset = "us-ascii"
        for i, (n, encoded, val) in enumerate(sorted(parts)):
            if encoded and n == 0 and val.count("'") >= 2:
                charset, _, val = val.split("'", 2)
            raw += re.sub(rb"%([0-9A-Fa-f]{2})", lambda x: bytes([int(x.group(1), 16)]),
                          val.encode("latin-1")) if encoded else val.encode("latin-1")
        params[name] = raw.decode(charset or "latin-1", "replace")
    return mtype.strip().lower() or "text/plain", params


def decode_qp(body):
    out = bytearray()
    lines = re.split(rb"\r\n|\n", body)
    for i, line in enumerate(lines):
        line = line.rstrip(b" \t")  # transport padding (RFC 2045 §6.7 rule 3)
        soft = line.endswith(b"=")
        if soft:
            line = line[:-1]
        out += re.sub(rb"=([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), line)
        if not soft and i < len(lines) - 1:
            out += b"\r\n"
    return bytes(out)


def decode_b64(body):
    clean = re.sub(rb"[^A-Za-z0-9+/]", b"", body)
    clean = clean[:len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean
    return base64.b64decode(clean + b"=" * (-len(clean) % 4))


def split_multipart(body, boundary):
    """Body parts between delimiter lines (RFC 2046 §5.1.1): the line end before a delimiter
    belongs to it. A missing close delimiter: the last part runs to the end."""
    delim = re.compile(rb"(?:^|\r?\n)--" + re.escape(boundary) + rb"(--)?[ \t]*(?=\r?\n|$)")
    parts, start, closed = [], None, False
    for m in delim.finditer(body):
        if start is not None:
            parts.append(body[start:m.start()])
        if m.group(1):
            closed = True
            break
        nl = body.find(b"\n", m.end())
        start = len(body) if nl < 0 else nl + 1
    if not closed and start is not None:
        parts.append(body[start:])
    return parts


def part_head(entity, default):
    """(fields, body, media type, parameters, transfer encoding) of one MIME entity; `default`
    is the type of a part without Content-Type. One reading for walk() below."""
    fields, body = split_header(entity)
    ct = next((v for n, v in fields if n == "content-type"), None)
    cte = next((re.sub(r"\([^()]*\)", "", unfold(v).decode("latin-1")).strip().lower() for n, v in fields
                if n == "content-transfer-encoding"), "7bit")
    mtype, params = parse_params(ct) if ct is not None else (default, {})
    return fields, body, mtype, params, cte


class PartView:
    """One part as walk() reads it: `where` its path ("0", "0.2", "0.2.1"; an embedded
    message's entity is "<its part>.1"), `kind` "multipart", "message" (message/rfc822 or
    message/global in an identity encoding: its body is an entity read further) or "leaf"."""

    def __init__(self, where, kind, fields, body, mtype, params, cte):
        self.where, self.kind = where, kind
        self.fields, self.body, self.mtype, self.params, self.cte = fields, body, mtype, params, cte


def walk(entity, depth=0, where="0", default="text/plain"):
    """Every part of `entity`, each before its children (a multipart's body parts, in which a
    digest's default type is message/rfc822; an embedded message's entity). One recursion for
    leaves(), label_lies() and base64_bodies(). Bounded: ValueError past MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise ValueError("nesting too deep")
    fields, body, mtype, params, cte = part_head(entity, default)
    if mtype.startswith("multipart/") and "boundary" in params:
        yield PartView(where, "multipart", fields, body, mtype, params, cte)
        inner = "message/rfc822" if mtype == "multipart/digest" else "text/plain"
        for i, part in enumerate(split_multipart(body, params["boundary"].encode("latin-1"))):
            yield from walk(part, depth + 1, "%s.%d" % (where, i + 1), inner)
    elif mtype in ("message/rfc822", "message/global") and cte in ("7bit", "8bit", "binary"):
        yield PartView(where, "message", fields, body, mtype, params, cte)
        yield from walk(body, depth + 1, where + ".1")
    else:
        yield PartView(where, "leaf", fields, body, mtype, params, cte)


def leaves(entity, out):
    """One (path, media type, charset, other parameters, decoded content) per leaf, and per
    embedded message one (path.h, "header", None, its non-Content fields, b"")."""
    for p in walk(entity):
        if p.kind == "message":
            inner_fields, _ = split_header(p.body)
            kept = [(n, unfold(v)) for n, v in inner_fields if not n.startswith("content-")]
            out.append((p.where + ".h", "header", None, repr(kept), b""))
        if p.kind != "leaf":
            continue
        mtype, params, cte, body = p.mtype, p.params, p.cte, p.body
        if cte == "base64":
            content = decode_b64(body)
        elif cte == "quoted-printable":
            content = decode_qp(body)
        else:
            content = body
        # Line-oriented content: CRLF is its canonical line end (RFC 2049 §4); only binary and
        # base64 content of a non-text type is compared byte for byte.
        if mtype.startswith("text/") or cte not in ("binary", "base64"):
            content = re.sub(rb"\r\n|\r|\n", b"\n", content)
        charset = params.pop("charset", None)
        rest = {k: v for k, v in params.items()}
        disp = next((v for n, v in p.fields if n == "content-disposition"), None)
        if disp is not None:
            dtype, dparams = parse_params(disp)
            rest["disposition"] = dtype + repr(sorted(dparams.items()))
        out.append((p.where, mtype, charset, repr(sorted(rest.items())), content))


def outside_fields(msg):
    """The top-level fields that stay outside the signed entity, raw, line ends as LF."""
    fields, _ = split_header(msg)
    return [(n, v.replace(b"\r\n", b"\n").replace(b"\r", b"\n")) for n, v in fields
            if not n.startswith("content-") and n != "mime-version"]


class Envelope:
    """What an encrypted delivery was made with (test_encrypt_shapes.sh): the smime-type its
    Content-Type must name, and header protection (RFC 9788): "off", "on" or "obscured"
    (the outer Subject replaced by "[...]")."""

    def __init__(self, smime_type, hp):
        if hp not in ("off", "on", "obscured"):
            raise ValueError("header protection %r" % hp)
        self.smime_type, self.hp = smime_type, hp


def without_hp(leaf):
    """A leaves() tuple without its hp parameter."""
    params = [kv for kv in ast.literal_eval(leaf[3]) if kv[0] != "hp"]
    return leaf[:3] + (repr(params),) + leaf[4:]


def outer_fields_expected(src, envelope):
    """outside_fields() the delivered message must have: the input's; with an obscured
    Subject each Subject field reads " [...]" (protect.cpp obscures every one of them)."""
    fields = outside_fields(src)
    if envelope is not None and envelope.hp == "obscured":
        fields = [(n, b" [...]" if n == "subject" else v) for n, v in fields]
    return fields


def compare(inp, entity, delivered, manifest, envelope=None):
    """Reasons why the delivered message does not mean what the input meant ([] when it does).
    `envelope` (Envelope): ENTITY is what was encrypted (the signed entity for
    sign-then-encrypt), DELIVERED the encrypted message."""
    problems = []
    src = wire_form(inp)
    want, got = [], []
    # The input's entity: its Content-* fields and its body.
    fields, body = split_header(src)
    head = b"".join(n.encode() + b":" + v.replace(b"\n", b"\r\n") + b"\r\n"
                    for n, v in fields if n.startswith("content-"))
    input_typed = any(n == "content-type" for n, _ in fields)
    leaves(head + b"\r\n" + body, want)
    leaves(entity, got)
    hp = envelope is not None and envelope.hp != "off"
    if hp:
        # RFC 9788 §2.1.1: the Cryptographic Payload's Content-Type says hp="cipher". It is
        # the top-level entity's, a parameter the input did not have: checked here, and not
        # compared as one of the top-level leaf's parameters below.
        if part_head(entity, "text/plain")[3].get("hp") != "cipher":
            problems.append('no hp="cipher" on the encrypted entity\'s Content-Type')
        got = [without_hp(g) if g[0] == "0" else g for g in got]
    if len(want) != len(got):
        problems.append("%d leaves, the input has %d" % (len(got), len(want)))
    for w, g in zip(want, got):
        if w[0] != g[0] or w[1] != g[1]:
            problems.append("leaf %s %s became %s %s" % (w[0], w[1], g[0], g[1]))
            continue
        if w[4] != g[4]:
            problems.append("leaf %s %s: content differs (%d octets, input %d)" % (w[0], w[1], len(g[4]), len(w[4])))
        if w[3] != g[3]:
            problems.append("leaf %s: parameters %s, input %s" % (w[0], g[3], w[3]))
        if w[2] is not None and (g[2] or "").lower() != w[2].lower():
            problems.append("leaf %s: charset %s, input %s" % (w[0], g[2], w[2]))
        if w[2] is None and g[2] is not None:
            # Added only to 8-bit text re-encoded: what its octets are (canonical.h).
            ok = {"utf-8": lambda b: is_utf8(b) and any(c > 0x7F for c in b),
                  "unknown-8bit": lambda b: not is_utf8(b)}
            if hp and w[0] == "0" and not input_typed:
                # A message without Content-Type gets one for hp="cipher" (protect.cpp
                # inner_content_fields), naming the charset its octets are in: us-ascii
                # too, the RFC 2045 default it had.
                ok["us-ascii"] = lambda b: all(c < 0x80 for c in b)
            if g[2].lower() not in ok or not ok[g[2].lower()](w[4]):
                problems.append("leaf %s: charset=%s added" % (w[0], g[2]))
    expected = outer_fields_expected(src, envelope)
    if outside_fields(delivered) != expected:
        a, b = expected, outside_fields(delivered)
        diff = [x for x in a if x not in b][:2] + [("+",) + x for x in b if x not in a][:2]
        problems.append("header fields outside the %s entity changed: %r"
                        % ("encrypted" if envelope else "signed", diff))
    return problems


def is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def label_lies(entity, out, allowed):
    """Parts of the signed entity whose Content-Transfer-Encoding says 7bit (or nothing) over a
    body that is not 7bit (8-bit octets, NULs, lines over 998 octets): a relay that believes
    the label would pass it unconverted to a 7-bit hop. And leaves whose body is not 7bit,
    whatever the label: each one could have been re-encoded before signing."""
    for p in walk(entity):
        long_lines = any(len(l) > 998 and not allowed(l) for l in re.split(rb"\r\n|\n", p.body))
        dirty = any(c > 0x7F or c == 0 for c in p.body) or long_lines
        if p.cte == "7bit" and dirty:
            out.append("%s %s labelled 7bit holds 8-bit octets, NULs or long lines" % (p.where, p.mtype))
        if p.kind == "leaf" and dirty:  # any leaf body can be re-encoded, whatever its label says
            out.append("%s %s body (%s) left with 8-bit octets, NULs or long lines" % (p.where, p.mtype, p.cte))
    return out


def kept_long_header_line(line, inp, manifest):
    """The one long line allowed: of a malformed input's header line with no blank to fold at,
    what is left after folding at its blanks, kept verbatim (canonical.cpp labels its part as if
    it were folded: no label would carry it through SMTP either)."""
    return manifest.get("long_header_token", False) and line.strip(b" \t") in wire_form(inp)


def transport(inp, delivered, manifest):
    """Reasons why the delivered message is not what SMTP carries unchanged."""
    problems = []
    if re.search(rb"\r(?!\n)", delivered) or re.search(rb"(?<!\r)\n", delivered):
        problems.append("bare CR or LF")
    for line in delivered.split(b"\r\n"):
        if len(line) > 998 and not kept_long_header_line(line, inp, manifest):
            problems.append("a line of %d octets" % len(line))
            break
    eight = any(c > 0x7F for c in delivered) or b"\x00" in delivered
    if manifest["expect_7bit"] and eight:
        problems.append("8-bit octets although every 8-bit octet of the input was in a leaf")
    return problems


def labels(inp, entity, manifest):
    return label_lies(entity, [], lambda line: kept_long_header_line(line, inp, manifest))


def base64_bodies(entity, out):
    """(path, raw body) of every base64 leaf, walked as leaves() walks."""
    out.extend((p.where, p.body) for p in walk(entity) if p.kind == "leaf" and p.cte == "base64")
    return out


def base64_clean(inp, entity, manifest):
    """Every base64 leaf of the signed entity holds the alphabet and padding alone, in lines of
    at most 76 characters; one that was base64 in the input decodes strictly to what Python's
    lenient decoder (base64.b64decode(validate=False): RFC 2045 §6.8, octets outside the
    alphabet skipped) reads in the input's leaf; a b64-garbage shape's input held such octets."""
    problems = []
    fields, body = split_header(wire_form(inp))
    head = b"".join(n.encode() + b":" + v.replace(b"\n", b"\r\n") + b"\r\n"
                    for n, v in fields if n.startswith("content-"))
    want = dict(base64_bodies(head + b"\r\n" + body, []))
    got = base64_bodies(entity, [])
    if "b64-garbage" in manifest["features"] and \
            not any(re.search(rb"[\x00\x80-\xff]", b) for b in want.values()):
        problems.append("b64-garbage: no raw 8-bit octet or NUL in any base64 leaf of the input")
    for where, out in got:
        lines = out.split(b"\r\n")
        bad = [l for l in lines if len(l) > 76 or not re.fullmatch(rb"[A-Za-z0-9+/=]*", l)]
        if bad:
            problems.append("leaf %s: base64 line %r" % (where, bad[0][:40]))
            continue
        if where not in want:  # re-encoded to base64 before signing: `meaning` compares it
            continue
        try:
            strict = base64.b64decode(b"".join(lines), validate=True)
        except ValueError as e:
            problems.append("leaf %s: strict base64 refused: %s" % (where, e))
            continue
        if strict != base64.b64decode(want[where], validate=False):
            problems.append("leaf %s: decodes to other octets than Python reads in the input" % where)
    return problems


def close_kept(inp, entity):
    """A multipart whose close delimiter never came is signed as written: the canonical form
    adds none (canonical.cpp copies a multipart's own lines as they came; its last part runs
    to the end of the enclosing entity, for the signer as for every reader)."""
    closes = lambda b: len(re.findall(rb"(?m)^--.+--[ \t]*\r?$", b))
    if closes(entity) != closes(wire_form(inp)):
        return ["%d close delimiters, the input has %d" % (closes(entity), closes(wire_form(inp)))]
    return []


TRACE_FIELDS = {"received", "return-path", "delivered-to", "x-original-to", "authentication-results",
                "arc-seal", "arc-message-signature", "arc-authentication-results", "dkim-signature",
                "received-spf"}


def protected_fields(inp, entity, envelope):
    """RFC 9788 header protection inside the encryption: with it on, the encrypted entity's
    header starts with the input's fields (all but Content-*, MIME-Version, trace fields and
    Bcc; protect.cpp fields_to_protect), in order and with their values, then one
    "HP-Outer: Name: value" per field with the value left outside (§2.2), then Content-*
    fields only. With it off the entity holds Content-* fields alone."""
    fields, _ = split_header(wire_form(inp))
    inner, _ = split_header(entity)
    got = [(n, unfold(v)) for n, v in inner if not n.startswith("content-")]
    if envelope.hp == "off":
        return ["fields inside without header protection: %r" % got[:3]] if got else []
    kept = [(n, unfold(v)) for n, v in fields
            if not n.startswith("content-") and n not in ("mime-version", "bcc") and n not in TRACE_FIELDS]
    outer = [(n, b"[...]" if envelope.hp == "obscured" and n == "subject" else v) for n, v in kept]
    want = kept + [("hp-outer", n.encode() + b": " + v) for n, v in outer]

    def norm(fs):  # an HP-Outer value names the field as the input spelled it: no case
        return [(n, v.split(b":", 1)[0].lower() + b":" + v.split(b":", 1)[1]
                 if n == "hp-outer" and b":" in v else v) for n, v in fs]
    problems = []
    if norm(got) != norm(want):
        missing = [f for f in norm(want) if f not in norm(got)][:2]
        extra = [f for f in norm(got) if f not in norm(want)][:2]
        problems.append("protected fields differ: missing %r, extra %r" % (missing, extra))
    names = [n for n, _ in inner]
    first_content = next((i for i, n in enumerate(names) if n.startswith("content-")), len(names))
    if any(not n.startswith("content-") for n in names[first_content:]):
        problems.append("a protected field after the Content-* fields")
    return problems


def envelope_form(delivered, envelope):
    """The delivered message is S/MIME encrypted data as RFC 8551 §3.3 writes it: one
    Content-Type application/pkcs7-mime naming the smime-type of its cipher (enveloped-data,
    authEnveloped-data for AEAD, RFC 8551 §3.4), base64 (lines of at most 76 characters,
    the alphabet and padding alone, decoding strictly), MIME-Version; of the input's
    Content-* fields none is left outside."""
    problems = []
    fields, body = split_header(delivered)
    types = [v for n, v in fields if n == "content-type"]
    if len(types) != 1:
        return ["%d Content-Type fields" % len(types)]
    mtype, params = parse_params(types[0])
    if mtype != "application/pkcs7-mime":
        problems.append("Content-Type %s" % mtype)
    if params.get("smime-type", "").lower() != envelope.smime_type.lower():
        problems.append("smime-type=%s, expected %s" % (params.get("smime-type"), envelope.smime_type))
    ctes = [unfold(v).lower() for n, v in fields if n == "content-transfer-encoding"]
    if ctes != [b"base64"]:
        problems.append("Content-Transfer-Encoding %r" % ctes)
    others = sorted({n for n, _ in fields if n.startswith("content-")} -
                    {"content-type", "content-transfer-encoding", "content-disposition"})
    if others:
        problems.append("input fields left outside: %s" % ", ".join(others))
    if not any(n == "mime-version" for n, _ in fields):
        problems.append("no MIME-Version")
    lines = body.split(b"\r\n")
    while lines and lines[-1] == b"":
        lines.pop()
    bad = [l for l in lines if len(l) > 76 or not re.fullmatch(rb"[A-Za-z0-9+/=]+", l)]
    if bad or not lines:
        problems.append("base64 body line %r" % (bad[0][:40] if bad else b""))
    else:
        try:
            base64.b64decode(b"".join(lines), validate=True)
        except ValueError as e:
            problems.append("strict base64 refused: %s" % e)
    return problems


def check(listfile):
    """LIST lines: NAME INPUT ENTITY DELIVERED MANIFEST [SMIME-TYPE HP]. Prints NAME/meaning,
    NAME/transport, NAME/labels, NAME/base64 (and NAME/missing-close-kept) results; with
    SMIME-TYPE and HP (off, on, obscured) DELIVERED is an encrypted message and ENTITY what it
    encrypted (the signed entity inside for sign-then-encrypt), checked further by
    NAME/envelope and NAME/protected. Exits 1 if any failed."""
    failed = 0
    with open(listfile) as f:
        for line in f:
            words = line.split()
            name, inp, entity, delivered, manifest = words[:5]
            envelope = Envelope(*words[5:7]) if len(words) == 7 else None
            if len(words) not in (5, 7):
                raise ValueError("list line of %d words" % len(words))
            blobs = []
            for p in (inp, entity, delivered):
                with open(p, "rb") as g:
                    blobs.append(g.read())
            with open(manifest) as g:
                man = json.load(g)
            outer = man
            if envelope:
                # Every octet of the input below its header is inside the envelope; outside are
                # its non-Content fields (ASCII: RFC 2047 words in the generator) and base64.
                outer = dict(man, expect_7bit=True, long_header_token=False)
            checks = [("meaning", lambda: compare(blobs[0], blobs[1], blobs[2], man, envelope)),
                      ("transport", lambda: transport(blobs[0], blobs[2], outer)),
                      ("labels", lambda: labels(blobs[0], blobs[1], man)),
                      ("base64", lambda: base64_clean(blobs[0], blobs[1], man))]
            if man["missing_close"]:
                checks.append(("missing-close-kept", lambda: close_kept(blobs[0], blobs[1])))
            if envelope:
                checks.append(("envelope", lambda: envelope_form(blobs[2], envelope)))
                checks.append(("protected", lambda: protected_fields(blobs[0], blobs[1], envelope)))
            for check_name, fn in checks:
                try:
                    problems = fn()
                except Exception as e:  # a reader failure on our own output is a failure
                    problems = ["%s: %s" % (type(e).__name__, e)]
                if problems:
                    failed += 1
                    print("FAIL: %s/%s: %s" % (name, check_name, "; ".join(problems)[:400]))
                else:
                    print("PASS: %s/%s" % (name, check_name))
    return 1 if failed else 0


# --- inbound sweep (tests/integration/test_inbound_shapes.sh) --------------------------------
# `entity IN OUT`: the message's MIME entity as a peer signs it: its Content-* fields (folded
# lines kept) and its body, from the wire form; CRLF after the fields, the body as it came.
# `inbound-check LIST`: lines NAME REFERENCE RESULT: the leaves of RESULT (what we delivered;
# a multipart/signed is read through its first part, the signed entity) against those of
# REFERENCE (the entity the peer protected); PASS/FAIL lines, exit 1 if any failed.

def entity_of(msg):
    fields, body = split_header(wire_form(msg))
    head = b"".join(n.encode() + b":" + v.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
                    for n, v in fields if n.startswith("content-"))
    return head + b"\r\n" + body


def signed_content(entity):
    """The signed entity of a multipart/signed (RFC 1847: its first body part), else itself."""
    fields, body = split_header(entity)
    ct = next((v for n, v in fields if n == "content-type"), None)
    if ct is not None:
        mtype, params = parse_params(ct)
        if mtype == "multipart/signed" and "boundary" in params:
            parts = split_multipart(body, params["boundary"].encode("latin-1"))
            if parts:
                return parts[0]
    return entity


def inbound_compare(reference, result):
    want, got = [], []
    leaves(signed_content(reference), want)
    leaves(signed_content(result), got)
    problems = []
    if len(want) != len(got):
        problems.append("%d leaves, the reference has %d" % (len(got), len(want)))
    for w, g in zip(want, got):
        if w[:4] != g[:4]:
            problems.append("leaf %s %s %s %s became %s %s %s %s" % (w[:4] + g[:4]))
        elif w[4] != g[4]:
            i = next((k for k in range(min(len(w[4]), len(g[4]))) if w[4][k] != g[4][k]),
                     min(len(w[4]), len(g[4])))
            problems.append("leaf %s %s: content differs at octet %d (%d octets, reference %d)"
                            % (w[0], w[1], i, len(g[4]), len(w[4])))
    return problems


def inbound_check(listfile):
    failed = 0
    with open(listfile) as f:
        for line in f:
            name, ref, res = line.split()
            with open(ref, "rb") as a, open(res, "rb") as b:
                try:
                    problems = inbound_compare(a.read(), b.read())
                except Exception as e:  # a reader failure on delivered mail is a failure
                    problems = ["%s: %s" % (type(e).__name__, e)]
            if problems:
                failed += 1
                print("FAIL: %s: %s" % (name, "; ".join(problems)[:400]))
            else:
                print("PASS: %s" % name)
    return 1 if failed else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "generate":
        generate(argv[2], int(argv[3]) if len(argv) > 3 else 60)
        return 0
    if len(argv) == 3 and argv[1] == "check":
        return check(argv[2])
    if len(argv) == 4 and argv[1] == "entity":
        with open(argv[2], "rb") as f, open(argv[3], "wb") as g:
            g.write(entity_of(f.read()))
        return 0
    if len(argv) == 3 and argv[1] == "inbound-check":
        return inbound_check(argv[2])
    sys.stderr.write("usage: make_mime_shapes.py generate DIR [N] | check LIST | entity IN OUT"
                         " | inbound-check LIST\n")
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
