#!/usr/bin/env python3
# A small SMTP listener for tests/unit/test_reinjection.cpp that refuses on command: the
# listener Postfix's smtp-sink cannot be (smtp-sink refuses every transaction alike, not one
# recipient's). Each connection is one session; a transaction is stored only when its final
# dot arrives and is accepted, as RFC 5321 demands of a real server.
# Usage: smtp_listener.py PORT DIR REFUSE_RCPT REFUSE_DOT ("-": none)
#   REFUSE_RCPT: this recipient gets "451 4.3.2 busy" at RCPT
#   REFUSE_DOT:  a transaction for this recipient gets "554 5.7.1 refused" after its dot
# Stored: DIR/<n>.eml holding "RCPT <addr>" lines, an empty line, the un-stuffed data.
# Printed (stdout, flushed): "in data <k>" (k sessions inside DATA before their final dot, this
# one included), "stored <n>", "abandoned in DATA", "abandoned".
# Environment: SMTP_LISTENER_SMTPUTF8=1 also announces SMTPUTF8 (RFC 6531), which smtp-sink
# never does, for tests of internationalised mail (tests/integration/test_eai.sh).
# Input: bytes from the code under test, parsed leniently; a test-only helper.
import os
import socketserver
import sys
import threading

PORT, DIR, REFUSE_RCPT, REFUSE_DOT = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
counter = [0]
in_data = [0]
lock = threading.Lock()


def say(text):
    with lock:
        print(text, flush=True)


class Session(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        self.inside_data = False
        try:
            self.session()
        finally:
            self.leave_data()

    def receive(self, gone):
        """The next line from the client, or None (printing `gone`) when it went away."""
        line = self.rfile.readline()
        if not line:
            say(gone)
        return line or None

    def leave_data(self):
        if self.inside_data:
            self.inside_data = False
            with lock:
                in_data[0] -= 1

    def session(self):
        self.reply("220 listener.test ESMTP")
        rcpts = []
        while True:
            line = self.receive("abandoned")
            if line is None:
                return
            cmd = line.decode("latin-1").rstrip("\r\n")
            verb = cmd[:4].upper()
            if verb == "EHLO":
                self.reply("250-listener.test")
                self.reply("250-SIZE 10000000")
                if os.environ.get("SMTP_LISTENER_SMTPUTF8") == "1":
                    self.reply("250-SMTPUTF8")
                self.reply("250 8BITMIME")
            elif verb == "MAIL":
                rcpts = []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                addr = cmd[cmd.find("<") + 1:cmd.rfind(">")]
                if addr == REFUSE_RCPT:
                    self.reply("451 4.3.2 busy")
                else:
                    rcpts.append(addr)
                    self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                # Counted in before the 354 goes out: the client may stage its next session and
                # send a dot as soon as it reads the 354, and that dot's session, counted out
                # first, would hide this one from the count.
                with lock:
                    in_data[0] += 1
                    print("in data %d" % in_data[0], flush=True)
                self.inside_data = True
                self.reply("354 go ahead")
                data = []
                while True:
                    d = self.receive("abandoned in DATA")
                    if d is None:
                        return
                    if d == b".\r\n":
                        self.leave_data()
                        break
                    data.append(d[1:] if d.startswith(b".") else d)
                if REFUSE_DOT in rcpts:
                    self.reply("554 5.7.1 refused")
                    continue
                with lock:
                    counter[0] += 1
                    n = counter[0]
                with open(os.path.join(DIR, "%d.eml.tmp" % n), "wb") as f:
                    f.write("".join("RCPT %s\n" % r for r in rcpts).encode() + b"\n" + b"".join(data))
                os.rename(os.path.join(DIR, "%d.eml.tmp" % n), os.path.join(DIR, "%d.eml" % n))
                say("stored %d" % n)
                self.reply("250 2.0.0 queued as %d" % n)
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 5.5.2 unknown")


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


Server(("127.0.0.1", PORT), Session).serve_forever()
