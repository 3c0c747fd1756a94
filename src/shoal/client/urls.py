"""etcd's pkg/types NewURLs: the check every member URL must pass, on both sides of the API.

etcd's client runs it before `member add`/`update` (so etcdctl refuses a bad URL without asking
the cluster), the member for its URL flags, its initial cluster and `/v2/members` bodies, and
cloud-config validation for coreos.etcd2; all refuse the same URLs with the same words. It
lives with the client, the lowest of them. URL parsing is Go's (gocompat.nethttp); the order of
the checks is etcd's: scheme, then host:port, then path.
"""

from __future__ import annotations

from typing import Final

from shoal.gocompat.nethttp import URLError, has_port, parse_url

# pkg/types/urls.go: the schemes a member URL may have.
URL_SCHEMES: Final = ("http", "https", "unix", "unixs")


class URLsError(ValueError):
    """NewURLs refused a URL; `str()` is etcd's text."""


def url_problem(raw: str) -> str | None:
    """What NewURLs says about one URL (it is trimmed first), or None when it passes."""
    s = raw.strip()
    try:
        scheme, host, path = parse_url(s)
    except URLError as e:
        return str(e)
    if scheme not in URL_SCHEMES:
        return f"URL scheme must be http, https, unix, or unixs: {s}"
    if not has_port(host):
        return f'URL address does not have the form "host:port": {s}'
    if path:
        return f"URL must not contain a path: {s}"
    return None


def new_urls(strs: list[str]) -> list[str]:
    """types.NewURLs: every URL trimmed and checked, the scheme lowercased; sorted. Raises
    URLsError with etcd's text for the first bad one (or for none at all)."""
    if not strs:
        raise URLsError("no valid URLs given")
    out = []
    for raw in strs:
        problem = url_problem(raw)
        if problem is not None:
            raise URLsError(problem)
        s = raw.strip()
        scheme = s.partition(":")[0]
        out.append(scheme.lower() + s[len(scheme) :])
    out.sort()
    return out
