"""`shoal etcdctl`: the etcdctl of etcd 3.4 in its v2 mode, with the same arguments, output,
messages and exit codes (see notes in each command module).

Dispatch mirrors urfave/cli: global flags, then a command (or a group such as `member` and its
subcommand), then the command's flags and arguments; `help`/`h`, `--help`/`-h` and bad usage
print the same screens as etcdctl.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TextIO

from shoal.etcdctl.flags import Parsed, TwoFormsError, UsageError, parse, parse_command
from shoal.etcdctl.help import app_help, command_help, group_app_help, group_help, version_text
from shoal.etcdctl.spec import (
    APP_NAME,
    COMMANDS,
    EXIT_BAD_ARGS,
    EXIT_NO_HELP_TOPIC,
    EXIT_SUCCESS,
    GLOBAL_FLAGS,
    HELP_FLAG,
    Command,
    Exit,
    find,
)

if TYPE_CHECKING:
    from shoal.etcdctl.context import Context

Action = Callable[["Context"], Coroutine[Any, Any, None]]

# command -> "module:function". Imported on use, so help and usage errors do not pay for
# importing aiohttp.
ACTIONS: dict[str, str] = {
    "cluster-health": "cluster:cluster_health",
    "mk": "keys:mk",
    "mkdir": "keys:mkdir",
    "rm": "keys:rm",
    "rmdir": "keys:rmdir",
    "get": "keys:get",
    "ls": "keys:ls",
    "set": "keys:set_",
    "setdir": "keys:setdir",
    "update": "keys:update",
    "updatedir": "keys:updatedir",
    "watch": "watching:watch",
    "exec-watch": "watching:exec_watch",
    "member list": "cluster:member_list",
    "member add": "cluster:member_add",
    "member remove": "cluster:member_remove",
    "member update": "cluster:member_update",
    "user add": "auth:user_add",
    "user get": "auth:user_get",
    "user list": "auth:user_list",
    "user remove": "auth:user_remove",
    "user grant": "auth:user_grant",
    "user revoke": "auth:user_revoke",
    "user passwd": "auth:user_passwd",
    "role add": "auth:role_add",
    "role get": "auth:role_get",
    "role list": "auth:role_list",
    "role remove": "auth:role_remove",
    "role grant": "auth:role_grant",
    "role revoke": "auth:role_revoke",
    "auth enable": "auth:auth_enable",
    "auth disable": "auth:auth_disable",
}


def _action(key: str) -> Action | None:
    target = ACTIONS.get(key)
    if target is None:
        return None
    module, func = target.split(":")
    action: Action = getattr(importlib.import_module(f"shoal.etcdctl.{module}"), func)
    return action


# Commands that send a request or two and end: run without an event loop, over plain sockets
# (shoal.client.blocking), so they start about as fast as the Go etcdctl.
_BLOCKING = frozenset(
    ("get", "ls", "set", "mk", "mkdir", "rm", "rmdir", "setdir", "update", "updatedir")
)

# Commands that etcdctl ends with exit 0 on Ctrl+C (they install a SIGINT handler).
_INTERRUPT_OK = {"watch", "exec-watch", "cluster-health"}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        code = run(args, sys.stdout, sys.stderr, sys.stdin)
        sys.stdout.flush()
        sys.stderr.flush()
        return code
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as a Go program killed by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def run(argv: list[str], out: TextIO, err: TextIO, stdin: TextIO) -> int:
    try:
        opts = parse(GLOBAL_FLAGS, argv)
    except TwoFormsError as exc:
        out.write(f"{exc}\n{app_help()}")
        err.write(f"{exc}\n")
        return EXIT_BAD_ARGS
    except UsageError as exc:
        out.write(f"Incorrect Usage. {exc}\n\n{app_help()}")
        err.write(f"{exc}\n")
        return EXIT_BAD_ARGS
    if opts.get_bool("help"):
        out.write(app_help())
        return EXIT_SUCCESS
    if opts.get_bool("version"):
        out.write(version_text())
        return EXIT_SUCCESS
    if not opts.args:
        out.write(app_help())
        return EXIT_SUCCESS
    name, rest = opts.args[0], opts.args[1:]
    if name in ("help", "h"):
        return _help_topic(COMMANDS, rest, APP_NAME, out, err, group=None)
    cmd = find(COMMANDS, name)
    if cmd is None:
        return _no_topic(name, err)
    if cmd.subcommands:
        return _run_group(cmd, opts, rest, out, err, stdin)
    return _run_leaf(cmd, name, APP_NAME, opts, rest, out, err, stdin)


def run_without_loop(coro: Coroutine[Any, Any, None]) -> None:
    """Run a coroutine that never waits on the event loop (its client is blocking) to its
    end. One that does wait is a bug of this module's _BLOCKING list."""
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    raise RuntimeError("a blocking etcdctl command waited on the event loop")


