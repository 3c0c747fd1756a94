"""url.Parse's split and net.SplitHostPort's test, and etcd's NewURLs built on them."""

from __future__ import annotations

import pytest

from shoal.client.urls import URLsError, new_urls, url_problem
from shoal.gocompat.nethttp import URLError, has_port, parse_url


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("http://127.0.0.1:2380", ("http", "127.0.0.1:2380", "")),
        ("HTTP://h:1/p?q#f", ("http", "h:1", "/p")),
        ("unix://sock", ("unix", "sock", "")),
        ("http://[::1]:2380", ("http", "[::1]:2380", "")),
        ("", ("", "", "")),
    ],
)
def test_parse_url_splits_as_go_does(url: str, parts: tuple[str, str, str]) -> None:
    assert parse_url(url) == parts


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://x:abc", 'parse "http://x:abc": invalid port ":abc" after host'),
        ("://x", 'parse "://x": missing protocol scheme'),
        ("http://a b:1", 'parse "http://a b:1": invalid character " " in host name'),
        ("http://x\x01", 'parse "http://x\\x01": net/url: invalid control character in URL'),
        ("http://[::1:2", "parse \"http://[::1:2\": missing ']' in host"),
    ],
)
def test_parse_url_refusals_are_worded_as_gos(url: str, message: str) -> None:
    with pytest.raises(URLError) as e:
        parse_url(url)
    assert str(e.value) == message


def test_split_host_port_needs_exactly_one_port() -> None:
    assert has_port("h:1") and has_port("h:") and has_port("[::1]:2") and has_port(":1")
    assert not has_port("h") and not has_port("a:b:c") and not has_port("[::1]")


def test_new_urls_checks_scheme_then_port_then_path_and_sorts() -> None:
    assert url_problem("ftp://x") == "URL scheme must be http, https, unix, or unixs: ftp://x"
    assert url_problem("http://x/p") == 'URL address does not have the form "host:port": http://x/p'
    assert url_problem("http://x:1/") == "URL must not contain a path: http://x:1/"
    assert new_urls([" HTTP://b:2", "http://a:1"]) == ["http://a:1", "http://b:2"]
    with pytest.raises(URLsError, match="no valid URLs given"):
        new_urls([])
