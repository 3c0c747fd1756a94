"""The client checks peer URLs as etcd's client does (types.NewURLs) before it asks the cluster.

Each message is what /usr/bin/etcdctl 3.4.23 prints for `member add n URL` with --no-sync."""

from __future__ import annotations

import pytest

from shoal.client import InvalidURL
from shoal.client.errors import check_peer_urls


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://x:1/", "URL must not contain a path: http://x:1/"),
        ("unix://sock", 'URL address does not have the form "host:port": unix://sock'),
        ("ftp://x:1", "URL scheme must be http, https, unix, or unixs: ftp://x:1"),
        ("http://x", 'URL address does not have the form "host:port": http://x'),
        ("http://x:abc", 'parse "http://x:abc": invalid port ":abc" after host'),
    ],
)
def test_bad_peer_urls_are_refused_with_etcdctls_words(url: str, message: str) -> None:
    with pytest.raises(InvalidURL) as e:
        check_peer_urls([url])
    assert str(e.value) == message


def test_good_peer_urls_are_sent_as_etcds_client_sends_them() -> None:
    assert check_peer_urls([" http://b:2", "HTTP://a:1"]) == ["http://a:1", "http://b:2"]
