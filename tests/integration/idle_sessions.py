#!/usr/bin/env python3
# Milter sessions that stay open after their message, as an MTA's SMTP session does between
# messages, for test_reload.sh: does an idle session keep the configuration its last message
# ran under (and all that was built from it) alive across reloads?
# Usage: idle_sessions.py SOCKET COUNT STATE
#   Opens COUNT sessions one after another. Each sends one message from alice@acme.example to
#   someone@elsewhere.example: odd-numbered ones to the end of the message, even-numbered ones
#   up to RCPT TO and then an abort (the MTA's RSET). After session N's message it writes N to
#   STATE.n and waits (at most 60 s) for the file STATE.goN, so the test can reload in between;
#   after the last one it writes STATE.idle and keeps every session open until STATE.stop
#   exists (at most 120 s), then ends each with QUIT. Prints one line per session.
# The milter's answers are untrusted input, read through milter_client.Milter.
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from milter_client import (Milter, ProtocolError, SMFIC_ABORT, SMFIC_BODY, SMFIC_BODYEOB,  # noqa: E402
                           SMFIC_CONNECT, SMFIC_EOH, SMFIC_HEADER, SMFIC_HELO, SMFIC_MAIL, SMFIC_QUIT,
                           SMFIC_RCPT, NOBODY, NOCONNECT, NOEOH, NOHDRS, NOHELO, NOMAIL, NORCPT)


def wait_for(path, seconds):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise ProtocolError(f"{path} did not appear")
        time.sleep(0.02)


def session(spec, full):
    m = Milter(spec)
    m.negotiate(2, 0x7F)  # version 2: every step answered
    m.macros(SMFIC_CONNECT, [("j", "mx.acme.example"), ("{daemon_name}", "ORIGINATING")])
    m.step("connect", SMFIC_CONNECT, b"client.test.invalid\0" + b"4" + struct.pack("!H", 40000) + b"127.0.0.1\0",
           NOCONNECT, 0)
    m.step("helo", SMFIC_HELO, b"client.test.invalid\0", NOHELO, 0)
    answers = [m.step("mail", SMFIC_MAIL, b"<alice@acme.example>\0", NOMAIL, 0),
               m.step("rcpt", SMFIC_RCPT, b"<someone@elsewhere.example>\0", NORCPT, 0)]
    if full:
        for name, value in (("From", "alice@acme.example"), ("To", "someone@elsewhere.example"),
                            ("Subject", "idle session"), ("Message-ID", "<idle@test.invalid>")):
            answers.append(m.step("header", SMFIC_HEADER, name.encode() + b"\0" + value.encode() + b"\0", NOHDRS, 0))
        answers.append(m.step("eoh", SMFIC_EOH, b"", NOEOH, 0))
        answers.append(m.step("body", SMFIC_BODY, b"held open\r\n", NOBODY, 0))
        answers.append(m.step("eom", SMFIC_BODYEOB, b"", 0, 0, []))
    else:
        m.send(SMFIC_ABORT)  # no answer to an abort
    return m, answers


def main():
    spec, count, state = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    sessions = []
    for n in range(1, count + 1):
        m, answers = session(spec, n % 2 == 1)
        sessions.append(m)
        print(f"session {n} {'eom' if n % 2 == 1 else 'abort'} {','.join(answers)}", flush=True)
        with open(state + ".n", "w") as f:
            f.write(str(n))
        wait_for(f"{state}.go{n}", 60)
    open(state + ".idle", "w").close()
    wait_for(state + ".stop", 120)
    for m in sessions:
        m.send(SMFIC_QUIT)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ProtocolError, OSError, struct.error, ValueError) as e:
        print(f"protocol-error {e}")
        sys.exit(1)
