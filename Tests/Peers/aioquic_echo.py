"""aioquic peer for the echo protocol (README.md), in either role.

server: an echo server the Swift client tests connect to.
    aioquic_echo.py server --cert C --key K [--alpn echo,h3] [--port 0] [--timeout 60]
    stdout: `READY <port>`; stderr: one `conn-end ...` line per finished connection.
    Bidi and uni echoes are streamed as bytes arrive, except that a bidi stream whose bytes so far
    could still be a whole `!close <code> <reason>` command (a prefix of "!close ", or starting
    with it and at most 1024 bytes) is held back until FIN or until it stops matching. <code> is
    decimal or 0x-hex. Session tickets are issued once per connection (lifetime 1 day, 0-RTT allowed),
    kept in memory and can be reused.

client: runs the echo protocol steps against a server (the Swift one under test).
    aioquic_echo.py client --host 127.0.0.1 --port P [--alpn echo] [--ca FILE | --insecure]
        [--server-name localhost] [--bidi-bytes 4194304] [--resume [--new-port-on-resume]]
        [--rebind N] [--timeout 60] [--step-timeout 10]
    stdout: one JSON object per step, e.g. {"step": "handshake", "ok": true, "alpn": "echo"},
    then {"step": "done", "ok": <all ok>}; exit status 0 iff all steps were ok.

Both roles also exit when stdin reaches EOF (unless --ignore-stdin) or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable

from aioquic.asyncio import serve
from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic import events
from aioquic.quic.connection import stream_is_unidirectional
from aioquic import tls
from aioquic.tls import SessionTicket

import aioquic_util
import peer_util

CLOSE_COMMAND = re.compile(rb"!close (0x[0-9a-fA-F]+|[0-9]+)(?: (.*))?", re.DOTALL)
CLOSE_PREFIX = b"!close "
MAX_COMMAND_LENGTH = 1024


# --------------------------------------------------------------------------------------------------
# server


def parse_close_command(content: bytes) -> tuple[int, str] | None:
    """Returns (code, reason) if a whole stream's content is `!close <code> <reason>`."""
    match = CLOSE_COMMAND.fullmatch(content)
    if match is None:
        return None
    reason = (match.group(2) or b"").decode("utf-8", errors="replace")
    return int(match.group(1), 0), reason


def might_become_command(held: bytes) -> bool:
    """True while the bytes received so far could still be the whole of a `!close` command."""
    if len(held) > MAX_COMMAND_LENGTH:
        return False
    return CLOSE_PREFIX.startswith(held) or held.startswith(CLOSE_PREFIX)


