#!/usr/bin/env python3
# The MTA side of the Sendmail 8 milter protocol (version 6), written from the protocol
# description in libmilter's mfdef.h, so that tests can drive ssm-milter as MTAs other than
# Postfix do: offering every "no reply" extension (as Postfix does) or none of them (as an MTA
# of the version 2 protocol does), and checking that ssm-milter answers exactly the commands the
# negotiation says it must, no more. The milter's packets are untrusted input: lengths are
# bounded, and anything unexpected ends the run with a message and exit status 1.
#
# Usage: milter_client.py SOCKET OFFER OUT MESSAGE.eml [MESSAGE.eml...]
#   SOCKET   inet:PORT@127.0.0.1 or unix:/path
#   OFFER    "all": every no-reply and skip-step flag of version 6 (Postfix's offer);
#            "v2": version 2 with its skip-step flags only (Sendmail 8.13's offer, SMFI_V2_PROT):
#            every step that is sent is answered
#   OUT      prefix of the result files: OUT.1.eml, OUT.2.eml... (one per message, the message
#            as the MTA would deliver it after the milter's header edits and new body)
# Environment: MILTER_DAEMON_NAME, the {daemon_name} macro sent at connect (default ORIGINATING;
# "-": none sent). MILTER_HOLD_BEFORE_EOM=PATH: before each end of message, create PATH.ready and
# wait (at most 60 s) until PATH exists, so that a test can act while a message is in flight.
# MILTER_RCPTS=A,B,...: these envelope recipients instead of the To: address (one RCPT each).
# MILTER_AUTH_USER=NAME: the {auth_authen} macro at MAIL FROM (the client authenticated as NAME).
# MILTER_NO_QUARANTINE=1: quarantine (SMFIF_QUARANTINE) is not among the actions offered (an MTA
# that cannot hold a message).
# One SMTP session: connect from 127.0.0.1, then per message MAIL FROM (the message's From:
# address), RCPT TO (its To: address), headers, body, end of message. Prints one line per step:
#   STEP ANSWER   (ANSWER: continue, tempfail, reject, reply:TEXT, none = no answer awaited)
import os
import select
import socket
import struct
import sys
import time

# Commands (MTA to milter) and answers (milter to MTA), from mfdef.h.
SMFIC_ABORT, SMFIC_BODY, SMFIC_CONNECT, SMFIC_MACRO = b"A", b"B", b"C", b"D"
SMFIC_BODYEOB, SMFIC_HELO, SMFIC_HEADER, SMFIC_MAIL = b"E", b"H", b"L", b"M"
SMFIC_EOH, SMFIC_OPTNEG, SMFIC_QUIT, SMFIC_RCPT, SMFIC_DATA = b"N", b"O", b"Q", b"R", b"T"
SMFIR_ADDRCPT, SMFIR_DELRCPT, SMFIR_ACCEPT, SMFIR_REPLBODY = b"+", b"-", b"a", b"b"
SMFIR_CONTINUE, SMFIR_DISCARD, SMFIR_ADDHEADER, SMFIR_INSHEADER = b"c", b"d", b"h", b"i"
SMFIR_CHGHEADER, SMFIR_PROGRESS, SMFIR_REJECT, SMFIR_TEMPFAIL = b"m", b"p", b"r", b"t"
SMFIR_REPLYCODE = b"y"

# Actions we allow: every action of version 6 (quarantine is 0x20).
SMFIF_ALL = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80 | 0x100
SMFIF_QUARANTINE = 0x20
# Protocol flags.
NOCONNECT, NOHELO, NOMAIL, NORCPT, NOBODY, NOHDRS, NOEOH = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40
NR_HDR, NOUNKNOWN, NODATA, NR_CONN, NR_HELO, NR_MAIL = 0x80, 0x100, 0x200, 0x1000, 0x2000, 0x4000
NR_RCPT, NR_DATA, NR_EOH, NR_BODY = 0x8000, 0x10000, 0x40000, 0x80000
OFFER_ALL = 0x1FFFFF & ~0x100000  # all of version 6 but HDR_LEADSPC (we eat one space, as Postfix)

MAX_PACKET = 1 << 20  # more than libmilter ever sends in one packet (64 KiB body chunks)


class ProtocolError(Exception):
    pass


