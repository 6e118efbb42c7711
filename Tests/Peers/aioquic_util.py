"""aioquic helpers shared by aioquic_echo.py and aioquic_bulk.py.

Builds server and client configurations with the limits the Swift tests expect, keeps an in-memory
session-ticket store for servers, and opens client connections from a socket bound like every other
peer here (an ephemeral port on the loopback address, not aioquic's dual-stack `::`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.quic.configuration import QuicConfiguration
from aioquic.quic.connection import QuicConnection
from aioquic.tls import SessionTicket

MIB = 1024 * 1024
FLOW_CONTROL_LIMIT = 16 * MIB  # initial max_data and max_stream_data, both directions
MAX_DATAGRAM_FRAME_SIZE = 65536


def configure_logging(verbose: bool) -> None:
    """aioquic logs connection errors itself; keep stderr to our own lines unless asked for more."""
    logging.basicConfig(level=logging.INFO if verbose else logging.CRITICAL, format="%(name)s %(message)s")


def split_alpns(text: str) -> list[str]:
    """Turns "echo,h3" into ["echo", "h3"]."""
    return [alpn.strip() for alpn in text.split(",") if alpn.strip()]


def server_configuration(cert: str, key: str, alpns: list[str], idle_timeout: float = 60.0) -> QuicConfiguration:
    """A server configuration with generous flow control and DATAGRAM support."""
    config = QuicConfiguration(
        is_client=False,
        alpn_protocols=alpns,
        idle_timeout=idle_timeout,
        max_data=FLOW_CONTROL_LIMIT,
        max_stream_data=FLOW_CONTROL_LIMIT,
        max_datagram_frame_size=MAX_DATAGRAM_FRAME_SIZE,
    )
    config.load_cert_chain(cert, key)
    return config


def client_configuration(
    alpns: list[str],
    server_name: str,
    ca: str | None = None,
    insecure: bool = False,
    idle_timeout: float = 60.0,
) -> QuicConfiguration:
    """A client configuration; verifies the server against `ca` unless `insecure`."""
    config = QuicConfiguration(
        is_client=True,
        alpn_protocols=alpns,
        server_name=server_name,
        idle_timeout=idle_timeout,
        max_data=FLOW_CONTROL_LIMIT,
        max_stream_data=FLOW_CONTROL_LIMIT,
        max_datagram_frame_size=MAX_DATAGRAM_FRAME_SIZE,
    )
    if insecure:
        config.verify_mode = ssl.CERT_NONE
    elif ca:
        config.load_verify_locations(cafile=ca)
    return config


class TicketStore:
    """In-memory TLS session tickets for a server, keyed by the ticket's identity.

    Tickets are not consumed when used, so a client may resume with the same ticket more than once.
    """

    def __init__(self) -> None:
        self._tickets: dict[bytes, SessionTicket] = {}

    def add(self, ticket: SessionTicket) -> None:
        """session_ticket_handler: called when the server issues a ticket."""
        self._tickets[ticket.ticket] = ticket

    def get(self, identity: bytes) -> SessionTicket | None:
        """session_ticket_fetcher: called when a client presents a ticket."""
        return self._tickets.get(identity)


async def connect(
    host: str,
    port: int,
    configuration: QuicConfiguration,
    create_protocol: Callable[[QuicConnection], QuicConnectionProtocol],
    session_ticket_handler: Callable[[SessionTicket], None] | None = None,
    local_port: int = 0,
) -> QuicConnectionProtocol:
    """Opens a QUIC connection and waits for the handshake; raises ConnectionError on failure.

    The caller owns the returned protocol: call `close_connection` when done.
    """
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    family, _, _, _, addr = infos[0]
    local = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    connection = QuicConnection(configuration=configuration, session_ticket_handler=session_ticket_handler)
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: create_protocol(connection), local_addr=(local, local_port), family=family,
    )
    protocol.connect(addr)
    try:
        await protocol.wait_connected()
    except ConnectionError:
        transport.close()
        event = connection._close_event
        if event is None:
            raise
        raise ConnectionError(
            f"connection closed during handshake: error_code={event.error_code:#x} "
            f"frame_type={event.frame_type} reason={event.reason_phrase!r}"
        ) from None
    except BaseException:
        transport.close()
        raise
    return protocol


async def close_connection(protocol: QuicConnectionProtocol, error_code: int = 0, timeout: float = 5.0) -> None:
    """Closes the connection (if still open), waits for it to drain, and releases the socket."""
    protocol.close(error_code=error_code)
    try:
        await asyncio.wait_for(protocol.wait_closed(), timeout)
    except asyncio.TimeoutError:
        pass
    if protocol._transport is not None:
        protocol._transport.close()
        await asyncio.sleep(0)  # the socket is released on the next loop iteration


def local_port(protocol: QuicConnectionProtocol) -> int:
    """The UDP port a client connection is bound to."""
    return protocol._transport.get_extra_info("sockname")[1]
