#!/usr/bin/env python3
# An SMTP client for internationalised mail (RFC 6531): one transaction whose MAIL FROM carries
# the SMTPUTF8 parameter, with the addresses' octets sent exactly as given on the command line
# (so a test can also send invalid UTF-8, which smtplib would refuse to encode). The server's
# replies are untrusted text: printed on one line each, never interpreted beyond the code.
# Usage: smtp_utf8.py PORT FROM TO EML   (EML: the message; CRLF and dot-stuffing done here)
# Prints "STEP CODE TEXT" per command; exits 0 when the message was accepted (250 after DATA),
# 4 or 5 for the class of the first failing reply, 1 on a connection problem.
import os
import socket
import sys


def main():
    port, sender, rcpt, eml = int(sys.argv[1]), os.fsencode(sys.argv[2]), os.fsencode(sys.argv[3]), sys.argv[4]
    with open(eml, "rb") as f:
        raw = f.read().replace(b"\r\n", b"\n").split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    data = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n" for line in raw) + b".\r\n"
    s = socket.create_connection(("127.0.0.1", port), timeout=120)
    f = s.makefile("rb")

    def reply(step):
        lines = []
        while True:
            line = f.readline(4096)
            if not line:
                raise OSError("connection closed")
            lines.append(line.decode("utf-8", "replace").strip())
            if len(line) < 4 or line[3:4] != b"-":
                break
        code = int(lines[-1][:3])
        print(step, code, " ".join(lines)[4:] if lines else "")
        return code

    def cmd(step, text, want):
        s.sendall(text + b"\r\n")
        code = reply(step)
        if code // 100 != want:
            s.sendall(b"QUIT\r\n")
            sys.exit(code // 100 if code // 100 in (4, 5) else 1)

    reply("greeting")
    cmd("ehlo", b"EHLO client.test.invalid", 2)
    cmd("mail", b"MAIL FROM:<" + sender + b"> SMTPUTF8", 2)
    cmd("rcpt", b"RCPT TO:<" + rcpt + b">", 2)
    cmd("data", b"DATA", 3)
    s.sendall(data)
    code = reply("end-of-data")
    s.sendall(b"QUIT\r\n")
    return 0 if code // 100 == 2 else (code // 100 if code // 100 in (4, 5) else 1)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (OSError, ValueError) as e:
        print("error", e)
        sys.exit(1)
