"""L7RTCP push client: init a stateful transmission without `pull` (Python `requests`), open
`GET /l7rtcp/ws/{id}` as a WebSocket (RFC 6455 client framing written here, on a plain socket), read
`--count` binary push frames of stream 0, check each frame's version, packet order and CRC32C, ask for a
resend of `--resend` ids over a text frame and check the re-sent bytes equal the first ones; finally check
that the chunks joined are whole reference frames (moq_ref_payload), byte-exact.

Prints JSON lines; the last is {"event":"done","ok":...}; exit status 0 iff ok.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import struct
import sys
import time

import requests

from l7rtcp_client import check_frames, crc32c, emit


class WebSocket:
    def __init__(self, host: str, port: int, path: str, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                          .encode())
        head = b""
        while b"\r\n\r\n" not in head:
            data = self.sock.recv(4096)
            if not data:
                raise ConnectionError("closed during the handshake")
            head += data
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        self.status = int(head.split(b" ")[1])

    def _read(self, count: int) -> bytes:
        while len(self.buffer) < count:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed")
            self.buffer += data
        out, self.buffer = self.buffer[:count], self.buffer[count:]
        return out

    def receive(self) -> tuple[int, bytes]:
        first, second = self._read(2)
        opcode = first & 0x0F
        length = second & 0x7F
        if length == 126:
            length = struct.unpack(">H", self._read(2))[0]
        elif length == 127:
            length = struct.unpack(">Q", self._read(8))[0]
        return opcode, self._read(length)

    def send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        header = bytes([0x80 | opcode])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack(">H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)


def parse_push(payload: bytes) -> tuple[int, int, int, bytes] | None:
    if len(payload) < 16 or payload[0] != 1:
        return None
    kind, index, packet, crc = struct.unpack(">BHQI", payload[1:16])
    body = payload[16:]
    return (kind, index, packet, body) if crc32c(body) == crc else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT")
    parser.add_argument("--stream", required=True)
    parser.add_argument("--chunk-size", type=int, default=1024)
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--resend", default="1,2")
    parser.add_argument("--frame-size", type=int, required=True)
    parser.add_argument("--frames-per-group", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    reply = requests.post(f"{args.base}/l7rtcp/init", headers={
        "X-Client-ID": "ws-client", "X-Features-Supported": "core,resend,ttl", "X-Session-Type": "stateful",
        "X-Streams": args.stream, "X-Chunk-Size": str(args.chunk_size),
    }, timeout=10)
    if reply.status_code != 200:
        emit(event="done", ok=False, error=f"init {reply.status_code} {reply.text}")
        return 1
    tx = reply.headers["X-Transmission-ID"]
    host, port = args.base.split("//")[1].split(":")
    ws = WebSocket(host, int(port), f"/l7rtcp/ws/{tx}", timeout=args.timeout)
    emit(event="open", status=ws.status, transmission=tx)
    if ws.status != 101:
        emit(event="done", ok=False, error=f"upgrade answered {ws.status}")
        return 1
    chunks: dict[int, bytes] = {}
    expected = 0
    while len(chunks) < args.count:
        opcode, payload = ws.receive()
        if opcode != 2:
            continue
        frame = parse_push(payload)
        if frame is None or frame[1] != 0 or frame[2] != expected or len(frame[3]) > args.chunk_size:
            emit(event="done", ok=False, error=f"bad push frame after packet {expected - 1}: {payload[:16].hex()}")
            return 1
        chunks[frame[2]] = frame[3]
        expected += 1
    resend = [int(x) for x in args.resend.split(",") if x]
    ws.send(1, json.dumps({"op": "resend", "stream": args.stream, "chunks": resend}).encode())
    again: dict[int, bytes] = {}
    answer = None
    deadline = time.monotonic() + 20
    while (answer is None or len(again) < len(resend)) and time.monotonic() < deadline:
        opcode, payload = ws.receive()
        if opcode == 1:
            message = json.loads(payload)
            if message.get("op") == "resend":
                answer = message
        elif opcode == 2:
            frame = parse_push(payload)
            if frame and frame[2] in resend and frame[2] not in again:
                again[frame[2]] = frame[3]
    emit(event="resend", answer=answer, resent=sorted(again))
    ws.send(8, struct.pack(">H", 1000))
    resent_ok = answer is not None and sorted(answer.get("chunks_queued", [])) == sorted(resend) and all(
        again.get(p) == chunks[p] for p in resend)
    data = b"".join(chunks[p] for p in range(args.count))
    ok, reason, frames = check_frames(data, args.frame_size, args.frames_per_group)
    status = requests.get(f"{args.base}/l7rtcp/status/{tx}", timeout=10).json()
    received = status["streams"][args.stream]["received"]
    emit(event="done", ok=ok and resent_ok, error=reason or ("" if resent_ok else "resend mismatch"),
         chunks=len(chunks), bytes=len(data), frames=frames, received=len(received))
    return 0 if ok and resent_ok else 1


if __name__ == "__main__":
    sys.exit(main())
