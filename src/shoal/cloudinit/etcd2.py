"""coreos.etcd2 settings that etcd would refuse at start, found before the machine boots.

Each rule is one of etcd's own start-up checks (etcd 3.4 `etcdmain/config.go`, `embed/config.go`,
`pkg/types/urls.go`); the messages quote etcd's so a user can search for them. Each returns
(line, message) findings; the validator reports them as errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from shoal.cloudinit.yamltree import YNode

Finding = tuple[int, str]

# etcd's limits (etcdmain/config.go; embed/config.go maxElectionMs).
MAX_ELECTION_MS = 50000
ELECTION_HEARTBEAT_RATIO = 5
DEFAULT_NAME = "default"
DEFAULT_HEARTBEAT_MS = 100
DEFAULT_ELECTION_MS = 1000
URL_SCHEMES = ("http", "https", "unix", "unixs")
URL_FLAGS = (
    "listen_client_urls",
    "listen_peer_urls",
    "advertise_client_urls",
    "initial_advertise_peer_urls",
)


def url_problem(u: str) -> str | None:
    """etcd's types.NewURLs check for one URL, or None when etcd accepts it."""
    try:
        p = urlsplit(u)
    except ValueError as e:
        return f"{e}: {u}"
    if p.scheme not in URL_SCHEMES:
        return f"URL scheme must be http, https, unix, or unixs: {u}"
    netloc = p.netloc
    host, sep, port = netloc.rpartition(":")
    if not sep or not port or (not host and p.scheme in ("http", "https")):
        return f'URL address does not have the form "host:port": {u}'
    if not port.isdigit():
        return f'URL address does not have the form "host:port": {u}'
    if p.path not in ("",):
        return f"URL must not contain a path: {u}"
    return None


def split_urls(value: str) -> list[str]:
    return [u.strip() for u in value.split(",") if u.strip()]


def parse_initial_cluster(value: str) -> tuple[dict[str, list[str]], list[str]]:
    """`name=url,name=url2,...` as etcd's NewURLsMap reads it: URLs per name, and problems."""
    members: dict[str, list[str]] = {}
    problems: list[str] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, url = part.partition("=")
        if not sep or not name:
            problems.append(f"{part!r} is not name=url")
            continue
        bad = url_problem(url)
        if bad:
            problems.append(bad)
            continue
        members.setdefault(name, []).append(url)
    return members, problems


def _int(node: YNode | None) -> int | None:
    if node is None or node.kind not in ("int", "string"):
        return None
    try:
        return int(node.text, 0) if re.fullmatch(r"[-+]?(0x)?[0-9a-fA-F]+", node.text) else None
    except ValueError:
        return None


def check_etcd2(etcd: YNode) -> list[Finding]:
    """Every reason etcd would refuse these settings, each at the line of the setting at fault."""
    out: list[Finding] = []
    for rule in _RULES:
        out.extend(rule(etcd))
    return out


def _timing(e: YNode) -> list[Finding]:
    out: list[Finding] = []
    hb = _int(e.get("heartbeat_interval"))
    el = _int(e.get("election_timeout"))
    heartbeat = DEFAULT_HEARTBEAT_MS if hb is None else hb
    election = DEFAULT_ELECTION_MS if el is None else el
    hb_line = e.key_line("heartbeat_interval")
    el_line = e.key_line("election_timeout")
    if hb is not None and hb <= 0:
        out.append((hb_line, f"--heartbeat-interval must be >0 (set to {hb}ms)"))
        return out
    if el is not None and el <= 0:
        out.append((el_line, f"--election-timeout must be >0 (set to {el}ms)"))
        return out
    if election < ELECTION_HEARTBEAT_RATIO * heartbeat:
        line = el_line if el is not None else hb_line
        out.append(
            (
                line,
                f"--election-timeout[{election}ms] should be at least as 5 times as "
                f"--heartbeat-interval[{heartbeat}ms] (etcd refuses to start)",
            )
        )
    if election > MAX_ELECTION_MS:
        out.append(
            (
                el_line,
                f"--election-timeout[{election}ms] is too long, and should be set less than "
                f"{MAX_ELECTION_MS}ms",
            )
        )
    return out


