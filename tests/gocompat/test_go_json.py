"""encoding/json's syntax check: each error text is what etcd 3.4.23 (Go 1.19) answered for the
same body on POST /v2/members, checked against /usr/bin/etcd; tests/compat repeats the deep
ones side by side with the real etcd."""

from __future__ import annotations

import json

import pytest

from shoal.gocompat.jsonscan import MAX_DEPTH, JSONSyntaxError, loads


@pytest.mark.parametrize(
    ("doc", "text"),
    [
        (b"", "unexpected end of JSON input"),
        (b'{"a":1', "unexpected end of JSON input"),
        (b'"abc', "unexpected end of JSON input"),
        (b"nope", "invalid character 'o' in literal null (expecting 'u')"),
        (b"tru", "invalid character ' ' in literal true (expecting 'e')"),
        (b"x", "invalid character 'x' looking for beginning of value"),
        (b"{} x", "invalid character 'x' after top-level value"),
        (b"01", "invalid character '1' after top-level value"),
        (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
        (b'{"a"}', "invalid character '}' after object key"),
        (b'{"a":1]', "invalid character ']' after object key:value pair"),
        (b"[1}", "invalid character '}' after array element"),
        (b"[1,]", "invalid character ']' looking for beginning of value"),
        (b"-", "invalid character ' ' in numeric literal"),
        (b"-x", "invalid character 'x' in numeric literal"),
        (b"1.", "invalid character ' ' after decimal point in numeric literal"),
        (b"1ex", "invalid character 'x' in exponent of numeric literal"),
        (b'"\\x"', "invalid character 'x' in string escape code"),
        (b'"\\u12', "invalid character ' ' in \\u hexadecimal character escape"),
        (b'"a\x01"', "invalid character '\\x01' in string literal"),
        (b"\xc3\xa9", "invalid character '\u00c3' looking for beginning of value"),
        (b"\x85", "invalid character '\\u0085' looking for beginning of value"),
        (b"\xad", "invalid character '\\u00ad' looking for beginning of value"),
        (b"\xc2\x85", "invalid character '\u00c2' looking for beginning of value"),
        (b"'", "invalid character '\\'' looking for beginning of value"),
    ],
)
def test_syntax_errors_read_as_go_words_them(doc: bytes, text: str) -> None:
    with pytest.raises(JSONSyntaxError) as err:
        loads(doc)
    assert str(err.value) == text


def test_nesting_beyond_ten_thousand_is_refused_at_the_bracket_that_exceeds_it() -> None:
    with pytest.raises(JSONSyntaxError, match=r"^invalid character '\[' exceeded max depth$"):
        loads(b"[" * 100_000)
    with pytest.raises(JSONSyntaxError, match=r"^invalid character '\{' exceeded max depth$"):
        loads(b'{"a":' * (MAX_DEPTH + 1))
    with pytest.raises(JSONSyntaxError, match=r"^invalid character '\[' exceeded max depth$"):
        loads(b"[" * (MAX_DEPTH + 1) + b"x")
    # At the limit the document is merely cut short; an error earlier in it comes first.
    with pytest.raises(JSONSyntaxError, match=r"^unexpected end of JSON input$"):
        loads(b"[" * MAX_DEPTH)
    with pytest.raises(JSONSyntaxError, match=r"^invalid character 'x' looking for beginning"):
        loads(b"[" * MAX_DEPTH + b"x")


def test_deep_valid_documents_decode_as_the_stdlib_would() -> None:
    deep = b'{"x":' + b"[" * 5000 + b"]" * 5000 + b',"y":' + b'{"z":' * 300 + b"1" + b"}" * 300
    got = loads(deep + b',"peerURLs":["http://a:1"]}')
    assert list(got) == ["x", "y", "peerURLs"] and got["peerURLs"] == ["http://a:1"]
    inner = got["y"]
    for _ in range(300):
        inner = inner["z"]
    assert inner == 1
    x = got["x"]
    for _ in range(4999):
        assert len(x) == 1
        x = x[0]
    assert x == []
    doc = b'{"a":[1,-2.5e3,"\\u00e9\\n",true,null,{}],"b":{"c":[[]]}}'
    assert loads(doc) == json.loads(doc)
    pairs = loads(b'{"a":1,"a":2}', object_pairs_hook=list)
    assert pairs == [("a", 1), ("a", 2)]
