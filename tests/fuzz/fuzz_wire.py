"""Raw socket helpers and the example budget for the hostile-input tests (no HTTP library
between the test and the member: what goes on the wire is exactly what the test built)."""

from __future__ import annotations

import json
import os
import socket
import urllib.error
import urllib.request

TIMEOUT = 10.0
EXAMPLES = int(os.environ.get("SHOAL_FUZZ_EXAMPLES", "25"))
"""Inputs each property tries (see conftest.py)."""


def exchange(addr: str, data: bytes, timeout: float = TIMEOUT) -> bytes:
    """Send `data` on a fresh connection, half-close, read until the member closes."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the member may close early on garbage: what it answered is still readable
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except ConnectionResetError:
            pass
        return out


def statuses(raw: bytes) -> list[int]:
    """The status codes of every HTTP/1.x response in `raw` (pipelined answers included)."""
    found = []
    for line in raw.split(b"\r\n"):
        if line.startswith(b"HTTP/1.") and len(line) >= 12 and line[9:12].isdigit():
            found.append(int(line[9:12]))
    return found


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as r:
            return int(r.status), dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return int(e.code), dict(e.headers), e.read()


def store_index(client_url: str) -> int:
    """The store's index (X-Etcd-Index): it moves with every change, and only with one."""
    status, headers, _ = get(client_url + "/v2/keys/?quorum=true")
    assert status == 200
    return int(headers["X-Etcd-Index"])


def healthy(client_url: str) -> bool:
    status, _, body = get(client_url + "/health")
    return status == 200 and json.loads(body).get("health") == "true"
