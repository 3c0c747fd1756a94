"""Go's net/http and net/url rules and etcd's member-body decoding, as pure functions. Expected
values are what Go 1.19 / etcd 3.4.23 give (checked against the real etcd where reachable over
HTTP; the compatibility test covers the same paths end to end)."""

from __future__ import annotations

import pytest

from shoal.etcd.ids import parse_hex_id
from shoal.etcd.v2http.keyreq import parse_key_request
from shoal.etcd.v2http.memberreq import BadMemberRequest, decode_member_request
from shoal.gocompat.nethttp import (
    FormError,
    clean_path,
    form_content_type,
    parse_form,
    parse_query,
    redirect_location,
    unescape,
)
from shoal.gocompat.strconv import parse_bool
from shoal.gocompat.strconv import parse_uint as parse_uint64
from shoal.store import EtcdError


@pytest.mark.parametrize(
    ("path", "cleaned"),
    [
        ("/v2/keys/a", "/v2/keys/a"),
        ("/v2/keys/a/", "/v2/keys/a/"),
        ("/v2/keys/a/../b", "/v2/keys/b"),
        ("/v2/keys//a", "/v2/keys/a"),
        ("/v2/keys/./a/", "/v2/keys/a/"),
        ("/../..", "/"),
        ("//", "/"),
        ("/a/..", "/"),
        ("/a/../", "/"),
        ("/.hidden/x", "/.hidden/x"),
    ],
)
def test_servemux_clean_path(path: str, cleaned: str) -> None:
    assert clean_path(path) == cleaned


def test_redirect_location_escapes_as_go() -> None:
    assert redirect_location("/v2/keys/b c?!(x)", "q=1") == "/v2/keys/b%20c%3F%21%28x%29?q=1"
    assert redirect_location("/v2/keys/a+b$&,:;=@~", "") == "/v2/keys/a+b$&,:;=@~"
    assert redirect_location("/v2/keys/\udcff\u2603", "") == "/v2/keys/%FF%E2%98%83"


def test_unescape() -> None:
    assert unescape("a%20b+c", query_mode=False) == "a b+c"
    assert unescape("a%20b+c", query_mode=True) == "a b c"
    assert unescape("%ff", query_mode=True) == "\udcff"
    with pytest.raises(FormError, match=r'^invalid URL escape "%zz"$'):
        unescape("x%zz", query_mode=True)
    with pytest.raises(FormError, match=r'^invalid URL escape "%4"$'):
        unescape("x%4", query_mode=True)


def test_parse_query_errors_and_order() -> None:
    form: dict[str, list[str]] = {}
    assert parse_query("a=1&a=2&&b&c=%zz&d=4", form) == 'invalid URL escape "%zz"'
    assert form == {"a": ["1", "2"], "b": [""], "d": ["4"]}
    # A semicolon error replaces an earlier escape error (Go's parseQuery).
    assert parse_query("c=%zz&x;y", {}) == "invalid semicolon separator in query"


def test_parse_form_body_first_then_query() -> None:
    ct = "application/x-www-form-urlencoded"
    form, err = parse_form("value=q&ttl=5", b"value=b", ct)
    assert err is None and form == {"value": ["b", "q"], "ttl": ["5"]}
    form, err = parse_form("value=q", b"value=b", "text/plain")
    assert err is None and form == {"value": ["q"]}
    form, err = parse_form("value=q", None, ct)
    assert form == {"value": ["q"]}
    _, err = parse_form("", b"v" * (10 << 20) + b"v", ct)
    assert err == "http: POST too large"


@pytest.mark.parametrize(
    ("ct", "reads", "err"),
    [
        (None, False, None),
        ("", False, None),
        ("application/x-www-form-urlencoded", True, None),
        ("Application/X-WWW-Form-Urlencoded ; charset=utf-8", True, None),
        ("application/x-www-form-urlencoded;", True, None),
        (";;", False, "mime: no media type"),
        ("application/", False, "mime: expected token after slash"),
        ("application", False, None),
        ("a b", False, "mime: expected slash after first token"),
        ("a/b c", False, "mime: unexpected content after media subtype"),
        ("application/x-www-form-urlencoded; x", True, "mime: invalid media parameter"),
    ],
)
def test_form_content_type(ct: str | None, reads: bool, err: str | None) -> None:
    assert form_content_type(ct) == (reads, err)


def test_strconv() -> None:
    for s in ("1", "t", "T", "TRUE", "true", "True"):
        assert parse_bool(s) is True
    for s in ("0", "f", "F", "FALSE", "false", "False"):
        assert parse_bool(s) is False
    for s in ("", "yes", "tRue", " true"):
        with pytest.raises(ValueError):
            parse_bool(s)
    assert parse_uint64("18446744073709551615") == 2**64 - 1
    for s in ("", "-1", "+1", "1_0", "18446744073709551616", "١", " 1"):
        with pytest.raises(ValueError):
            parse_uint64(s)
    assert parse_hex_id("00Ff") == 255
    for s in ("", "0x12", "zz", "1_2", "10000000000000000"):
        with pytest.raises(ValueError):
            parse_hex_id(s)


