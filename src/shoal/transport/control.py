"""Client side of the peer port's fault endpoint, for `shoal partition`, the torture nemesis
and tests: partition a running member process from outside it.

Blocking (urllib) on purpose: a CLI calls it directly; async code calls it through
`asyncio.to_thread`. Each call is one small request to one member's peer URL.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from shoal.transport.faults import Faults
from shoal.transport.transport import FAULTS_PATH


class FaultControlError(Exception):
    """The member could not be reached or refused the request; the message says which."""


def get_faults(peer_url: str, timeout: float = 5.0) -> Faults:
    return _call("GET", peer_url, None, timeout)


def set_faults(peer_url: str, faults: Faults, timeout: float = 5.0) -> Faults:
    """Replace the member's fault settings; returns them as the member now holds them."""
    return _call("POST", peer_url, faults, timeout)


def clear_faults(peer_url: str, timeout: float = 5.0) -> Faults:
    return _call("DELETE", peer_url, None, timeout)


def _call(method: str, peer_url: str, faults: Faults | None, timeout: float) -> Faults:
    url = peer_url.rstrip("/") + FAULTS_PATH
    body = None if faults is None else json.dumps(faults.to_json()).encode()
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Faults.from_json(json.loads(resp.read()))
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace").strip()
        raise FaultControlError(f"{method} {url}: HTTP {e.code}: {detail}") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise FaultControlError(f"{method} {url}: cannot reach the member: {reason}") from e
    except ValueError as e:
        raise FaultControlError(f"{method} {url}: unexpected answer: {e}") from e
