"""The one encoder for raft data crossing a process boundary (WAL records, peer frames).

msgpack arrays, positional, so a record is compact and cheap to decode. Every encode has
its decode next to it; round trips are tested.
"""

from __future__ import annotations

from typing import Any

import msgpack

from shoal.raft.types import (
    ConfChange,
    ConfChangeType,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMeta,
)

# Enum members by value, looked up rather than constructed: calling an IntEnum class costs about
# a microsecond, once per message and once per entry, and decoding is most of the transport's CPU.
# A dict (not a tuple) so that an unknown or negative value is an error, as the call was.
_MESSAGE_TYPES: dict[int, MessageType] = {int(t): t for t in MessageType}
_ENTRY_TYPES: dict[int, EntryType] = {int(t): t for t in EntryType}


def _entry_tuple(e: Entry) -> list[Any]:
    return [e.term, e.index, int(e.type), e.data]


def _entry_from(t: list[Any]) -> Entry:
    return Entry(t[0], t[1], _ENTRY_TYPES[t[2]], t[3])


def _conf_tuple(c: ConfState) -> list[Any]:
    return [list(c.voters), list(c.learners)]


def _conf_from(t: list[Any]) -> ConfState:
    return ConfState(tuple(t[0]), tuple(t[1]))


def _meta_tuple(m: SnapshotMeta) -> list[Any]:
    return [m.index, m.term, _conf_tuple(m.conf_state)]


def _meta_from(t: list[Any]) -> SnapshotMeta:
    return SnapshotMeta(t[0], t[1], _conf_from(t[2]))


def encode_entry(e: Entry) -> bytes:
    return msgpack.packb(_entry_tuple(e))  # type: ignore[no-any-return]


def decode_entry(b: bytes) -> Entry:
    return _entry_from(msgpack.unpackb(b))


def encode_hard_state(h: HardState) -> bytes:
    return msgpack.packb([h.term, h.vote, h.commit])  # type: ignore[no-any-return]


def decode_hard_state(b: bytes) -> HardState:
    t = msgpack.unpackb(b)
    return HardState(t[0], t[1], t[2])


def encode_snapshot_meta(m: SnapshotMeta) -> bytes:
    return msgpack.packb(_meta_tuple(m))  # type: ignore[no-any-return]


def decode_snapshot_meta(b: bytes) -> SnapshotMeta:
    return _meta_from(msgpack.unpackb(b))


def encode_conf_change(c: ConfChange) -> bytes:
    return msgpack.packb([int(c.type), c.node_id, c.context])  # type: ignore[no-any-return]


def decode_conf_change(b: bytes) -> ConfChange:
    t = msgpack.unpackb(b)
    return ConfChange(ConfChangeType(t[0]), t[1], t[2])


def encode_message(m: Message) -> bytes:
    snap = None
    if m.snapshot is not None:
        snap = [_meta_tuple(m.snapshot.meta), m.snapshot.data]
    return msgpack.packb(  # type: ignore[no-any-return]
        [
            int(m.type),
            m.to,
            m.frm,
            m.term,
            m.log_term,
            m.index,
            [_entry_tuple(e) for e in m.entries],
            m.commit,
            m.reject,
            m.reject_hint,
            snap,
            m.context,
        ]
    )


def decode_message(b: bytes) -> Message:
    t = msgpack.unpackb(b, use_list=False)
    snap = None
    if t[10] is not None:
        snap = Snapshot(_meta_from(t[10][0]), t[10][1])
    types = _ENTRY_TYPES
    return Message(
        _MESSAGE_TYPES[t[0]],
        t[1],
        t[2],
        t[3],
        t[4],
        t[5],
        [Entry(term, index, types[kind], data) for term, index, kind, data in t[6]],
        t[7],
        t[8],
        t[9],
        snap,
        t[11],
    )