class EchoServerProtocol(QuicConnectionProtocol):
    """One server connection: echoes streams and datagrams as the README table says."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._held: dict[int, bytearray] = {}  # bidi streams whose bytes might be a !close command
        self._streaming: set[int] = set()  # bidi streams known not to be a command
        self._uni_echo: dict[int, int] = {}  # peer uni stream id -> our echo uni stream id
        self._alpn: str | None = None
        self._resumed = False
        self._early_data = False
        self._counts = {"streams": 0, "datagrams": 0, "resets": 0, "stops": 0}

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.HandshakeCompleted):
            self._alpn = event.alpn_protocol
            self._resumed = event.session_resumed
            self._early_data = event.early_data_accepted
        elif isinstance(event, events.StreamDataReceived):
            if stream_is_unidirectional(event.stream_id):
                self._on_uni_data(event.stream_id, event.data, event.end_stream)
            else:
                self._on_bidi_data(event.stream_id, event.data, event.end_stream)
        elif isinstance(event, events.DatagramFrameReceived):
            self._counts["datagrams"] += 1
            self._quic.send_datagram_frame(event.data)
        elif isinstance(event, events.StreamReset):
            self._on_stream_reset(event.stream_id, event.error_code)
        elif isinstance(event, events.StopSendingReceived):
            # aioquic already answers STOP_SENDING with RESET_STREAM(same code); this is explicit.
            self._counts["stops"] += 1
            self._reset(event.stream_id, event.error_code)
        elif isinstance(event, events.ConnectionTerminated):
            self._log_end(event)

    # bidi streams: echo as data arrives, except that a stream which might be a `!close` command is
    # held back until it either stops looking like one or ends.

    def _on_bidi_data(self, stream_id: int, data: bytes, fin: bool) -> None:
        if stream_id not in self._streaming:
            held = self._held.setdefault(stream_id, bytearray())
            if not held:
                self._counts["streams"] += 1
            held += data
            if fin:
                command = parse_close_command(bytes(held))
                if command is not None:
                    self._held.pop(stream_id)
                    self._close_on_command(*command)
                    return
            elif might_become_command(bytes(held)):
                return
            data = bytes(self._held.pop(stream_id))
            self._streaming.add(stream_id)
        self._send(stream_id, data, fin)
        if fin:
            self._streaming.discard(stream_id)

    def _close_on_command(self, code: int, reason: str) -> None:
        peer_util.log(f"close command: code={code} reason={reason!r}")
        self._quic.close(error_code=code, reason_phrase=reason)

    # uni streams: the echo goes on a new server-initiated uni stream, opened with the first bytes.

    def _on_uni_data(self, stream_id: int, data: bytes, fin: bool) -> None:
        echo_id = self._uni_echo.get(stream_id)
        if echo_id is None:
            self._counts["streams"] += 1
            echo_id = self._quic.get_next_available_stream_id(is_unidirectional=True)
            self._uni_echo[stream_id] = echo_id
        self._send(echo_id, data, fin)
        if fin:
            self._uni_echo.pop(stream_id)

    def _on_stream_reset(self, stream_id: int, code: int) -> None:
        """RESET_STREAM(code) from the peer is echoed as RESET_STREAM(code) on our send side."""
        self._counts["resets"] += 1
        self._held.pop(stream_id, None)
        self._streaming.discard(stream_id)
        if stream_is_unidirectional(stream_id):
            echo_id = self._uni_echo.pop(stream_id, None)
            if echo_id is not None:
                self._reset(echo_id, code)
        else:
            self._reset(stream_id, code)

    def _send(self, stream_id: int, data: bytes, fin: bool) -> None:
        try:
            self._quic.send_stream_data(stream_id, data, end_stream=fin)
        except (RuntimeError, ValueError) as error:  # e.g. our send side was already reset
            peer_util.log(f"stream {stream_id}: not echoed: {error}")

    def _reset(self, stream_id: int, code: int) -> None:
        try:
            self._quic.reset_stream(stream_id, code)
        except (RuntimeError, ValueError) as error:
            peer_util.log(f"stream {stream_id}: not reset: {error}")

    def _log_end(self, event: events.ConnectionTerminated) -> None:
        peer = self._quic._network_paths[0].addr if self._quic._network_paths else None
        counts = " ".join(f"{key}={value}" for key, value in self._counts.items())
        peer_util.log(
            f"conn-end peer={peer} alpn={self._alpn} resumed={self._resumed} early_data={self._early_data} "
            f"error_code={event.error_code} frame_type={event.frame_type} reason={event.reason_phrase!r} {counts}"
        )


async def run_server(args: argparse.Namespace) -> int:
    configuration = aioquic_util.server_configuration(args.cert, args.key, aioquic_util.split_alpns(args.alpn))
    tickets = aioquic_util.TicketStore()
    server = await serve(
        "127.0.0.1",
        args.port,
        configuration=configuration,
        create_protocol=EchoServerProtocol,
        session_ticket_handler=tickets.add,
        session_ticket_fetcher=tickets.get,
    )
    port = server._transport.get_extra_info("sockname")[1]
    peer_util.ready(port)
    await peer_util.run_until_exit(args, "aioquic_echo server")
    server.close()
    return 0


# --------------------------------------------------------------------------------------------------
# client


class StreamResult:
    """What the client received on one stream: bytes, then FIN or a reset code."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.ended: asyncio.Future[tuple[str, int | None]] = asyncio.get_running_loop().create_future()

    def finish(self, how: str, code: int | None = None) -> None:
        if not self.ended.done():
            self.ended.set_result((how, code))


