"""Hostile bytes at a running member's client port, through a real socket: whatever arrives, the
member answers (or closes), never with a 500 etcd would not give, stays up, and a request it
refuses changes nothing (the store index stays where it was)."""

from __future__ import annotations

import urllib.parse

from fuzz_wire import EXAMPLES, exchange, healthy, statuses, store_index
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.etcd import EtcdMember

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

METHODS = ["GET", "PUT", "POST", "DELETE", "HEAD", "PATCH", "OPTIONS", "TRACE", "get", "PUTT"]
# Every parameter the v2 keys API reads, but wait/stream (they hold the request open by design).
PARAMS = ["value", "ttl", "dir", "prevExist", "prevValue", "prevIndex", "recursive", "sorted",
          "quorum", "refresh", "noValueOnSuccess", "waitIndex"]  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=24),
    st.sampled_from(["true", "false", "0", "-1", "1e9", "18446744073709551616", "", "%zz"]),
    st.integers(-(2**70), 2**70).map(str),
)
KEY = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=40).map(
    lambda s: urllib.parse.quote(s, safe="/%?#&=.") or "k"
)


def check(m: EtcdMember, request: bytes) -> list[int]:
    before = store_index(m.client_url)
    got = statuses(exchange(m.addr, request))
    assert 500 not in got, (request, got)
    assert healthy(m.client_url), request
    if not any(200 <= s < 300 for s in got):
        assert store_index(m.client_url) == before, (request, got)
    return got


@FUZZ
@given(line=st.binary(max_size=200))
def test_any_request_line(member: EtcdMember, line: bytes) -> None:
    check(member, line + b"\r\nHost: x\r\n\r\n")


@FUZZ
@given(
    method=st.sampled_from(METHODS),
    key=KEY,
    query=st.dictionaries(st.sampled_from(PARAMS), VALUES, max_size=4),
    form=st.dictionaries(st.sampled_from(PARAMS), VALUES, max_size=4),
)
def test_any_keys_request(
    member: EtcdMember, method: str, key: str, query: dict[str, str], form: dict[str, str]
) -> None:
    body = urllib.parse.urlencode(form).encode()
    target = f"/v2/keys/fuzz/{key.lstrip('/')}"
    if query:
        target += "?" + urllib.parse.urlencode(query)
    head = (
        f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    got = check(member, head.encode("utf-8", "surrogateescape") + body)
    assert got, (head, "no answer")


@FUZZ
@given(
    headers=st.lists(
        st.tuples(st.binary(min_size=0, max_size=30), st.binary(max_size=300)), max_size=8
    ),
    body=st.binary(max_size=300),
)
def test_any_headers_and_body(
    member: EtcdMember, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    raw = b"PUT /v2/keys/fuzz/h HTTP/1.1\r\nHost: x\r\n"
    for k, v in headers:
        raw += k + b": " + v + b"\r\n"
    check(member, raw + b"\r\n" + body)


def test_large_bodies_and_headers_are_refused_or_served_not_crashed(member: EtcdMember) -> None:
    # 1.5 MiB of value (etcd's default --max-request-bytes is 1.5 MiB) and a 100 KiB header.
    big = b"value=" + b"v" * (3 << 19)
    head = (
        f"PUT /v2/keys/fuzz/big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(big)}\r\n\r\n"
    )
    got = check(member, head.encode() + big)
    assert got and got[0] in (201, 200, 400, 413), got
    got = check(member, b"GET /v2/keys/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * (100 << 10)
                + b"\r\n\r\n")  # fmt: skip
    assert got and got[0] in (200, 400, 431), got
