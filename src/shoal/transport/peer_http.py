"""What the peer port answers in plain HTTP: `/members` and `/version` as etcd answers them, and
shoal's own `/_shoal/faults` (read, replace or clear a member's fault settings).

The raft stream and the HTTP requests share the port (`inbound` tells them apart); this module
only turns a parsed request into response bytes, from what the Transport hands it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from shoal.transport import facts
from shoal.transport.faults import Faults
from shoal.transport.http import HttpRequest, format_response

FAULTS_PATH = "/_shoal/faults"
"""shoal's own peer-port endpoint for fault injection (not an etcd endpoint)."""

_JSON = "application/json"


class FaultControl(Protocol):
    """Whoever owns the fault settings the endpoint reads and replaces."""

    @property
    def faults(self) -> Faults: ...

    def set_faults(self, faults: Faults) -> None: ...


def answer(
    req: HttpRequest,
    *,
    cluster_id: int,
    members: Callable[[], Any],
    version: Callable[[], Mapping[str, str]],
    faults: FaultControl | None,
) -> bytes:
    """The response to `req`. `members()` is the JSON of `GET /members`, `version()` that of
    `GET /version`; `faults` None turns the fault endpoint off (it answers 404)."""
    head = req.method == "HEAD"
    method = "GET" if head else req.method

    def reply(
        status: int, body: object, headers: dict[str, str] | None = None, nl: str = "\n"
    ) -> bytes:
        # etcd writes /members with a JSON encoder (trailing newline), /version without.
        data = (json.dumps(body, separators=(",", ":")) + nl).encode()
        return format_response(status, data, _JSON, headers, req.keep_alive, head)

    def not_allowed(allow: str) -> bytes:
        body = b"Method Not Allowed\n"
        hdrs = {"Allow": allow}
        return format_response(405, body, headers=hdrs, keep_alive=req.keep_alive)

    if req.path == facts.MEMBERS_PATH:
        if method != "GET":
            return not_allowed("GET, HEAD")
        cid = {facts.CLUSTER_ID_HEADER: format(cluster_id, "x")}
        return reply(200, members(), cid)
    if req.path == facts.VERSION_PATH:
        if method != "GET":
            return not_allowed("GET, HEAD")
        return reply(200, dict(version()), nl="")
    if req.path == FAULTS_PATH and faults is not None:
        if method == "GET":
            return reply(200, faults.faults.to_json())
        if method in ("POST", "PUT"):
            try:
                new = Faults.from_json(json.loads(req.body or b"{}"))
            except ValueError as e:  # json.JSONDecodeError is a ValueError
                return reply(400, {"message": f"bad faults: {e}"})
            faults.set_faults(new)
            return reply(200, faults.faults.to_json())
        if method == "DELETE":
            faults.set_faults(Faults())
            return reply(200, faults.faults.to_json())
        return not_allowed("GET, HEAD, POST, PUT, DELETE")
    return format_response(404, facts.NOT_FOUND_BODY, keep_alive=req.keep_alive, head_only=head)
