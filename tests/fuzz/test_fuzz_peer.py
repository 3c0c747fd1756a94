"""Hostile bytes at a running member's peer port: garbage after the stream preamble, frames too
long, handshakes from another cluster or a stranger. The member refuses them, stays up, and no
raft message they carried is ever applied."""

from __future__ import annotations

import json
import struct

import msgpack
from fuzz_wire import EXAMPLES, exchange, get, healthy, statuses, store_index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shoal.raft.codec import encode_message
from shoal.raft.types import Entry, Message, MessageType
from shoal.store import Request
from shoal.store import request as rq
from shoal.transport.frame import MAGIC, Hello, Kind, encode_frame
from support.etcd import EtcdMember

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def peer_addr(m: EtcdMember) -> str:
    return m.peer_url.removeprefix("http://")


def ids(m: EtcdMember) -> tuple[int, int]:
    """(member id, cluster id) as the member's peer port gives them."""
    status, headers, body = get(m.peer_url + "/members")
    assert status == 200
    return int(json.loads(body)[0]["id"]), int(headers["X-Etcd-Cluster-Id"], 16)


def planted_append(to: int, frm: int) -> bytes:
    """A MSG frame whose MsgApp would create /1/fuzz-peer if it were ever applied."""
    req = Request(rq.PUT, "/1/fuzz-peer", value="applied", id=7)
    msg = Message(MessageType.APP, to=to, frm=frm, term=1 << 40, log_term=0, index=0,
                  entries=[Entry(1 << 40, 1 << 30, data=req.encode())], commit=1 << 30)  # fmt: skip
    return encode_frame(Kind.MSG, encode_message(msg))


def absent(m: EtcdMember) -> bool:
    return get(m.client_url + "/v2/keys/fuzz-peer?quorum=true")[0] == 404


def frames(raw: bytes) -> list[int]:
    """Kinds of the frames the member answered with."""
    out, pos = [], 0
    while pos + 5 <= len(raw):
        length, kind = struct.unpack_from(">IB", raw, pos)
        out.append(kind)
        pos += 5 + length
    return out


@FUZZ
@given(junk=st.binary(max_size=400))
def test_garbage_after_the_preamble(member: EtcdMember, junk: bytes) -> None:
    before = store_index(member.client_url)
    exchange(peer_addr(member), MAGIC + junk)
    assert healthy(member.client_url)
    assert store_index(member.client_url) == before


@FUZZ
@given(line=st.binary(max_size=200))
def test_any_http_request_at_the_peer_port(member: EtcdMember, line: bytes) -> None:
    before = store_index(member.client_url)
    got = statuses(exchange(peer_addr(member), line + b"\r\nHost: x\r\n\r\n"))
    assert 500 not in got
    assert healthy(member.client_url)
    assert store_index(member.client_url) == before


@FUZZ
@given(
    other=st.integers(1, 2**64 - 1),
    sender=st.integers(1, 2**64 - 1),
    fields=st.lists(
        st.one_of(st.integers(-(2**63), 2**64 - 1), st.text(max_size=8), st.none()), max_size=6
    ),
)
def test_a_handshake_from_another_cluster_or_a_stranger_is_refused(
    member: EtcdMember, other: int, sender: int, fields: list[object]
) -> None:
    me, cluster = ids(member)
    if other == cluster:
        other += 1
    for hello in (
        Hello(1, sender, me, other).encode(),  # another cluster
        Hello(1, sender, me, cluster).encode(),  # this cluster, a member it does not know
        encode_frame(Kind.HELLO, msgpack.packb(fields)),  # a malformed one
    ):
        raw = exchange(peer_addr(member), MAGIC + hello + planted_append(me, sender) * 3)
        assert Kind.WELCOME not in frames(raw)
    assert healthy(member.client_url)
    assert absent(member)


def test_an_oversized_frame_length_drops_the_connection(member: EtcdMember) -> None:
    me, cluster = ids(member)
    hello = Hello(1, 12345, me, cluster + 1).encode()
    exchange(peer_addr(member), MAGIC + struct.pack(">IB", 0xFFFFFFFF, Kind.MSG) + hello)
    assert healthy(member.client_url)
