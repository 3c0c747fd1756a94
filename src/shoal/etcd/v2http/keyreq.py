"""A `/v2/keys` HTTP request as a store Request: etcd's parseKeyRequest, check for check in
the same order (the first failing check decides the error a client sees), with the same codes
and causes. Parameters it does not know are ignored, as etcd ignores them."""

from __future__ import annotations

from shoal.etcd import facts
from shoal.gocompat.nethttp import Form
from shoal.gocompat.strconv import parse_bool, parse_uint
from shoal.store import EtcdError, Request, expiration_for_ttl, keys_path
from shoal.store import errors as codes
from shoal.store import request as rq


def _uint(vals: list[str] | None, name: str, code: int) -> int:
    if not vals:
        return 0
    try:
        return parse_uint(vals[0])
    except ValueError:
        raise EtcdError(code, f'invalid value for "{name}"') from None


def _bool(vals: list[str] | None, name: str, cause: str | None = None) -> bool:
    """Go's getBool on the first value; absent is false."""
    if not vals:
        return False
    try:
        return parse_bool(vals[0])
    except ValueError:
        raise EtcdError(codes.INVALID_FIELD, cause or f'invalid value for "{name}"') from None


def parse_key_request(method: str, key: str, form: Form, now: float) -> tuple[Request, bool]:
    """The Request for `method` on the `/v2/keys` URL tail `key`, and noValueOnSuccess.
    Raises EtcdError (index 0) for a bad parameter. `now` (unix seconds) turns ttl into the
    absolute expiration, here on the receiving member as in etcd."""
    # The URL tail starts with "/" (or is empty); joined without it the store path is usually
    # clean already, which spares path cleaning on every request.
    path = keys_path(key[1:] if key.startswith("/") else key)
    if not form:
        return Request(method, path), False  # the common plain GET: nothing to check
    get = form.get
    prev_index = _uint(get("prevIndex"), "prevIndex", codes.INDEX_NAN)
    wait_index = _uint(get("waitIndex"), "waitIndex", codes.INDEX_NAN)
    recursive = _bool(get("recursive"), "recursive")
    sort = _bool(get("sorted"), "sorted")
    wait = _bool(get("wait"), "wait")
    is_dir = _bool(get("dir"), "dir")
    quorum = _bool(get("quorum"), "quorum")
    stream = _bool(get("stream"), "stream")
    if wait and method != rq.GET:
        raise EtcdError(codes.INVALID_FIELD, facts.WAIT_NOT_GET)
    pv = get("prevValue")
    prev_value = pv[0] if pv else ""
    if pv is not None and prev_value == "":
        raise EtcdError(codes.PREV_VALUE_REQUIRED, facts.PREV_VALUE_EMPTY)
    no_value = _bool(get("noValueOnSuccess"), "noValueOnSuccess")
    ttl: int | None = None
    tv = get("ttl")
    if tv and tv[0]:
        try:
            ttl = parse_uint(tv[0])
        except ValueError:
            raise EtcdError(codes.TTL_NAN, 'invalid value for "ttl"') from None
    prev_exist: bool | None = None
    pe = get("prevExist")
    if pe is not None:
        prev_exist = _bool(pe, "prevExist", "invalid value for prevExist")
    vv = get("value")
    value = vv[0] if vv else ""
    refresh = _bool(get("refresh"), "refresh", "invalid value for refresh")
    if refresh:
        if value:
            raise EtcdError(codes.REFRESH_VALUE, facts.REFRESH_WITH_VALUE)
        if ttl is None:
            raise EtcdError(codes.REFRESH_TTL_REQUIRED, facts.REFRESH_NO_TTL)
    # etcd: a quorum GET goes through raft as QGET, and is then a plain read even with
    # wait=true (RequestV2.Handle rewrites the method before looking at Wait).
    if method == rq.GET and quorum:
        method = rq.QGET
    req = Request(
        method,
        path,
        value=value,
        dir=is_dir,
        prev_value=prev_value,
        prev_index=prev_index,
        prev_exist=prev_exist,
        expiration=None if ttl is None else expiration_for_ttl(now, ttl),
        refresh=refresh,
        recursive=recursive,
        sorted=sort,
        wait=wait,
        wait_index=wait_index,
        stream=stream,
        quorum=quorum,
        no_value_on_success=no_value,
    )
    return req, no_value
