"""Deterministic frame payloads shared by the moq_ref.py publisher and its readers.

A frame's bytes depend only on (group sequence, frame index within the group, size), so a receiver can
check every frame it gets without knowing anything else:

    header  = b"g%08d f%05d" % (group % 10**8, frame % 10**5)          # exactly 16 ASCII bytes
    byte[k] = header[k]                          for k < 16
    byte[k] = (k + 7 * group + 13 * frame) % 256 for k >= 16
    payload = byte[0 .. size)                    (a frame shorter than 16 bytes is a truncated header)

Datagrams use the same rule with the letter "d" instead of "g" and <group> replaced by the datagram's
index k = 0, 1, 2 ... in the order the publisher sent them (the publisher cannot know the sequence
number the reference will assign before sending), and frame = 0.

Importable without the `moq` package (no third-party imports).
"""

from __future__ import annotations

import hashlib
import re

HEADER_LENGTH = 16
_RAMP = bytes(range(256))
_HEADER = re.compile(rb"([gd])(\d{8}) f(\d{5})")


def make_payload(group: int, frame: int, size: int, kind: str = "g") -> bytes:
    """The payload of frame <frame> of group <group> (or datagram <group> when kind == "d")."""
    header = b"%s%08d f%05d" % (kind.encode(), group % 10**8, frame % 10**5)
    if size <= HEADER_LENGTH:
        return header[:size]
    length = size - HEADER_LENGTH
    start = (HEADER_LENGTH + 7 * group + 13 * frame) % 256
    rotated = _RAMP[start:] + _RAMP[:start]
    tail = rotated * (length // 256 + 1)
    return header + tail[:length]


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def frame_matches(payload: bytes, group: int, frame: int) -> bool:
    """True iff <payload> is exactly what the publisher writes as frame <frame> of group <group>."""
    return payload == make_payload(group, frame, len(payload))


def datagram_index(payload: bytes) -> int | None:
    """The datagram index k a datagram payload claims, if its bytes are consistent with it."""
    match = _HEADER.match(payload)
    if match is None or match.group(1) != b"d":
        return None
    index = int(match.group(2))
    return index if payload == make_payload(index, 0, len(payload), kind="d") else None
