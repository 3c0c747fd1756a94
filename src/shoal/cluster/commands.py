"""The local-cluster commands: `shoal up | status | stop | start | kill | partition | heal | down
| ssh`. Each takes `--dir DIR` (default $SHOAL_HOME or ~/.shoal/cluster), so several clusters can
live side by side on different addresses (`shoal up --subnet 127.0.1.0`).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from shoal.cloudinit.template import DEFAULT_SIZE, render, render_worker, worker_name
from shoal.cluster import dashboard, health, processes, security, shell
from shoal.cluster.layout import (
    STATE_FILE,
    Cluster,
    ClusterError,
    Machine,
    cluster_dir,
    load_cluster,
    parse_machine,
)
from shoal.node.machine_units import ETCD_COMMAND_ENV
from shoal.systemd.journal import read
from shoal.systemd.machine import machine_name

MAX_MACHINES = 25  # machine N lives on subnet + 10*N
BOOT_TIMEOUT = 180.0  # the seed's election timeout is 5 s; a first election can take a few
FLEET_TIMEOUT = 45.0


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"shoal {prog}", description=description)
    p.add_argument(
        "--dir", help="the cluster's directory (default: $SHOAL_HOME, else ~/.shoal/cluster)"
    )
    return p


def _say(msg: str) -> None:
    print(msg, flush=True)


def _err(msg: str) -> None:
    print(f"shoal: {msg}", file=sys.stderr, flush=True)


def _guard(fn: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
    def run(argv: list[str]) -> int:
        try:
            return fn(argv)
        except ClusterError as e:
            _err(str(e))
            return 1
        except KeyboardInterrupt:
            return 130

    return run


# --- up ------------------------------------------------------------------------------------------


@_guard
def up(argv: list[str]) -> int:
    p = _parser("up", "Start a local cluster of machines (coreos-01..N) in the background.")
    p.add_argument("--size", type=int, help=f"number of central machines (default {DEFAULT_SIZE})")
    p.add_argument(
        "--workers",
        type=int,
        help="worker machines (worker-01..N after the central ones): etcd2 as a proxy to the "
        "central members, fleet with role=worker (CoreOS's production cluster architecture)",
    )
    p.add_argument(
        "--add-worker",
        action="store_true",
        help="join one more worker to the cluster in --dir (it may be running)",
    )
    p.add_argument("--subnet", help="addresses: machine N gets subnet+10*N (default 127.0.0.0)")
    p.add_argument(
        "--etcd-command",
        help=f"what etcd2.service runs (default ${ETCD_COMMAND_ENV}, else shoal's own etcd)",
    )
    p.add_argument("--timeout", type=float, default=BOOT_TIMEOUT, help="seconds to wait")
    p.add_argument("--no-wait", action="store_true", help="do not wait until healthy")
    p.add_argument(
        "--discovery",
        metavar="URL",
        help="bootstrap etcd through a token instead of a static initial-cluster: a discovery "
        "service (`shoal discovery`, e.g. http://127.0.0.1:8087) or a token URL",
    )
    p.add_argument(
        "--tls",
        action="store_true",
        help="a CA and a certificate per machine (DIR/tls); https on both etcd ports, peers "
        "authenticated by certificate",
    )
    p.add_argument(
        "--auth",
        action="store_true",
        help="v2 auth on: a root user (password printed once, kept in DIR/root.password, 0600); "
        "without credentials only fleet's keys are open",
    )
    p.add_argument("configs", nargs="*", metavar="CLOUD-CONFIG", help="one file per machine")
    args = p.parse_args(argv)
    d = cluster_dir(args.dir)
    if args.auth and args.no_wait:
        raise ClusterError("--auth sets up users once the cluster is healthy: drop --no-wait")
    if args.workers is not None and args.workers < 0:
        raise ClusterError("--workers must be 0 or more")
    if args.add_worker:
        return _add_worker(d, args.timeout, args.no_wait)
    if (d / STATE_FILE).exists():
        cluster = load_cluster(str(d))
        if (
            (args.size is not None and args.size != cluster.size)
            or (args.workers is not None and args.workers != cluster.workers)
            or args.configs
            or (args.subnet and args.subnet != cluster.subnet)
            or (args.tls and not cluster.tls)
            or (args.auth and not cluster.auth)
        ):
            raise ClusterError(
                f"a cluster of {_count(cluster)} already exists in {d}; `shoal up` starts "
                f"its stopped machines (`shoal up --add-worker` adds a worker). To make a new "
                f"one: `shoal down --purge --dir {d}` first, or use another --dir"
            )
        todo = [m for m in cluster.machines if processes.node_pid(m) is None]
        for m in todo:
            processes.check_addresses_free(m)
    else:
        existed = d.exists()
        cluster = _create(d, args.size, args.subnet or "127.0.0.0", args.configs,
                          args.etcd_command if args.etcd_command is not None
                          else os.environ.get(ETCD_COMMAND_ENV, ""),
                          args.discovery, args.workers or 0, args.tls, args.auth)  # fmt: skip
        todo = list(cluster.machines)
        try:
            for m in todo:
                processes.check_addresses_free(m)
        except ClusterError:
            _discard(cluster, existed)  # a failed first `up` leaves nothing behind
            raise
    shell.write_wrappers(cluster)
    etcd = cluster.etcd_command or "shoal etcd"
    for m in todo:
        pid = processes.spawn(m, cluster.etcd_command)
        _say(f"{m.name}: started on {m.address} (pid {pid}; etcd: {etcd}; log {m.log_file})")
    if not todo:
        _say(f"all {_count(cluster)} of {d} are already running")
    page, why = dashboard.ensure(cluster)
    if page:
        _say(f"dashboard: {page}")
    else:
        _err(f"the dashboard did not start: {why}")
    if args.no_wait:
        return 0
    if not wait_healthy(cluster, cluster.machines, args.timeout):
        return 1
    if cluster.auth:
        password = security.enable_auth(cluster)
        if password is not None:
            _say(f"auth enabled; user root, password: {password}")
            _say(f"(shown once; kept in {d / security.PASSWORD_FILE}, readable by you only)")
    show_health(cluster, cluster.machines[0])
    return 0


def _count(cluster: Cluster) -> str:
    """`3 machines`, or `3 central machines and 2 workers`."""
    if not cluster.workers:
        return f"{cluster.size} machines"
    w = "worker" if cluster.workers == 1 else "workers"
    return f"{cluster.size} central machines and {cluster.workers} {w}"


def _add_worker(d: Path, timeout: float, no_wait: bool) -> int:
    """`shoal up --add-worker`: the next worker's cloud-config from the template, saved in the
    layout, then booted; the central machines are not touched (a proxy needs no `member add`)."""
    if not (d / STATE_FILE).exists():
        raise ClusterError(f"no cluster in {d}: start one with `shoal up --dir {d} --workers N`")
    cluster = load_cluster(str(d))
    members = [c for c in cluster.central if not c.proxy and c.peer_url]
    if not members:
        raise ClusterError(f"{d} has no etcd member for a worker's proxy to reach")
    k = cluster.workers + 1
    if cluster.size + k > MAX_MACHINES:
        raise ClusterError(
            f"{d} has {len(cluster.machines)} machines, the most the template numbers "
            f"(.10 ... .250 of {cluster.subnet}); no room for a worker"
        )
    check_subnet(cluster.subnet, cluster.size + k)
    name = worker_name(k)
    # The proxy is pointed at the members as they are (a user's own central configs too).
    ic = ",".join(f"{c.etcd_name}={c.peer_url}" for c in members)
    try:
        text = render_worker(
            k, str(d / name), size=cluster.size, subnet=cluster.subnet, initial_cluster=ic
        )
    except ValueError as e:
        raise ClusterError(str(e)) from e
    m = parse_machine(cluster.size + k, d, text, str(d / f"{name}.yml"))
    processes.check_addresses_free(m)
    m.cloud_config.write_text(text, encoding="utf-8")
    grown = Cluster(d, cluster.size, cluster.subnet, cluster.etcd_command,
                    (*cluster.machines, m), k)  # fmt: skip
    grown.save()
    shell.write_wrappers(grown)
    pid = processes.spawn(m, grown.etcd_command)
    _say(f"{m.name}: started on {m.address} (pid {pid}; etcd2: proxy to "
         f"{', '.join(c.name for c in grown.central)}; log {m.log_file})")  # fmt: skip
    if no_wait:
        return 0
    return 0 if wait_healthy(grown, [m], timeout) else 1


def check_subnet(subnet: str, size: int) -> None:
    """Machine N lives on subnet + 10*N: every one of those must be a loopback address (the
    machines are processes of this computer; traffic stays on loopback)."""
    try:
        base = ipaddress.IPv4Address(subnet)
    except ValueError:
        raise ClusterError(
            f"--subnet {subnet!r} is not an IPv4 address; give one like 127.0.1.0"
        ) from None
    last = base + 10 * size if int(base) + 10 * size <= 0xFFFFFFFF else None
    if not base.is_loopback or last is None or not last.is_loopback:
        raise ClusterError(
            f"--subnet {subnet}: machines are processes on this computer and live on loopback "
            f"addresses; {size} machine(s) at {subnet}+10, +20, ... need a subnet inside "
            "127.0.0.0/8, e.g. --subnet 127.0.1.0"
        )


def _create(
    d: Path,
    size: int | None,
    subnet: str,
    configs: Sequence[str],
    etcd: str,
    discovery: str | None = None,
    workers: int = 0,
    tls: bool = False,
    auth: bool = False,
) -> Cluster:
    if size is not None and size < 1:
        raise ClusterError("--size must be at least 1")
    if tls and (configs or workers or discovery):
        raise ClusterError(
            "--tls sets up shoal's template machines; with your own cloud-configs give the TLS "
            "settings in them (coreos.etcd2 cert-file, ...); workers and --discovery do not "
            "combine with it yet"
        )
    n = size if size is not None else (len(configs) if configs else DEFAULT_SIZE)
    if configs and len(configs) != n:
        raise ClusterError(f"{len(configs)} cloud-configs given for {n} machines: give one each")
    if configs and workers:
        raise ClusterError(
            "--workers makes workers from shoal's template, next to the template's central "
            "machines; with your own cloud-configs, give the workers' files too (a worker is "
            "a cloud-config with coreos.etcd2.proxy: on)"
        )
    if discovery and workers:
        raise ClusterError(
            "--workers proxies to the central machines' static initial-cluster; it does not "
            "combine with --discovery"
        )
    if not configs:
        if n + workers > MAX_MACHINES:
            raise ClusterError(
                f"{n} central machines and {workers} workers are {n + workers} machines; the "
                f"template numbers them .10, .20, ... .250 of the subnet: at most {MAX_MACHINES}"
            )
        check_subnet(subnet, n + workers)
    texts: list[str] = []
    for i in range(1, n + 1):
        root = str(d / machine_name(i))
        if configs:
            try:
                texts.append(Path(configs[i - 1]).read_text(encoding="utf-8"))
            except OSError as e:
                raise ClusterError(f"cannot read {configs[i - 1]}: {e.strerror}") from e
        else:
            try:
                texts.append(render(i, root, size=n, subnet=subnet))
            except ValueError as e:
                raise ClusterError(str(e)) from e
    if discovery:
        from shoal.discovery.cloudconfig import token_for, with_discovery

        try:
            token = token_for(discovery, n)
            texts = [with_discovery(t, token) for t in texts]
        except ValueError as e:
            raise ClusterError(str(e)) from e
    for k in range(1, workers + 1):
        try:
            texts.append(render_worker(k, str(d / worker_name(k)), size=n, subnet=subnet))
        except ValueError as e:
            raise ClusterError(str(e)) from e
    if tls:
        texts = [security.with_tls(t, d, machine_name(i + 1)) for i, t in enumerate(texts)]
    # Checked as the user wrote them, so errors name their files, not DIR's copies.
    names_ = [machine_name(i) for i in range(1, n + 1)]
    names_ += [worker_name(k) for k in range(1, workers + 1)]
    sources = list(configs) if configs else [str(d / f"{x}.yml") for x in names_]
    total = n + workers
    machines = tuple(parse_machine(i, d, texts[i - 1], sources[i - 1]) for i in range(1, total + 1))
    names = [m.name for m in machines]
    twice = sorted({x for x in names if names.count(x) > 1})
    if twice:
        raise ClusterError(
            f"several cloud-configs set hostname {twice[0]!r}: each machine needs its own name"
        )
    existed = d.exists()
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ClusterError(
            f"cannot make the cluster's directory {d}: {e.strerror}; choose another --dir"
        ) from e
    cluster = Cluster(d, n, subnet, etcd, machines, workers, tls, auth)
    try:
        if tls:
            security.make_certificates(d, [(m.name, m.address) for m in machines])
        for m, text in zip(machines, texts, strict=True):
            m.cloud_config.write_text(text, encoding="utf-8")
        cluster.save()
    except BaseException:
        _discard(cluster, existed)
        raise
    return cluster


def _discard(cluster: Cluster, existed: bool) -> None:
    """Undo a new cluster's files (and its directory when `up` made it)."""
    for m in cluster.machines:
        m.cloud_config.unlink(missing_ok=True)
    (cluster.dir / STATE_FILE).unlink(missing_ok=True)
    if not existed:
        with contextlib.suppress(OSError):
            cluster.dir.rmdir()


