"""cluster-health and member list/add/remove/update (ctlv2/command/cluster_health.go,
member_commands.go).

cluster-health lists members from any endpoint that answers (no sync), then asks each member's
own client URLs for /health, printing one `failed to check` line per URL that fails and one
verdict per member; exit 0 only when every member is healthy, else 5.
"""

from __future__ import annotations

import asyncio

from shoal.client import AsyncClient, ClientError, ClusterError, DecodeError
from shoal.etcdctl.context import Context
from shoal.etcdctl.spec import (
    EXIT_BAD_ARGS,
    EXIT_CLUSTER_NOT_HEALTHY,
    EXIT_SERVER_ERROR,
    EXIT_SUCCESS,
    Exit,
)
from shoal.gocompat.strconv import quote

FOREVER_INTERVAL = 10.0  # seconds between checks with --forever, as etcdctl


async def cluster_health(ctx: Context) -> None:
    async with ctx.client(sync=False) as c:
        c.total_timeout = None  # etcdctl lists and checks without an overall deadline
        try:
            members = await c.members()
        except ClientError as exc:
            ctx.out.write("cluster may be unhealthy: failed to list members\n")
            ctx.out.flush()
            raise ctx.fail(EXIT_SERVER_ERROR, exc) from None
        while True:
            healthy = 0
            for m in members:
                if not m.client_urls:
                    ctx.out.write(
                        f"member {m.id} is unreachable: no available published client urls\n"
                    )
                    continue
                checked = False
                for url in m.client_urls:
                    verdict = await _check(c, url)
                    if verdict is None or isinstance(verdict, str):
                        reason = verdict or "unexpected reply"
                        ctx.out.write(
                            f"failed to check the health of member {m.id} on {url}: {reason}\n"
                        )
                        continue
                    checked = True
                    if verdict:
                        healthy += 1
                        ctx.out.write(f"member {m.id} is healthy: got healthy result from {url}\n")
                    else:
                        ctx.out.write(
                            f"member {m.id} is unhealthy: got unhealthy result from {url}\n"
                        )
                    break
                if not checked:
                    urls = " ".join(m.client_urls)
                    ctx.out.write(f"member {m.id} is unreachable: [{urls}] are all unreachable\n")
            if healthy == len(members):
                ctx.out.write("cluster is healthy\n")
            elif healthy == 0:
                ctx.out.write("cluster is unavailable\n")
            else:
                ctx.out.write("cluster is degraded\n")
            ctx.out.flush()
            if not ctx.flags.get_bool("forever"):
                raise Exit(EXIT_SUCCESS if healthy == len(members) else EXIT_CLUSTER_NOT_HEALTHY)
            ctx.out.write("\nnext check after 10 second...\n\n")
            ctx.out.flush()
            await asyncio.sleep(FOREVER_INTERVAL)


async def _check(c: AsyncClient, url: str) -> bool | str:
    """True/False for a healthy/unhealthy answer, or the Go-style reason the check failed."""
    try:
        health = await c.health(url)
    except ClusterError as exc:
        return f'Get "{url}/health": {exc.errors[0]}'
    except (ClientError, DecodeError) as exc:
        return str(exc)
    return health.healthy


def _members_usage(ctx: Context, wanted: int, message: str) -> None:
    if len(ctx.args) != wanted:
        ctx.err.write(message + "\n")
        raise Exit(EXIT_BAD_ARGS)


async def member_list(ctx: Context) -> None:
    _members_usage(ctx, 0, "No arguments accepted")
    async with await ctx.synced_client() as c:
        try:
            members = await c.members()
        except ClientError as exc:
            ctx.err.write(f"{exc}\n")
            raise Exit(EXIT_BAD_ARGS) from None
        try:
            leader = await c.leader()
        except ClientError as exc:
            ctx.err.write(f"Failed to get leader:  {exc}\n")
            raise Exit(EXIT_BAD_ARGS) from None
    for m in members:
        peers = ",".join(m.peer_urls)
        if not m.name:
            ctx.out.write(f"{m.id}[unstarted]: peerURLs={peers}\n")
        else:
            is_leader = "true" if m.id == leader.id else "false"
            ctx.out.write(
                f"{m.id}: name={m.name} peerURLs={peers} "
                f"clientURLs={','.join(m.client_urls)} isLeader={is_leader}\n"
            )


async def member_add(ctx: Context) -> None:
    _members_usage(ctx, 2, "Provide a name and a single member peerURL")
    name, url = ctx.args
    async with await ctx.synced_client() as c:
        try:
            added = await c.add_member([url])
        except ClientError as exc:
            ctx.err.write(f"{exc}\n")
            raise Exit(EXIT_BAD_ARGS) from None
        ctx.out.write(f"Added member named {name} with ID {added.id} to cluster\n")
        try:
            members = await c.members()
        except ClientError as exc:
            ctx.err.write(f"{exc}\n")
            raise Exit(EXIT_BAD_ARGS) from None
    conf = [
        f"{name if m.id == added.id else m.name}={peer}" for m in members for peer in m.peer_urls
    ]
    ctx.out.write("\n")
    ctx.out.write(f"ETCD_NAME={quote(name)}\n")
    ctx.out.write(f"ETCD_INITIAL_CLUSTER={quote(','.join(conf))}\n")
    ctx.out.write('ETCD_INITIAL_CLUSTER_STATE="existing"\n')


async def member_remove(ctx: Context) -> None:
    _members_usage(ctx, 1, "Provide a single member ID")
    target = ctx.args[0]
    async with await ctx.synced_client() as c:
        try:
            members = await c.members()
        except ClientError as exc:
            ctx.err.write(f"Error while verifying ID against known members: {exc}\n")
            raise Exit(EXIT_BAD_ARGS) from None
        found = False
        for m in members:
            found = found or m.id == target
            if m.name == target:
                ctx.err.write(
                    f"Found a member named {m.name}; if this is correct, please use its ID, eg:"
                    f"\n\tetcdctl member remove {m.id}\n"
                    "For more details, read the documentation at https://github.com/etcd-io/etcd/"
                    "blob/master/Documentation/runtime-configuration.md#remove-a-member\n\n"
                )
        if not found:
            ctx.err.write(f"Couldn't find a member in the cluster with an ID of {target}.\n")
            raise Exit(EXIT_BAD_ARGS)
        try:
            await c.remove_member(target)
        except ClientError as exc:
            ctx.err.write(f"Received an error trying to remove member {target}: {exc}")
            raise Exit(EXIT_BAD_ARGS) from None
    ctx.out.write(f"Removed member {target} from cluster\n")


async def member_update(ctx: Context) -> None:
    _members_usage(
        ctx,
        2,
        "Provide an ID and a list of comma separated peerURL "
        "(0xabcd http://example.com,http://example1.com)",
    )
    member_id, urls = ctx.args
    async with await ctx.synced_client() as c:
        try:
            await c.update_member(member_id, urls.split(","))
        except ClientError as exc:
            ctx.err.write(f"{exc}\n")
            raise Exit(EXIT_BAD_ARGS) from None
    ctx.out.write(f"Updated member with ID {member_id} in cluster\n")
