#!/usr/bin/env python3
# Sends one prepared message file COUNT times over SESSIONS concurrent SMTP sessions (for
# bench/run-inbound.sh: smtp-source cannot send a given S/MIME message). The file is ours
# (CRLF, made by openssl); the server's replies are untrusted: only the numeric code is used.
# Prints "accepted=N rejected=M" and exits 1 when any message was not accepted with 250.
# Usage: inject.py PORT FROM TO FILE COUNT SESSIONS
import smtplib
import sys
import threading


def main():
    port, sender, rcpt, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    count, sessions = int(sys.argv[5]), int(sys.argv[6])
    with open(path, "rb") as f:
        msg = f.read()
    codes = []
    lock = threading.Lock()

    def worker(first):
        mine = []
        try:
            s = smtplib.SMTP("127.0.0.1", port, local_hostname="mua.partner.example", timeout=600)
            s.ehlo()
            for _ in range(first, count, sessions):
                try:
                    s.sendmail(sender, [rcpt], msg)
                    mine.append(250)
                except smtplib.SMTPResponseException as e:
                    mine.append(e.smtp_code)
                    s.rset()
            s.quit()
        except (OSError, smtplib.SMTPException) as e:
            print(f"inject.py: session {first}: {e}", file=sys.stderr)
        with lock:
            codes.extend(mine)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(min(sessions, count))]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    ok = sum(1 for c in codes if c == 250)
    print(f"accepted={ok} rejected={len(codes) - ok}")
    if ok != count:
        print("inject.py: codes " + " ".join(sorted({str(c) for c in codes if c != 250})), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
