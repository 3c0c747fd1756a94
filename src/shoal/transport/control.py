"""Client side of the peer port's fault endpoint, for `shoal partition`, the torture nemesis
and tests: partition a running member process from outside it.

Blocking (urllib) on purpose: a CLI calls it directly; async code calls it through
`asyncio.to_thread`. Each call is one small request to one member's peer URL.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

from shoal.transport.faults import Faults
from shoal.transport.peer_http import FAULTS_PATH


class FaultControlError(Exception):
    """The member could not be reached or refused the request; the message says which."""


def get_faults(
    peer_url: str, timeout: float = 5.0, ssl_context: ssl.SSLContext | None = None
) -> Faults:
    return _call("GET", peer_url, None, timeout, ssl_context)


def set_faults(
    peer_url: str,
    faults: Faults,
    timeout: float = 5.0,
    ssl_context: ssl.SSLContext | None = None,
) -> Faults:
    """Replace the member's fault settings; returns them as the member now holds them. An
    https peer port is reached with `ssl_context` (a peer's certificate when the port asks
    for one)."""
    return _call("POST", peer_url, faults, timeout, ssl_context)


def clear_faults(
    peer_url: str, timeout: float = 5.0, ssl_context: ssl.SSLContext | None = None
) -> Faults:
    return _call("DELETE", peer_url, None, timeout, ssl_context)


def _call(
    method: str,
    peer_url: str,
    faults: Faults | None,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> Faults:
    url = peer_url.rstrip("/") + FAULTS_PATH
    body = None if faults is None else json.dumps(faults.to_json()).encode()
    req = urllib.request.Request(url, data=body, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=ssl_context) as resp:
            return Faults.from_json(json.loads(resp.read()))
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", "replace").strip()
        raise FaultControlError(f"{method} {url}: HTTP {e.code}: {detail}") from e
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise FaultControlError(f"{method} {url}: cannot reach the member: {reason}") from e
    except ValueError as e:
        raise FaultControlError(f"{method} {url}: unexpected answer: {e}") from e


def main(argv: list[str] | None = None) -> int:
    """`python -m shoal.transport.control PEER_URL [options]`: show or set a member's faults.

    With no option, prints the member's faults; with any, replaces them (options not given
    take their defaults, so `--clear` or any new setting heals what is not repeated).
    """
    import argparse
    import sys

    p = argparse.ArgumentParser(
        prog="python -m shoal.transport.control",
        description="Show or set the peer-link faults of a running member (its peer URL).",
    )
    p.add_argument("peer_url", help="the member's peer URL, e.g. http://127.0.0.10:2380")
    p.add_argument("--block", default="", help="comma-separated member ids (hex) to cut off")
    p.add_argument("--drop", type=float, default=0.0, help="probability a message is lost")
    p.add_argument("--delay-ms", type=float, default=0.0, help="latency added each way")
    p.add_argument("--peers", default=None, help="ids (hex) that --drop/--delay-ms apply to")
    p.add_argument("--clear", action="store_true", help="remove every fault")
    p.add_argument("--timeout", type=float, default=5.0)
    args = p.parse_args(argv)
    setting = args.clear or args.block or args.drop or args.delay_ms or args.peers is not None
    try:
        if not setting:
            faults = get_faults(args.peer_url, args.timeout)
        elif args.clear:
            faults = clear_faults(args.peer_url, args.timeout)
        else:
            faults = set_faults(
                args.peer_url,
                Faults.from_json(
                    {
                        "blocked": _id_list(args.block),
                        "drop": args.drop,
                        "delay_ms": args.delay_ms,
                        "peers": None if args.peers is None else _id_list(args.peers),
                    }
                ),
                args.timeout,
            )
    except (FaultControlError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(json.dumps(faults.to_json()))
    return 0


def _id_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


if __name__ == "__main__":
    raise SystemExit(main())
