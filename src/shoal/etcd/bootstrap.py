"""Bootstrap: from a configuration (and a data dir) to a member's fully built parts.

After etcd's `server/etcdserver/bootstrap.go`. Three ways in, decided by the data dir and
--initial-cluster-state:

- restart: the data dir holds a member: its id, cluster, snapshot and log come from disk;
- new: a new cluster from --initial-cluster (which --discovery / --discovery-srv filled in
  before, see `shoal.etcd.discovery.start`): ids derived as etcd derives them, the initial
  members written as the log's first conf-change entries;
- join: --initial-cluster-state existing: the cluster is learned from a peer's `/members`.

Each returns a `Booted` whose every part is set, so the member built from it has no field
that is "not yet known".
"""

from __future__ import annotations

import asyncio
import json
import random
from dataclasses import dataclass

import msgpack

from shoal.client.errors import ClientError, ClusterError, UnexpectedStatus
from shoal.client.failover import FailoverClient, Request
from shoal.client.model import header
from shoal.etcd import log
from shoal.etcd.apply import State
from shoal.etcd.flags import EtcdConfig
from shoal.etcd.ids import cluster_id as derive_cluster_id
from shoal.etcd.ids import hexid
from shoal.etcd.ids import member_id as derive_member_id
from shoal.etcd.membership import member_context, member_from_context
from shoal.etcd.server_iface import MemberInfo
from shoal.raft.codec import decode_conf_change, encode_conf_change
from shoal.raft.config import Config
from shoal.raft.rawnode import RawNode
from shoal.raft.storage import MemoryStorage
from shoal.raft.types import ConfChange, ConfChangeType, Entry, EntryType, HardState
from shoal.transport.facts import CLUSTER_ID_HEADER, MEMBERS_PATH
from shoal.wal.errors import CorruptWALError, WALError
from shoal.wal.storage import DiskStorage

PKG = "etcdserver"


class StartError(Exception):
    """A configuration the member cannot start with; the message is etcd's where it has one."""


@dataclass
class Booted:
    """A member's parts, ready to run: who it is, its storage, its raft node, and the state
    applied so far (the snapshot's, on a restart)."""

    member_id: int
    cluster_id: int
    disk: DiskStorage
    mem: MemoryStorage
    raw: RawNode
    hard_state: HardState
    state: State


async def bootstrap(cfg: EtcdConfig) -> Booted:
    disk = DiskStorage(
        cfg.data_dir,
        cfg.wal_dir or None,
        max_snapshots=cfg.max_snapshots,
        max_wals=cfg.max_wals,
    )
    if disk.exists():
        try:
            return await asyncio.get_running_loop().run_in_executor(None, _restart, cfg, disk)
        except CorruptWALError as e:
            # etcd: "read wal error (...) and cannot be repaired"; ours also says what to do.
            raise StartError(f"read wal error ({e}) and cannot be repaired") from None
        except WALError as e:
            raise StartError(f"open wal error: {e}") from None
    if cfg.initial_cluster_state == "existing":
        return await _join(cfg, disk)
    return _new(cfg, disk)


def _metadata(member_id: int, cluster_id: int) -> bytes:
    return msgpack.packb([member_id, cluster_id])  # type: ignore[no-any-return]


