"""A `/v2/keys` HTTP request as a store Request: etcd's parseKeyRequest, check for check in
the same order (the first failing check decides the error a client sees), with the same codes
and causes. Parameters it does not know are ignored, as etcd ignores them."""

from __future__ import annotations

from shoal.etcd import facts
from shoal.etcd.http_gohttp import Form, parse_bool, parse_uint64
from shoal.store import EtcdError, Request, expiration_for_ttl, keys_path
from shoal.store import errors as codes
from shoal.store import request as rq


def _first(form: Form, name: str) -> str | None:
    v = form.get(name)
    return v[0] if v else None


def _uint(form: Form, name: str, code: int) -> int:
    v = _first(form, name)
    if v is None:
        return 0
    try:
        return parse_uint64(v)
    except ValueError:
        raise EtcdError(code, f'invalid value for "{name}"') from None


def _bool(form: Form, name: str, cause: str | None = None) -> bool:
    v = _first(form, name)
    if v is None:
        return False
    try:
        return parse_bool(v)
    except ValueError:
        raise EtcdError(codes.INVALID_FIELD, cause or f'invalid value for "{name}"') from None


def parse_key_request(method: str, key: str, form: Form, now: float) -> tuple[Request, bool]:
    """The Request for `method` on the `/v2/keys` URL tail `key`, and noValueOnSuccess.
    Raises EtcdError (index 0) for a bad parameter. `now` (unix seconds) turns ttl into the
    absolute expiration, here on the receiving member as in etcd."""
    prev_index = _uint(form, "prevIndex", codes.INDEX_NAN)
    wait_index = _uint(form, "waitIndex", codes.INDEX_NAN)
    recursive = _bool(form, "recursive")
    sort = _bool(form, "sorted")
    wait = _bool(form, "wait")
    is_dir = _bool(form, "dir")
    quorum = _bool(form, "quorum")
    stream = _bool(form, "stream")
    if wait and method != rq.GET:
        raise EtcdError(codes.INVALID_FIELD, facts.WAIT_NOT_GET)
    prev_value = _first(form, "prevValue")
    if prev_value == "":
        raise EtcdError(codes.PREV_VALUE_REQUIRED, facts.PREV_VALUE_EMPTY)
    no_value = _bool(form, "noValueOnSuccess")
    ttl: int | None = None
    ttl_raw = _first(form, "ttl")
    if ttl_raw:
        try:
            ttl = parse_uint64(ttl_raw)
        except ValueError:
            raise EtcdError(codes.TTL_NAN, 'invalid value for "ttl"') from None
    prev_exist: bool | None = None
    if "prevExist" in form:
        prev_exist = _bool(form, "prevExist", "invalid value for prevExist")
    refresh = False
    if "refresh" in form:
        refresh = _bool(form, "refresh", "invalid value for refresh")
        if refresh:
            if _first(form, "value"):
                raise EtcdError(codes.REFRESH_VALUE, facts.REFRESH_WITH_VALUE)
            if ttl is None:
                raise EtcdError(codes.REFRESH_TTL_REQUIRED, facts.REFRESH_NO_TTL)
    # etcd: a quorum GET goes through raft as QGET, and is then a plain read even with
    # wait=true (RequestV2.Handle rewrites the method before looking at Wait).
    if method == rq.GET and quorum:
        method = rq.QGET
    req = Request(
        method,
        keys_path(key),
        value=_first(form, "value") or "",
        dir=is_dir,
        prev_value=prev_value or "",
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
