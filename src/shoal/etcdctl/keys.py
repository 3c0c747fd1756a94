"""Key commands: get, ls, set, mk, mkdir, setdir, update, updatedir, rm, rmdir.

Each follows its ctlv2 counterpart: the client is built (and synced) before arguments are
checked, a missing key is `Error:  key required` (exit 1), and any server or cluster error is
printed by handleError with exit 4.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from shoal.client import ClientError, Node, Response
from shoal.etcdctl.context import Context
from shoal.etcdctl.output import print_response
from shoal.etcdctl.spec import EXIT_BAD_ARGS, EXIT_SERVER_ERROR, Exit

T = TypeVar("T")


async def call(ctx: Context, op: Awaitable[T]) -> T:
    try:
        return await op
    except ClientError as exc:
        raise ctx.fail(EXIT_SERVER_ERROR, exc) from None


def key_arg(ctx: Context) -> str:
    if not ctx.args:
        raise ctx.fail(EXIT_BAD_ARGS, "key required")
    return ctx.args[0]


def value_arg(ctx: Context) -> str:
    """The second argument, else all of stdin (etcdctl's argOrStdin, newline included)."""
    if len(ctx.args) > 1:
        return ctx.args[1]
    try:
        data = ctx.stdin.read()
    except (OSError, ValueError):
        data = ""
    if not data:
        raise ctx.fail(EXIT_BAD_ARGS, "value required")
    return data


def _ttl(ctx: Context) -> int:
    return ctx.flags.get_int("ttl")


def show(ctx: Context, resp: Response) -> None:
    print_response(resp, ctx.output, ctx.out, ctx.err)


async def get(ctx: Context) -> None:
    async with await ctx.synced_client() as c:
        key = key_arg(ctx)
        sort, quorum = ctx.flags.get_bool("sort"), ctx.flags.get_bool("quorum")
        resp = await call(ctx, c.get(key, sorted=sort, quorum=quorum))
    if resp.node.dir:
        ctx.err.write(f"{resp.node.key}: is a directory\n")
        raise Exit(EXIT_BAD_ARGS)
    show(ctx, resp)


async def ls(ctx: Context) -> None:
    async with await ctx.synced_client() as c:
        key = ctx.args[0] if ctx.args else "/"
        resp = await call(
            ctx,
            c.get(
                key,
                sorted=ctx.flags.get_bool("sort"),
                recursive=ctx.flags.get_bool("recursive"),
                quorum=ctx.flags.get_bool("quorum"),
            ),
        )
    if ctx.output != "simple":
        show(ctx, resp)
        return
    slash = ctx.flags.get_bool("p")
    if not resp.node.dir:
        ctx.out.write(resp.node.key + "\n")
    for child in resp.node.nodes or ():
        for node in child.walk():
            ctx.out.write(_ls_name(node, slash) + "\n")


def _ls_name(node: Node, slash: bool) -> str:
    return node.key + "/" if node.dir and slash else node.key


async def set_(ctx: Context) -> None:
    async with await ctx.synced_client() as c:
        key, value = key_arg(ctx), value_arg(ctx)
        resp = await call(
            ctx,
            c.set(
                key,
                value,
                ttl=_ttl(ctx),
                prev_value=ctx.flags.get_str("swap-with-value") or None,
                prev_index=ctx.flags.get_int("swap-with-index") % 2**64 or None,
            ),
        )
    show(ctx, resp)


async def mk(ctx: Context) -> None:
    async with await ctx.synced_client() as c:
        key, value = key_arg(ctx), value_arg(ctx)
        if ctx.flags.get_bool("in-order"):
            op = c.create_in_order(key, value, ttl=_ttl(ctx))
        else:
            op = c.create(key, value, ttl=_ttl(ctx))
        resp = await call(ctx, op)
    show(ctx, resp)


async def update(ctx: Context) -> None:
    async with await ctx.synced_client() as c:
        key, value = key_arg(ctx), value_arg(ctx)
        resp = await call(ctx, c.update(key, value, ttl=_ttl(ctx)))
    show(ctx, resp)


async def _dir(ctx: Context, prev_exist: bool | None) -> None:
    async with await ctx.synced_client() as c:
        key = key_arg(ctx)
        resp = await call(ctx, c.set(key, ttl=_ttl(ctx), dir=True, prev_exist=prev_exist))
    if ctx.output != "simple":
        show(ctx, resp)


async def mkdir(ctx: Context) -> None:
    await _dir(ctx, prev_exist=False)


async def setdir(ctx: Context) -> None:
    await _dir(ctx, prev_exist=None)


async def updatedir(ctx: Context) -> None:
    await _dir(ctx, prev_exist=True)


async def _delete(ctx: Context, *, dir: bool, recursive: bool, value: str, index: int) -> None:
    async with await ctx.synced_client() as c:
        key = key_arg(ctx)
        resp = await call(
            ctx,
            c.delete(
                key,
                dir=dir,
                recursive=recursive,
                prev_value=value or None,
                prev_index=index or None,
            ),
        )
    if not resp.node.dir or ctx.output != "simple":
        show(ctx, resp)


async def rm(ctx: Context) -> None:
    await _delete(
        ctx,
        dir=ctx.flags.get_bool("dir"),
        recursive=ctx.flags.get_bool("recursive"),
        value=ctx.flags.get_str("with-value"),
        index=ctx.flags.get_int("with-index") % 2**64,
    )


async def rmdir(ctx: Context) -> None:
    await _delete(ctx, dir=True, recursive=False, value="", index=0)
