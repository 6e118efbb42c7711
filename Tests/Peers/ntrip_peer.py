"""NTRIP test peers and checks for Tests/NTRIPTests (real libraries: pyrtcm, pygnssutils, ntripstreams).

    ntrip_peer.py make      --out FILE [--epochs N] [--text-messages K]   deterministic RTCM3 stream, ~1 KiB epochs
    ntrip_peer.py pace      FILE [--interval S] [--hold S]               epochs to stdout (feeds str2str)
    ntrip_peer.py source    --port P --mount M --password PW [--version 1|2] [--user U] [--chunked]
                            [--file F] [--interval S] [--hold S]          a raw-socket source (v1 SOURCE / v2 POST)
    ntrip_peer.py client    --port P --mount M [--user U --password PW] [--version 1|2] [--gga LINE] --out F
                            [--seconds S] [--until F] [--max-bytes N]     a raw-socket client; the body goes to --out
                            [--stall S [--stall-until F]]                 (--stall: read nothing first, a stuck client)
    ntrip_peer.py pyg       --port P --mount M --user U --password PW --version 1.0|2.0 --out F [--seconds S]
                            [--gga-interval N]                            the pygnssutils client library
    ntrip_peer.py ntripstreams-source --port P --mount M --user U --password PW --file F [--interval S]
    ntrip_peer.py sourcetable-pyg --port P                                 pygnssutils reading the sourcetable
    ntrip_peer.py check     --source F --out F [--strip-gga] [--skip-head]  byte-exact slice + pyrtcm validation
    ntrip_peer.py check-moq --out F --frame-size N --frames-per-group K    bytes are consecutive moq_ref frames
    ntrip_peer.py hashes    FILE                                           sha256 of each RTCM3 frame, one a line

stdout: one JSON object per line ({"event": ...}); checks print one object with "ok".
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import io
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
from moq_ref_payload import make_payload  # noqa: E402


def out(event: str, **fields) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


# ------------------------------------------------------------------------------------------------
# RTCM3


def crc24q(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


class Bits:
    def __init__(self) -> None:
        self.value = 0
        self.count = 0

    def put(self, value: int, width: int) -> None:
        self.value = (self.value << width) | (value & ((1 << width) - 1))
        self.count += width

    def bytes(self) -> bytes:
        pad = (-self.count) % 8
        return (self.value << pad).to_bytes((self.count + pad) // 8, "big")


def frame(payload: bytes) -> bytes:
    head = bytes([0xD3, (len(payload) >> 8) & 0x03, len(payload) & 0xFF]) + payload
    return head + crc24q(head).to_bytes(3, "big")


def msg1005(station: int, x: int, y: int, z: int) -> bytes:
    b = Bits()
    for value, width in ((1005, 12), (station, 12), (0, 6), (1, 1), (1, 1), (1, 1), (0, 1), (x, 38), (0, 1),
                         (0, 1), (y, 38), (0, 2), (z, 38)):
        b.put(value, width)
    return frame(b.bytes())


def msg1029(station: int, epoch: int, text: str) -> bytes:
    data = text.encode()
    b = Bits()
    for value, width in ((1029, 12), (station, 12), (60000 + epoch // 86400, 16), (epoch % 86400, 17),
                         (len(text), 7), (len(data), 8)):
        b.put(value, width)
    return frame(b.bytes() + data)


def make_stream(epochs: int, text_messages: int) -> list[bytes]:
    """One bytes object per epoch: a 1005 and <text_messages> 1029 messages (about 1 KiB with 4)."""
    result = []
    for epoch in range(epochs):
        parts = [msg1005(2101, 40278936719 + epoch, 3070459064, 49194751704)]
        for k in range(text_messages):
            text = (f"epoch {epoch:06d} message {k} " * 12)[:120]
            parts.append(msg1029(2101, epoch, text))
        result.append(b"".join(parts))
    return result


def split_frames(data: bytes) -> tuple[list[bytes], int]:
    """(whole CRC-valid frames from the first preamble on, bytes skipped)."""
    frames, index, skipped = [], 0, 0
    while index < len(data):
        if data[index] != 0xD3 or index + 3 > len(data):
            index += 1
            skipped += 1
            continue
        length = ((data[index + 1] & 0x03) << 8) | data[index + 2]
        end = index + 3 + length + 3
        if end > len(data):
            skipped += len(data) - index
            break
        if crc24q(data[index:end - 3]) == int.from_bytes(data[end - 3:end], "big"):
            frames.append(data[index:end])
            index = end
        else:
            index += 1
            skipped += 1
    return frames, skipped


def epochs_of(data: bytes) -> list[bytes]:
    """Epochs of a stream made by `make` (each starts with a 1005)."""
    frames, _ = split_frames(data)
    epochs: list[list[bytes]] = []
    for f in frames:
        if ((f[3] << 4) | (f[4] >> 4)) == 1005 or not epochs:
            epochs.append([])
        epochs[-1].append(f)
    return [b"".join(e) for e in epochs]


# ------------------------------------------------------------------------------------------------
# commands


def cmd_make(args) -> int:
    with open(args.out, "wb") as f:
        f.write(b"".join(make_stream(args.epochs, args.text_messages)))
    return 0


def cmd_pace(args) -> int:
    epochs = epochs_of(open(args.file, "rb").read())
    for epoch in epochs:
        sys.stdout.buffer.write(epoch)
        sys.stdout.buffer.flush()
        time.sleep(args.interval)
    time.sleep(args.hold)
    return 0


def auth(user: str | None, password: str | None) -> str:
    if user is None:
        return ""
    token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
    return f"Authorization: Basic {token}\r\n"


def read_head(sock: socket.socket, limit: int = 8192) -> tuple[bytes, bytes]:
    """(reply head up to the first line break or blank line, bytes after it)."""
    data = b""
    while True:
        for marker in (b"\r\n\r\n",):
            if marker in data:
                head, rest = data.split(marker, 1)
                return head + marker, rest
        if data.startswith(b"ICY 200 OK\r\n") and not data.startswith(b"ICY 200 OK\r\n\r\n") and len(data) > 12:
            return data[:12], data[12:]
        if data.startswith(b"ERROR") and b"\r\n" in data:
            head, rest = data.split(b"\r\n", 1)
            return head + b"\r\n", rest
        chunk = sock.recv(4096)
        if not chunk:
            return data, b""
        data += chunk
        if len(data) > limit:
            return data, b""


def cmd_source(args) -> int:
    epochs = epochs_of(open(args.file, "rb").read()) if args.file else []
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=10)
    if args.version == 1:
        request = f"SOURCE {args.password} /{args.mount}\r\nSource-Agent: NTRIP ntrip_peer/1.0\r\nSTR: \r\n\r\n"
    else:
        te = "Transfer-Encoding: chunked\r\n" if args.chunked else ""
        request = (f"POST /{args.mount} HTTP/1.1\r\nHost: 127.0.0.1\r\nNtrip-Version: Ntrip/2.0\r\n"
                   f"User-Agent: NTRIP ntrip_peer/1.0\r\n{auth(args.user, args.password)}{te}Connection: close\r\n\r\n")
    sock.sendall(request.encode())
    if args.version == 1:
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        head = data
    else:
        head, _ = read_head(sock)
    text = head.decode(errors="replace")
    out("reply", text=text)
    if " 200 " not in text.split("\r\n")[0] + " ":
        out("refused", text=text)
        return 1
    sent = 0
    try:
        for epoch in epochs * args.loops:
            if args.chunked:
                sock.sendall(b"%x\r\n" % len(epoch) + epoch + b"\r\n")
            else:
                sock.sendall(epoch)
            sent += len(epoch)
            if args.interval > 0 or sent == len(epoch):
                out("sent", bytes=sent)
                time.sleep(args.interval)
        if args.chunked:
            sock.sendall(b"0\r\n\r\n")
        out("done", bytes=sent)
        time.sleep(args.hold)
    except OSError as error:
        out("error", error=str(error), bytes=sent)
        return 1
    sock.close()
    return 0


def dechunk(data: bytes) -> bytes:
    body, index = b"", 0
    while index < len(data):
        line_end = data.find(b"\r\n", index)
        if line_end < 0:
            break
        size = int(data[index:line_end].split(b";")[0], 16)
        if size == 0 or line_end + 2 + size > len(data):
            body += data[line_end + 2:line_end + 2 + size]
            break
        body += data[line_end + 2:line_end + 2 + size]
        index = line_end + 2 + size + 2
    return body


def cmd_client(args) -> int:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if args.stall:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(args.seconds + args.stall + 5)
    sock.connect(("127.0.0.1", args.port))
    out("connected", port=sock.getsockname()[1])
    version = "Ntrip-Version: Ntrip/2.0\r\n" if args.version == 2 else ""
    protocol = "HTTP/1.1" if args.version == 2 else "HTTP/1.0"
    gga = f"Ntrip-GGA: {args.gga}\r\n" if args.gga and args.version == 2 else ""
    request = (f"GET /{args.mount} {protocol}\r\nUser-Agent: NTRIP ntrip_peer/1.0\r\n{version}"
               f"{auth(args.user, args.password)}{gga}\r\n")
    sock.sendall(request.encode())
    if args.gga and args.version == 1:
        sock.sendall(args.gga.encode() + b"\r\n")
    if args.stall:
        out("stalling")
        stall_end = time.monotonic() + args.stall
        while time.monotonic() < stall_end and not (args.stall_until and os.path.exists(args.stall_until)):
            time.sleep(min(0.05, max(0.0, stall_end - time.monotonic())))
    head, rest = read_head(sock)
    out("reply", text=head.decode(errors="replace"))
    data = bytearray(rest)
    deadline = time.monotonic() + args.seconds
    sock.settimeout(0.5)
    closed = False
    while time.monotonic() < deadline and not (args.until and os.path.exists(args.until)):
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            closed = True
            break
        data += chunk
        if args.max_bytes and len(data) >= args.max_bytes:
            break
    body = dechunk(data) if b"Transfer-Encoding: chunked" in head else data
    with open(args.out, "wb") as f:
        f.write(body)
    out("done", bytes=len(body), closed=closed)
    return 0


def cmd_pyg(args) -> int:
    from pygnssutils import GNSSNTRIPClient

    sink = open(args.out, "wb")
    client = GNSSNTRIPClient(None, timeout=20, retries=0, retryinterval=1, verbosity=0)
    kwargs = dict(server="127.0.0.1", port=args.port, https=0, mountpoint=args.mount, ntripuser=args.user,
                  ntrippassword=args.password, version=args.version, output=sink,
                  ggainterval=args.gga_interval, ggamode=1, reflat=50.1, reflon=8.1, refalt=100, refsep=0)
    client.run(**kwargs)
    time.sleep(args.seconds)
    client.stop()
    time.sleep(0.5)
    sink.close()
    out("done", bytes=len(open(args.out, "rb").read()))
    return 0


def cmd_sourcetable_pyg(args) -> int:
    from pygnssutils import GNSSNTRIPClient

    client = GNSSNTRIPClient(None, timeout=10, retries=0, retryinterval=1, verbosity=0)
    client.run(server="127.0.0.1", port=args.port, https=0, mountpoint="", ntripuser="user", ntrippassword="password",
               version=args.version, output=None, ggainterval=-1)
    deadline = time.monotonic() + 10
    table = []
    while time.monotonic() < deadline:
        table = client.settings.get("sourcetable") or []
        if table:
            break
        time.sleep(0.1)
    client.stop()
    out("sourcetable", mounts=[row[0] for row in table])
    return 0


def cmd_ntripstreams_source(args) -> int:
    from ntripstreams import NtripStream

    epochs = epochs_of(open(args.file, "rb").read())

    async def main() -> None:
        stream = NtripStream()
        await stream.requestNtripServer(f"http://127.0.0.1:{args.port}", args.mount, args.user, args.password,
                                        ntripVersion=2)
        out("connected")
        sent = 0
        for epoch in epochs:
            stream.ntripWriter.write(epoch)
            await stream.ntripWriter.drain()
            sent += len(epoch)
            await asyncio.sleep(args.interval)
        out("done", bytes=sent)
        await asyncio.sleep(args.hold)

    asyncio.run(main())
    return 0


GGA_LINE = re.compile(rb"\$G[A-Z]GGA,[^\r\n]*\r\n")


def cmd_check(args) -> int:
    source = open(args.source, "rb").read()
    data = open(args.out, "rb").read()
    if args.strip_gga:
        data = GGA_LINE.sub(b"", data)
    result = {"bytes": len(data)}
    position = source.find(data) if data else -1
    result["slice"] = position >= 0
    result["offset"] = position
    result["at_frame_boundary"] = position >= 0 and (position == 0 or position in frame_starts(source))
    from pyrtcm import RTCMReader

    frames = 0
    error = None
    try:
        for raw, parsed in RTCMReader(io.BytesIO(data), validate=1, quitonerror=2):
            if parsed is not None:
                frames += 1
    except Exception as exc:  # noqa: BLE001
        error = f"{type(exc).__name__}: {exc}"
    result.update(frames=frames, pyrtcm_error=error)
    expected = len(split_frames(data)[0])
    result["ok"] = bool(data) and result["slice"] and error is None and frames == expected and frames > 0
    print(json.dumps(result), flush=True)
    return 0


def frame_starts(source: bytes) -> set[int]:
    starts, index = set(), 0
    for f in split_frames(source)[0]:
        index = source.find(f, index)
        starts.add(index)
        index += len(f)
    return starts


def cmd_check_moq(args) -> int:
    data = open(args.out, "rb").read()
    size = args.frame_size
    chunks = [data[i:i + size] for i in range(0, len(data) - len(data) % size, size)]
    ok = len(chunks) > 0 and len(data) % size == 0
    previous = None
    for chunk in chunks:
        header = re.match(rb"g(\d{8}) f(\d{5})", chunk)
        if header is None:
            ok = False
            break
        group, index = int(header.group(1)), int(header.group(2))
        if chunk != make_payload(group, index, size):
            ok = False
            break
        if previous is not None:
            expected = (previous[0], previous[1] + 1) if previous[1] + 1 < args.frames_per_group else (previous[0] + 1, 0)
            if (group, index) != expected:
                ok = False
                break
        previous = (group, index)
    print(json.dumps({"ok": ok, "bytes": len(data), "frames": len(chunks)}), flush=True)
    return 0


def cmd_hashes(args) -> int:
    for f in split_frames(open(args.file, "rb").read())[0]:
        print(hashlib.sha256(f).hexdigest())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make")
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--text-messages", type=int, default=4)
    p = sub.add_parser("pace")
    p.add_argument("file")
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--hold", type=float, default=30)
    for name in ("source", "ntripstreams-source"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, required=True)
        p.add_argument("--mount", required=True)
        p.add_argument("--user")
        p.add_argument("--password", default="")
        p.add_argument("--version", type=int, default=1)
        p.add_argument("--chunked", action="store_true")
        p.add_argument("--file")
        p.add_argument("--interval", type=float, default=0.1)
        p.add_argument("--hold", type=float, default=1)
        p.add_argument("--loops", type=int, default=1)
    p = sub.add_parser("client")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mount", required=True)
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--version", type=int, default=1)
    p.add_argument("--gga")
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--max-bytes", type=int, default=0)
    p.add_argument("--stall", type=float, default=0, help="read nothing for this long first (a stuck client)")
    p.add_argument("--stall-until", help="end the stall early once this file exists")
    p.add_argument("--until", help="stop reading once this file exists (--seconds still bounds it)")
    p = sub.add_parser("pyg")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--mount", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--version", default="1.0")
    p.add_argument("--out", required=True)
    p.add_argument("--seconds", type=float, default=5)
    p.add_argument("--gga-interval", type=int, default=-1)
    p = sub.add_parser("sourcetable-pyg")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--version", default="2.0")
    p = sub.add_parser("check")
    p.add_argument("--source", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--strip-gga", action="store_true")
    p = sub.add_parser("check-moq")
    p.add_argument("--out", required=True)
    p.add_argument("--frame-size", type=int, required=True)
    p.add_argument("--frames-per-group", type=int, required=True)
    p = sub.add_parser("hashes")
    p.add_argument("file")
    args = parser.parse_args()
    command = {"make": cmd_make, "pace": cmd_pace, "source": cmd_source, "client": cmd_client, "pyg": cmd_pyg,
               "sourcetable-pyg": cmd_sourcetable_pyg, "ntripstreams-source": cmd_ntripstreams_source,
               "check": cmd_check, "check-moq": cmd_check_moq, "hashes": cmd_hashes}[args.command]
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