def _describe(m: Machine) -> str:
    if processes.node_pid(m) is None:
        return "down"
    if health.healthy(m):
        return "healthy"
    u = _unit(m, "etcd2.service")
    if u is None:
        return "booting"
    if u["result"] not in ("success", "") and u["sub_state"] in ("auto-restart", "failed"):
        return "etcd2 failed"
    return f"booting (etcd2 {u['active_state']}/{u['sub_state']})"


def _unit(m: Machine, unit: str) -> dict[str, Any] | None:
    from shoal.systemd.control import ControlError, call, socket_path

    try:
        state: dict[str, Any] = call(
            socket_path(m.root), {"op": "status", "unit": unit}, timeout=2.0
        )["unit"]
    except ControlError:
        return None
    return state


def _unit_state(m: Machine, unit: str) -> str:
    u = _unit(m, unit)
    return f"{u['active_state']}/{u['sub_state']}" if u else ""


def wait_healthy(cluster: Cluster, machines: Sequence[Machine], timeout: float) -> bool:
    """Wait until every machine's etcd is healthy, showing progress; on a machine that died,
    print the tail of its log and journal and say so."""
    t0 = time.monotonic()
    last = ""
    while True:
        states = {m.name: _describe(m) for m in machines}
        line = ", ".join(f"{k} {v}" for k, v in states.items())
        elapsed = time.monotonic() - t0
        if line != last:
            _say(f"[{elapsed:5.1f}s] {line}")
            last = line
        if all(v == "healthy" for v in states.values()):
            return True
        dead = [m for m in machines if states[m.name] in ("down", "etcd2 failed")]
        if dead:
            for m in dead:
                _report_death(m, states[m.name] == "down")
            return False
        if elapsed > timeout:
            _err(
                f"the cluster is not healthy after {timeout:.0f}s ({line}). "
                f"See `shoal journal -M NAME --dir {cluster.dir} -u etcd2` and `shoal status`; "
                "a member needs a majority of members running to become healthy"
            )
            return False
        time.sleep(0.5)


