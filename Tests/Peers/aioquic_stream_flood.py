"""A misbehaving aioquic client: opens more bidirectional streams than the server allows.

    aioquic_stream_flood.py --port P --streams N [--alpn echo] [--insecure] [--timeout 30]

aioquic itself respects the server's MAX_STREAMS, so after the handshake this script raises its own
copy of the limit and writes on N streams. A correct server closes the connection with
STREAM_LIMIT_ERROR (0x4). Prints one JSON line: {"closed": true, "error_code": ..., "reason": ...}
or {"closed": false} if the server let it through; exits 0 either way (the test judges).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from aioquic.asyncio.protocol import QuicConnectionProtocol

import aioquic_util
import peer_util


async def flood(args: argparse.Namespace) -> dict:
    configuration = aioquic_util.client_configuration(
        aioquic_util.split_alpns(args.alpn), "localhost", insecure=args.insecure)
    protocol = await aioquic_util.connect("127.0.0.1", args.port, configuration, QuicConnectionProtocol)
    quic = protocol._quic
    quic._remote_max_streams_bidi = 1 << 20  # pretend the server allowed far more streams than it did
    for _ in range(args.streams):
        quic.send_stream_data(quic.get_next_available_stream_id(), b"x" * 10)
    protocol.transmit()
    try:
        await asyncio.wait_for(protocol.wait_closed(), timeout=5.0)
    except asyncio.TimeoutError:
        await aioquic_util.close_connection(protocol)
        return {"closed": False}
    event = quic._close_event
    return {"closed": True, "error_code": event.error_code, "reason": event.reason_phrase}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--alpn", default="echo")
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    result = asyncio.run(asyncio.wait_for(flood(args), timeout=args.timeout))
    peer_util.emit(json.dumps(result))


if __name__ == "__main__":
    main()
