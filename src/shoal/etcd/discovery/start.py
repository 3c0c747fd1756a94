"""How `shoal etcd` starts with --discovery or --discovery-srv (etcd 3.4's etcdmain order).

- A data dir that already holds a member starts that member: the token is ignored (with
  etcd's warning). One that holds a proxy never gets here (`shoal etcd` starts the proxy).
- --discovery-srv: the initial cluster comes from DNS SRV records (srv).
- --discovery: join through the token (discovery). The initial cluster is what the token lists
  and the cluster token is the discovery URL, so every member derives the same IDs as etcd.
  A full cluster makes this process a v2 proxy (--discovery-fallback=proxy, the default;
  `shoal.etcd.proxy`, the same proxy as --proxy on) or fails (`exit`). Failures print
  etcd's lines and exit 1.
"""

from __future__ import annotations

import asyncio
import os

from shoal.etcd import log
from shoal.etcd.discovery import srv
from shoal.etcd.discovery.protocol import (
    Discovery,
    DiscoveryError,
    DuplicateIDError,
    DuplicateNameError,
    FullClusterError,
    Registry,
    notice,
    registration,
    urls_map,
)
from shoal.etcd.flags import EtcdConfig, FlagError, parse_initial_cluster
from shoal.etcd.ids import member_id
from shoal.etcd.proxy import server as proxy_server
from shoal.wal import wal as walmod

PKG = "etcdmain"


def bootstrap(cfg: EtcdConfig, resolver: srv.Resolver | None = None) -> int | None:
    """None: `cfg` now describes the initial cluster, start the member as for a static
    bootstrap. An int: this process is done (it ran as a proxy, or failed); exit with it."""
    try:
        return asyncio.run(prepare(cfg, resolver))
    except KeyboardInterrupt:  # ^C while waiting for peers
        return 130


async def prepare(cfg: EtcdConfig, resolver: srv.Resolver | None = None) -> int | None:
    if os.path.isdir(os.path.join(cfg.data_dir, "member")):
        notice(
            PKG, "the server is already initialized as member before, starting as etcd member..."
        )
        wal_dir = cfg.wal_dir or os.path.join(cfg.data_dir, "member", "wal")
        if walmod.exists(wal_dir):
            if cfg.discovery:
                log.warning(
                    "etcdserver",
                    "discovery token ignored since a cluster has already been initialized. "
                    f'Valid log found at "{wal_dir}"',
                )
            return None
    if cfg.discovery_srv:
        return _from_srv(cfg, resolver or srv.resolver_from_env())
    log.info("embed", f"discovery URL= {cfg.discovery}")
    try:
        reg = Registry(cfg.discovery, cfg.discovery_proxy)
    except DiscoveryError as e:
        return _failed(cfg, e)
    mid = member_id(sorted(cfg.advertise_peer_urls), cfg.discovery)
    try:
        cluster = await Discovery(reg, mid).join_cluster(
            registration(cfg.name, cfg.advertise_peer_urls)
        )
    except DiscoveryError as e:
        if isinstance(e, FullClusterError) and cfg.discovery_fallback == "proxy":
            notice(PKG, "discovery cluster full, falling back to proxy")
            await reg.close()
            return await proxy_server.serve(cfg)
        return _failed(cfg, e)
    finally:
        await reg.close()
    urls = [u for us in urls_map(cluster).values() for u in us]
    if len(set(urls)) != len(urls):
        pairs = ",".join(sorted(cluster.split(",")))
        log.critical(PKG, f"discovery cluster {pairs} has duplicate url")
        return 1
    cfg.initial_cluster = parse_initial_cluster(cluster)
    cfg.initial_cluster_token = cfg.discovery
    return None


def _from_srv(cfg: EtcdConfig, resolver: srv.Resolver) -> int | None:
    srv_name = str(cfg.raw.get("discovery-srv-name") or "")
    try:
        cluster = srv.srv_cluster(
            resolver, cfg.name, cfg.discovery_srv, srv_name, cfg.advertise_peer_urls
        )
        cfg.initial_cluster = parse_initial_cluster(cluster)
    except (srv.SRVError, FlagError) as e:
        log.critical(PKG, str(e))
        return 1
    # etcd builds this member from the SRV form of its URLs (the target's host name), and the
    # other members derive its ID from that form: advertise the same.
    cfg.advertise_peer_urls = cfg.initial_peer_urls(cfg.name)
    return None


def _failed(cfg: EtcdConfig, e: DiscoveryError) -> int:
    durl = cfg.discovery
    # The first line is shoal's: etcd 3.4 does not print the error itself in the first two
    # cases, which leaves users guessing; the lines after it are etcd's.
    log.error(PKG, f"failed to join discovery cluster ({e})")
    if isinstance(e, DuplicateIDError):
        log.error(
            PKG,
            f'member "{cfg.name}" has previously registered with discovery service token ({durl}).',
        )
        log.error(
            PKG,
            "But etcd could not find valid cluster configuration in the given data dir "
            f"({cfg.data_dir}).",
        )
        log.info(PKG, "Please check the given data dir path if the previous bootstrap succeeded")
        log.info(PKG, "or use a new discovery token if the previous bootstrap failed.")
    elif isinstance(e, DuplicateNameError):
        log.error(
            PKG,
            f"member with duplicated name has registered with discovery service token({durl}).",
        )
        log.error(PKG, "please check (cURL) the discovery token for more information.")
        log.error(
            PKG,
            "please do not reuse the discovery token and generate a new one to bootstrap the "
            "cluster.",
        )
    else:
        log.info(PKG, f"discovery token {durl} was used, but failed to bootstrap the cluster.")
        log.info(PKG, "please generate a new discovery token and try to bootstrap again.")
    return 1
