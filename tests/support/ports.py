"""Free loopback ports and subnets, so tests never collide with each other's (or a user's)
clusters on this shared machine."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on at host right now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def loopback_net() -> int:
    """A random second-to-last octet r for hosts 127.0.r.1, 127.0.r.2, ... of one test."""
    return random.randint(2, 250)


def free_subnet(hosts: Iterable[int] = (10, 20, 30), ports: Iterable[int] = (2379, 2380)) -> str:
    """A 127.x.y.0 whose .<hosts> can bind the fixed `ports` (for programs, like `shoal up`, that
    use etcd's default ports on their own addresses)."""
    hosts, ports = list(hosts), list(ports)
    rng = random.Random()
    for _ in range(50):
        subnet = f"127.{rng.randrange(100, 250)}.{rng.randrange(1, 250)}.0"
        base = subnet.rsplit(".", 1)[0]
        try:
            for n in hosts:
                for port in ports:
                    with socket.socket() as s:
                        s.bind((f"{base}.{n}", port))
        except OSError:
            continue
        return subnet
    raise RuntimeError("no free loopback subnet found")
