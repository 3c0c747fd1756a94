"""`shoal up --discovery URL`: machines' cloud-configs that bootstrap etcd through a token.

The seed first tried exactly this: get a token (`curl discovery.etcd.io/new?size=3`) and give
each machine `etcd2: discovery: <token>` instead of a static initial cluster. Here the URL is a
discovery service (`shoal discovery`'s, e.g. http://127.0.0.1:8087: a token of the cluster's
size is asked for) or a token URL the user already made (used as is).
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from urllib.parse import urlsplit

# The etcd2 keys a token replaces (etcd refuses --discovery together with --initial-cluster).
_STATIC = re.compile(r"^(\s+)initial-cluster(-token|-state)?:.*$")


def token_for(url: str, size: int, timeout: float = 10.0) -> str:
    """The token URL to use: `url` itself when it names a token, else a new one from
    `<url>/new?size=<size>`. ValueError says what went wrong."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            f"--discovery {url!r} is not a URL: give a discovery service "
            "(http://127.0.0.1:8087, see `shoal discovery`) or a token URL"
        )
    path = parts.path
    if path not in ("", "/"):
        return url
    new = url.rstrip("/") + f"/new?size={size}"
    try:
        with urllib.request.urlopen(new, timeout=timeout) as r:
            token = str(r.read().decode().strip())
    except (urllib.error.URLError, OSError) as e:
        raise ValueError(f"cannot get a discovery token from {new}: {e}") from e
    if not urlsplit(token).scheme:
        raise ValueError(f"{new} answered {token!r}, not a token URL")
    return token


def with_discovery(text: str, token: str) -> str:
    """`text` (a cloud-config) with its etcd2 initial-cluster* keys replaced by the token."""
    out: list[str] = []
    placed = False
    for line in text.splitlines(keepends=True):
        m = _STATIC.match(line)
        if m is None:
            out.append(line)
            continue
        if not placed:
            out.append(f"{m.group(1)}discovery: {token}\n")
            placed = True
    if not placed:
        raise ValueError("the cloud-config has no etcd2 initial-cluster to replace by discovery")
    return "".join(out)
