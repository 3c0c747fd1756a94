"""What goes over the wire: error bodies, Go-style JSON strings and times, the request codec
and key paths."""

from __future__ import annotations

import pytest

from shoal.gocompat.rfc3339 import rfc3339nano
from shoal.store import EtcdError, Request, keys_path
from shoal.store import errors as E
from shoal.store.jsonenc import go_string
from shoal.store.paths import clean_path, hidden_below, user_key


def test_error_body_is_etcds_with_cause_left_out_when_empty() -> None:
    assert EtcdError(E.KEY_NOT_FOUND, "/1/foo", 7).to_json() == (
        b'{"errorCode":100,"message":"Key not found","cause":"/foo","index":7}\n'
    )
    assert EtcdError(E.NOT_FILE, "/1", 3).to_json() == (
        b'{"errorCode":102,"message":"Not a file","index":3}\n'
    )
    assert EtcdError(E.RAFT_INTERNAL, "etcdserver: request timed out").to_json() == (
        b'{"errorCode":300,"message":"Raft Internal Error",'
        b'"cause":"etcdserver: request timed out","index":0}\n'
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (100, 404),
        (101, 412),
        (102, 403),
        (104, 400),
        (105, 412),
        (107, 400),
        (108, 403),
        (110, 401),
        (209, 400),
        (300, 500),
        (301, 500),
        (401, 400),
        (500, 400),
    ],
)
def test_error_statuses(code: int, status: int) -> None:
    assert EtcdError(code).status == status


def test_every_error_code_has_etcds_message() -> None:
    assert len(E.MESSAGES) == 32
    assert (
        E.MESSAGES[E.EVENT_INDEX_CLEARED] == "The event in requested index is outdated and cleared"
    )
    assert E.MESSAGES[E.REFRESH_TTL_REQUIRED] == "A TTL must be provided on refresh"


def test_strings_are_escaped_as_go_escapes_them() -> None:
    assert go_string("plain é ✓") == '"plain é ✓"'
    assert go_string('<a&b> "q" \\') == '"\\u003ca\\u0026b\\u003e \\"q\\" \\\\"'
    assert go_string("\b\f\n\r\t\x01\x1f") == '"\\u0008\\u000c\\n\\r\\t\\u0001\\u001f"'
    assert go_string("\u2028\u2029") == '"\\u2028\\u2029"'
    assert go_string("bad\udcff\ufffd") == '"bad\\ufffd\ufffd"'


def test_times_are_rfc3339nano_utc() -> None:
    assert rfc3339nano(1_800_000_000_000_000_000) == "2027-01-15T08:00:00Z"
    assert rfc3339nano(1_800_000_000_120_000_000) == "2027-01-15T08:00:00.12Z"
    assert rfc3339nano(1_800_000_000_000_000_001) == "2027-01-15T08:00:00.000000001Z"


def test_request_round_trips_through_the_codec() -> None:
    r = Request(
        "PUT",
        "/1/k",
        "v",
        dir=False,
        prev_value="p",
        prev_index=3,
        prev_exist=False,
        expiration=1_800_000_000_000_000_000,
        refresh=True,
        recursive=True,
        sorted=True,
        wait=False,
        wait_index=9,
        stream=True,
        quorum=True,
        no_value_on_success=True,
        time=5,
        id=77,
    )
    assert Request.decode(r.encode()) == r
    for pe in (None, True):
        r2 = Request("DELETE", "/1/x", prev_exist=pe)
        assert Request.decode(r2.encode()) == r2
    s = Request.sync(1_800_000_000.5)
    assert (s.method, s.time) == ("SYNC", 1_800_000_000_500_000_000)


def test_codec_refuses_what_is_not_a_request() -> None:
    with pytest.raises(ValueError, match="not a shoal v2 request"):
        Request.decode(b"\x93\x01\x02\x03")


@pytest.mark.parametrize(
    ("given", "clean"),
    [
        ("/a/b", "/a/b"),
        ("a/b/", "/a/b"),
        ("//a//b", "/a/b"),
        ("/a/./b/../c", "/a/c"),
        ("/../..", "/"),
        ("", "/"),
        ("/", "/"),
        ("/.hidden", "/.hidden"),
    ],
)
def test_paths_are_cleaned_like_go(given: str, clean: str) -> None:
    assert clean_path(given) == clean


def test_user_keys_live_under_slash_one() -> None:
    assert keys_path("/foo/") == "/1/foo"
    assert keys_path("") == "/1"
    assert keys_path("/") == "/1"
    assert user_key("/1/foo") == "/foo"
    assert user_key("/0/members") == "/0/members"


def test_hidden_below_follows_etcd() -> None:
    assert hidden_below("/1/d", "/1/d/_h")
    assert hidden_below("/", "/1/_h/x")
    assert not hidden_below("/1/d/_h", "/1/d/_h")
    assert not hidden_below("/1/d/x", "/1/d")


def test_bytes_that_are_not_utf8_survive_log_and_snapshot() -> None:
    from shoal.store import Store

    raw = b"caf\xe9".decode("utf-8", "surrogateescape")
    r = Request("PUT", keys_path("/k" + raw), raw)
    assert Request.decode(r.encode()) == r
    s = Store()
    e = s.apply(r, 1_800_000_000.0)
    assert e is not None and b'"value":"caf\\ufffd"' in e.to_json()
    restored = Store.from_snapshot(s.save())
    assert restored.get(keys_path("/k" + raw), now=0).node.value == raw
    assert restored.hash() == s.hash()


def test_huge_ttls_wrap_like_go_int64_and_still_encode() -> None:
    from shoal.store import Store, expiration_for_ttl

    assert expiration_for_ttl(1_800_000_000.0, 10) == 1_800_000_010 * 10**9
    for ttl in (2**63 // 10**9 + 1, 2**64 - 1, 10**15):
        exp = expiration_for_ttl(1_800_000_000.0, ttl)
        assert -(2**63) <= exp < 2**63
        r = Request("PUT", keys_path("/k"), "v", expiration=exp)
        assert Request.decode(r.encode()) == r
        s = Store()
        e = s.apply(r, 1_800_000_000.0)
        assert e is not None and e.to_json().startswith(b'{"action":"set"')
