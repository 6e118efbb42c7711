"""Reference moq-lite server (moq-rs / moq-ffi, the Rust reference implementation) for Swift tests.

    moq_server.py [--port 0] [--timeout 60] [--log-level warn]

Serves raw QUIC and WebTransport on 127.0.0.1 with a freshly generated self-signed certificate for
"localhost". Every incoming session is accepted and shares one origin, so the server is also a mini
relay: what one session announces, the others can subscribe to.

stdout: `READY <port> <fingerprint>` where <fingerprint> is the SHA-256 of the certificate's DER,
64 lowercase hex digits (for certificate pinning).
stderr: `session-start ...` / `session-end ...` per session, plus the Rust log if --log-level is set.
Exits after --timeout seconds, when stdin reaches EOF (unless --ignore-stdin), or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import moq

import peer_util


def port_of(local_addr: str) -> int:
    """"127.0.0.1:4443" -> 4443."""
    return int(local_addr.rpartition(":")[2])


def fingerprint_hex(fingerprint: str) -> str:
    """Normalizes a SHA-256 fingerprint to lowercase hex without separators."""
    return fingerprint.replace(":", "").lower()


async def hold_session(request: moq.Request, number: int) -> None:
    """Accepts one session and keeps it alive until it closes."""
    where = f"session={number} transport={request.transport} path={request.path!r}"
    try:
        session = await request.accept()
    except Exception as error:  # e.g. the client only did the QUIC handshake and left
        peer_util.log(f"session-end {where} accept failed: {error}")
        return
    peer_util.log(f"session-start {where}")
    try:
        await session.closed()
        peer_util.log(f"session-end {where} closed")
    except Exception as error:
        peer_util.log(f"session-end {where} closed: {error}")


async def accept_sessions(server: moq.Server) -> None:
    """The accept loop: one task per session, dropped from the set when it ends."""
    sessions: set[asyncio.Task] = set()
    number = 0
    async for request in server:
        number += 1
        task = asyncio.create_task(hold_session(request, number))
        sessions.add(task)
        task.add_done_callback(sessions.discard)


async def run(args: argparse.Namespace) -> int:
    if args.log_level:
        moq.log_level(args.log_level)
    async with moq.Server(f"127.0.0.1:{args.port}", tls_generate=["localhost"]) as server:
        fingerprints = server.cert_fingerprints()
        peer_util.ready(port_of(server.local_addr), fingerprint_hex(fingerprints[0]))
        accepting = asyncio.create_task(accept_sessions(server))
        await peer_util.run_until_exit(args, "moq_server")
        accepting.cancel()
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log-level", choices=["error", "warn", "info", "debug", "trace"],
                        help="enable the Rust layer's log on stderr")
    peer_util.add_lifetime_args(parser)
    return parser.parse_args(argv)


def main() -> int:
    return asyncio.run(run(parse_args(sys.argv[1:])))


if __name__ == "__main__":
    sys.exit(main())
