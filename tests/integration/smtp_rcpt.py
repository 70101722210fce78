#!/usr/bin/env python3
# A small SMTP client for the RCPT-time policy tests: one transaction, one line per reply
# ("MAIL|RCPT <addr>|DATA <code> <text>"), so a test can check each recipient's exact code and
# enhanced status code. The server's replies are untrusted text: printed on one line, no parsing.
# Usage: smtp_rcpt.py PORT FROM EML TO... (DATA is sent only when some RCPT was accepted)
import smtplib
import sys


def one_line(msg):
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return " ".join(text.split())


def main():
    port, sender, eml, rcpts = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
    with open(eml, "rb") as f:
        data = f.read()
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test.invalid", timeout=120)
    s.ehlo()
    code, msg = s.mail(sender)
    print(f"MAIL {code} {one_line(msg)}")
    if code != 250:
        s.quit()
        return 1
    accepted = 0
    for r in rcpts:
        code, msg = s.rcpt(r)
        print(f"RCPT {r} {code} {one_line(msg)}")
        accepted += code in (250, 251)
    if accepted:
        try:
            code, msg = s.data(data)
        except smtplib.SMTPDataError as e:
            code, msg = e.smtp_code, e.smtp_error
        print(f"DATA {code} {one_line(msg)}")
    else:
        s.rset()
    s.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
