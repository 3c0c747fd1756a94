"""Reading request bodies as etcd's Go server does: `100 Continue` is sent only when a handler
starts reading (a request that is refused first never sends its body), and reads stop at a
limit so a huge body cannot exhaust memory."""

from __future__ import annotations

from aiohttp import HttpVersion11, web

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


async def read_body(request: web.Request, limit: int) -> tuple[bytes, bool]:
    """Up to `limit` + 1 bytes of the body, and whether it was longer than `limit` (then the
    rest is left unread, and the connection should close after the answer)."""
    if (
        request.version >= HttpVersion11
        and request.headers.get("Expect", "").lower() == "100-continue"
    ):
        await request.writer.write(_CONTINUE)
    content = request.content
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = await content.read(limit + 1 - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts), size > limit