class EchoClientProtocol(QuicConnectionProtocol):
    """Collects stream data, resets, datagrams and the close for the client steps to await."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.handshake: events.HandshakeCompleted | None = None
        self.streams: dict[int, StreamResult] = {}
        self.server_uni_streams: asyncio.Queue[int] = asyncio.Queue()
        self.datagrams: asyncio.Queue[bytes] = asyncio.Queue()
        self.terminated: asyncio.Future[events.ConnectionTerminated] = asyncio.get_running_loop().create_future()

    def stream(self, stream_id: int) -> StreamResult:
        result = self.streams.get(stream_id)
        if result is None:
            result = self.streams[stream_id] = StreamResult()
            if stream_is_unidirectional(stream_id) and stream_id % 2 == 1:
                self.server_uni_streams.put_nowait(stream_id)
        return result

    def quic_event_received(self, event: events.QuicEvent) -> None:
        if isinstance(event, events.HandshakeCompleted):
            self.handshake = event
        elif isinstance(event, events.StreamDataReceived):
            result = self.stream(event.stream_id)
            result.data += event.data
            if event.end_stream:
                result.finish("fin")
        elif isinstance(event, events.StreamReset):
            self.stream(event.stream_id).finish("reset", event.error_code)
        elif isinstance(event, events.DatagramFrameReceived):
            self.datagrams.put_nowait(event.data)
        elif isinstance(event, events.ConnectionTerminated):
            if not self.terminated.done():
                self.terminated.set_result(event)
            for result in self.streams.values():
                result.finish("closed")

    def open_stream(self, unidirectional: bool = False) -> int:
        stream_id = self._quic.get_next_available_stream_id(is_unidirectional=unidirectional)
        if not unidirectional:
            self.stream(stream_id)
        return stream_id

    def send(self, stream_id: int, data: bytes, fin: bool = False) -> None:
        self._quic.send_stream_data(stream_id, data, end_stream=fin)
        self.transmit()

    def reset(self, stream_id: int, code: int) -> None:
        self._quic.reset_stream(stream_id, code)
        self.transmit()

    def stop_sending(self, stream_id: int, code: int) -> None:
        self._quic.stop_stream(stream_id, code)
        self.transmit()

    def send_datagram(self, data: bytes) -> None:
        self._quic.send_datagram_frame(data)
        self.transmit()

    def peer_accepts_datagrams(self) -> bool:
        return bool(self._quic._remote_max_datagram_frame_size)


class StepFailed(Exception):
    """A step's check failed; the message goes into the step's "error"."""


class EchoClient:
    """Runs the client steps in order on one (or, with --resume, two) connections."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.configuration = aioquic_util.client_configuration(
            aioquic_util.split_alpns(args.alpn), args.server_name, ca=args.ca, insecure=args.insecure,
        )
        self.tickets: list[SessionTicket] = []
        self.protocol: EchoClientProtocol | None = None
        self.local_port = 0
        self.all_ok = True

    def report(self, step: str, ok: bool, **fields: object) -> None:
        self.all_ok = self.all_ok and ok
        peer_util.emit(json.dumps({"step": step, "ok": ok, **fields}))

    async def run_step(self, step: str, body: Callable[[], Awaitable[dict]]) -> bool:
        """Runs one step with the step timeout and reports it; returns whether it was ok."""
        try:
            fields = await asyncio.wait_for(body(), self.args.step_timeout)
        except asyncio.TimeoutError:
            self.report(step, False, error=f"timed out after {self.args.step_timeout:g} s")
            return False
        except Exception as error:  # any failure is reported as this step's error, never a crash
            self.report(step, False, error=str(error) or type(error).__name__)
            return False
        self.report(step, True, **fields)
        return True

    async def connect(self, ticket: SessionTicket | None = None) -> EchoClientProtocol:
        """Connects; later connections reuse the first one's local port (so they can pass a forwarder)."""
        self.configuration.session_ticket = ticket
        try:
            protocol = await aioquic_util.connect(
                self.args.host, self.args.port, self.configuration, EchoClientProtocol,
                session_ticket_handler=self.tickets.append, local_port=self.local_port,
            )
        except ConnectionError as error:
            raise StepFailed(str(error)) from None
        self.local_port = aioquic_util.local_port(protocol)
        return protocol

    async def run(self) -> bool:
        if not await self.run_step("handshake", self.step_handshake):
            return False
        await self.run_step("bidi", self.step_bidi)
        await self.run_step("key_update", self.step_key_update)
        await self.run_step("uni", self.step_uni)
        await self.run_step("datagram", self.step_datagram)
        if self.args.rebind:
            await self.run_step("rebind", self.step_rebind)
        await self.run_step("reset", self.step_reset)
        await self.run_step("stop_sending", self.step_stop_sending)
        if self.args.resume:
            await self.run_step("resume", self.step_resume)
        await self.run_step("close", self.step_close)
        return self.all_ok

    async def close(self) -> None:
        if self.protocol is not None:
            await aioquic_util.close_connection(self.protocol)
            self.protocol = None

    def live_protocol(self) -> EchoClientProtocol:
        if self.protocol is None or self.protocol.terminated.done():
            raise StepFailed("no open connection")
        return self.protocol

    # steps

    async def step_handshake(self) -> dict:
        self.protocol = await self.connect()
        return {"alpn": self.protocol.handshake.alpn_protocol}

    async def step_bidi(self) -> dict:
        return await self.bidi_echo(os.urandom(self.args.bidi_bytes))

    async def bidi_echo(self, payload: bytes) -> dict:
        protocol = self.live_protocol()
        started = time.monotonic()
        stream_id = protocol.open_stream()
        protocol.send(stream_id, payload, fin=True)
        result = protocol.streams[stream_id]
        how, code = await result.ended
        seconds = round(time.monotonic() - started, 4)
        expect_echo(result, payload, how, code)
        return {"bytes": len(payload), "seconds": seconds}

    async def step_key_update(self) -> dict:
        """New 1-RTT keys (RFC 9001 6) mid-connection, then an echo under them."""
        protocol = self.live_protocol()
        crypto = protocol._quic._cryptos[tls.Epoch.ONE_RTT]
        before = crypto.key_phase
        protocol._quic.request_key_update()
        protocol.transmit()
        echoed = await self.bidi_echo(os.urandom(100_000))
        if crypto.key_phase == before:
            raise StepFailed("the key phase did not change")
        return {**echoed, "key_phase": crypto.key_phase}

    async def step_uni(self) -> dict:
        protocol = self.live_protocol()
        payload = os.urandom(100_000)
        stream_id = protocol.open_stream(unidirectional=True)
        protocol.send(stream_id, payload, fin=True)
        echo_id = await protocol.server_uni_streams.get()
        result = protocol.streams[echo_id]
        how, code = await result.ended
        expect_echo(result, payload, how, code)
        return {"bytes": len(payload), "stream_id": echo_id}

    async def step_datagram(self) -> dict:
        """Sends 3 datagrams and waits for each echo; resends unanswered ones (datagrams may be lost)."""
        protocol = self.live_protocol()
        if not protocol.peer_accepts_datagrams():
            raise StepFailed("server did not advertise max_datagram_frame_size")
        payloads = {bytes([index]) * size: index for index, size in ((1, 16), (2, 300), (3, 1000))}
        echoed: set[bytes] = set()
        unexpected = sent = 0
        while len(echoed) < len(payloads):
            for payload in payloads.keys() - echoed:
                protocol.send_datagram(payload)
                sent += 1
            deadline = time.monotonic() + 0.5
            while len(echoed) < len(payloads) and (remaining := deadline - time.monotonic()) > 0:
                try:
                    data = await asyncio.wait_for(protocol.datagrams.get(), remaining)
                except asyncio.TimeoutError:
                    break
                if data in payloads:
                    echoed.add(data)
                else:
                    unexpected += 1
        if unexpected:
            raise StepFailed(f"{unexpected} echoed datagrams did not match any sent payload")
        return {"count": len(echoed), "sent": sent}

    async def step_rebind(self) -> dict:
        """The client's address changes mid-connection (NAT rebinding), --rebind times: each time it moves
        to a new local port, every other time also to a new connection ID, and echoes from there."""
        protocol = self.live_protocol()
        loop = asyncio.get_running_loop()
        ports = []
        for index in range(self.args.rebind):
            old = protocol._transport
            # The protocol object moves to the new socket (connection_made); closing the old one is
            # harmless to it (aioquic's protocol does nothing on connection_lost).
            transport, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=("127.0.0.1", 0))
            old.close()
            if index % 2 == 1:
                protocol._quic.change_connection_id()
            ports.append(transport.get_extra_info("sockname")[1])
            await self.bidi_echo(os.urandom(20_000))
            # Let the server validate the new path and the connection IDs settle before the next move, as
            # between real rebindings (moves faster than that exhaust the connection ID limit).
            await asyncio.sleep(0.05)
            await protocol.ping()
        return {"rebinds": len(ports), "ports": len(set(ports))}

    async def step_reset(self) -> dict:
        protocol = self.live_protocol()
        stream_id = protocol.open_stream()
        protocol.send(stream_id, b"reset me please")
        await protocol.ping()  # let the bytes reach the server before the reset
        protocol.reset(stream_id, 0x1234)
        return await expect_reset(protocol.streams[stream_id], 0x1234)

    async def step_stop_sending(self) -> dict:
        protocol = self.live_protocol()
        stream_id = protocol.open_stream()
        protocol.send(stream_id, b"stop sending to me")
        await protocol.ping()
        protocol.stop_sending(stream_id, 0x77)
        return await expect_reset(protocol.streams[stream_id], 0x77)

    async def step_resume(self) -> dict:
        if not self.tickets:
            raise StepFailed("no session ticket received on the first connection")
        ticket = self.tickets[-1]
        await self.close()
        if self.args.new_port_on_resume:
            self.local_port = 0
        self.protocol = await self.connect(ticket)
        resumed = self.protocol.handshake.session_resumed
        echo = await self.bidi_echo(b"resumed connection echo")
        if not resumed:
            raise StepFailed("session was not resumed (full handshake)")
        return {"resumed": resumed, "alpn": self.protocol.handshake.alpn_protocol, "echo_bytes": echo["bytes"]}

    async def step_close(self) -> dict:
        fresh = self.protocol is None or self.protocol.terminated.done()
        if fresh:  # an earlier step lost the connection; the close command still gets tested
            await self.close()
            self.protocol = await self.connect()
        protocol = self.protocol
        stream_id = protocol.open_stream()
        protocol.send(stream_id, b"!close 42 bye", fin=True)
        event = await protocol.terminated
        fields = {"error_code": event.error_code, "reason": event.reason_phrase,
                  "application": event.frame_type is None, "fresh_connection": fresh}
        if (event.error_code, event.reason_phrase, event.frame_type) != (42, "bye", None):
            raise StepFailed(f"expected application close 42 'bye', got {fields}")
        return fields


