#!/usr/bin/env python3
"""Relay hop latency from a `perf script -F pid,time,trace` dump of the net:net_dev_queue tracepoint.

The hop of a frame is the time from the publisher's datagram entering the loopback device to the relay's
datagram carrying the same frame to the subscriber entering it: the relay's wake-up and processing, with
none of the load generator's own latency. With one subscriber, one frame per datagram and frames far apart
(10 ms at 100/s against hops well under 1 ms), a large datagram from the relay's process carries the frame of
the latest large datagram from any other process before it; the first such datagram is the frame's hop. A
retransmission on either side then skews one frame at most, where pairing the k-th datagrams would shift
every later pair by a frame interval. A frame with no relayed datagram before the next frame is not counted
(n is the frames counted).

    relay-hop.py TRACE RELAY_PID [MIN_LEN]  ->  "HOP n=... p50_ms=... p90_ms=... p99_ms=... p999_ms=... max_ms=..."
"""

import bisect
import re
import sys

LINE = re.compile(r"^\s*(\d+)(?:/\d+)?\s+([\d.]+):.*\blen=(\d+)")


def percentile(sorted_values, fraction):
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]


def main():
    trace, relay_pid = sys.argv[1], sys.argv[2]
    min_len = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    published, relayed = [], []
    with open(trace) as dump:
        for line in dump:
            match = LINE.match(line)
            if not match or int(match.group(3)) < min_len:
                continue  # ACKs and control datagrams
            pid, seconds = match.group(1), float(match.group(2))
            (relayed if pid == relay_pid else published).append(seconds)
    if not published or not relayed:
        sys.exit(f"relay-hop: no frames in {trace} (published {len(published)}, relayed {len(relayed)})")
    published.sort()
    hop_of = {}  # published index -> hop ms, from the first relayed datagram after it and before the next
    for sent in sorted(relayed):
        frame = bisect.bisect_right(published, sent) - 1
        if frame >= 0 and frame not in hop_of:
            hop_of[frame] = (sent - published[frame]) * 1000
    if len(hop_of) < len(published) * 0.9:
        sys.exit(f"relay-hop: only {len(hop_of)} of {len(published)} frames relayed: not one datagram each")
    hops = sorted(hop_of.values())
    count = len(hops)
    print(
        f"HOP n={count} p50_ms={percentile(hops, 0.5):.3f} p90_ms={percentile(hops, 0.9):.3f} "
        f"p99_ms={percentile(hops, 0.99):.3f} p999_ms={percentile(hops, 0.999):.3f} max_ms={hops[-1]:.3f}"
    )


if __name__ == "__main__":
    main()
