"""watch and exec-watch (ctlv2/command/watch_command.go, exec_watch_command.go).

Both long-poll from `--after-index` + 1 (or from now) and resume at the last event's index + 1,
so no event is lost between polls. Directory events are skipped. Ctrl+C ends them with exit 0.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from shoal.client import ClientError, Response
from shoal.etcdctl.context import Context
from shoal.etcdctl.keys import key_arg, show
from shoal.etcdctl.spec import EXIT_BAD_ARGS, EXIT_SERVER_ERROR, Exit


async def watch(ctx: Context) -> None:
    async with await ctx.synced_client() as c:
        key = key_arg(ctx)
        recursive = ctx.flags.get_bool("recursive")
        forever = ctx.flags.get_bool("forever")
        events = c.watch_iter(
            key, after_index=ctx.flags.get_int("after-index"), recursive=recursive
        )
        try:
            async for resp in events:
                if resp.node.dir:
                    continue
                if recursive:
                    ctx.out.write(f"[{resp.action}] {resp.node.key}\n")
                show(ctx, resp)
                ctx.out.flush()
                if not forever:
                    break
        except ClientError as exc:
            raise ctx.fail(EXIT_SERVER_ERROR, exc) from None
        finally:
            await events.aclose()


def watch_env(resp: Response) -> dict[str, str]:
    """The variables exec-watch adds to the child's environment."""
    return {
        "ETCD_WATCH_ACTION": resp.action,
        "ETCD_WATCH_MODIFIED_INDEX": str(resp.node.modified_index),
        "ETCD_WATCH_KEY": resp.node.key,
        "ETCD_WATCH_VALUE": resp.node.value,
    }


def split_exec_args(args: list[str]) -> tuple[str, list[str]]:
    """`<key> -- <command...>` or `<command...> <key>` (etcdctl takes the last argument as the
    key unless a `--` survives flag parsing after the first argument)."""
    if "--" in args[1:]:
        return args[0], args[2:]
    return args[-1], args[:-1]


async def exec_watch(ctx: Context) -> None:
    async with await ctx.synced_client() as c:
        if len(ctx.args) < 2:
            raise ctx.fail(EXIT_BAD_ARGS, "key and command to exec required")
        key, argv = split_exec_args(ctx.args)
        recursive = ctx.flags.get_bool("recursive")
        events = c.watch_iter(
            key, after_index=ctx.flags.get_int("after-index"), recursive=recursive
        )
        children: list[subprocess.Popen[bytes]] = []
        try:
            async for resp in events:
                if resp.node.dir:
                    ctx.err.write(f"Ignored dir {resp.node.key} change\n")
                    continue
                children.append(_spawn(ctx, argv, resp))
                children = [p for p in children if p.poll() is None]  # reap finished ones
        except ClientError as exc:
            raise ctx.fail(EXIT_SERVER_ERROR, exc) from None
        finally:
            await events.aclose()


def _spawn(ctx: Context, argv: list[str], resp: Response) -> subprocess.Popen[bytes]:
    if not argv or (shutil.which(argv[0]) is None and "/" not in argv[0]):
        name = argv[0] if argv else ""
        ctx.err.write(f'exec: "{name}": executable file not found in $PATH')
        raise Exit(EXIT_BAD_ARGS)
    ctx.out.flush()
    ctx.err.flush()
    try:
        # The child shares our stdout/stderr, as in etcdctl, and is not waited for.
        return subprocess.Popen(argv, env={**os.environ, **watch_env(resp)})
    except OSError as exc:
        ctx.err.write(f"fork/exec {argv[0]}: {exc.strerror}")
        raise Exit(EXIT_BAD_ARGS) from None
