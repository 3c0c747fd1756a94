"""etcd's v2 proxy side by side: the same requests through a real etcd 3.4 proxy (`etcd --proxy
on|readonly`) and through `shoal etcd --proxy ...`, each in front of its own three-member real
etcd cluster, compared as a client sees them (http_compat's normalisation; the CORS headers,
which etcd's proxy doubles, are counted). Then what a proxy user relies on: failing over when a
member dies, etcd's 502/503 when none answers, the member's own answer when quorum is lost,
readonly refusing writes, and a restart from the cluster file in the data dir.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from http_compat import Record, Session

from support import ETCD, SHOAL_ETCD, free_port, require_etcd, wait_until
from support.cluster import EtcdCluster

KINDS = ("etcd", "shoal")
CORS = ("access-control-allow-origin", "access-control-allow-methods")


def proxy_command(kind: str) -> list[str]:
    return {"etcd": [ETCD], "shoal": SHOAL_ETCD}[kind]


@dataclass
class Proxied:
    """A real etcd cluster and one proxy (of `kind`) in front of it."""

    kind: str
    cluster: EtcdCluster
    url: str
    data_dir: Path
    argv: list[str]

    @property
    def name(self) -> str:
        return f"proxy-{self.kind}"

    def start(self, argv: Sequence[str] | None = None) -> None:
        self.cluster.procs.start(self.name, list(argv or self.argv))
        self.cluster.procs.wait_ready(
            self.name, lambda: endpoints(self.url), 60, f"{self.kind} proxy has endpoints"
        )

    def stop(self) -> None:
        self.cluster.procs.stop(self.name)

    def log(self) -> str:
        return self.cluster.procs.log(self.name)


def endpoints(url: str) -> list[str]:
    status, _, body = request(url, "GET", "/v2/config/local/proxy")
    return list(json.loads(body)["endpoints"]) if status == 200 else []


def request(
    url: str, method: str, target: str, body: bytes | None = None, timeout: float = 30.0
) -> tuple[int, list[tuple[str, str]], bytes]:
    host, port = url.removeprefix("http://").split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        hs = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
        c.request(method, target, body=body, headers=hs)
        r = c.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        c.close()


@contextlib.contextmanager
def proxied(kind: str, mode: str = "on", *flags: str) -> Iterator[Proxied]:
    require_etcd()
    cluster = EtcdCluster(3)
    try:
        host = cluster.members[0].client_url.split("//")[1].rsplit(".", 1)[0] + ".9"
        url = f"http://{host}:{free_port(host)}"
        data = cluster.procs.dir / f"proxy-{kind}.etcd"
        ic = ",".join(f"{m.name}={m.peer_url}" for m in cluster.members)
        argv = [
            *proxy_command(kind), "--proxy", mode, "--data-dir", str(data),
            "--initial-cluster", ic, "--listen-client-urls", url, *flags,
        ]  # fmt: skip
        p = Proxied(kind, cluster, url, data, argv)
        p.start()
        yield p
    finally:
        cluster.close()


def script(s: Session) -> list[Record]:
    out = [
        s.step("version", "GET", "/version"),
        s.step("set", "PUT", "/v2/keys/p/a", form="value=1"),
        s.step("get", "GET", "/v2/keys/p/a"),
        s.step("get quorum", "GET", "/v2/keys/p/a?quorum=true"),
        s.step("head", "HEAD", "/v2/keys/p/a"),
        s.step("cas fails", "PUT", "/v2/keys/p/a?prevValue=2", form="value=3"),
        s.step("in order", "POST", "/v2/keys/p/q", form="value=x"),
        s.step("missing", "GET", "/v2/keys/p/nope"),
        s.step("dir", "GET", "/v2/keys/p?recursive=true&sorted=true"),
        s.step("past event", "GET", f"/v2/keys/p/a?wait=true&waitIndex={s.idx(1)}"),
        s.step("delete", "DELETE", "/v2/keys/p/a"),
        s.step("options", "OPTIONS", "/v2/keys/p/a"),
        s.step("members", "GET", "/v2/members"),
        s.step("health", "GET", "/health"),
        s.step("proxy config", "GET", "/v2/config/local/proxy"),
        s.step("proxy config post", "POST", "/v2/config/local/proxy"),
        s.step("bad form", "PUT", "/v2/keys/p/b?ttl=abc", form="value=1"),
    ]
    return out


def cors_counts(url: str) -> dict[str, Counter[str]]:
    """How many times each CORS header comes back, per kind of answer."""
    out = {}
    for name, method, target in (
        ("forwarded", "GET", "/v2/keys/"),
        ("options", "OPTIONS", "/v2/keys/"),
        ("config", "GET", "/v2/config/local/proxy"),
    ):
        _, headers, _ = request(url, method, target)
        out[name] = Counter(k.lower() for k, _ in headers if k.lower() in CORS)
    return out


def long_poll(url: str, s: Session) -> tuple[int, object]:
    """A `wait=true` watch through the proxy, answered by a write made while it waits."""
    got: list[tuple[int, list[tuple[str, str]], bytes]] = []
    t = threading.Thread(target=lambda: got.append(request(url, "GET", "/v2/keys/lp?wait=true")))
    t.start()
    time.sleep(0.5)  # the watch is registered on the member (nothing to poll for)
    request(url, "PUT", "/v2/keys/lp", b"value=woken")
    t.join(20)
    assert got, "the long poll was not answered"
    status, _, body = got[0]
    return status, s.norm_body(body, True)


def test_same_answers_as_etcd_proxy() -> None:
    transcripts, cors, polls, prox = {}, {}, {}, {}
    for kind in KINDS:
        with proxied(kind) as p:
            s = Session(p.url)
            transcripts[kind] = [r.show() for r in script(s)]
            cors[kind] = cors_counts(p.url)
            polls[kind] = long_poll(p.url, s)
            prox[kind] = (endpoints(p.url), [m.client_url for m in p.cluster.members])
    for a, b in zip(transcripts["etcd"], transcripts["shoal"], strict=True):
        assert b == a
    assert cors["shoal"] == cors["etcd"]
    assert cors["etcd"]["forwarded"]["access-control-allow-origin"] == 2  # the member's + its own
    assert polls["shoal"] == polls["etcd"]
    assert polls["etcd"][0] == 200
    for kind in KINDS:  # /v2/config/local/proxy lists the members' client URLs
        eps, clients = prox[kind]
        assert sorted(eps) == sorted(clients)


@pytest.mark.parametrize("kind", KINDS)
def test_readonly_refuses_writes(kind: str) -> None:
    with proxied(kind, "readonly") as p:
        for method in ("PUT", "POST", "DELETE", "HEAD", "OPTIONS"):
            status, headers, body = request(p.url, method, "/v2/keys/ro", b"value=1")
            names = {k.lower() for k, _ in headers}
            assert (status, body) == (501, b""), method
            assert "access-control-allow-origin" not in names
        status, _, _ = request(p.url, "GET", "/v2/keys/")
        assert status == 200
        # Nothing was written: the key is absent on the members themselves.
        member = p.cluster.members[0].client_url
        assert request(member, "GET", "/v2/keys/ro")[0] == 404


def answer(url: str, method: str = "GET", target: str = "/v2/keys/") -> tuple[int, str, object]:
    status, headers, body = request(url, method, target, b"value=1" if method == "PUT" else None)
    ctype = dict((k.lower(), v) for k, v in headers).get("content-type", "")
    try:
        doc: object = json.loads(body)
    except ValueError:
        doc = body.decode()
    return status, ctype, doc


@pytest.mark.parametrize("kind", KINDS)
def test_failover_quorum_loss_and_all_members_down(kind: str) -> None:
    """One member dies: answers go on. Two: reads go on, a write gets the member's own
    timeout error through the proxy. Three: etcd's 502 then 503; back again after the failure
    wait."""
    with proxied(kind, "on", "--proxy-failure-wait", "1000") as p:
        c = p.cluster
        c.stop(0, signal.SIGKILL)
        for _ in range(6):  # shuffled endpoints: some of these go to the dead one first
            assert answer(p.url)[0] == 200
        c.stop(1, signal.SIGKILL)
        assert answer(p.url)[0] == 200
        status, ctype, doc = answer(p.url, "PUT", "/v2/keys/q")
        assert (status, ctype) == (500, "application/json")
        assert isinstance(doc, dict) and doc["errorCode"] == 300, doc
        assert doc["cause"] == "etcdserver: request timed out"
        c.stop(2, signal.SIGKILL)
        first = answer(p.url)
        assert first[:2] == (502, "application/json"), first
        assert isinstance(first[2], dict)
        msg = first[2]["message"]
        assert msg.startswith("httpproxy: unable to get response from ") and msg.endswith(
            " endpoint(s)"
        ), msg
        assert answer(p.url) == (
            503,
            "application/json",
            {"message": "httpproxy: zero endpoints currently available"},
        )
        for i in range(3):
            c.start(i)
        c.wait_ready(60)
        wait_until(lambda: answer(p.url)[0] == 200, 60, f"{kind} proxy answering again")
        log = p.log()
        assert "marked endpoint" in log and "unavailable" in log
        assert "available, to retest connectivity" in log


@pytest.mark.parametrize("kind", KINDS)
def test_restart_from_the_cluster_file(kind: str) -> None:
    """The peers a proxy learnt are kept in <data-dir>/proxy/cluster; restarted with an
    --initial-cluster that leads nowhere, it uses them (as etcd's)."""
    with proxied(kind) as p:
        cluster_file = p.data_dir / "proxy" / "cluster"
        kept = json.loads(cluster_file.read_text())
        assert sorted(kept) == ["PeerURLs"]
        assert kept["PeerURLs"] == sorted(m.peer_url for m in p.cluster.members)
        assert oct(cluster_file.stat().st_mode & 0o777) == "0o600"
        p.stop()
        nowhere = f"x=http://127.0.0.1:{free_port()}"
        argv = list(p.argv)
        argv[argv.index("--initial-cluster") + 1] = nowhere
        p.cluster.stop(0)  # the first peer of the file is gone: another one answers
        p.start(argv)
        log = p.log()
        assert "the server is already initialized as proxy before" in log
        assert f'from cluster file "{cluster_file}"' in log
        assert answer(p.url, "PUT", "/v2/keys/after-restart")[0] == 201


def test_watch_streams_through_shoal_proxy() -> None:
    """`stream=true` events arrive one by one, while the stream stays open (etcd 3.4's proxy
    holds them in its write buffer, so this is shoal's only deliberate difference)."""
    with proxied("shoal") as p:
        s = Session(p.url)
        rec = s.watch("w", "/v2/keys/st?wait=true&stream=true")
        assert rec.status == 200
        for i in range(3):
            s.step(f"put {i}", "PUT", "/v2/keys/st", form=f"value={i}")
            (event,) = s.watch_events("w", 1).body
            node = dict(event["json"])["node"]
            assert dict(node)["value"] == str(i)
        assert s.watch_state("w").body == "open"
        s.close()


def test_shoal_partition_cuts_a_proxy_off_and_heals() -> None:
    """shoal's proxy takes `shoal partition`'s faults on its client port: blocked members are
    unreachable to it (etcd's 502, then 503), and clearing the faults brings them back."""
    with proxied("shoal", "on", "--proxy-failure-wait", "500") as p:
        members = json.loads(request(p.url, "GET", "/v2/members")[2])["members"]
        ids = [m["id"] for m in members]
        s = Session(p.url)
        assert s.watch("w", "/v2/keys/cut?wait=true&stream=true").status == 200
        body = json.dumps({"blocked": ids}).encode()
        status, _, got = request(p.url, "POST", "/_shoal/faults", body)
        assert status == 200 and sorted(json.loads(got)["blocked"]) == sorted(ids)
        # A watch opened before the partition is cut too, as a network partition cuts it.
        assert s.watch_state("w", 5.0).body == "closed"
        s.close()
        first = answer(p.url)
        assert first == (
            502,
            "application/json",
            {"message": "httpproxy: unable to get response from 3 endpoint(s)"},
        )
        assert answer(p.url)[0] == 503
        # The members are fine: only this proxy is cut off from them.
        assert answer(p.cluster.members[0].client_url)[0] == 200
        assert request(p.url, "DELETE", "/_shoal/faults")[0] == 200
        wait_until(lambda: answer(p.url)[0] == 200, 30, "the proxy reaching members again")
        assert "partitioned from this proxy (shoal partition)" in p.log()
        bad = request(p.url, "POST", "/_shoal/faults", b'{"blocked": "x"}')
        assert bad[0] == 400


def proxy_metrics(url: str) -> tuple[list[str], dict[str, float]]:
    """The etcd_proxy_* HELP/TYPE lines, and each sample (buckets by their le) -> value."""
    status, headers, body = request(url, "GET", "/metrics")
    assert status == 200
    assert dict((k.lower(), v) for k, v in headers)["content-type"].startswith("text/plain")
    meta, samples = [], {}
    for line in body.decode().splitlines():
        if line.startswith(("# HELP etcd_proxy_", "# TYPE etcd_proxy_")):
            meta.append(line)
        elif line.startswith("etcd_proxy_"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return meta, samples


def test_metrics_are_etcd_proxys() -> None:
    """/metrics is the proxy's own (etcd's proxy/httpproxy families), counted the same way:
    requests, answers by code, and requests dropped when no member answers."""
    seen = {}
    for kind in KINDS:
        with proxied(kind, "on", "--proxy-failure-wait", "60000") as p:
            for _ in range(3):
                assert answer(p.url)[0] == 200
            assert answer(p.url, "PUT", "/v2/keys/m")[0] == 201
            assert answer(p.url, "GET", "/v2/keys/absent")[0] == 404
            for i in range(3):
                p.cluster.stop(i, signal.SIGKILL)
            assert answer(p.url)[0] == 502
            assert answer(p.url)[0] == 503
            seen[kind] = proxy_metrics(p.url)
    meta, samples = seen["shoal"]
    assert meta == seen["etcd"][0]

    def counts(s: dict[str, float]) -> dict[str, float]:
        # Durations differ run to run; which buckets exist and how many were observed do not.
        return {k: v for k, v in s.items() if "_bucket" not in k and "_sum" not in k}

    assert counts(samples) == counts(seen["etcd"][1])
    assert samples['etcd_proxy_requests_total{method="GET"}'] == 6
    assert samples['etcd_proxy_dropped_total{method="GET",proxying_error="zero_endpoints"}'] == 1

    def buckets(s: dict[str, float]) -> set[frozenset[str]]:
        # Label order is the exposition library's (Go puts `le` last); the labels are the same.
        return {frozenset(k.split("{")[1].rstrip("}").split(",")) for k in s if "_bucket" in k}

    assert buckets(samples) == buckets(seen["etcd"][1])