def expect_echo(result: StreamResult, payload: bytes, how: str, code: int | None) -> None:
    """Raises StepFailed unless the stream ended with FIN after exactly `payload`."""
    if how != "fin":
        raise StepFailed(f"stream ended by {how} (code {code}) after {len(result.data)} bytes")
    if bytes(result.data) != payload:
        raise StepFailed(f"echo differs: sent {len(payload)} bytes, received {len(result.data)}")


async def expect_reset(result: StreamResult, expected: int) -> dict:
    """Waits for the stream to end and raises StepFailed unless it was a RESET_STREAM(expected)."""
    how, code = await result.ended
    if how != "reset":
        raise StepFailed(f"expected RESET_STREAM {expected:#x}, stream ended by {how}")
    if code != expected:
        raise StepFailed(f"expected RESET_STREAM {expected:#x}, got {code:#x}")
    return {"code": code}


async def run_client(args: argparse.Namespace) -> int:
    client = EchoClient(args)
    steps = asyncio.ensure_future(client.run())
    exit_reason = asyncio.ensure_future(peer_util.wait_for_exit(args.timeout, watch_stdin=not args.ignore_stdin))
    await asyncio.wait({steps, exit_reason}, return_when=asyncio.FIRST_COMPLETED)
    if steps.done():
        all_ok = steps.result()
        fields = {}
    else:
        steps.cancel()
        all_ok = False
        fields = {"error": f"aborted: {exit_reason.result()}"}
    exit_reason.cancel()
    await client.close()
    peer_util.emit(json.dumps({"step": "done", "ok": all_ok, **fields}))
    return 0 if all_ok else 1