def test_key_request_check_order() -> None:
    def err(method: str, **params: str) -> tuple[int, str]:
        with pytest.raises(EtcdError) as e:
            parse_key_request(method, "/k", {k: [v] for k, v in params.items()}, 0.0)
        return e.value.code, e.value.cause

    # prevIndex is checked before everything else, ttl after prevValue and noValueOnSuccess.
    assert err("PUT", ttl="x", prevIndex="x") == (203, 'invalid value for "prevIndex"')
    assert err("PUT", ttl="x", prevValue="") == (201, '"prevValue" cannot be empty')
    assert err("PUT", ttl="x", noValueOnSuccess="x") == (
        209,
        'invalid value for "noValueOnSuccess"',
    )
    assert err("POST", wait="true", prevValue="") == (
        209,
        '"wait" can only be used with GET requests',
    )
    assert err("PUT", refresh="1", value="v", ttl="1") == (211, "A value was provided on a refresh")


def test_key_request_fields() -> None:
    req, nv = parse_key_request(
        "GET",
        "/a/../b",
        {"quorum": ["true"], "wait": ["true"], "sorted": ["1"], "waitIndex": ["7"]},
        0.0,
    )
    assert (req.method, req.path, req.sorted, req.wait, req.wait_index) == (
        "QGET",
        "/1/b",
        True,
        True,
        7,
    )
    req, nv = parse_key_request(
        "PUT", "/x", {"ttl": ["5"], "prevExist": ["false"], "noValueOnSuccess": ["t"]}, 100.0
    )
    assert req.expiration == 105 * 10**9 and req.prev_exist is False and nv


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "unexpected end of JSON input"),
        (b"  ", "unexpected end of JSON input"),
        (b'{"a":1', "unexpected end of JSON input"),
        (b"nope", "invalid character 'o' in literal null (expecting 'u')"),
        (b"trux", "invalid character 'x' in literal true (expecting 'e')"),
        (b"x", "invalid character 'x' looking for beginning of value"),
        (b"{} x", "invalid character 'x' after top-level value"),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair"),
        (b'{"a":[1 2]}', "invalid character '2' after array element"),
        (
            b"[]",
            "json: cannot unmarshal array into Go value of type "
            'struct { PeerURLs []string "json:\\"peerURLs\\"" }',
        ),
        (b"{}", "no valid URLs given"),
        (b"null", "no valid URLs given"),
        (
            b'{"peerURLs":{}}',
            "json: cannot unmarshal object into Go struct field .peerURLs of type []string",
        ),
        (
            b'{"peerURLs":[true]}',
            "json: cannot unmarshal bool into Go struct field .peerURLs of type string",
        ),
        (b'{"peerURLs":["http://a"]}', 'URL address does not have the form "host:port": http://a'),
        (b'{"peerURLs":["http://a:1/"]}', "URL must not contain a path: http://a:1/"),
        (b'{"peerURLs":["a:1"]}', "URL scheme must be http, https, unix, or unixs: a:1"),
        (b'{"peerURLs":["1:2"]}', 'parse "1:2": first path segment in URL cannot contain colon'),
        (b'{"peerURLs":["http://a:x"]}', 'parse "http://a:x": invalid port ":x" after host'),
        (b'{"peerURLs":["://a"]}', 'parse "://a": missing protocol scheme'),
        (
            b'{"peerURLs":["http://a b:1"]}',
            'parse "http://a b:1": invalid character " " in host name',
        ),
        (b'{"peerURLs":["mailto:x"]}', "URL scheme must be http, https, unix, or unixs: mailto:x"),
        (b'{"peerURLs":["unix://x"]}', 'URL address does not have the form "host:port": unix://x'),
    ],
)
def test_member_body_errors(body: bytes, message: str) -> None:
    with pytest.raises(BadMemberRequest) as e:
        decode_member_request(body)
    assert str(e.value) == message


def test_member_body_urls() -> None:
    got = decode_member_request(b'{"PeerUrls":[" HTTP://b:2 ","http://a:1"],"isLearner":"ignored"}')
    assert got == ["http://a:1", "http://b:2"]
    assert decode_member_request(b'{"peerURLs":["http://[::1]:2380?x"]}') == ["http://[::1]:2380?x"]


def test_go_json() -> None:
    from shoal.etcd.v2http.respond import go_json

    assert go_json({"a": "<&>\u2028", "b": [1, 2.0, 2.5, None, True], "c": {}}) == (
        '{"a":"\\u003c\\u0026\\u003e\\u2028","b":[1,2,2.5,null,true],"c":{}}'
    )
