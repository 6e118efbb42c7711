"""aioquic bulk-transfer peer: a throughput anchor for the Swift QUIC stack.

The client sends N bytes on one bidirectional stream, then FIN; the server counts what it receives
and, at FIN, answers on the same stream with the count as 8 bytes big-endian, then FIN.

server: aioquic_bulk.py server --cert C --key K [--port 0] [--alpn bulk] [--timeout 60]
    stdout: `READY <port>`; stderr: one `stream-end ...` line per stream, one `conn-end ...` per connection.

client: aioquic_bulk.py client [--host 127.0.0.1] --port P --bytes N [--alpn bulk]
        [--ca FILE | --insecure] [--server-name localhost] [--timeout 60]
    stdout: `RESULT bytes=N seconds=S` (S from the first byte sent to the count received), exit 0;
    or `ERROR <message>`, exit 1. stderr: the rate in MB/s (10^6 bytes per second).

The client never holds more than one 64 KiB buffer plus what the connection has not yet had
acknowledged: it feeds the stream each time the connection transmits, keeping at most
SEND_AHEAD bytes queued beyond what was already sent (so flow control is respected).
Both roles also exit when stdin reaches EOF (unless --ignore-stdin) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import struct
import sys
import time

from aioquic.asyncio import serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic import events

import aioquic_util
import peer_util

CHUNK = bytes(range(256)) * 256  # 64 KiB, reused for every write
SEND_AHEAD = 2 * aioquic_util.MIB


# --------------------------------------------------------------------------------------------------
# server


class BulkServerProtocol(QuicConnectionProtocol):
    """Counts the bytes of each stream and answers the count at FIN."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._counts: dict[int, int] = {}
        self._started: dict[int, float] = {}
        self._total = 0

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.StreamDataReceived):
            self._on_data(event.stream_id, len(event.data), event.end_stream)
        elif isinstance(event, events.StreamReset):
            self._counts.pop(event.stream_id, None)
            peer_util.log(f"stream-end stream={event.stream_id} reset={event.error_code:#x}")
        elif isinstance(event, events.ConnectionTerminated):
            peer_util.log(
                f"conn-end bytes={self._total} error_code={event.error_code} "
                f"frame_type={event.frame_type} reason={event.reason_phrase!r}"
            )

    def _on_data(self, stream_id: int, size: int, fin: bool) -> None:
        if stream_id not in self._counts:
            self._counts[stream_id] = 0
            self._started[stream_id] = time.monotonic()
        self._counts[stream_id] += size
        self._total += size
        if fin:
            count = self._counts.pop(stream_id)
            seconds = time.monotonic() - self._started.pop(stream_id)
            self._quic.send_stream_data(stream_id, struct.pack(">Q", count), end_stream=True)
            peer_util.log(f"stream-end stream={stream_id} bytes={count} seconds={seconds:.3f}")


async def run_server(args: argparse.Namespace) -> int:
    configuration = aioquic_util.server_configuration(args.cert, args.key, aioquic_util.split_alpns(args.alpn))
    server = await serve("127.0.0.1", args.port, configuration=configuration, create_protocol=BulkServerProtocol)
    peer_util.ready(server._transport.get_extra_info("sockname")[1])
    await peer_util.run_until_exit(args, "aioquic_bulk server")
    server.close()
    return 0


# --------------------------------------------------------------------------------------------------
# client


