"""Lossy UDP forwarder for QUIC loss and reordering tests.

    lossy_forwarder.py --target HOST:PORT [--listen-host 127.0.0.1] [--listen-port 0] [--drop 0.05]
        [--delay-ms 40] [--reorder 0.02] [--seed 1] [--follow-client] [--timeout 120]

Listens on --listen-host (127.0.0.1 by default; the namespace tests give a veth address). The first
address that sends to it becomes the client; datagrams from any other address are ignored, unless
--follow-client: then a datagram from a new address makes that address the client (a relay that
redials its cluster link from a fresh port keeps passing through). Client datagrams go to the target from a separate socket, and the
target's answers go back to the client. In both directions each datagram is dropped with
probability --drop, otherwise delayed by --delay-ms (one way, so the RTT grows by twice that);
with probability --reorder a forwarded datagram gets an extra random 5-20 ms so that later ones
overtake it. The random choices come from --seed, so a run is repeatable for a given packet order.

stdout: `READY <port>`. On exit (timeout, stdin EOF, SIGTERM/SIGINT), stderr gets
`forwarded=<n> dropped=<n> reordered=<n>` (counted over both directions).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

import peer_util

REORDER_EXTRA_MS = (5.0, 20.0)


@dataclass
class Stats:
    forwarded: int = 0
    dropped: int = 0
    reordered: int = 0
    ignored: int = 0  # datagrams from addresses other than the client

    def line(self) -> str:
        return f"forwarded={self.forwarded} dropped={self.dropped} reordered={self.reordered}"


class DelayLine:
    """Delivers datagrams after a fixed delay, first in first out.

    Reordered datagrams are scheduled on their own timer with an extra delay, outside the FIFO.
    """

    def __init__(self, delay: float, deliver: Callable[[bytes], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._delay = delay
        self._deliver = deliver
        self._queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None

    def push(self, data: bytes, extra_delay: float = 0.0) -> None:
        if extra_delay:
            self._loop.call_later(self._delay + extra_delay, self._deliver, data)
            return
        self._queue.append((self._loop.time() + self._delay, data))
        if self._timer is None:
            self._timer = self._loop.call_at(self._queue[0][0], self._drain)

    def _drain(self) -> None:
        self._timer = None
        now = self._loop.time()
        while self._queue and self._queue[0][0] <= now:
            self._deliver(self._queue.popleft()[1])
        if self._queue:
            self._timer = self._loop.call_at(self._queue[0][0], self._drain)


class Impairment:
    """Decides the fate of each datagram: drop, forward in order, or forward late."""

    def __init__(self, args: argparse.Namespace, stats: Stats) -> None:
        self._random = random.Random(args.seed)
        self._drop = args.drop
        self._reorder = args.reorder
        self._stats = stats

    def apply(self, data: bytes, line: DelayLine) -> None:
        if self._random.random() < self._drop:
            self._stats.dropped += 1
            return
        self._stats.forwarded += 1
        if self._random.random() < self._reorder:
            self._stats.reordered += 1
            line.push(data, self._random.uniform(*REORDER_EXTRA_MS) / 1000.0)
        else:
            line.push(data)


class UdpSocket(asyncio.DatagramProtocol):
    """A datagram endpoint that hands every received datagram to a callback."""

    def __init__(self, on_datagram: Callable[[bytes, tuple], None]) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self._on_datagram = on_datagram

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self._on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # e.g. ICMP port unreachable while the target is not up yet: keep going


class Forwarder:
    """Wires the listening socket, the upstream socket and the two delay lines together."""

    def __init__(self, args: argparse.Namespace, stats: Stats) -> None:
        self._args = args
        self._stats = stats
        self._impairment = Impairment(args, stats)
        self._client: tuple | None = None
        self._listen: UdpSocket | None = None
        self._upstream: UdpSocket | None = None

    async def start(self) -> int:
        """Opens both sockets and returns the listening port."""
        loop = asyncio.get_running_loop()
        host, port = self._args.target
        delay = self._args.delay_ms / 1000.0
        self._to_target = DelayLine(delay, lambda data: self._upstream.transport.sendto(data))
        self._to_client = DelayLine(delay, lambda data: self._listen.transport.sendto(data, self._client))
        _, self._listen = await loop.create_datagram_endpoint(
            lambda: UdpSocket(self._from_client), local_addr=(self._args.listen_host, self._args.listen_port),
        )
        _, self._upstream = await loop.create_datagram_endpoint(
            lambda: UdpSocket(self._from_target), remote_addr=(host, port),
        )
        return self._listen.transport.get_extra_info("sockname")[1]

    def close(self) -> None:
        for endpoint in (self._listen, self._upstream):
            if endpoint is not None and endpoint.transport is not None:
                endpoint.transport.close()

    def _from_client(self, data: bytes, addr: tuple) -> None:
        if self._client is None or (self._args.follow_client and addr != self._client):
            self._client = addr
            peer_util.log(f"lossy_forwarder: client is {addr[0]}:{addr[1]}")
        if addr != self._client:
            self._stats.ignored += 1
            return
        self._impairment.apply(data, self._to_target)

    def _from_target(self, data: bytes, addr: tuple) -> None:
        if self._client is not None:
            self._impairment.apply(data, self._to_client)


def parse_target(text: str) -> tuple[str, int]:
    """"127.0.0.1:4433" or "[::1]:4433" -> (host, port)."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"probability must be in [0, 1], got {text}")
    return value


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", type=parse_target, required=True, help="HOST:PORT of the server to forward to")
    parser.add_argument("--listen-host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--listen-port", type=int, default=0)
    parser.add_argument("--drop", type=probability, default=0.05, help="drop probability per datagram")
    parser.add_argument("--delay-ms", type=float, default=40.0, help="one-way delay per datagram")
    parser.add_argument("--reorder", type=probability, default=0.02,
                        help="probability of an extra 5-20 ms delay for a datagram")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--follow-client", action="store_true",
                        help="a datagram from a new address makes it the client (default: the first one only)")
    peer_util.add_lifetime_args(parser, default_timeout=120.0)
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    stats = Stats()
    forwarder = Forwarder(args, stats)
    try:
        peer_util.ready(await forwarder.start())
        await peer_util.run_until_exit(args, "lossy_forwarder")
    finally:
        forwarder.close()
        if stats.ignored:
            peer_util.log(f"lossy_forwarder: ignored {stats.ignored} datagrams from other addresses")
        peer_util.log(stats.line())
    return 0


def main() -> int:
    return asyncio.run(run(parse_args(sys.argv[1:])))


if __name__ == "__main__":
    sys.exit(main())
