#!/usr/bin/env python3
"""A local SMTP sink: a real SMTP server that accepts every message and keeps each as a file.

`make up` runs one for the notification service (mail lands in .run/mail/, DESIGN §4), and
microshop-testkit's `SmtpSink` runs one per test. Built on Debian's python3-aiosmtpd: plain
SMTP, no TLS, no AUTH, any sender and recipients; EHLO announces 8BITMIME and SMTPUTF8.

Each message is stored as received (the bytes after DATA, dot-unstuffed) with an
`X-Envelope-From:` line and one `X-Envelope-To:` line per recipient put in front, as
`<dir>/<unix-ns>-<counter>.eml`: names sort in arrival order and never collide. A message is
written under a hidden temporary name and renamed, so a reader sees whole files or none.

Usage: smtp-sink.py --host 127.0.0.1 --port 2525 --dir .run/mail   (--port 0: any free port)
When ready it prints `smtp-sink: listening on <host>:<port>, writing to <dir>`; SIGTERM or
SIGINT stops it.
"""
import argparse
import asyncio
import itertools
import os
import signal
import sys
import time

DEBIAN_PYTHON = "/usr/bin/python3"

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    # Debian's package is importable by Debian's interpreter only; a python3 from pyenv or a
    # virtualenv earlier on PATH does not see it. Run again under Debian's (same pid).
    if os.path.exists(DEBIAN_PYTHON) and os.path.realpath(sys.executable) != os.path.realpath(
        DEBIAN_PYTHON
    ):
        os.execv(DEBIAN_PYTHON, [DEBIAN_PYTHON, *sys.argv])
    sys.exit("smtp-sink: the aiosmtpd module is missing; install python3-aiosmtpd: make deps")


class Sink:
    """The aiosmtpd handler: every message becomes one file in `directory`."""

    def __init__(self, directory):
        self.directory = directory
        self.counter = itertools.count(1)
        self.last_ns = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        lines = [f"X-Envelope-From: {envelope.mail_from}"]
        lines += [f"X-Envelope-To: {recipient}" for recipient in envelope.rcpt_tos]
        prefix = "".join(line + "\r\n" for line in lines).encode("utf-8", "surrogateescape")
        # Strictly increasing, even if the wall clock steps back: names sort in arrival order.
        self.last_ns = max(time.time_ns(), self.last_ns + 1)
        name = f"{self.last_ns}-{next(self.counter):06d}.eml"
        temporary = os.path.join(self.directory, f".{name}.tmp")
        try:
            with open(temporary, "wb") as file:
                file.write(prefix + envelope.original_content)
            os.replace(temporary, os.path.join(self.directory, name))
        except OSError as error:
            print(f"smtp-sink: cannot store a message: {error}", file=sys.stderr, flush=True)
            return "451 4.3.0 cannot store the message"
        return f"250 OK {name}"


async def serve(host, port, directory):
    loop = asyncio.get_running_loop()
    sink = Sink(directory)
    try:
        # A fixed hostname: without one aiosmtpd resolves the machine's FQDN for every connection.
        server = await loop.create_server(
            lambda: SMTP(sink, hostname="smtp-sink", enable_SMTPUTF8=True), host, port
        )
    except OSError as error:  # the port is taken, or the address is not this machine's
        raise SystemExit(f"smtp-sink: cannot listen on {host}:{port}: {error}") from None
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    bound = server.sockets[0].getsockname()[1]
    print(f"smtp-sink: listening on {host}:{bound}, writing to {directory}", flush=True)
    await stop.wait()
    # Open sessions end with the loop; a message is either stored whole or not at all.
    server.close()
    print("smtp-sink: stopped", flush=True)


def main():
    parser = argparse.ArgumentParser(description="A local SMTP sink writing one .eml per message.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--dir", required=True, help="where the .eml files go (created)")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    asyncio.run(serve(args.host, args.port, args.dir))


if __name__ == "__main__":
    main()