class Milter:
    def __init__(self, spec):
        if spec.startswith("unix:") or spec.startswith("local:"):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(spec.split(":", 1)[1])
        elif spec.startswith("inet:"):
            port, host = spec[5:].split("@") if "@" in spec else (spec[5:], "127.0.0.1")
            self.sock = socket.create_connection((host, int(port)), timeout=30)
        else:
            raise ProtocolError(f"unknown socket {spec}")
        self.sock.settimeout(60)
        self.protocol = 0

    def send(self, cmd, data=b""):
        self.sock.sendall(struct.pack("!I", len(data) + 1) + cmd + data)

    def _read_exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ProtocolError("milter closed the connection")
            out += chunk
        return out

    def read(self):
        (length,) = struct.unpack("!I", self._read_exact(4))
        if length < 1 or length > MAX_PACKET:
            raise ProtocolError(f"bad packet length {length}")
        data = self._read_exact(length)
        return data[:1], data[1:]

    def nothing_pending(self, wait=0.3):
        """True when the milter sends nothing within WAIT seconds (no unasked-for answer)."""
        readable, _, _ = select.select([self.sock], [], [], wait)
        return not readable

    def negotiate(self, version, offer, actions=SMFIF_ALL):
        self.send(SMFIC_OPTNEG, struct.pack("!III", version, actions, offer))
        cmd, data = self.read()
        if cmd != SMFIC_OPTNEG or len(data) < 12:
            raise ProtocolError(f"bad negotiation answer {cmd!r}")
        ver, actions, protocol = struct.unpack("!III", data[:12])
        if protocol & ~offer:
            raise ProtocolError(f"milter asked for flags 0x{protocol & ~offer:x} not offered")
        self.protocol = protocol
        return ver, actions, protocol

    def macros(self, stage, pairs):
        self.send(SMFIC_MACRO, stage + b"".join(k.encode() + b"\0" + v.encode("latin-1") + b"\0" for k, v in pairs))

    def step(self, name, cmd, data, skipped_flag, no_reply_flag, edits=None):
        """Sends one command; returns its answer (or 'skipped' / 'none')."""
        if skipped_flag and self.protocol & skipped_flag:
            return "skipped"
        self.send(cmd, data)
        if no_reply_flag and self.protocol & no_reply_flag:
            return "none"
        while True:
            r, payload = self.read()
            if r == SMFIR_CONTINUE:
                return "continue"
            if r == SMFIR_ACCEPT:
                return "accept"
            if r == SMFIR_TEMPFAIL:
                return "tempfail"
            if r == SMFIR_REJECT:
                return "reject"
            if r == SMFIR_DISCARD:
                return "discard"
            if r == SMFIR_REPLYCODE:
                return "reply:" + payload.rstrip(b"\0").decode("ascii", "replace")
            if r == SMFIR_PROGRESS:
                continue
            if edits is not None and r in (SMFIR_ADDHEADER, SMFIR_INSHEADER, SMFIR_CHGHEADER,
                                           SMFIR_REPLBODY, SMFIR_DELRCPT, SMFIR_ADDRCPT):
                edits.append((r, payload))
                continue
            raise ProtocolError(f"unexpected answer {r!r} to {name}")


def cstrings(payload, count):
    parts = payload.split(b"\0")
    if len(parts) < count + 1 or parts[count] != b"":
        raise ProtocolError("malformed strings in an edit")
    return [p.decode("latin-1") for p in parts[:count]]


def apply_edits(headers, body, edits):
    """The message after the milter's edits, applied as an MTA does (1-based header indexes)."""
    headers = list(headers)
    new_body = None
    for cmd, payload in edits:
        if cmd == SMFIR_REPLBODY:
            new_body = (new_body or b"") + payload
        elif cmd == SMFIR_ADDHEADER:
            name, value = cstrings(payload, 2)
            headers.append((name, value))
        elif cmd == SMFIR_INSHEADER:
            (index,) = struct.unpack("!I", payload[:4])
            name, value = cstrings(payload[4:], 2)
            headers.insert(min(index, len(headers)), (name, value))
        elif cmd == SMFIR_CHGHEADER:
            (index,) = struct.unpack("!I", payload[:4])
            name, value = cstrings(payload[4:], 2)
            seen = 0
            for i, (n, _) in enumerate(headers):
                if n.lower() == name.lower():
                    seen += 1
                    if seen == max(index, 1):
                        if value:
                            headers[i] = (n, value)
                        else:
                            del headers[i]
                        break
            else:
                if value:
                    headers.append((name, value))
    text = b"".join(f"{n}: {v}".replace("\n", "\r\n").encode("latin-1") + b"\r\n" for n, v in headers)
    return text + b"\r\n" + (body if new_body is None else new_body)


