#!/usr/bin/env python3
# Re-encodes a CMS object made by a peer (openssl cms) into shapes other implementations send
# and the openssl CLI cannot make, without touching anything a signature or a key covers:
#   indefinite DER      SignedData with its outer layers in BER indefinite lengths, as streaming
#                       encoders write them (Apple's Security framework, BouncyCastle);
#                       certificates, signer infos' signed attributes and values stay DER
#   originator-info DER CERT.der
#                       EnvelopedData v2 with an OriginatorInfo holding CERT and one
#                       unprotected attribute (RFC 5652 §6.1), as some gateways add
#   crls DER CRL.der    SignedData with CRL in its crls field ([1], RFC 5652 §5.1), which
#                       no signature covers, as signers that ship revocation data send it
# Writes the result to standard output. Input is our own test data: a malformed object is
# simply an error here.
import sys


def enc_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, value):
    return bytes([tag]) + enc_len(len(value)) + value


def indef(tag, value):
    return bytes([tag, 0x80]) + value + b"\x00\x00"


def items(b):
    """(tag, whole TLV, value) for each DER element in b."""
    i = 0
    while i < len(b):
        tag, j = b[i], i + 2
        n = b[i + 1]
        if n & 0x80:
            k = n & 0x7F
            n, j = int.from_bytes(b[j:j + k], "big"), j + k
        yield tag, b[i:j + n], b[j:j + n]
        i = j + n


def content_info(der):
    (_, _, ci), = items(der)
    oid, explicit = list(items(ci))
    (_, _, inner), = items(explicit[2])
    return oid[1], inner


def indefinite(der):
    oid, sd = content_info(der)
    out = b""
    for tag, whole, value in items(sd):
        if tag == 0x30:                      # encapContentInfo
            out += indef(tag, value)
        elif tag == 0x31:                    # digestAlgorithms, signerInfos
            out += indef(tag, b"".join(indef(t, v) if t == 0x30 and any(tt == 0xA0 for tt, _, _ in items(v))
                                       else w for t, w, v in items(value)))
        elif tag == 0xA0:                    # certificates: the SET indefinite, each one DER
            out += indef(tag, value)
        else:
            out += whole
    return indef(0x30, oid + indef(0xA0, indef(0x30, out)))


def originator_info(der, cert):
    oid, ed = content_info(der)
    parts = list(items(ed))
    origin = tlv(0xA0, tlv(0xA0, cert))
    attribute = tlv(0xA1, tlv(0x30, tlv(0x06, bytes([0x2A, 0x03, 0x04])) + tlv(0x31, tlv(0x0C, b"x"))))
    body = tlv(0x02, b"\x02") + origin + b"".join(w for _, w, _ in parts[1:]) + attribute
    return tlv(0x30, oid + tlv(0xA0, tlv(0x30, body)))


def with_crls(der, crl):
    oid, sd = content_info(der)
    parts = [w for _, w, _ in items(sd)]
    # crls [1] IMPLICIT go just before signerInfos, the last element.
    body = b"".join(parts[:-1]) + tlv(0xA1, crl) + parts[-1]
    return tlv(0x30, oid + tlv(0xA0, tlv(0x30, body)))


def main(argv):
    with open(argv[2], "rb") as f:
        der = f.read()
    if argv[1] == "indefinite" and len(argv) == 3:
        out = indefinite(der)
    elif argv[1] == "originator-info" and len(argv) == 4:
        with open(argv[3], "rb") as f:
            out = originator_info(der, f.read())
    elif argv[1] == "crls" and len(argv) == 4:
        with open(argv[3], "rb") as f:
            out = with_crls(der, f.read())
    else:
        sys.exit("usage: cms_reencode.py indefinite DER | originator-info DER CERT.der | crls DER CRL.der")
    sys.stdout.buffer.write(out)


main(sys.argv)
