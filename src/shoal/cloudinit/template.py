"""The seed's cloud-config as a template for shoal's machines (`shoal up`).

data/seed-cloud-config.yml is the seed's file with its indentation fixed and its inline comments on
lines of their own; `{{number}}`, `{{address}}`, `{{initial_cluster}}` and `{{root}}` are filled in
per machine. Machine N is `coreos-0N` on 127.0.0.(10*N), as the seed's 192.168.0.10/20/30 were.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from importlib import resources

from shoal.systemd.machine import machine_name

TEMPLATE = "seed-cloud-config.yml"
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


def template_text() -> str:
    return resources.files("shoal.cloudinit").joinpath("data", TEMPLATE).read_text(encoding="utf-8")


def render(
    number: int,
    root: str,
    size: int = DEFAULT_SIZE,
    subnet: str = "127.0.0.0",
    text: str | None = None,
) -> str:
    """Machine `number`'s cloud-config in a cluster of `size` machines."""
    members = [(machine_name(n), machine_address(n, subnet)) for n in range(1, size + 1)]
    values = {
        "{{number}}": f"{number:02d}",
        "{{address}}": machine_address(number, subnet),
        "{{initial_cluster}}": initial_cluster(members),
        "{{root}}": root,
    }
    out = template_text() if text is None else text
    for key, value in values.items():
        out = out.replace(key, value)
    return out
