"""Key paths as etcd's store sees them: rooted, cleaned like Go's `path.Clean`."""

from __future__ import annotations

import posixpath

from shoal.store.constants import KEYS_PREFIX


def clean_path(p: str) -> str:
    """Go's `path.Clean(path.Join("/", p))`: rooted, no empty, `.` or `..` segments, no
    trailing slash (except the root itself)."""
    # Nearly every path is already clean; checking is cheaper than normalising.
    if (
        p.startswith("/")
        and "//" not in p
        and "/." not in p
        and (len(p) == 1 or not p.endswith("/"))
    ):
        return p
    c = posixpath.normpath("/" + p)
    # POSIX keeps exactly two leading slashes; Go does not.
    return c[1:] if c.startswith("//") else c


def keys_path(user_path: str) -> str:
    """The store path of a user key: what etcd's keys handler builds from the URL tail after
    `/v2/keys` (`path.Join("/1", tail)`)."""
    return clean_path(KEYS_PREFIX + "/" + user_path)


def user_key(store_path: str) -> str:
    """A store path as clients see it (etcd's `strings.TrimPrefix(key, "/1")`)."""
    return store_path[len(KEYS_PREFIX) :] if store_path.startswith(KEYS_PREFIX) else store_path


def hidden_below(watch_path: str, key_path: str) -> bool:
    """etcd's watcher-hub `isHidden`: whether `key_path` is hidden from a watcher at
    `watch_path`, i.e. some segment after the watched path starts with `_`. A deeper watch
    path (a watcher below a deleted directory) is never hidden."""
    if len(watch_path) > len(key_path):
        return False
    # etcd slices by length without checking segment boundaries; so do we.
    return "/_" in clean_path(key_path[len(watch_path) :])
