"""L7RTCP pull client over HTTP/1.1 with Python `requests`: init, pull chunks 0..N-1 (long-poll), drop some
on purpose (their bodies are discarded as if lost), resend them, pull them again, then check the bytes.

The track is published by the reference moq-rs client (moq_ref.py publish) with fixed-size frames, so the
concatenation of all chunks must be whole frames, each byte-exact per moq_ref_payload.make_payload, in
(group, frame) order. Prints JSON lines; the last is {"event":"done","ok":...}; exit status 0 iff ok.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import requests

from moq_ref_payload import make_payload


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def emit(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def check_frames(data: bytes, frame_size: int, frames_per_group: int) -> tuple[bool, str, int]:
    """Every frame_size slice is a reference frame, in strictly increasing (group, frame) order."""
    if len(data) % frame_size:
        return False, f"{len(data)} bytes is not a whole number of {frame_size}-byte frames", 0
    previous = None
    frames = 0
    for offset in range(0, len(data), frame_size):
        piece = data[offset:offset + frame_size]
        try:
            group = int(piece[1:9])
            index = int(piece[11:16])
        except ValueError:
            return False, f"no frame header at byte {offset}", frames
        if piece != make_payload(group, index, frame_size):
            return False, f"frame g{group} f{index} at byte {offset} differs", frames
        key = (group, index)
        if previous is not None:
            expected_next = (previous[0], previous[1] + 1) if previous[1] + 1 < frames_per_group else None
            if key <= previous or (expected_next is not None and group == previous[0] and key != expected_next):
                return False, f"frame {key} follows {previous}", frames
        previous = key
        frames += 1
    return True, "", frames


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--stream", required=True)
    parser.add_argument("--client-id", default="py-client")
    parser.add_argument("--session", default="stateful")
    parser.add_argument("--features", default="core,resend,ttl,pull")
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--drop", default="", help="comma-separated packet ids whose bodies are discarded")
    parser.add_argument("--frame-size", type=int, required=True)
    parser.add_argument("--frames-per-group", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    session = requests.Session()
    base = args.base.rstrip("/")

    reply = session.post(f"{base}/l7rtcp/init", headers={
        "X-Client-ID": args.client_id, "X-Features-Supported": args.features, "X-Session-Type": args.session,
        "X-Streams": args.stream, "X-Chunk-Size": str(args.chunk_size), "X-TTL": "600",
    }, timeout=10)
    if reply.status_code != 200:
        emit(event="done", ok=False, error=f"init {reply.status_code} {reply.text}")
        return 1
    tx = reply.headers["X-Transmission-ID"]
    emit(event="init", transmission=tx, features=reply.headers.get("X-Features-Enabled"),
         chunk_size=reply.headers.get("X-Chunk-Size"))

    dropped = {int(x) for x in args.drop.split(",") if x}
    chunks: dict[int, bytes] = {}
    statuses: dict[int, int] = {}

    def pull(packet: int) -> requests.Response | None:
        while time.monotonic() < deadline:
            response = session.post(f"{base}/l7rtcp/transmit", headers={
                "X-Transmission-ID": tx, "X-Stream-ID": args.stream, "X-Packet-ID": str(packet), "X-Wait-Ms": "5000",
            }, timeout=15)
            if response.status_code == 204:
                continue
            return response
        return None

    for packet in range(args.count):
        response = pull(packet)
        if response is None or response.status_code not in (200, 209):
            emit(event="done", ok=False, error=f"pull {packet}: {response and response.status_code} "
                 f"{response and response.text}")
            return 1
        statuses[packet] = response.status_code
        body = response.content
        if int(response.headers["X-Packet-ID"]) != packet or len(body) > args.chunk_size:
            emit(event="done", ok=False, error=f"pull {packet}: bad echo or size {len(body)}")
            return 1
        if int(response.headers["X-Chunk-CRC32C"], 16) != crc32c(body):
            emit(event="done", ok=False, error=f"pull {packet}: CRC32C mismatch")
            return 1
        if packet not in dropped:
            chunks[packet] = body

    status = session.get(f"{base}/l7rtcp/status/{tx}", timeout=10).json()
    emit(event="status", received=len(status["streams"][args.stream]["received"]))

    if dropped:
        reply = session.post(f"{base}/l7rtcp/resend/{tx}", json={"stream": args.stream, "chunks": sorted(dropped)},
                             timeout=10)
        body = reply.json()
        emit(event="resend", status=reply.status_code, queued=body.get("chunks_queued"),
             unavailable=body.get("unavailable"))
        if reply.status_code != 200 or sorted(body.get("chunks_queued", [])) != sorted(dropped):
            emit(event="done", ok=False, error=f"resend {reply.status_code} {reply.text}")
            return 1
        for packet in sorted(dropped):
            response = pull(packet)
            if response is None or response.status_code not in (200, 209):
                emit(event="done", ok=False, error=f"re-pull {packet} failed")
                return 1
            chunks[packet] = response.content

    data = b"".join(chunks[p] for p in range(args.count))
    ok, reason, frames = check_frames(data, args.frame_size, args.frames_per_group)
    emit(event="done", ok=ok, error=reason, chunks=len(chunks), bytes=len(data), frames=frames,
         resent=sorted(dropped), statuses=sorted(set(statuses.values())))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
