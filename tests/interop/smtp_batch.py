#!/usr/bin/env python3
# smtp_batch.py QUEUE OUTDIR LOG [PARALLEL]: sends every message of QUEUE (lines
# CASE<TAB>PORT<TAB>FROM<TAB>RCPT[,RCPT...]<TAB>FILE) to 127.0.0.1:PORT, each in its own SMTP
# connection, PARALLEL (default 4) at a time, from one process: the interop tests send some
# hundred messages, and one swaks (a perl start) per message cost more than the mail itself.
# Each case's reply goes to OUTDIR/CASE.reply as lib.sh's send_mail reports it: the reply to
# the end of DATA, or the first error reply ("554 5.6.0 ..."); a transcript goes to LOG.
# Input trust: the files are our own fixtures and peers' output; the data is sent as it is,
# made into the SMTP DATA form (CRLF, dot-stuffed) exactly as send_mail does, never altered.
import concurrent.futures
import smtplib
import sys
import time


def data_form(raw):
    """CRLF line ends, a leading dot doubled, then the final dot (lib.sh send_mail)."""
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = []
    for line in lines:
        if line.endswith(b"\r"):
            line = line[:-1]
        if line.startswith(b"."):
            line = b"." + line
        out.append(line + b"\r\n")
    return b"".join(out) + b".\r\n"


def reply_text(code, msg):
    first = msg.decode("utf-8", "replace").split("\n")[0] if msg else ""
    return f"{code} {first}".rstrip()


def send(case, port, sender, rcpts, path):
    """One SMTP transaction; returns (case, reply line, transcript)."""
    log = []
    try:
        with open(path, "rb") as f:
            data = data_form(f.read())
        with smtplib.SMTP("127.0.0.1", int(port), local_hostname="client.test.invalid", timeout=120) as s:
            code, msg = s.ehlo()
            if code != 250:
                return case, reply_text(code, msg), log
            code, msg = s.mail(sender)
            log.append(f"MAIL {code}")
            if code != 250:
                return case, reply_text(code, msg), log
            accepted = 0
            first_error = None
            for r in [r.strip() for r in rcpts.split(",") if r.strip()]:
                code, msg = s.rcpt(r)
                log.append(f"RCPT {r} {code}")
                if code in (250, 251):
                    accepted += 1
                elif first_error is None:
                    first_error = reply_text(code, msg)
            if accepted == 0:
                return case, first_error or "no recipient", log
            s.putcmd("data")
            code, msg = s.getreply()
            if code != 354:
                return case, reply_text(code, msg), log
            s.send(data)
            code, msg = s.getreply()
            log.append(f"DATA {len(data)} octets {code}")
            return case, reply_text(code, msg), log
    except (OSError, smtplib.SMTPException) as e:
        return case, f"*** {type(e).__name__}: {e}", log


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: smtp_batch.py QUEUE OUTDIR LOG [PARALLEL]")
    queue, outdir, logfile = sys.argv[1:4]
    parallel = int(sys.argv[4]) if len(sys.argv) == 5 else 4
    jobs = []
    with open(queue, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                jobs.append(line.split("\t"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=parallel) as pool, \
            open(logfile, "a", encoding="utf-8") as log:
        for case, reply, lines in pool.map(lambda j: send(*j), jobs):
            with open(f"{outdir}/{case}.reply", "w", encoding="utf-8") as r:
                r.write(reply + "\n")
            log.write(f"=== {time.strftime('%T')} {case}: {'; '.join(lines)} -> {reply}\n")


if __name__ == "__main__":
    main()
