"""Reading request bodies as etcd's Go server does: `100 Continue` is sent only when a handler
starts reading (a request that is refused first never sends its body), and reads stop at a
limit so a huge body cannot exhaust memory."""

from __future__ import annotations

from shoal.etcd.v2http.message import Request


async def read_body(request: Request, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` + 1 bytes of the body, and whether it was longer than `limit` (then the
    rest is left unread, and the connection should close after the answer). Raises
    message.BodyError when the body broke off (Go's error text)."""
    return await request.read_body(limit)
