#!/usr/bin/env python3
# Streams N numbered messages over a few SMTP sessions (for the reload test): each message has
# a unique Message-ID <ssm-stream-I@test.invalid>, and each reply is recorded on one line
# "I CODE" in the report file, so the test can prove every message was accepted exactly once.
# The server's replies are untrusted: only the numeric code is used.
# Usage: stream_messages.py PORT FROM TO COUNT SESSIONS REPORT
import smtplib
import sys
import threading


def main():
    port, sender, rcpt = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    count, sessions, report = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
    lines = []
    lock = threading.Lock()

    def worker(first):
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.test.invalid", timeout=120)
        s.ehlo()
        for i in range(first, count, sessions):
            body = (f"From: Alice <{sender}>\r\nTo: <{rcpt}>\r\nSubject: stream {i}\r\n"
                    f"Message-ID: <ssm-stream-{i}@test.invalid>\r\nMIME-Version: 1.0\r\n"
                    f"Content-Type: text/plain; charset=us-ascii\r\n\r\nmessage {i}\r\n")
            try:
                s.sendmail(sender, [rcpt], body.encode())
                code = 250
            except smtplib.SMTPResponseException as e:
                code = e.smtp_code
                s.rset()
            except smtplib.SMTPRecipientsRefused as e:
                code = list(e.recipients.values())[0][0]
                s.rset()
            with lock:
                lines.append(f"{i} {code}")
        s.quit()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(report, "w") as f:
        f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
