from shoal.raft import codec
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


def test_message_round_trip_keeps_every_field() -> None:
    snap = Snapshot(SnapshotMeta(7, 3, ConfState((1, 2, 3), (4,))), b"state")
    m = Message(
        MessageType.APP,
        2,
        1,
        5,
        4,
        9,
        [Entry(5, 10, EntryType.NORMAL, b"x")],
        8,
        True,
        3,
        snap,
        b"ctx",
    )
    assert codec.decode_message(codec.encode_message(m)) == m


def test_records_round_trip() -> None:
    e = Entry(2, 3, EntryType.CONF_CHANGE, b"\x00\xff")
    assert codec.decode_entry(codec.encode_entry(e)) == e
    h = HardState(4, 2, 9)
    assert codec.decode_hard_state(codec.encode_hard_state(h)) == h
    c = ConfChange(ConfChangeType.ADD_LEARNER, 12, b"peer")
    assert codec.decode_conf_change(codec.encode_conf_change(c)) == c
    meta = SnapshotMeta(100, 7, ConfState((1,), ()))
    assert codec.decode_snapshot_meta(codec.encode_snapshot_meta(meta)) == meta
