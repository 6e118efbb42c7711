"""moq-lite peers built on the reference implementation (PyPI moq-rs 0.5.1 over moq-ffi 0.4.18).

    moq_ref.py server    [--port 0] [--publish PATH --track NAME ...] [--subscribe-announced PREFIX --track NAME ...]
    moq_ref.py publish   --url URL [--fingerprint HEX | --insecure] --broadcast PATH --track NAME [...]
    moq_ref.py subscribe --url URL [--fingerprint HEX | --insecure] --broadcast PATH --track NAME [--count N] [...]
    moq_ref.py announced --url URL [--fingerprint HEX | --insecure] --prefix P [--count N]
    moq_ref.py fetch     --url URL [--fingerprint HEX | --insecure] --broadcast PATH --track NAME --group N

URLs: moqt://127.0.0.1:PORT/ (raw QUIC, ALPN moq-lite-06 ... ) or https://127.0.0.1:PORT/ (WebTransport).
The client never races a WebSocket connection (websocket_enabled=False) and, unless --reconnect, never
redials: a dropped connection ends the command.

stdout: one JSON object per line and event, flushed (the server prints `READY <port> <fingerprint>` first).
Every command ends with {"event":"exit","reason":...,"code":0|1} and exits with that code: 0 iff its goal
was reached (publish: all frames written; subscribe: --count frames received, or the whole track if no
--count; announced: --count announcements, or none needed without --count; fetch: the whole group;
server: always 0 once READY). Frame payloads are deterministic, see moq_ref_payload.py. README.md has the
full contract. stderr: diagnostics (and the Rust log with --log-level).

Exits after --timeout seconds, when stdin reaches EOF (unless --ignore-stdin), or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import moq

import peer_util
from moq_ref_payload import datagram_index, frame_matches, make_payload, sha256_hex

PAYLOAD_HEX_BYTES = 64
DEFAULT_DATAGRAM_SIZE = 1000
DATAGRAM_GRACE = 0.5  # seconds
CLOSE_LINGER = 0.2  # seconds


# --------------------------------------------------------------------------------------------------
# output helpers


def out(event: str, **fields: Any) -> None:
    """One JSON event line on stdout."""
    peer_util.emit(json.dumps({"event": event, **fields}, separators=(",", ":")))


def error_fields(error: BaseException) -> dict[str, Any]:
    """A JSON-friendly description of an exception, with the protocol details if it has them."""
    fields: dict[str, Any] = {"error": type(error).__name__}
    details = moq.protocol_error(error) if isinstance(error, Exception) else None
    if details is not None:
        fields.update(scope=details.scope.name, code=details.code, kind=details.kind.name, message=details.message)
    else:
        message = str(error)
        if message:
            fields["message"] = message
    return fields


def normalize_fingerprint(text: str) -> str:
    """"AB:CD:..." or "abcd..." -> "abcd..." (moq-ffi only accepts plain hex)."""
    return text.replace(":", "").replace(" ", "").lower()


def port_of(local_addr: str) -> int:
    return int(local_addr.rpartition(":")[2])


def route_fields(route: moq.Route) -> dict[str, Any]:
    return {"hops": list(route.hops), "cost": route.cost, "cold": route.cold}


class Failure(Exception):
    """The command cannot reach its goal (reported as {"event":"error","error":"Failure",...})."""


class Goal:
    """Set once the command has done what it was asked; decides the exit code."""

    def __init__(self) -> None:
        self.reached = False


async def run_bounded(args: argparse.Namespace, name: str, body: Callable[[Goal], Awaitable[None]]) -> int:
    """Runs <body> until it returns, or until the lifetime ends (timeout, stdin EOF, signal).

    Exit code 0 iff the goal was reached. Always ends with an "exit" event.
    """
    goal = Goal()
    work = asyncio.create_task(body(goal))
    lifetime = asyncio.create_task(peer_util.wait_for_exit(args.timeout, watch_stdin=not args.ignore_stdin))
    done, _ = await asyncio.wait({work, lifetime}, return_when=asyncio.FIRST_COMPLETED)
    if work in done:
        lifetime.cancel()
        reason = "complete"
        error = work.exception()
        if error is not None:
            reason = "error"
            fields = error_fields(error)
            out("error", **fields)
            peer_util.log(f"{name}: {json.dumps(fields)}")
    else:
        reason = lifetime.result()
        work.cancel()
        with contextlib.suppress(BaseException):
            await work
        if not goal.reached:
            out("error", error=reason)
    code = 0 if goal.reached else 1
    out("exit", reason=reason, code=code)
    peer_util.log(f"{name}: exiting ({reason}, code {code})")
    return code


# --------------------------------------------------------------------------------------------------
# client connection


@contextlib.asynccontextmanager
async def connected(args: argparse.Namespace):
    """A reference client connected to --url (emits "connected"); lingers briefly after closing."""
    options: dict[str, Any] = {"reconnect": args.reconnect, "websocket_enabled": False}
    if args.fingerprint:
        options["tls_fingerprints"] = [normalize_fingerprint(f) for f in args.fingerprint]
    if args.insecure:
        options["tls_verify"] = False
    try:
        async with moq.connect(args.url, **options) as client:
            out("connected", url=args.url)
            yield client
    finally:
        # The session's CONNECTION_CLOSE is sent asynchronously; give it a moment before the process (and
        # with it the Rust runtime) goes away, or the peer only notices at its idle timeout.
        await asyncio.sleep(CLOSE_LINGER)


async def until_session_ends(client: moq.Client, work: Awaitable[None]) -> None:
    """Runs <work>; if the client session ends first, reports it and raises Failure."""
    task = asyncio.ensure_future(work)
    closed = asyncio.ensure_future(client.session.closed())
    try:
        done, _ = await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()
            return
        error = closed.exception()
        out("closed", **(error_fields(error) if error is not None else {}))
        raise Failure("session closed")
    finally:
        for pending in (task, closed):
            if not pending.done():
                pending.cancel()
                with contextlib.suppress(BaseException):
                    await pending


async def resolve_broadcast(consumer: Any, path: str, wait_announce: bool) -> moq.BroadcastConsumer:
    """announced_broadcast(path) (waits for the ANNOUNCE), or request_broadcast(path) right away."""
    if wait_announce:
        broadcast = await consumer.announced_broadcast(path)
    else:
        broadcast = await consumer.request_broadcast(path)
    out("broadcast", broadcast=path)
    return broadcast


# --------------------------------------------------------------------------------------------------
# publishing


def track_info(args: argparse.Namespace) -> moq.TrackInfo | None:
    if args.priority is None and args.max_age_ms is None and args.timescale is None:
        return None
    fields: dict[str, Any] = {}
    if args.priority is not None:
        fields["priority"] = args.priority
    if args.max_age_ms is not None:
        fields["max_age_us"] = args.max_age_ms * 1000
    if args.timescale is not None:
        fields["timescale"] = args.timescale
    return moq.TrackInfo(**fields)


def timestamp_for(args: argparse.Namespace, index: int) -> int:
    """The timestamp (µs) of the <index>-th frame written (counted over the whole track)."""
    if args.timestamps == "wall":
        return time.time_ns() // 1000
    if args.timestamps == "zero":
        return 0
    return index * max(args.interval_ms, 1) * 1000


async def publish_broadcast(
    create_broadcast: Callable[[str], moq.BroadcastProducer], args: argparse.Namespace, groups: int | None,
    goal: Goal | None,
) -> tuple[moq.BroadcastProducer, list[moq.TrackProducer]]:
    """Creates and announces --broadcast with the --track(s), writes the frames, returns the producers.

    The caller must keep the track producers referenced while the tracks should stay available: dropping
    the last handle of a finished track removes it, and later SUBSCRIBEs/FETCHes get NOT_FOUND.
    """
    broadcast = create_broadcast(args.broadcast)
    info = track_info(args)
    tracks = [broadcast.publish_track(name, info) for name in args.track]
    broadcast.announce()
    out("announced", broadcast=args.broadcast, tracks=args.track)

    if args.wait_subscriber:
        waiters = {asyncio.ensure_future(track.demand().used()): track.name for track in tracks}
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        out("subscriber", broadcast=args.broadcast, track=waiters[next(iter(done))])

    interval = args.interval_ms / 1000
    start = time.monotonic()
    index = 0  # frames (and datagrams) written per track so far, for pacing and timestamps

    async def pace() -> None:
        delay = start + index * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    group_number = 0
    while groups is None or group_number < groups:
        if args.first_group is not None:
            producers = [track.create_group(args.first_group + group_number) for track in tracks]
        else:
            producers = [track.append_group() for track in tracks]
        for frame in range(args.frames_per_group):
            await pace()
            timestamp = timestamp_for(args, index)
            for track, group in zip(tracks, producers):
                payload = make_payload(group.sequence, frame, args.frame_size)
                group.write_frame(payload, timestamp_us=timestamp)
                out("frame", broadcast=args.broadcast, track=track.name, group=group.sequence, frame=frame,
                    size=len(payload), sha256=sha256_hex(payload), timestamp_us=timestamp)
            index += 1
        for group in producers:
            group.finish()
        group_number += 1

    for number in range(args.datagrams):
        await pace()
        timestamp = timestamp_for(args, index)
        payload = make_payload(number, 0, args.datagram_size, kind="d")
        for track in tracks:
            sequence = track.append_datagram(payload, timestamp_us=timestamp)
            out("datagram", broadcast=args.broadcast, track=track.name, index=number, sequence=sequence,
                size=len(payload), sha256=sha256_hex(payload), timestamp_us=timestamp)
        index += 1

    if args.finish == "immediately":
        if args.datagrams:
            await pace()  # a track end can overtake the last datagram; give it one interval's head start
        finish_tracks(tracks, args)
    out("done", broadcast=args.broadcast, groups=group_number, frames=group_number * args.frames_per_group,
        datagrams=args.datagrams)
    if goal is not None:
        goal.reached = True
    return broadcast, tracks


def finish_tracks(tracks: list[moq.TrackProducer], args: argparse.Namespace) -> None:
    for track in tracks:
        track.finish()
    out("finished", broadcast=args.broadcast, tracks=[track.name for track in tracks])


async def hold_and_finish(tracks: list[moq.TrackProducer], args: argparse.Namespace) -> None:
    """Waits --hold-seconds, then finishes the tracks if --finish after-hold.

    Finishing only after a pause matters: a reference subscriber that gets SUBSCRIBE_END while group
    streams are still in flight cancels those groups ("no route can serve the rest of this group"), which
    happens through a relay when the track ends right after a burst.
    """
    await asyncio.sleep(args.hold_seconds)
    if args.finish == "after-hold":
        finish_tracks(tracks, args)
        await asyncio.sleep(0.1)  # let SUBSCRIBE_END go out before anything else happens


async def publish_command(args: argparse.Namespace) -> int:
    async def body(goal: Goal) -> None:
        async with connected(args) as client:
            async def work() -> None:
                broadcast, tracks = await publish_broadcast(client.create_broadcast, args, args.groups, goal)
                await hold_and_finish(tracks, args)
                broadcast.close()
                del tracks
                out("unannounced", broadcast=args.broadcast)
                await asyncio.sleep(0.1)  # let the END go out before the session closes

            await until_session_ends(client, work())

    return await run_bounded(args, "moq_ref publish", body)


# --------------------------------------------------------------------------------------------------
# subscribing


class Counter:
    """Counts received frames/datagrams; refuses (and stops printing) past the limits."""

    def __init__(self, frames: int | None = None, datagrams: int | None = None) -> None:
        self.frame_limit = frames
        self.datagram_limit = datagrams
        self.frames = 0
        self.datagrams = 0
        self.satisfied = asyncio.Event()
        self._check()

    def _check(self) -> None:
        frames_ok = self.frame_limit is None or self.frames >= self.frame_limit
        datagrams_ok = self.datagram_limit is None or self.datagrams >= self.datagram_limit
        if frames_ok and datagrams_ok and (self.frame_limit is not None or self.datagram_limit is not None):
            self.satisfied.set()

    def take_frame(self) -> bool:
        if self.frame_limit is not None and self.frames >= self.frame_limit:
            return False
        self.frames += 1
        self._check()
        return True

    def take_datagram(self) -> bool:
        if self.datagram_limit is not None and self.datagrams >= self.datagram_limit:
            return False
        self.datagrams += 1
        self._check()
        return True


def subscription(args: argparse.Namespace) -> moq.Subscription | None:
    fields: dict[str, Any] = {}
    if args.sub_priority is not None:
        fields["priority"] = args.sub_priority
    if args.max_latency_ms is not None:
        fields["max_age_us"] = args.max_latency_ms * 1000
    if args.start_group is not None:
        fields["group_start"] = args.start_group
    if args.end_group is not None:
        fields["group_end"] = args.end_group
    return moq.Subscription(**fields) if fields else None


def frame_event(broadcast: str, track: str, group: int, frame: int, received: moq.Frame) -> dict[str, Any]:
    payload = bytes(received.payload)
    return dict(broadcast=broadcast, track=track, group=group, frame=frame, size=len(payload),
                sha256=sha256_hex(payload), timestamp_us=received.timestamp_us,
                payload_hex=payload[:PAYLOAD_HEX_BYTES].hex(), ok=frame_matches(payload, group, frame))


async def read_group(group: moq.GroupConsumer, broadcast: str, track: str, counter: Counter) -> None:
    sequence = group.sequence
    frame = 0
    try:
        async for received in group:
            if not counter.take_frame():
                return
            out("frame", **frame_event(broadcast, track, sequence, frame, received))
            frame += 1
        out("group-end", broadcast=broadcast, track=track, group=sequence, frames=frame)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        out("group-error", broadcast=broadcast, track=track, group=sequence, frames=frame, **error_fields(error))


async def read_datagrams(consumer: moq.TrackConsumer, broadcast: str, track: str, counter: Counter) -> None:
    while True:
        datagram = await consumer.recv_datagram()
        if datagram is None:
            return
        if not counter.take_datagram():
            return
        payload = bytes(datagram.payload)
        index = datagram_index(payload)
        out("datagram", broadcast=broadcast, track=track, sequence=datagram.sequence, index=index,
            size=len(payload), sha256=sha256_hex(payload), timestamp_us=datagram.timestamp_us,
            payload_hex=payload[:PAYLOAD_HEX_BYTES].hex(), ok=index is not None)


async def read_track(broadcast_consumer: moq.BroadcastConsumer, broadcast: str, track: str,
                     args: argparse.Namespace, counter: Counter) -> None:
    """Subscribes to one track and prints its frames until it ends (or the task is cancelled).

    Emits "subscribed", then "frame"/"group-end"/"group-error"/"datagram" events, then "track-end" (clean end)
    or raises the error that ended it (after emitting "track-error").
    """
    try:
        consumer = await broadcast_consumer.subscribe_track(track, subscription(args))
    except Exception as error:
        out("track-error", broadcast=broadcast, track=track, frames=0, **error_fields(error))
        raise
    info = consumer.info()
    out("subscribed", broadcast=broadcast, track=track, priority=info.priority, max_age_us=info.max_age_us,
        timescale=info.timescale)
    group_tasks: set[asyncio.Task] = set()
    datagram_task = asyncio.create_task(read_datagrams(consumer, broadcast, track, counter)) \
        if args.read_datagrams else None
    try:
        if args.order == "arrival":
            while (group := await consumer.recv_group()) is not None:
                task = asyncio.create_task(read_group(group, broadcast, track, counter))
                group_tasks.add(task)
                task.add_done_callback(group_tasks.discard)
            if group_tasks:
                await asyncio.wait(group_tasks)
        else:
            while (group := await consumer.next_group()) is not None:
                await read_group(group, broadcast, track, counter)
        if datagram_task is not None:
            # Datagrams still in flight when the track ends are read for a short while.
            await asyncio.wait({datagram_task}, timeout=DATAGRAM_GRACE)
        out("track-end", broadcast=broadcast, track=track, frames=counter.frames)
    except asyncio.CancelledError:
        raise
    except Exception as error:
        out("track-error", broadcast=broadcast, track=track, frames=counter.frames, **error_fields(error))
        raise
    finally:
        for task in [*group_tasks, *([datagram_task] if datagram_task else [])]:
            task.cancel()
        consumer.cancel()


async def subscribe_command(args: argparse.Namespace) -> int:
    async def body(goal: Goal) -> None:
        async with connected(args) as client:
            async def work() -> None:
                broadcast = await resolve_broadcast(client, args.broadcast, args.wait_announce)
                counter = Counter(args.count, args.datagram_count)
                reader = asyncio.create_task(read_track(broadcast, args.broadcast, args.track, args, counter))
                satisfied = asyncio.create_task(counter.satisfied.wait())
                try:
                    await asyncio.wait({reader, satisfied}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    satisfied.cancel()
                if not counter.satisfied.is_set():
                    reader.result()  # re-raises a track error
                    if args.count is not None or args.datagram_count is not None:
                        raise Failure(f"track ended after {counter.frames} frames and {counter.datagrams} "
                                      f"datagrams (wanted {args.count} / {args.datagram_count})")
                else:
                    reader.cancel()
                    with contextlib.suppress(BaseException):
                        await reader
                out("done", frames=counter.frames, datagrams=counter.datagrams)
                goal.reached = True

            await until_session_ends(client, work())

    return await run_bounded(args, "moq_ref subscribe", body)


async def fetch_command(args: argparse.Namespace) -> int:
    async def body(goal: Goal) -> None:
        async with connected(args) as client:
            async def work() -> None:
                broadcast = await resolve_broadcast(client, args.broadcast, args.wait_announce)
                options = moq.FetchGroupOptions(priority=args.sub_priority or 0)
                group = await broadcast.fetch_group(args.track, args.group, options)
                sequence = group.sequence
                out("fetched", broadcast=args.broadcast, track=args.track, group=sequence)
                frame = 0
                async for received in group:
                    out("frame", **frame_event(args.broadcast, args.track, sequence, frame, received))
                    frame += 1
                out("done", group=sequence, frames=frame)
                goal.reached = True

            await until_session_ends(client, work())

    return await run_bounded(args, "moq_ref fetch", body)


async def print_announcements(consumer: Any, prefix: str, limit: int | None = None,
                              on_update: Callable[[moq.AnnounceUpdate], None] | None = None) -> int:
    """Prints one "announce" event per update under <prefix>; returns after <limit> updates (if given)."""
    seen = 0
    async with consumer.announced(prefix) as updates:
        async for update in updates:
            out("announce", path=update.prefix, active=update.active, **route_fields(update.route))
            seen += 1
            if on_update is not None:
                on_update(update)
            if limit is not None and seen >= limit:
                break
    return seen


async def announced_command(args: argparse.Namespace) -> int:
    async def body(goal: Goal) -> None:
        async with connected(args) as client:
            async def work() -> None:
                if args.count is None:
                    goal.reached = True  # a monitor: runs until the lifetime ends
                seen = await print_announcements(client, args.prefix, args.count)
                if args.count is not None and seen >= args.count:
                    out("done", count=seen)
                    goal.reached = True
                else:
                    raise Failure(f"announcement stream ended after {seen} updates")

            await until_session_ends(client, work())

    return await run_bounded(args, "moq_ref announced", body)


# --------------------------------------------------------------------------------------------------
# server


async def hold_session(request: moq.Request, number: int) -> None:
    """Accepts one session into the shared origin and keeps it alive until it closes."""
    where = dict(session=number, transport=request.transport.name, path=request.path, query=request.query,
                 url=request.url)
    try:
        session = await request.accept()
    except asyncio.CancelledError:
        raise
    except Exception as error:  # e.g. the client only did the QUIC handshake and left
        out("session-end", **where, accepted=False, **error_fields(error))
        return
    out("session-start", **where)
    try:
        await session.closed()
        out("session-end", **where, clean=True)
    except asyncio.CancelledError:
        session.shutdown()
        raise
    except Exception as error:
        details = moq.protocol_error(error)
        if details is not None and details.code == 0 and details.scope == moq.ErrorScope.SESSION:
            out("session-end", **where, clean=True)  # the peer closed with "no error"
        else:
            out("session-end", **where, clean=False, **error_fields(error))


async def accept_sessions(server: moq.Server) -> None:
    sessions: set[asyncio.Task] = set()
    number = 0
    try:
        async for request in server:
            number += 1
            task = asyncio.create_task(hold_session(request, number))
            sessions.add(task)
            task.add_done_callback(sessions.discard)
    finally:
        for task in list(sessions):
            task.cancel()


async def subscribe_announced(origin: moq.OriginProducer, args: argparse.Namespace) -> None:
    """Subscribes to --track(s) of every broadcast announced under --subscribe-announced."""
    consumer = origin.consume()
    readers: dict[str, list[asyncio.Task]] = {}

    async def read_one(path: str, track: str) -> None:
        try:
            broadcast = await consumer.announced_broadcast(path)
        except Exception as error:
            out("track-error", broadcast=path, track=track, frames=0, **error_fields(error))
            return
        with contextlib.suppress(Exception):  # read_track reports its errors as "track-error"
            await read_track(broadcast, path, track, args, Counter())

    def on_update(update: moq.AnnounceUpdate) -> None:
        path = update.prefix
        if not update.active or path == args.publish:
            return
        for task in readers.pop(path, []):
            task.cancel()  # re-announced: start over
        readers[path] = [asyncio.create_task(read_one(path, track)) for track in args.track]

    try:
        await print_announcements(consumer, args.subscribe_announced, None, on_update)
    finally:
        for tasks in readers.values():
            for task in tasks:
                task.cancel()


async def server_publish(server: moq.Server, args: argparse.Namespace) -> None:
    try:
        broadcast, tracks = await publish_broadcast(server.create_broadcast, args, args.groups, None)
        await hold_and_finish(tracks, args)
        await asyncio.Event().wait()  # keep the broadcast, its tracks and their cache until the server exits
        broadcast.close()
        del tracks
    except asyncio.CancelledError:
        raise
    except Exception as error:
        out("error", **error_fields(error))


async def server_command(args: argparse.Namespace) -> int:
    if args.publish is not None:
        args.broadcast = args.publish
    if (args.publish is not None or args.subscribe_announced is not None) and not args.track:
        args.track = ["data"]
    origin = moq.OriginProducer()
    async with moq.Server(f"127.0.0.1:{args.port}", tls_generate=["localhost"],
                          publish=origin, subscribe=origin) as server:
        peer_util.ready(port_of(server.local_addr), normalize_fingerprint(server.cert_fingerprints()[0]))
        tasks = [asyncio.create_task(accept_sessions(server))]
        if args.subscribe_announced is not None:
            tasks.append(asyncio.create_task(subscribe_announced(origin, args)))
        elif args.announces:
            tasks.append(asyncio.create_task(print_announcements(origin.consume(), "")))
        if args.publish is not None:
            tasks.append(asyncio.create_task(server_publish(server, args)))
        reason = await peer_util.run_until_exit(args, "moq_ref server")
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
    out("exit", reason=reason, code=0)
    return 0


# --------------------------------------------------------------------------------------------------
# command line


def add_client_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="moqt://127.0.0.1:PORT/ (raw QUIC) or https://... (WebTransport)")
    parser.add_argument("--fingerprint", action="append", default=[],
                        help="pin the server certificate's SHA-256 (hex, colons allowed; repeatable)")
    parser.add_argument("--insecure", action="store_true", help="disable certificate verification")
    parser.add_argument("--reconnect", action="store_true", help="let the reference client redial after a drop")


def add_publish_args(parser: argparse.ArgumentParser, groups_default: int | None) -> None:
    parser.add_argument("--groups", type=int, default=groups_default,
                        help="groups to write per track" + (" (default: until exit)" if groups_default is None else ""))
    parser.add_argument("--frames-per-group", type=int, default=3)
    parser.add_argument("--interval-ms", type=int, default=50, help="one frame every MS ms")
    parser.add_argument("--frame-size", type=int, default=64, help="payload bytes per frame")
    parser.add_argument("--first-group", type=int,
                        help="number groups FIRST, FIRST+1, ... (create_group) instead of append_group()")
    parser.add_argument("--datagrams", type=int, default=0,
                        help="after the groups, send this many datagrams per track (append_datagram)")
    parser.add_argument("--datagram-size", type=int, default=DEFAULT_DATAGRAM_SIZE,
                        help=f"datagram payload bytes (default {DEFAULT_DATAGRAM_SIZE}; documented cap 1200, but the reference "
                             "silently drops more than 1156 on WebTransport / 1158 on raw QUIC)")
    parser.add_argument("--timestamps", choices=["nominal", "wall", "zero"], default="nominal",
                        help="frame timestamp_us: nominal = n * max(interval,1ms) for the n-th frame (default), "
                             "wall = Unix time in µs, zero")
    parser.add_argument("--wait-subscriber", action="store_true",
                        help="write nothing until one of the tracks has a subscriber")
    parser.add_argument("--finish", choices=["after-hold", "immediately", "never"], default="after-hold",
                        help="when to finish the tracks (clean end, SUBSCRIBE_END): after --hold-seconds (default), "
                             "right after the last frame, or never (the tracks then end with the session)")
    parser.add_argument("--hold-seconds", type=float, default=2.0,
                        help="after the last frame, wait this long before finishing the tracks (and, for "
                             "publish, before unannouncing and disconnecting; default 2)")
    parser.add_argument("--priority", type=int, help="publisher track priority (TrackInfo; default 127)")
    parser.add_argument("--max-age-ms", type=int, help="publisher cache window (TrackInfo; default 5000)")
    parser.add_argument("--timescale", type=int, help="track timescale (TrackInfo; default 1000000)")


def add_read_args(parser: argparse.ArgumentParser, datagram_flag: str = "--datagrams") -> None:
    parser.add_argument("--order", choices=["arrival", "sequence"], default="arrival",
                        help="arrival: recv_group(), groups read concurrently (default); "
                             "sequence: next_group(), which skips groups that arrive late")
    parser.add_argument("--start-group", type=int, help="Subscription.group_start")
    parser.add_argument("--end-group", type=int, help="Subscription.group_end")
    parser.add_argument("--max-latency-ms", type=int,
                        help="Subscription.max_age_us/1000 (default 0: only the latest group on join)")
    parser.add_argument("--sub-priority", type=int, help="Subscription.priority")
    parser.add_argument(datagram_flag, dest="read_datagrams", action="store_true",
                        help="also read datagrams (recv_datagram)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--log-level", choices=["error", "warn", "info", "debug", "trace"],
                        help="enable the Rust layer's log on stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    server = commands.add_parser("server", help="reference server; all sessions share one origin (mini relay)")
    server.add_argument("--port", type=int, default=0)
    server.add_argument("--publish", metavar="BROADCAST", help="publish this broadcast from the server itself")
    server.add_argument("--track", action="append", default=[],
                        help="track(s) to publish / read (repeatable; default data)")
    server.add_argument("--subscribe-announced", metavar="PREFIX",
                        help="subscribe to --track(s) of every broadcast announced under PREFIX")
    server.add_argument("--announces", action=argparse.BooleanOptionalAction, default=True,
                        help="print the origin's announcements (default yes)")
    add_publish_args(server, None)
    add_read_args(server, "--read-datagrams")
    peer_util.add_lifetime_args(server)

    publish = commands.add_parser("publish", help="publish a broadcast with deterministic frames")
    add_client_args(publish)
    publish.add_argument("--broadcast", required=True)
    publish.add_argument("--track", action="append", required=True, help="repeatable")
    add_publish_args(publish, 5)
    peer_util.add_lifetime_args(publish)

    subscribe = commands.add_parser("subscribe", help="subscribe to one track and print its frames")
    add_client_args(subscribe)
    subscribe.add_argument("--broadcast", required=True)
    subscribe.add_argument("--track", required=True)
    subscribe.add_argument("--count", type=int, help="succeed after this many frames (default: until the track ends)")
    subscribe.add_argument("--datagram-count", type=int, help="also require this many datagrams (implies --datagrams)")
    subscribe.add_argument("--wait-announce", action=argparse.BooleanOptionalAction, default=True,
                           help="wait for the ANNOUNCE (announced_broadcast; default) or request_broadcast() at once")
    add_read_args(subscribe)
    peer_util.add_lifetime_args(subscribe)

    announced = commands.add_parser("announced", help="print announcements under a prefix")
    add_client_args(announced)
    announced.add_argument("--prefix", default="")
    announced.add_argument("--count", type=int, help="succeed after this many updates (default: run until exit)")
    peer_util.add_lifetime_args(announced)

    fetch = commands.add_parser("fetch", help="FETCH one past group by sequence")
    add_client_args(fetch)
    fetch.add_argument("--broadcast", required=True)
    fetch.add_argument("--track", required=True)
    fetch.add_argument("--group", type=int, required=True)
    fetch.add_argument("--sub-priority", type=int, help="FetchGroupOptions.priority")
    fetch.add_argument("--wait-announce", action=argparse.BooleanOptionalAction, default=True)
    peer_util.add_lifetime_args(fetch)

    args = parser.parse_args(argv)
    if getattr(args, "datagram_count", None) is not None:
        args.read_datagrams = True
    return args


def main() -> int:
    args = parse_args(sys.argv[1:])
    if args.log_level:
        moq.log_level(args.log_level)
    command = {
        "server": server_command,
        "publish": publish_command,
        "subscribe": subscribe_command,
        "announced": announced_command,
        "fetch": fetch_command,
    }[args.command]
    return asyncio.run(command(args))


if __name__ == "__main__":
    sys.exit(main())