class BulkClientProtocol(QuicConnectionProtocol):
    """Sends `total` bytes on one stream, feeding it whenever the connection has transmitted."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        loop = asyncio.get_running_loop()
        self.stream_id: int | None = None
        self.remaining = 0
        self.started = 0.0
        self.answer = bytearray()
        self.answered: asyncio.Future[None] = loop.create_future()

    def start(self, total: int) -> None:
        self.stream_id = self._quic.get_next_available_stream_id()
        self.remaining = total
        self.started = time.monotonic()
        self._quic.send_stream_data(self.stream_id, b"", end_stream=total == 0)  # creates the stream
        self._feed()
        self.transmit()

    def transmit(self) -> None:
        super().transmit()
        self._feed()

    def _feed(self) -> None:
        """Queues more data while less than SEND_AHEAD bytes are waiting to be sent."""
        if self.remaining == 0:
            return
        sender = self._quic._streams[self.stream_id].sender
        wrote = False
        while self.remaining > 0 and sender._buffer_stop - sender.highest_offset < SEND_AHEAD:
            chunk = CHUNK if self.remaining >= len(CHUNK) else CHUNK[: self.remaining]
            self.remaining -= len(chunk)
            self._quic.send_stream_data(self.stream_id, chunk, end_stream=self.remaining == 0)
            wrote = True
        if wrote:
            self._transmit_soon()

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.StreamDataReceived) and event.stream_id == self.stream_id:
            self.answer += event.data
            if event.end_stream and not self.answered.done():
                self.answered.set_result(None)
        elif isinstance(event, events.StreamReset) and event.stream_id == self.stream_id:
            self._fail(f"stream reset by server, code {event.error_code:#x}")
        elif isinstance(event, events.ConnectionTerminated):
            self._fail(f"connection closed: error_code={event.error_code:#x} reason={event.reason_phrase!r}")

    def _fail(self, message: str) -> None:
        if not self.answered.done():
            self.answered.set_exception(ConnectionError(message))


async def transfer(args: argparse.Namespace) -> float:
    """Runs one transfer and returns its duration in seconds; raises on any failure."""
    configuration = aioquic_util.client_configuration(
        aioquic_util.split_alpns(args.alpn), args.server_name, ca=args.ca, insecure=args.insecure,
    )
    protocol = await aioquic_util.connect(args.host, args.port, configuration, BulkClientProtocol)
    try:
        protocol.start(args.bytes)
        await protocol.answered
        seconds = time.monotonic() - protocol.started
    finally:
        await aioquic_util.close_connection(protocol)
    if len(protocol.answer) != 8:
        raise ConnectionError(f"expected an 8-byte count, got {len(protocol.answer)} bytes")
    (count,) = struct.unpack(">Q", protocol.answer)
    if count != args.bytes:
        raise ConnectionError(f"server counted {count} bytes, sent {args.bytes}")
    return seconds


async def run_client(args: argparse.Namespace) -> int:
    work = asyncio.ensure_future(transfer(args))
    exit_reason = asyncio.ensure_future(peer_util.wait_for_exit(args.timeout, watch_stdin=not args.ignore_stdin))
    await asyncio.wait({work, exit_reason}, return_when=asyncio.FIRST_COMPLETED)
    exit_reason.cancel()
    if not work.done():
        work.cancel()
        peer_util.emit(f"ERROR aborted: {exit_reason.result()}")
        return 1
    try:
        seconds = work.result()
    except Exception as error:
        peer_util.emit(f"ERROR {type(error).__name__}: {error}")
        return 1
    peer_util.emit(f"RESULT bytes={args.bytes} seconds={seconds:.6f}")
    peer_util.log(f"rate: {args.bytes / seconds / 1e6:.1f} MB/s")
    return 0


# --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    roles = parser.add_subparsers(dest="role", required=True)

    server = roles.add_parser("server", help="counting sink")
    server.add_argument("--cert", required=True, help="PEM certificate (chain)")
    server.add_argument("--key", required=True, help="PEM private key")
    server.add_argument("--alpn", default="bulk", help="comma-separated ALPNs, in preference order")
    server.add_argument("--port", type=int, default=0)

    client = roles.add_parser("client", help="bulk sender")
    client.add_argument("--host", default="127.0.0.1")
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--bytes", type=int, required=True, help="how many bytes to send")
    client.add_argument("--alpn", default="bulk", help="comma-separated ALPNs to offer")
    trust = client.add_mutually_exclusive_group()
    trust.add_argument("--ca", help="PEM file of CA certificates to verify the server with")
    trust.add_argument("--insecure", action="store_true", help="do not verify the server certificate")
    client.add_argument("--server-name", default="localhost", help="SNI and name to verify")

    for role in (server, client):
        role.add_argument("--verbose", action="store_true", help="log aioquic's own messages to stderr")
        peer_util.add_lifetime_args(role)
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args(sys.argv[1:])
    aioquic_util.configure_logging(args.verbose)
    return asyncio.run(run_server(args) if args.role == "server" else run_client(args))


if __name__ == "__main__":
    sys.exit(main())