def _report_death(m: Machine, node_died: bool) -> None:
    if node_died:
        _err(f"{m.name} died while booting. The end of its log ({m.log_file}):")
        for line in processes.tail(m.log_file, 15):
            print(f"    {line}", file=sys.stderr)
    else:
        _err(
            f"etcd2.service failed on {m.name} (it will be retried; fix the cause, then "
            f"`shoal stop {m.name}` and `shoal start {m.name}`)."
        )
    entries = read(m.root, frozenset({"etcd2.service"}), last=15)
    if entries:
        print(f"  and of its etcd2 journal (shoal journal -M {m.name} -u etcd2):", file=sys.stderr)
        for e in entries:
            print(f"    {e.short(m.name)}", file=sys.stderr)


def show_health(cluster: Cluster, m: Machine) -> None:
    """What the seed ran after booting: etcdctl cluster-health, fleetctl list-machines."""
    env = shell.environment(cluster, m, dict(os.environ))
    _say(f"\n$ etcdctl cluster-health        (on {m.name})")
    r = subprocess.run(
        [sys.executable, "-m", "shoal.cli", "etcdctl", "cluster-health"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    sys.stdout.write(r.stdout + r.stderr)
    if m.runs_fleet:  # a cloud-config that starts no fleet.service has no fleet to wait for
        _show_fleet(cluster, env, m)
    page = dashboard.url(cluster)
    if page:
        _say(f"\ndashboard: {page}   (the live page of this cluster)")
    _say(f"\nshoal ssh {m.name}   opens a shell there; `shoal status`, `shoal down` when done.")


def _show_fleet(cluster: Cluster, env: dict[str, str], m: Machine) -> None:
    _say(f"\n$ fleetctl list-machines        (on {m.name})")
    deadline = time.monotonic() + FLEET_TIMEOUT
    out = ""
    while time.monotonic() < deadline:
        r = subprocess.run(
            [sys.executable, "-m", "shoal.cli", "fleetctl", "list-machines"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        out = r.stdout + r.stderr
        fleets = sum(x.runs_fleet for x in cluster.machines)
        if r.returncode == 0 and len(out.strip().splitlines()) - 1 >= fleets:
            break
        time.sleep(1)
    sys.stdout.write(out)


# --- status --------------------------------------------------------------------------------------


@_guard
def status(argv: list[str]) -> int:
    p = _parser("status", "Show the machines, their addresses, processes and etcd health.")
    args = p.parse_args(argv)
    cluster = load_cluster(args.dir)
    rows = [("MACHINE", "ADDRESS", "NODE PID", "STATE", "ETCD", "ROLE", "FLEET")]
    ids = health.member_ids(cluster)
    names = {v: k for k, v in ids.items()}
    leaders: set[str] = set()
    n_healthy = 0
    for m in cluster.machines:
        pid = processes.node_pid(m)
        ok = pid is not None and health.healthy(m)
        n_healthy += ok and not m.proxy
        # A worker's proxy would forward /v2/stats/self to some member: not its own role.
        info = health.member_info(m) if pid is not None and not m.proxy else None
        role = "proxy" if m.proxy else ""
        if info is not None:
            role = {"StateLeader": "leader", "StateFollower": "follower"}.get(info.state, "")
            if info.leader:
                leaders.add(names.get(info.leader, info.leader))
        etcd = "healthy" if ok else ("unhealthy" if pid is not None else "-")
        fleet = (_unit_state(m, "fleet.service") or "-") if pid is not None else "-"
        rows.append((m.name, m.address, str(pid or "-"), "running" if pid else "stopped",
                     etcd, role or "-", fleet))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        _say("  ".join(f"{c:<{w}}" for c, w in zip(r, widths, strict=True)).rstrip())
    members = len(cluster.members)
    quorum = members // 2 + 1
    if n_healthy == members:
        verdict = "healthy"
    elif n_healthy >= quorum:
        verdict = f"degraded ({n_healthy} of {members} members healthy, quorum is {quorum})"
    else:
        verdict = f"unavailable ({n_healthy} of {members} healthy, quorum is {quorum})"
    leader = ", ".join(sorted(leaders)) or "none"
    _say(f"\ncluster {cluster.dir}: {verdict}; leader: {leader}")
    page = dashboard.url(cluster)
    if page:
        _say(f"dashboard: {page}")
    return 0


# --- stop / start / kill -------------------------------------------------------------------------


def _nodes_parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = _parser(prog, description)
    p.add_argument("nodes", nargs="+", metavar="NODE", help="coreos-01, or just 1")
    return p


def _each(machines: Sequence[Machine], fn: Callable[[Machine], None]) -> None:
    """Run fn on each machine at once (a cluster's machines shut down in parallel)."""
    errors: list[BaseException] = []

    def run(m: Machine) -> None:
        try:
            fn(m)
        except BaseException as e:  # reported after all have finished
            errors.append(e)

    threads = [threading.Thread(target=run, args=(m,)) for m in machines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


@_guard
def stop(argv: list[str]) -> int:
    p = _nodes_parser("stop", "Shut machines down cleanly (their units stop in reverse order).")
    args = p.parse_args(argv)
    cluster = load_cluster(args.dir)
    machines = [cluster.machine(n) for n in args.nodes]

    def one(m: Machine) -> None:
        if processes.node_pid(m) is None:
            _say(f"{m.name}: already stopped")
            return
        _say(f"{m.name}: shutting down")
        clean = processes.stop(m)
        _say(f"{m.name}: stopped" + ("" if clean else " (killed: the shutdown took too long)"))

    _each(machines, one)
    return 0


@_guard
def start(argv: list[str]) -> int:
    p = _nodes_parser("start", "Boot stopped machines again (their data is kept).")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health")
    p.add_argument("--no-wait", action="store_true")
    args = p.parse_args(argv)
    cluster = load_cluster(args.dir)
    machines = [cluster.machine(n) for n in args.nodes]
    started = []
    for m in machines:
        if processes.node_pid(m) is not None:
            _say(f"{m.name}: already running (pid {processes.node_pid(m)})")
            continue
        pid = processes.spawn(m, cluster.etcd_command)
        _say(f"{m.name}: started on {m.address} (pid {pid})")
        started.append(m)
    if args.no_wait or not started:
        return 0
    return 0 if wait_healthy(cluster, started, args.timeout) else 1


@_guard
def kill(argv: list[str]) -> int:
    p = _nodes_parser("kill", "Power machines off: SIGKILL every process they run.")
    args = p.parse_args(argv)
    cluster = load_cluster(args.dir)
    for n in args.nodes:
        m = cluster.machine(n)
        count = processes.kill_all(m)
        _say(f"{m.name}: powered off ({count} processes killed)")
    return 0


# --- partition / heal ----------------------------------------------------------------------------


@_guard
def partition(argv: list[str]) -> int:
    from shoal.transport.control import FaultControlError, get_faults, set_faults

    p = _nodes_parser("partition", "Cut machines off from the others' etcd (all, or --from).")
    p.add_argument("--from", dest="others", nargs="+", metavar="NODE", default=None)
    args = p.parse_args(argv)
    cluster = load_cluster(args.dir)
    inside = [cluster.machine(n) for n in args.nodes]
    outside = (
        [cluster.machine(n) for n in args.others]
        if args.others
        else [m for m in cluster.machines if m not in inside]
    )
    ids = health.member_ids(cluster)
    if not ids:
        raise ClusterError("no etcd member answers /v2/members: is the cluster up?")

    def member_id(m: Machine) -> int:
        if m.etcd_name not in ids:
            raise ClusterError(f"{m.name}: its etcd member {m.etcd_name} is not in the cluster")
        return int(ids[m.etcd_name], 16)

    # Links are between members (their peer ports) and from a worker's proxy to the members
    # (cut on the proxy's side); two proxies have none between them.
    cuts: dict[Machine, set[int]] = {}
    for a in inside:
        for b in outside:
            if a.proxy and b.proxy:
                continue
            if a.proxy or b.proxy:
                proxy, member = (a, b) if a.proxy else (b, a)
                cuts.setdefault(proxy, set()).add(member_id(member))
            else:
                cuts.setdefault(a, set()).add(member_id(b))
    if not cuts:
        raise ClusterError("nothing to cut: workers' proxies have no links between them")
    for m, block in cuts.items():
        url = m.client_url if m.proxy else m.peer_url
        ctx = security.peer_ssl_context(m)
        try:
            set_faults(url, get_faults(url, ssl_context=ctx).block(block), ssl_context=ctx)
        except FaultControlError as e:
            raise ClusterError(
                f"{m.name}: {e}. Partitions need shoal's etcd (its peer port, and a proxy's "
                "client port, have the /_shoal/faults endpoint); a real etcd has none"
            ) from e
    for m in inside:
        _say(f"{m.name}: cut off from {', '.join(o.name for o in outside)}")
    return 0


@_guard
def heal(argv: list[str]) -> int:
    from shoal.transport.control import FaultControlError, clear_faults

    p = _parser("heal", "Remove every partition made with `shoal partition`.")
    args = p.parse_args(argv)
    cluster = load_cluster(args.dir)
    for m in cluster.machines:
        if processes.node_pid(m) is None:
            continue
        try:
            url = m.client_url if m.proxy else m.peer_url
            clear_faults(url, ssl_context=security.peer_ssl_context(m))
            _say(f"{m.name}: healed")
        except FaultControlError as e:
            _err(f"{m.name}: {e}")
    return 0


# --- down / ssh ----------------------------------------------------------------------------------


@_guard
def down(argv: list[str]) -> int:
    p = _parser("down", "Stop every machine of the cluster (and with --purge, delete it).")
    p.add_argument("--purge", action="store_true", help="also delete the cluster's directory")
    args = p.parse_args(argv)
    d = cluster_dir(args.dir)
    if not (d / STATE_FILE).exists():
        _say(f"no cluster in {d}: nothing to do")
        return 0
    cluster = load_cluster(args.dir)

    def one(m: Machine) -> None:
        if processes.node_pid(m) is not None:
            processes.stop(m)
            _say(f"{m.name}: stopped")
        else:
            processes.kill_all(m)  # leftovers of a machine whose node was killed

    _each(cluster.machines, one)
    dashboard.stop(cluster)
    if args.purge:
        shutil.rmtree(d)
        _say(f"deleted {d}")
    return 0


@_guard
def ssh(argv: list[str]) -> int:
    p = _parser("ssh", "A shell on a machine (or run COMMAND there), where etcdctl and "
                "fleetctl talk to that machine.")  # fmt: skip
    p.usage = "shoal ssh [-h] [--dir DIR] NODE [[--] COMMAND [ARGS...]]"
    p.add_argument("node", metavar="NODE", help="coreos-01, or just 1")
    options, command = _split_ssh(argv)
    args = p.parse_args(options)
    cluster = load_cluster(args.dir)
    m = cluster.machine(args.node)
    if processes.node_pid(m) is None:
        _err(f"{m.name} is not running (`shoal start {m.name}`); its tools will fail to connect")
    return shell.run(
        cluster,
        m,
        command,
        lambda: processes.node_pid(m) is not None,
        lambda timeout: _wait_gone(m, timeout),
    )


def _wait_gone(m: Machine, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while processes.machine_processes(m) and time.monotonic() < deadline:
        time.sleep(0.05)


def _split_ssh(argv: list[str]) -> tuple[list[str], list[str]]:
    """ssh's reading of its arguments: options may come before or after NODE; the command starts
    at the first word after NODE (or after `--`) and takes everything that follows."""
    options: list[str] = []
    node_seen = False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return options, argv[i + 1 :]
        if not a.startswith("-"):
            if node_seen:
                return options, argv[i:]
            node_seen = True
        options.append(a)
        if a == "--dir" and i + 1 < len(argv):
            options.append(argv[i + 1])
            i += 1
        i += 1
    return options, []
