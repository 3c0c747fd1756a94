"""`python -m shoal.node.etcd_ready URL`: wait until the etcd member at URL reports healthy
(or, for a proxy, until it serves).

etcd2.service on CoreOS was Type=notify: etcd said READY=1 once it served clients, and units
ordered After= it (fleet) started only then. While shoal's etcd does not notify yet, its unit runs
this as ExecStartPost instead, which gives the same ordering: the unit is `activating` until its
member's /health answers {"health": "true"}. It waits as long as it takes (a member without a
quorum never becomes ready, as on CoreOS); TimeoutStartSec= bounds it.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.error
import urllib.request

PROXY_CONFIG = "/v2/config/local/proxy"
"""Only etcd's v2 proxy answers this (with its endpoints); a member answers 404."""


def _context(url: str) -> ssl.SSLContext | None:
    """For an https member: its unit's CA (the client or the peer one: `shoal up --tls` gives the
    same CA to both), else the system's roots."""
    if not url.startswith("https://"):
        return None
    ca = os.environ.get("ETCD_TRUSTED_CA_FILE") or os.environ.get("ETCD_PEER_TRUSTED_CA_FILE")
    return ssl.create_default_context(cafile=ca or None)


def _get(url: str, timeout: float) -> object:
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=_context(url)) as resp:
            return json.loads(resp.read() or b"{}")
    except (urllib.error.URLError, OSError, ValueError):
        return None


def ready(url: str, timeout: float = 2.0) -> bool:
    """A member is ready once healthy. A proxy (a worker's etcd2) is ready once it listens, as
    etcd 3.4 notifies systemd right after startProxy: its clients (fleet) then get the
    proxy's own answers (503 while no member can be reached), as on CoreOS."""
    base = url.rstrip("/")
    body = _get(base + "/health", timeout)
    if isinstance(body, dict) and str(body.get("health")) == "true":
        return True
    proxy = _get(base + PROXY_CONFIG, timeout)
    return isinstance(proxy, dict) and "endpoints" in proxy


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m shoal.node.etcd_ready CLIENT-URL", file=sys.stderr)
        return 2
    while not ready(args[0]):
        time.sleep(0.2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