# --------------------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    roles = parser.add_subparsers(dest="role", required=True)

    server = roles.add_parser("server", help="echo server")
    server.add_argument("--cert", required=True, help="PEM certificate (chain)")
    server.add_argument("--key", required=True, help="PEM private key")
    server.add_argument("--alpn", default="echo", help="comma-separated ALPNs, in preference order")
    server.add_argument("--port", type=int, default=0)
    server.add_argument("--verbose", action="store_true", help="log aioquic's own messages to stderr")
    peer_util.add_lifetime_args(server)

    client = roles.add_parser("client", help="echo protocol client")
    client.add_argument("--host", default="127.0.0.1")
    client.add_argument("--port", type=int, required=True)
    client.add_argument("--alpn", default="echo", help="comma-separated ALPNs to offer")
    trust = client.add_mutually_exclusive_group()
    trust.add_argument("--ca", help="PEM file of CA certificates to verify the server with")
    trust.add_argument("--insecure", action="store_true", help="do not verify the server certificate")
    client.add_argument("--server-name", default="localhost", help="SNI and name to verify")
    client.add_argument("--bidi-bytes", type=int, default=4 * 1024 * 1024)
    client.add_argument("--resume", action="store_true", help="also test session resumption")
    client.add_argument("--new-port-on-resume", action="store_true",
                        help="resume from a new local UDP port (default: reuse the first connection's port)")
    client.add_argument("--rebind", type=int, default=0,
                        help="move to a new local port this many times mid-connection, echoing after each")
    client.add_argument("--step-timeout", type=float, default=10.0)
    client.add_argument("--verbose", action="store_true", help="log aioquic's own messages to stderr")
    peer_util.add_lifetime_args(client)
    return parser.parse_args(argv)


def main() -> int:
    args = parse_args(sys.argv[1:])
    aioquic_util.configure_logging(args.verbose)
    return asyncio.run(run_server(args) if args.role == "server" else run_client(args))


if __name__ == "__main__":
    sys.exit(main())
