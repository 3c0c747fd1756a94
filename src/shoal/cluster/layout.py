"""Where a local cluster lives on disk, and what each machine is.

    DIR/cluster.json          size (central machines), workers, subnet, etcd command, names
                              (written by `shoal up`)
    DIR/coreos-01.yml         machine 1's cloud-config (the seed's template, or the user's file;
                              a machine is named after its cloud-config's hostname)
    DIR/coreos-01/            machine 1's root directory (etc/, var/lib/etcd2, run/, journal)
    DIR/coreos-01.pid         the `shoal node` process of machine 1 while it runs
    DIR/coreos-01.log         that process's stdout/stderr
    DIR/bin/                  etcdctl, fleetctl, ... wrappers for `shoal ssh`

A machine's addresses are read from its cloud-config (coreos.etcd2), so a user's own files work
as well as the template's. Workers (`shoal up --workers N`, CoreOS's production architecture)
come after the central machines, worker-01.. (DIR/worker-01.yml ...): their etcd2 is a proxy,
so their client URL is the one the proxy listens on and they have no peer URL.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from shoal.cloudinit.config import load
from shoal.cloudinit.report import CloudConfigInvalid
from shoal.cloudinit.substitute import values_from_environment
from shoal.node.daemon import _addresses_in
from shoal.systemd.machine import default_cluster_dir, machine_dir_name, machine_name

STATE_FILE = "cluster.json"


class ClusterError(Exception):
    """A cluster command cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Machine:
    number: int
    name: str
    cluster_dir: Path
    client_url: str  # first advertise-client-url
    peer_url: str  # first initial-advertise-peer-url (the fault endpoint lives there)
    etcd_name: str  # the member's name (coreos.etcd2.name); "" for a proxy
    runs_fleet: bool = True  # its cloud-config starts fleet.service (the seed's does)
    proxy: bool = False  # coreos.etcd2.proxy is on/readonly: a worker, not a member

    @property
    def root(self) -> Path:
        return self.cluster_dir / self.name

    @property
    def cloud_config(self) -> Path:
        return self.cluster_dir / f"{self.name}.yml"

    @property
    def pid_file(self) -> Path:
        return self.cluster_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.cluster_dir / f"{self.name}.log"

    @property
    def address(self) -> str:
        return self.client_url.split("//", 1)[-1].rsplit(":", 1)[0]

    @property
    def fleet_socket(self) -> Path:
        return self.root / "var" / "run" / "fleet.sock"


@dataclass(frozen=True)
class Cluster:
    dir: Path
    size: int  # central machines (etcd members); the workers come after them in `machines`
    subnet: str
    etcd_command: str  # "" = shoal's own etcd
    machines: tuple[Machine, ...]
    workers: int = 0
    tls: bool = False  # shoal up --tls: https on both ports (cluster.security)
    auth: bool = False  # shoal up --auth: v2 auth on, root's password in DIR/root.password

    @property
    def central(self) -> tuple[Machine, ...]:
        return self.machines[: self.size]

    @property
    def worker_machines(self) -> tuple[Machine, ...]:
        return self.machines[self.size :]

    @property
    def members(self) -> tuple[Machine, ...]:
        """The machines whose etcd2 is a member (a user's central config may be a proxy)."""
        return tuple(m for m in self.machines if not m.proxy)

    def machine(self, node: str) -> Machine:
        name = machine_dir_name(node)
        for m in self.machines:
            # By name, number, or address (`fleetctl ssh` knows machines by their public IP).
            by_number = node.isdigit() and int(node) == m.number
            if m.name in (name, node) or by_number or urlsplit(m.client_url).hostname == node:
                return m
        names = ", ".join(m.name for m in self.machines)
        raise ClusterError(f"no machine {node!r} in {self.dir} (machines: {names})")

    def save(self) -> None:
        state = {
            "size": self.size,
            "workers": self.workers,
            "subnet": self.subnet,
            "etcd_command": self.etcd_command,
            "names": [m.name for m in self.machines],
            "tls": self.tls,
            "auth": self.auth,
        }
        (self.dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")


def cluster_dir(given: str | None) -> Path:
    return Path(given).expanduser().resolve() if given else default_cluster_dir()


def machine_from_config(number: int, cluster: Path, name: str | None = None) -> Machine:
    """Machine `number` of the cluster in `cluster`, from its copy of the cloud-config."""
    path = cluster / f"{name or machine_name(number)}.yml"
    return parse_machine(number, cluster, path.read_text(encoding="utf-8"), str(path))


def parse_machine(number: int, cluster: Path, text: str, source: str) -> Machine:
    """The machine a cloud-config describes; errors name `source`, the file the user wrote. Its
    name is the cloud-config's hostname (one name per machine, in `shoal status`, `shoal ssh`, the
    files of DIR and the machine's own `hostname`), `coreos-0N` when it sets none."""
    try:
        config, _ = load(text, values_from_environment({}, _addresses_in(text)))
    except CloudConfigInvalid as e:
        raise ClusterError(f"{source} is not a valid cloud-config:\n{e.report}") from e
    name = config.hostname or machine_name(number)
    if not _NAME.fullmatch(name) or name.isdigit() or name == "bin":
        raise ClusterError(
            f"{source}: hostname {name!r} cannot name a machine of a local cluster (its files "
            "are DIR/<hostname>.yml, ...): use letters, digits, '-' and '.', not only digits"
        )
    etcd2 = config.coreos.etcd2
    proxy = (etcd2.get("proxy") or "off") in ("on", "readonly")
    if proxy:
        client, peer = (etcd2.get("listen_client_urls") or "").split(",")[0], ""
        if not client:
            raise ClusterError(
                f"{source}: coreos.etcd2 is a proxy without listen-client-urls; shoal up needs "
                "them (machines share this computer, so each listens on its own address)"
            )
    else:
        client = (etcd2.get("advertise_client_urls") or "").split(",")[0]
        peer = (etcd2.get("initial_advertise_peer_urls") or "").split(",")[0]
        if not client:
            raise ClusterError(
                f"{source}: coreos.etcd2 has no advertise-client-urls; shoal up needs it"
            )
    units = {u.name: u for u in config.coreos.units}
    fleet = units.get("fleet.service")
    runs_fleet = fleet is not None and fleet.command in ("start", "restart", "try-restart")
    etcd_name = "" if proxy else etcd2.get("name") or name
    return Machine(number, name, cluster, client, peer, etcd_name, runs_fleet, proxy)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,62}")


def load_cluster(given: str | None) -> Cluster:
    d = cluster_dir(given)
    state_path = d / STATE_FILE
    if not state_path.exists():
        raise ClusterError(f"no cluster in {d}: start one with `shoal up --dir {d}`")
    state = json.loads(state_path.read_text())
    size = int(state["size"])
    workers = int(state.get("workers", 0))
    total = size + workers
    names = state.get("names") or [machine_name(n) for n in range(1, size + 1)]
    machines = tuple(machine_from_config(n, d, names[n - 1]) for n in range(1, total + 1))
    return Cluster(
        d, size, state.get("subnet", ""), state.get("etcd_command", ""), machines, workers,
        bool(state.get("tls", False)), bool(state.get("auth", False)),
    )  # fmt: skip
