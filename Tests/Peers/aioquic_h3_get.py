"""HTTP/3 GET with aioquic's own HTTP/3 stack (aioquic.h3), against a server on 127.0.0.1.

    aioquic_h3_get.py --port PORT --path /health [--path /other ...] [--timeout 20]

Each path is fetched in turn on one connection (ALPN h3, certificate not verified: the caller pins the
server elsewhere). stdout: one JSON object per response, {"path", "status", "headers", "body"} (body as
text), then {"event":"exit","code":0}. Exit code 0 iff every request got a response.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3_ALPN, H3Connection
from aioquic.h3.events import DataReceived, H3Event, HeadersReceived
from aioquic.quic.events import QuicEvent

import aioquic_util
import peer_util


class H3Client(QuicConnectionProtocol):
    """Sends requests and gathers each stream's response."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.http = H3Connection(self._quic)
        self.responses: dict[int, dict] = {}
        self.done: dict[int, asyncio.Event] = {}

    async def get(self, authority: str, path: str, headers: list[tuple[bytes, bytes]] = ()) -> dict:
        stream_id = self._quic.get_next_available_stream_id()
        self.responses[stream_id] = {"path": path, "status": None, "headers": {}, "body": b""}
        self.done[stream_id] = asyncio.Event()
        self.http.send_headers(
            stream_id,
            [(b":method", b"GET"), (b":scheme", b"https"), (b":authority", authority.encode()), (b":path", path.encode()),
             (b"user-agent", b"aioquic"), *headers],
            end_stream=True,
        )
        self.transmit()
        await self.done[stream_id].wait()
        return self.responses[stream_id]

    def quic_event_received(self, event: QuicEvent) -> None:
        for h3_event in self.http.handle_event(event):
            self.h3_event_received(h3_event)

    def h3_event_received(self, event: H3Event) -> None:
        response = self.responses.get(event.stream_id)
        if response is None:
            return
        if isinstance(event, HeadersReceived):
            for name, value in event.headers:
                if name == b":status":
                    response["status"] = int(value)
                else:
                    response["headers"][name.decode()] = value.decode()
        elif isinstance(event, DataReceived):
            response["body"] += event.data
        if event.stream_ended:
            self.done[event.stream_id].set()


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", action="append", required=True)
    parser.add_argument("--header", action="append", default=[], help="NAME: VALUE sent with every request")
    parser.add_argument("--verbose", action="store_true")
    peer_util.add_lifetime_args(parser, default_timeout=20)
    args = parser.parse_args()
    aioquic_util.configure_logging(args.verbose)
    config = aioquic_util.client_configuration(H3_ALPN, "localhost", insecure=True)
    protocol = await aioquic_util.connect("127.0.0.1", args.port, config, H3Client)
    headers = [(name.strip().lower().encode(), value.strip().encode())
               for name, _, value in (header.partition(":") for header in args.header)]
    try:
        for path in args.path:
            response = await asyncio.wait_for(protocol.get(f"127.0.0.1:{args.port}", path, headers), args.timeout)
            response["body"] = response["body"].decode(errors="replace")
            peer_util.emit(json.dumps(response, separators=(",", ":")))
    finally:
        await aioquic_util.close_connection(protocol)
    peer_util.emit(json.dumps({"event": "exit", "code": 0}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
