"""The peer stream's wire format: a magic preamble, then length-prefixed frames (sans-IO).

    connection := MAGIC frame*
    frame      := length:u32be kind:u8 payload[length]

The dialing member writes MAGIC and a HELLO frame; the listener answers WELCOME (then reads MSG
frames until the connection closes) or REJECT (then closes). PING/PONG frames carry an opaque
token the listener echoes, for round-trip latency and to notice a dead connection from the
dialing side. MSG payloads are `shoal.raft.codec.encode_message` bytes, unchanged.

MAGIC starts with a NUL byte, which no HTTP method does, so one listener can tell the peer
stream from an HTTP request by its first four bytes (see `inbound`).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import msgpack

MAGIC = b"\x00SHL"
PROTOCOL_VERSION = 1

MAX_FRAME = 1 << 30
"""Largest payload accepted (1 GiB): a MsgSnap carries the whole v2 store in one frame; anything
larger is a corrupt or hostile length, and the connection is dropped rather than buffering it."""

HEADER = struct.Struct(">IB")
PING_TOKEN = struct.Struct(">q")


class Kind(IntEnum):
    HELLO = 1
    WELCOME = 2
    REJECT = 3
    MSG = 4
    PING = 5
    PONG = 6


class FrameError(Exception):
    """The byte stream is not a valid frame sequence; the connection must be dropped."""


class RejectCode:
    """Why a listener refused a stream. Values are stable strings (they cross the wire)."""

    CLUSTER_ID_MISMATCH = "cluster-id-mismatch"
    REMOVED_MEMBER = "removed-member"
    UNKNOWN_SENDER = "unknown-sender"
    WRONG_TARGET = "wrong-target"
    BAD_VERSION = "bad-version"
    REPLACED = "replaced"
    """Sent on an accepted stream, then closed: a newer stream from the same member ID took its
    place (the member redialled, or a second member runs with that ID)."""


def frame_header(kind: Kind, length: int) -> bytes:
    return HEADER.pack(length, kind)


def encode_frame(kind: Kind, payload: bytes) -> bytes:
    return HEADER.pack(len(payload), kind) + payload


@dataclass(slots=True, frozen=True)
class Hello:
    """Sent by the dialing member: who it is, whom it meant to reach, and its cluster."""

    version: int
    sender: int
    target: int
    cluster_id: int
    origin: str = ""
    """The sender's own peer URL (what it listens on): tells two members that share one ID
    apart. Optional on the wire (a HELLO of four fields has none)."""

    def encode(self) -> bytes:
        fields = [self.version, self.sender, self.target, self.cluster_id, self.origin]
        body: bytes = msgpack.packb(fields)
        return encode_frame(Kind.HELLO, body)

    @staticmethod
    def decode(payload: bytes) -> Hello:
        t = _unpack_list(payload, 4)
        origin = t[4] if len(t) > 4 and isinstance(t[4], str) else ""
        return Hello(int(t[0]), int(t[1]), int(t[2]), int(t[3]), origin)


@dataclass(slots=True, frozen=True)
class Welcome:
    """The listener accepted the stream."""

    version: int
    member_id: int
    cluster_id: int

    def encode(self) -> bytes:
        body: bytes = msgpack.packb([self.version, self.member_id, self.cluster_id])
        return encode_frame(Kind.WELCOME, body)

    @staticmethod
    def decode(payload: bytes) -> Welcome:
        t = _unpack_list(payload, 3)
        return Welcome(int(t[0]), int(t[1]), int(t[2]))


@dataclass(slots=True, frozen=True)
class Reject:
    """The listener refused the stream; `code` is a `RejectCode`, `text` is for logs."""

    code: str
    text: str

    def encode(self) -> bytes:
        return encode_frame(Kind.REJECT, msgpack.packb([self.code, self.text]))

    @staticmethod
    def decode(payload: bytes) -> Reject:
        t = _unpack_list(payload, 2)
        return Reject(str(t[0]), str(t[1]))


def _unpack_list(payload: bytes, n: int) -> list[Any]:
    try:
        t = msgpack.unpackb(payload)
    except Exception as e:  # msgpack raises several unrelated types for garbage
        raise FrameError(f"undecodable handshake frame: {e}") from e
    if not isinstance(t, list) or len(t) < n:
        raise FrameError(f"handshake frame has {t!r}, want a list of {n}")
    return t


class FrameParser:
    """Accumulates stream bytes and splits them into (kind, payload) frames.

    Cost per `feed` is proportional to the complete frames it returns, however large a partly
    received frame is, so a big MsgSnap arriving in small reads stays linear.
    """

    __slots__ = ("_buf", "_max")

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos = 0
        n = len(buf)
        unpack = HEADER.unpack_from
        while n - pos >= 5:
            length, kind = unpack(buf, pos)
            if length > self._max:
                raise FrameError(f"frame of {length} bytes exceeds the {self._max} byte limit")
            end = pos + 5 + length
            if end > n:
                break
            out.append((kind, bytes(buf[pos + 5 : end])))
            pos = end
        if pos:
            del buf[:pos]
        return out

    def pending(self) -> int:
        """Bytes buffered towards frames not yet complete."""
        return len(self._buf)
