"""The seed's cloud-config as a template for shoal's machines (`shoal up`), and the worker's.

data/seed-cloud-config.yml is the seed's file with its indentation fixed and its inline comments on
lines of their own; `{{number}}`, `{{address}}`, `{{initial_cluster}}` and `{{root}}` are filled in
per machine. Machine N is `coreos-0N` on 127.0.0.(10*N), as the seed's 192.168.0.10/20/30 were.

data/worker-cloud-config.yml is a worker of CoreOS's production architecture (etcd2 proxy to the
central members, fleet with role=worker). Worker K of a cluster of `size` central machines is
`worker-0K`, numbered after them: machine size+K, on 127.0.0.(10*(size+K)).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from importlib import resources

from shoal.systemd.machine import machine_name

TEMPLATE = "seed-cloud-config.yml"
WORKER_TEMPLATE = "worker-cloud-config.yml"
PEER_PORT = 2380
DEFAULT_SIZE = 3


def machine_address(number: int, subnet: str = "127.0.0.0") -> str:
    """The seed's numbering: machine N is .(10*N) of the subnet (127.0.0.10, .20, .30 ...)."""
    if not 1 <= number <= 25:
        raise ValueError(f"machine number {number} is out of range 1..25 for .N0 addresses")
    return str(ipaddress.IPv4Address(subnet) + 10 * number)


def initial_cluster(members: Sequence[tuple[str, str]]) -> str:
    """`coreos-01=http://127.0.0.10:2380,...` for (name, address) pairs."""
    return ",".join(f"{name}=http://{addr}:{PEER_PORT}" for name, addr in members)


def template_text(name: str = TEMPLATE) -> str:
    return resources.files("shoal.cloudinit").joinpath("data", name).read_text(encoding="utf-8")


def worker_name(k: int) -> str:
    return f"worker-{k:02d}"


def render(
    number: int,
    root: str,
    size: int = DEFAULT_SIZE,
    subnet: str = "127.0.0.0",
    text: str | None = None,
) -> str:
    """Machine `number`'s cloud-config in a cluster of `size` machines."""
    address = machine_address(number, subnet)
    if text is None:
        what = f"{machine_name(number)}: machine {number} of {size} of a local shoal cluster"
        text = _machine_header(template_text(), f"{what}, on {address}.", TEMPLATE)
    return _fill(text, number, root, size, subnet, address)


def _machine_header(template: str, what: str, source: str) -> str:
    """The template's opening comment explains its placeholders, which read as nonsense once
    filled in; a machine's own file says instead what it is and where it came from (and keeps
    the template's note on how it differs from the original)."""
    head, sep, body = template.partition("\n\n")
    lines = head.splitlines()
    since = next((i for i, x in enumerate(lines) if x.startswith("# Differences")), len(lines))
    header = [
        lines[0],
        f"# {what}",
        f"# Written by `shoal up` from shoal's template {source}.",
        *lines[since:],
    ]
    return "\n".join(header) + sep + body


def render_worker(
    k: int,
    root: str,
    size: int = DEFAULT_SIZE,
    subnet: str = "127.0.0.0",
    initial_cluster: str | None = None,
) -> str:
    """Worker `k`'s cloud-config, proxying to a cluster of `size` central machines (the
    template's, or the members `initial_cluster` names)."""
    address = machine_address(size + k, subnet)
    what = f"{worker_name(k)}: worker {k} of a local shoal cluster of {size} central machines"
    text = _machine_header(template_text(WORKER_TEMPLATE), f"{what}, on {address}.",
                           WORKER_TEMPLATE)  # fmt: skip
    if initial_cluster is not None:
        text = text.replace("{{initial_cluster}}", initial_cluster)
    return _fill(text, k, root, size, subnet, address)


def _fill(text: str, number: int, root: str, size: int, subnet: str, address: str) -> str:
    members = [(machine_name(n), machine_address(n, subnet)) for n in range(1, size + 1)]
    values = {
        "{{number}}": f"{number:02d}",
        "{{address}}": address,
        "{{initial_cluster}}": initial_cluster(members),
        "{{root}}": root,
    }
    for key, value in values.items():
        text = text.replace(key, value)
    return text