def parse_message(path):
    with open(path, "rb") as f:
        raw = f.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            n, v = headers[-1]
            headers[-1] = (n, v + "\n" + line.decode("latin-1"))
        else:
            n, _, v = line.decode("latin-1").partition(":")
            headers.append((n, v[1:] if v.startswith(" ") else v))
    return headers, body


def address_of(headers, name):
    for n, v in headers:
        if n.lower() == name:
            v = v.strip()
            return v[v.find("<") + 1:v.rfind(">")] if "<" in v else v
    raise ProtocolError(f"message has no {name} header")


def main():
    spec, offer_name, out, messages = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    m = Milter(spec)
    version, offer = (6, OFFER_ALL) if offer_name == "all" else (2, 0x7F)
    offered = SMFIF_ALL & ~SMFIF_QUARANTINE if os.environ.get("MILTER_NO_QUARANTINE") == "1" else SMFIF_ALL
    ver, actions, protocol = m.negotiate(version, offer, offered)
    print(f"negotiated version={ver} actions=0x{actions:x} protocol=0x{protocol:x}")

    # MILTER_DAEMON_NAME: the listener's {daemon_name}; ORIGINATING (outbound) unless a test
    # plays the MTA's inbound listener (with 127.0.0.1 outside the milter's internal_networks).
    # "-": no {daemon_name} at all (an MTA whose connect macros leave it out).
    daemon = os.environ.get("MILTER_DAEMON_NAME", "ORIGINATING")
    m.macros(SMFIC_CONNECT, [("j", "mx.acme.example")] + ([] if daemon == "-" else [("{daemon_name}", daemon)]))
    addr = b"127.0.0.1"
    print("connect", m.step("connect", SMFIC_CONNECT,
                            b"client.test.invalid\0" + b"4" + struct.pack("!H", 40000) + addr + b"\0",
                            NOCONNECT, NR_CONN))
    print("helo", m.step("helo", SMFIC_HELO, b"client.test.invalid\0", NOHELO, NR_HELO))
    for k, path in enumerate(messages, 1):
        headers, body = parse_message(path)
        sender, rcpt = address_of(headers, "from"), address_of(headers, "to")
        auth = os.environ.get("MILTER_AUTH_USER")
        m.macros(SMFIC_MAIL, [("i", f"QID{k}"), ("{mail_addr}", sender)] + ([("{auth_authen}", auth)] if auth else []))
        print("mail", m.step("mail", SMFIC_MAIL, f"<{sender}>\0".encode("latin-1"), NOMAIL, NR_MAIL))
        for r in os.environ.get("MILTER_RCPTS", "").split(",") if os.environ.get("MILTER_RCPTS") else [rcpt]:
            print("rcpt", m.step("rcpt", SMFIC_RCPT, f"<{r}>\0".encode("latin-1"), NORCPT, NR_RCPT))
        print("data", m.step("data", SMFIC_DATA, b"", NODATA, NR_DATA))
        answers = set()
        for n, v in headers:
            answers.add(m.step("header", SMFIC_HEADER, n.encode("latin-1") + b"\0" + v.encode("latin-1") + b"\0",
                               NOHDRS, NR_HDR))
        print("headers", ",".join(sorted(answers)))
        print("eoh", m.step("eoh", SMFIC_EOH, b"", NOEOH, NR_EOH))
        answers = set()
        for i in range(0, len(body), 65535):
            answers.add(m.step("body", SMFIC_BODY, body[i:i + 65535], NOBODY, NR_BODY))
        print("body", ",".join(sorted(answers)) or "empty")
        # Nothing may arrive that was not asked for (an answer to a no-reply step would be
        # taken by the MTA as the answer to the end of the message).
        print("unasked", "none" if m.nothing_pending() else "SOMETHING")
        hold = os.environ.get("MILTER_HOLD_BEFORE_EOM")
        if hold:
            open(hold + ".ready", "w").close()
            deadline = time.monotonic() + 60
            while not os.path.exists(hold) and time.monotonic() < deadline:
                time.sleep(0.05)
        m.macros(SMFIC_BODYEOB, [("i", f"QID{k}")])
        edits = []
        print("eom", m.step("eom", SMFIC_BODYEOB, b"", 0, 0, edits))
        print("edits", len(edits))
        with open(f"{out}.{k}.eml", "wb") as f:
            f.write(apply_edits(headers, body, edits))
        print("after-eom", "none" if m.nothing_pending() else "SOMETHING")
    m.send(SMFIC_QUIT)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ProtocolError, OSError, struct.error, ValueError) as e:
        print(f"protocol-error {e}")
        sys.exit(1)