def _urls(e: YNode) -> list[Finding]:
    out: list[Finding] = []
    for key in URL_FLAGS:
        v = e.get(key)
        if v is None or v.kind != "string":
            continue
        flag = key.replace("_", "-")
        for u in split_urls(v.text):
            bad = url_problem(u)
            if bad:
                out.append((e.key_line(key), f'invalid value "{u}" for {flag}: {bad}'))
    return out


def _may_be_proxy(e: YNode) -> bool:
    """etcd's mayBeProxy: a proxy, or a member that falls back to one when discovery is full."""
    proxy, fallback = e.get("proxy"), e.get("discovery_fallback")
    if proxy is not None and proxy.text in ("on", "readonly"):
        return True
    return e.get("discovery") is not None and (fallback is None or fallback.text == "proxy")


def _advertise(e: YNode) -> list[Finding]:
    if _may_be_proxy(e):
        return []  # a proxy advertises nothing (etcd does not ask for advertise-client-urls)
    if e.get("listen_client_urls") is not None and e.get("advertise_client_urls") is None:
        return [
            (
                e.key_line("listen_client_urls"),
                "--advertise-client-urls is required when --listen-client-urls is set explicitly",
            )
        ]
    return []


def _bootstrap(e: YNode) -> list[Finding]:
    out: list[Finding] = []
    ic = e.get("initial_cluster")
    set_flags = [k for k in ("initial_cluster", "discovery", "discovery_srv") if e.get(k)]
    if len(set_flags) > 1:
        out.append(
            (
                e.key_line(set_flags[1]),
                "multiple discovery or bootstrap flags are set. Choose one of "
                '"initial-cluster", "discovery" or "discovery-srv"',
            )
        )
        return out
    state = e.get("initial_cluster_state")
    if state is not None and state.text not in ("new", "existing"):
        out.append(
            (
                e.key_line("initial_cluster_state"),
                f"invalid value {state.text} (etcd accepts new or existing)",
            )
        )
    if ic is None or ic.kind != "string":
        return out
    members, problems = parse_initial_cluster(ic.text)
    line = e.key_line("initial_cluster")
    for p in problems:
        out.append((line, f"invalid value for initial-cluster: {p}"))
    if problems:
        return out
    proxy = e.get("proxy")
    if proxy is not None and proxy.text in ("on", "readonly"):
        return out  # a proxy is not a member; it need not be listed
    name_node = e.get("name")
    name = name_node.text if name_node is not None else DEFAULT_NAME
    if name not in members:
        out.append(
            (
                e.key_line("name") if name_node is not None else line,
                f"couldn't find local name {name!r} in the initial cluster configuration "
                f"(initial-cluster lists {', '.join(members) or 'nobody'})",
            )
        )
        return out
    adv = e.get("initial_advertise_peer_urls")
    if adv is not None and adv.kind == "string":
        mine = sorted(members[name])
        theirs = sorted(split_urls(adv.text))
        if mine != theirs:
            out.append(
                (
                    e.key_line("initial_advertise_peer_urls"),
                    f"--initial-cluster has {name}={','.join(mine)} but missing from "
                    f"--initial-advertise-peer-urls={','.join(theirs)}",
                )
            )
    return out


def _proxy(e: YNode) -> list[Finding]:
    # etcd's discovery-fallback flag takes exit or proxy.
    fb = e.get("discovery_fallback")
    if fb is not None and fb.text not in ("exit", "proxy"):
        return [(e.key_line("discovery_fallback"), f"invalid value {fb.text} (exit or proxy)")]
    return []


def _counts(e: YNode) -> list[Finding]:
    out: list[Finding] = []
    for key in ("snapshot_count", "max_snapshots", "max_wals"):
        n = _int(e.get(key))
        if n is not None and n < 0:
            out.append((e.key_line(key), f"{key.replace('_', '-')} must not be negative"))
    return out


_RULES: tuple[Callable[[YNode], list[Finding]], ...] = (
    _timing,
    _urls,
    _advertise,
    _bootstrap,
    _proxy,
    _counts,
)