def _no_topic(name: str, err: TextIO) -> int:
    err.write(f"No help topic for '{name}'\n")
    return EXIT_NO_HELP_TOPIC


def _help_topic(
    commands: tuple[Command, ...],
    rest: list[str],
    parents: str,
    out: TextIO,
    err: TextIO,
    group: Command | None,
) -> int:
    if not rest:
        out.write(app_help() if group is None else group_app_help(group))
        return EXIT_SUCCESS
    cmd = find(commands, rest[0])
    if cmd is None:
        return _no_topic(rest[0], err)
    out.write(command_help(cmd, parents))
    return EXIT_SUCCESS


def _run_group(
    group: Command, opts: Parsed, rest: list[str], out: TextIO, err: TextIO, stdin: TextIO
) -> int:
    parents = f"{APP_NAME} {group.name}"
    try:
        local = parse((HELP_FLAG,), rest)
    except TwoFormsError as exc:
        out.write(f"{exc}\n\n{group_help(group)}")
        err.write(f"{exc}\n")
        return EXIT_BAD_ARGS
    except UsageError as exc:
        out.write(f"Incorrect Usage. {exc}\n\n{group_help(group)}")
        err.write(f"{exc}\n")
        return EXIT_BAD_ARGS
    if local.get_bool("help") or not local.args:
        out.write(group_help(group))
        return EXIT_SUCCESS
    name, args = local.args[0], local.args[1:]
    if name in ("help", "h"):
        return _help_topic(group.subcommands, args, parents, out, err, group=group)
    cmd = find(group.subcommands, name)
    if cmd is None:
        return _no_topic(name, err)
    return _run_leaf(cmd, f"{group.name} {cmd.name}", parents, opts, args, out, err, stdin)


def _run_leaf(
    cmd: Command,
    key: str,
    parents: str,
    opts: Parsed,
    rest: list[str],
    out: TextIO,
    err: TextIO,
    stdin: TextIO,
) -> int:
    try:
        flags = parse_command((*cmd.flags, HELP_FLAG), rest)
    except UsageError as exc:
        out.write(f"Incorrect Usage: {exc}\n\n{command_help(cmd, parents)}")
        err.write(f"{exc}\n")
        return EXIT_BAD_ARGS
    if flags.get_bool("help"):
        out.write(command_help(cmd, parents))
        return EXIT_SUCCESS
    action = _action(key)
    if action is None:
        err.write(f"shoal etcdctl: {key} is not supported (use etcd's own etcdctl for it)\n")
        return EXIT_BAD_ARGS
    from shoal.etcdctl.context import Context  # imports aiohttp: only when a command runs

    ctx = Context(opts, flags, out, err, stdin, blocking=key in _BLOCKING)
    try:
        if ctx.blocking:
            run_without_loop(action(ctx))
        else:
            import asyncio

            asyncio.run(action(ctx))
    except Exit as stop:
        return stop.code
    except KeyboardInterrupt:
        return EXIT_SUCCESS if key in _INTERRUPT_OK else 130
    return EXIT_SUCCESS