def _new_raw(cfg: EtcdConfig, member_id: int, mem: MemoryStorage, applied: int) -> RawNode:
    election_tick = max(2, cfg.election_ms // cfg.heartbeat_ms)
    return RawNode(
        Config(
            id=member_id,
            storage=mem,
            election_tick=election_tick,
            heartbeat_tick=1,
            applied=applied,
            max_size_per_msg=1 << 20,
            max_inflight_msgs=4096 // 8,
            check_quorum=True,
            pre_vote=True,
            rng=random.Random(),
        )
    )


def check_local_name(cfg: EtcdConfig) -> None:
    """A new member's name must be one of --initial-cluster's (StartError with etcd's text)."""
    if cfg.name not in {n for n, _ in cfg.initial_cluster}:
        raise StartError(
            f'couldn\'t find local name "{cfg.name}" in the initial cluster configuration'
        )


def _new(cfg: EtcdConfig, disk: DiskStorage) -> Booted:
    urls_by_name: dict[str, list[str]] = {}
    for n, u in cfg.initial_cluster:
        urls_by_name.setdefault(n, []).append(u)
    check_local_name(cfg)
    mine = sorted(urls_by_name[cfg.name])
    if mine != sorted(cfg.advertise_peer_urls):
        raise StartError(
            f"--initial-cluster has {cfg.name}={','.join(mine)} but missing from "
            f"--initial-advertise-peer-urls={','.join(cfg.advertise_peer_urls)} "
            "(resolved urls differ)"
        )
    members = [
        MemberInfo(derive_member_id(urls, cfg.initial_cluster_token), "", sorted(urls))
        for urls in urls_by_name.values()
    ]
    seen: set[str] = set()
    for m in members:
        for u in m.peer_urls:
            if u in seen:
                raise StartError(f"member count is unequal: duplicate peer URL {u}")
            seen.add(u)
    member_id = derive_member_id(mine, cfg.initial_cluster_token)
    cluster_id = derive_cluster_id([m.id for m in members])
    # Like etcd: the initial members are conf-change entries 1..n of term 1, committed.
    entries = []
    for i, m in enumerate(sorted(members, key=lambda m: m.id), start=1):
        cc = ConfChange(ConfChangeType.ADD_NODE, m.id, member_context(m))
        entries.append(Entry(1, i, EntryType.CONF_CHANGE, encode_conf_change(cc)))
    hs = HardState(1, 0, len(entries))
    disk.bootstrap(_metadata(member_id, cluster_id))
    disk.save(hs, entries)
    mem = MemoryStorage()
    mem.append(entries)
    mem.set_hard_state(hs)
    state = State()
    # Peers are needed before the bootstrap entries are applied: take them from the config.
    for m in members:
        state.membership.members.setdefault(m.id, m)
    return Booted(member_id, cluster_id, disk, mem, _new_raw(cfg, member_id, mem, 0), hs, state)


def _restart(cfg: EtcdConfig, disk: DiskStorage) -> Booted:
    st = disk.load()
    if disk.repair_note:
        log.warning("wal", disk.repair_note)
    member_id, cluster_id = msgpack.unpackb(st.metadata)
    state = State()
    mem = MemoryStorage()
    if st.snapshot is not None and not st.snapshot.is_empty():
        state.restore(st.snapshot)
        mem.apply_snapshot(st.snapshot)
    mem.append(st.entries)
    mem.set_hard_state(st.hard_state)
    raw = _new_raw(cfg, member_id, mem, state.applied)
    # Peers known from the log are added as its conf changes are re-applied; until then
    # dial those in the snapshot plus the initial cluster (for a member that never snapped).
    members = state.membership.members
    if not members:
        for e in st.entries:
            if e.type is EntryType.CONF_CHANGE:
                cc = decode_conf_change(e.data)
                if cc.context and cc.type is not ConfChangeType.REMOVE_NODE:
                    m = member_from_context(cc.context)
                    members.setdefault(m.id, m)
    log.info(
        PKG,
        f"restarting member {hexid(member_id)} in cluster {hexid(cluster_id)} "
        f"at commit index {st.hard_state.commit}",
    )
    return Booted(member_id, cluster_id, disk, mem, raw, st.hard_state, state)


async def _join(cfg: EtcdConfig, disk: DiskStorage) -> Booted:
    """--initial-cluster-state existing: learn the cluster from a peer's /members."""
    peers = [u for n, u in cfg.initial_cluster if n != cfg.name]
    mine = sorted(cfg.advertise_peer_urls)
    # https peers are asked with the peer TLS settings, as etcd's peer round tripper does.
    ssl = cfg.peer_tls.client_context() if cfg.peer_tls is not None else None
    clients = [FailoverClient([u], timeout=2.0, total_timeout=2.0, ssl_context=ssl) for u in peers]
    try:
        cluster_id, ms = await _cluster_from_peers(cfg, clients, mine)
    finally:
        for c in clients:
            await c.close()
    state = State()
    member_id = 0
    for m in ms:
        state.membership.members[m.id] = m
        if sorted(m.peer_urls) == mine:
            member_id = m.id
    disk.bootstrap(_metadata(member_id, cluster_id))
    mem = MemoryStorage()
    return Booted(
        member_id, cluster_id, disk, mem, _new_raw(cfg, member_id, mem, 0), HardState(), state
    )


async def _cluster_from_peers(
    cfg: EtcdConfig, clients: list[FailoverClient], mine: list[str]
) -> tuple[int, list[MemberInfo]]:
    """Ask every peer, a few times, for 5 s: one that has not yet applied `member add` does
    not list us, and one may be down."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5.0
    last_err = "no peer URLs in --initial-cluster other than this member's"
    while True:
        for c in clients:
            peer = c.endpoints[0]
            try:
                reply = await c.request(Request("GET", MEMBERS_PATH))
                if reply.status != 200:
                    raise UnexpectedStatus(reply.status, reply.body)
                ms = _decode_peer_members(reply.body)
                cid = int(header(reply.headers, CLUSTER_ID_HEADER) or "0", 16)
            except ClientError as e:
                last_err = f"{peer}: {_why(e)}"
                continue
            except ValueError as e:
                last_err = f"{peer}: bad /members answer: {e}"
                continue
            if any(sorted(m.peer_urls) == mine for m in ms):
                return cid, ms
            last_err = (
                f"member {cfg.name} with peer URLs {','.join(mine)} is not in the "
                "cluster (add it first with `etcdctl member add`)"
            )
        if loop.time() > deadline:
            raise StartError(f"error validating peerURLs: {last_err}")
        await asyncio.sleep(0.2)


def _why(e: ClientError) -> str:
    if isinstance(e, ClusterError):
        return "; ".join(str(err) for err in e.errors)
    return str(e)


def _decode_peer_members(body: bytes) -> list[MemberInfo]:
    """etcd's peer `GET /members`: a JSON array of members, ids as numbers."""
    raw = json.loads(body)
    if not isinstance(raw, list):
        raise ValueError("not a JSON array")
    out: list[MemberInfo] = []
    for d in raw:
        try:
            out.append(
                MemberInfo(
                    int(d["id"]),
                    d.get("name", ""),
                    list(d["peerURLs"]),
                    list(d.get("clientURLs") or []),
                )
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise ValueError(f"member {d!r}: {e!r}") from None
    return out
