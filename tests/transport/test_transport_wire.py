"""The sans-IO pieces: frame parser, handshake frames, HTTP parser, fault settings, delay line."""

from __future__ import annotations

import asyncio
import random

import pytest

from shoal.raft.codec import decode_message, encode_message
from shoal.raft.types import Entry, Message, MessageType
from shoal.transport.delay import DelayLine
from shoal.transport.faults import FaultGate, Faults
from shoal.transport.frame import (
    FrameError,
    FrameParser,
    Hello,
    Kind,
    Reject,
    RejectCode,
    Welcome,
    encode_frame,
)
from shoal.transport.http import HttpError, RequestParser
from shoal.transport.peer import Backoff
from shoal.transport.urls import parse_peer_url
from support import wait_until_async


def test_frames_survive_any_split_of_the_byte_stream() -> None:
    msgs = [
        Message(MessageType.APP, to=2, frm=1, index=i, entries=[Entry(1, i, data=b"d" * i)])
        for i in range(50)
    ]
    stream = b"".join(encode_frame(Kind.MSG, encode_message(m)) for m in msgs)
    rng = random.Random(3)
    for _ in range(20):
        parser = FrameParser()
        out: list[tuple[int, bytes]] = []
        pos = 0
        while pos < len(stream):
            step = rng.randint(1, 300)
            out += parser.feed(stream[pos : pos + step])
            pos += step
        assert [decode_message(p) for _, p in out] == msgs
        assert parser.pending() == 0


def test_oversized_frame_is_refused_before_buffering_it() -> None:
    parser = FrameParser(max_frame=1024)
    with pytest.raises(FrameError, match="exceeds"):
        parser.feed(encode_frame(Kind.MSG, b"x" * 2000)[:10])


def test_handshake_frames_round_trip() -> None:
    for frame in (Hello(1, 0xA, 0xB, 0xC0FFEE), Welcome(1, 0xB, 0xC0FFEE)):
        ((kind, payload),) = FrameParser().feed(frame.encode())
        assert type(frame).decode(payload) == frame
    rej = Reject(RejectCode.CLUSTER_ID_MISMATCH, "cluster ID mismatch")
    ((kind, payload),) = FrameParser().feed(rej.encode())
    assert kind == Kind.REJECT and Reject.decode(payload) == rej
    with pytest.raises(FrameError):
        Hello.decode(b"\xc1garbage")


def test_http_parser_handles_pipelining_bodies_and_limits() -> None:
    p = RequestParser()
    assert p.feed(b"POST /_shoal/faults?x=1 HTTP/1.1\r\nContent-Length: 2\r\n\r\n{") == []
    (req,) = p.feed(b"}GET /version HTTP/1.0\r\n\r")
    assert (req.method, req.path, req.query, req.body) == ("POST", "/_shoal/faults", "x=1", b"{}")
    assert req.keep_alive
    (req,) = p.feed(b"\n")
    assert req.path == "/version" and not req.keep_alive  # HTTP/1.0 closes by default
    with pytest.raises(HttpError) as e:
        RequestParser().feed(b"GET / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n")
    assert e.value.status == 413
    with pytest.raises(HttpError) as e:
        RequestParser().feed(b"NOT A REQUEST LINE AT ALL\r\n\r\n")
    assert e.value.status == 400


def test_faults_json_accepts_hex_and_integer_ids_and_names_bad_fields() -> None:
    f = Faults.from_json({"blocked": ["8e9e05c52164694d", 3], "drop": 0.25, "delay_ms": 10})
    assert f.blocked == {0x8E9E05C52164694D, 3} and f.drop == 0.25 and f.delay_ms == 10.0
    assert Faults.from_json(f.to_json()) == f
    assert Faults.from_json({}) == Faults() and Faults().is_clear()
    for bad, message in [
        ({"blocked": "2"}, "blocked must be a list"),
        ({"blocked": ["zz"]}, "not a member id"),
        ({"drop": -1}, "drop must be between"),
        ({"delay_ms": "5"}, "delay_ms must be a number"),
        ({"partition": []}, "unknown fault field"),
        ([], "JSON object"),
    ]:
        with pytest.raises(ValueError, match=message):
            Faults.from_json(bad)


def test_fault_gate_verdicts() -> None:
    gate = FaultGate(random.Random(1))
    assert not gate.active and gate.verdict(2) == 0.0
    gate.set(Faults().block([2, 3]))
    assert gate.active and gate.verdict(2) is None and gate.verdict(4) == 0.0
    assert gate.is_blocked(3) and not gate.is_blocked(4)
    gate.set(gate.faults.unblock([2]))
    assert gate.verdict(2) == 0.0 and gate.verdict(3) is None
    gate.set(Faults(delay_ms=20, peers=frozenset({5})))
    assert gate.verdict(5) == 0.02 and gate.verdict(6) == 0.0
    gate.set(gate.faults.unblock())
    assert gate.faults.delay_ms == 20  # unblocking leaves other faults alone
    gate.set(Faults(drop=0.5))
    lost = sum(gate.verdict(2) is None for _ in range(1000))
    assert 400 < lost < 600


def test_delay_line_releases_in_order_even_when_the_delay_shrinks() -> None:
    async def body() -> None:
        out: list[int] = []
        line: DelayLine[int] = DelayLine(asyncio.get_running_loop(), out.append)
        line.push(1, 0.05)
        line.push(2, 0.0)  # may not overtake 1
        line.push(3, 0.01)
        await wait_until_async(lambda: len(out) >= 3, 10, "three items released", every=0.01)
        assert out == [1, 2, 3] and len(line) == 0
        line.push(4, 10)
        line.close()
        assert len(line) == 0

    asyncio.run(body())


def test_backoff_grows_to_its_cap_with_jitter() -> None:
    b = Backoff(0.1, 1.0, random.Random(5))
    delays = [b.next() for _ in range(8)]
    assert 0.05 <= delays[0] <= 0.1
    assert all(0.5 <= d <= 1.0 for d in delays[4:])
    b.reset()
    assert b.next() <= 0.1


def test_peer_urls() -> None:
    assert parse_peer_url("http://127.0.0.10:2380").port == 2380
    assert parse_peer_url("http://[::1]:2380").url() == "http://[::1]:2380"
    with pytest.raises(ValueError, match="must start with http"):
        parse_peer_url("127.0.0.1:2380")
    with pytest.raises(ValueError, match="path"):
        parse_peer_url("http://127.0.0.1:2380/raft")
