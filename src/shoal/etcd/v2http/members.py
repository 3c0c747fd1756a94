"""`/v2/members[/...]`: etcd's membersHandler (list, leader, add, remove, update).

Membership changes are the member's (`ServerAPI.add_member` etc., through the raft log); this
module checks the request as etcd does and words the answers as etcd does."""

from __future__ import annotations

import logging

from shoal.etcd import facts
from shoal.etcd.ids import parse_hex_id
from shoal.etcd.server_iface import MemberInfo, MembershipError, ServerAPI
from shoal.etcd.v2auth.access import Access
from shoal.etcd.v2http import respond
from shoal.etcd.v2http.auth import credentials
from shoal.etcd.v2http.auth import refusal as auth_refusal
from shoal.etcd.v2http.body import read_body
from shoal.etcd.v2http.memberreq import BadMemberRequest, decode_member_request
from shoal.etcd.v2http.message import BodyError, Request, Response
from shoal.gocompat.nethttp import MAX_FORM_BYTES, POST_TOO_LARGE
from shoal.store import EtcdError

log = logging.getLogger("shoal.v2http")

MEMBERS_PREFIX = "/v2/members"


def member_json(m: MemberInfo) -> bytes:
    """One member as etcd's json.Encoder writes it (compact, newline)."""
    return _encode(m.to_json())


def _encode(obj: object) -> bytes:
    return (respond.go_json(obj) + "\n").encode()


class MembersHandler:
    __slots__ = ("access", "server")

    def __init__(self, server: ServerAPI, access: Access | None = None) -> None:
        self.server = server
        self.access = access

    async def handle(self, request: Request, path: str) -> Response:
        method = request.method
        if method not in facts.MEMBERS_METHODS:
            return respond.method_not_allowed(facts.MEMBERS_METHODS)
        access = self.access
        if access is not None and not await access.write_root(method, credentials(request)):
            return auth_refusal()
        server = self.server
        headers = respond.base_headers()
        headers["X-Etcd-Cluster-Id"] = f"{server.cluster_id:x}"
        sub = path[len(MEMBERS_PREFIX) :]
        sub = sub[1:] if sub.startswith("/") else sub

        if method == "GET":
            if sub == "":
                body = _encode({"members": [m.to_json() for m in server.members()]})
                return respond.json_body(body, headers=headers)
            if sub == "leader":
                lid = server.leader_id()
                leader = next((m for m in server.members() if m.id == lid), None)
                if lid == 0 or leader is None:
                    return respond.message(503, facts.DURING_ELECTION, headers)
                return respond.json_body(member_json(leader), headers=headers)
            return respond.message(404, facts.MEMBER_NOT_FOUND, headers)

        if method == "POST":
            try:
                peer_urls = decode_member_request(await _json_body(request))
            except _Refused as r:
                return respond.message(r.status, r.text, headers)
            except BadMemberRequest as e:
                return respond.message(400, str(e), headers)
            try:
                m = await server.add_member(peer_urls)
            except Exception as e:
                return _membership_failure(e, 0, headers)
            return respond.json_body(member_json(m), status=201, headers=headers)

        # PUT and DELETE name a member.
        if sub == "":
            # etcd's getID answers a missing ID with a plain 405, without `Allow`.
            return respond.go_error(405, facts.METHOD_NOT_ALLOWED, headers)
        try:
            member_id = parse_hex_id(sub)
        except ValueError:
            return respond.message(404, facts.NO_SUCH_MEMBER.format(sub), headers)

        if method == "DELETE":
            try:
                await server.remove_member(member_id)
            except Exception as e:
                return _membership_failure(e, member_id, headers)
            return _no_content(headers)

        try:
            peer_urls = decode_member_request(await _json_body(request))
        except _Refused as r:
            return respond.message(r.status, r.text, headers)
        except BadMemberRequest as e:
            return respond.message(400, str(e), headers)
        try:
            await server.update_member(member_id, peer_urls)
        except Exception as e:
            return _membership_failure(e, member_id, headers)
        return _no_content(headers)


class _Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


async def _json_body(request: Request) -> bytes:
    """etcd's unmarshalRequest checks: the media type (lowercased and trimmed only when
    parameters follow, as etcd does) must be application/json; then the whole body."""
    ctype = request.headers.get("Content-Type", "")
    semi = ctype.find(";")
    if semi != -1:
        ctype = ctype[:semi].lower().strip()
    if ctype != "application/json":
        raise _Refused(415, facts.BAD_CONTENT_TYPE.format(ctype))
    # etcd reads without a limit; shoal stops at Go's form limit rather than exhaust memory.
    try:
        body, too_large = await read_body(request, MAX_FORM_BYTES)
    except BodyError as e:
        raise _Refused(400, str(e)) from None  # ioutil.ReadAll's error, as etcd words it
    if too_large:
        raise _Refused(400, POST_TOO_LARGE)
    return body


def _membership_failure(e: Exception, member_id: int, headers: dict[str, str]) -> Response:
    """A refused membership change, worded as etcd words it: 404/410 name the member, 409
    carries membership's own text, anything unexpected is etcd's 500."""
    if isinstance(e, MembershipError):
        if e.status == 404:
            return respond.message(404, facts.NO_SUCH_MEMBER.format(f"{member_id:x}"), headers)
        if e.status == 410:
            return respond.message(410, facts.MEMBER_REMOVED.format(f"{member_id:x}"), headers)
        if e.status != 500:
            return respond.message(e.status, e.message, headers)
    elif isinstance(e, EtcdError):
        # etcd writes its v2 errors as they are.
        return respond.etcd_error(e, headers)
    log.warning("membership change failed: %s", e or type(e).__name__)
    return respond.message(500, facts.INTERNAL_SERVER_ERROR, headers)


def _no_content(headers: dict[str, str]) -> Response:
    return Response(status=204, headers=headers)
