"""Process conventions shared by the test-peer scripts in this directory.

Every peer (see README.md) binds 127.0.0.1, prints one `READY ...` line on stdout once it listens,
logs to stderr, and exits by itself after `--timeout` seconds, when its stdin reaches EOF, or on
SIGTERM/SIGINT. This module holds those pieces so the scripts themselves stay about their protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading

DEFAULT_TIMEOUT = 60.0


def add_lifetime_args(parser: argparse.ArgumentParser, default_timeout: float = DEFAULT_TIMEOUT) -> None:
    """Adds --timeout and --ignore-stdin to an argument parser."""
    parser.add_argument(
        "--timeout", type=float, default=default_timeout,
        help=f"exit after this many seconds (default {default_timeout:g})",
    )
    parser.add_argument(
        "--ignore-stdin", action="store_true",
        help="do not exit when stdin reaches EOF (for manual runs in the background)",
    )


def log(*parts: object) -> None:
    """Writes one line to stderr and flushes it."""
    print(*parts, file=sys.stderr, flush=True)


def emit(*parts: object) -> None:
    """Writes one line to stdout and flushes it."""
    print(*parts, flush=True)


def ready(*fields: object) -> None:
    """Prints the `READY ...` line the Swift tests wait for."""
    emit("READY", *fields)


def _watch_stdin(loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
    """Blocks (in a daemon thread) reading stdin until EOF, then sets `done`."""
    try:
        while os.read(sys.stdin.fileno(), 65536):
            pass
    except (OSError, ValueError):
        pass
    loop.call_soon_threadsafe(done.set)


async def wait_for_exit(timeout: float, watch_stdin: bool = True) -> str:
    """Waits until the peer should exit; returns why: "timeout", "stdin-eof" or "signal"."""
    loop = asyncio.get_running_loop()
    stdin_eof = asyncio.Event()
    signalled = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, signalled.set)
    if watch_stdin:
        threading.Thread(target=_watch_stdin, args=(loop, stdin_eof), daemon=True).start()

    waiters = {
        asyncio.ensure_future(stdin_eof.wait()): "stdin-eof",
        asyncio.ensure_future(signalled.wait()): "signal",
    }
    done, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    for task in done:
        return waiters[task]
    return "timeout"


async def run_until_exit(args: argparse.Namespace, name: str) -> str:
    """Waits for the exit condition given by the lifetime args and logs the reason."""
    reason = await wait_for_exit(args.timeout, watch_stdin=not args.ignore_stdin)
    log(f"{name}: exiting ({reason})")
    return reason
