"""Help screens laid out as urfave/cli v1.22 lays them out for etcdctl 3.4.

Columns are aligned by Go's text/tabwriter as urfave sets it up (gocompat's URFAVE_HELP). The
four layouts:
the app (`etcdctl --help`), a command (`etcdctl get --help`), a command group (`etcdctl member`),
and a group's own app help (`etcdctl member help`).
"""

from __future__ import annotations

from shoal.etcdctl.spec import (
    APP_NAME,
    APP_USAGE,
    COMMANDS,
    GLOBAL_FLAGS,
    HELP_COMMAND,
    HELP_FLAG,
    VERSION,
    Command,
)
from shoal.gocompat.duration import format_seconds
from shoal.gocompat.flag import Flag, Kind
from shoal.gocompat.tabwriter import URFAVE_HELP


def _table(rows: list[tuple[str, str]], indent: str = "   ") -> list[str]:
    return URFAVE_HELP.format("".join(f"{indent}{left}\t{right}\n" for left, right in rows)).split(
        "\n"
    )[:-1]


def flag_row(flag: Flag) -> tuple[str, str]:
    names = []
    for n in flag.names:
        dash = "-" if len(n) == 1 else "--"
        names.append(dash + n + ("" if flag.kind is Kind.BOOL else f" {flag.placeholder}"))
    usage = flag.usage
    if flag.show_default:
        usage += f" (default: {_default_text(flag)})"
    return ", ".join(names), usage


def _default_text(flag: Flag) -> str:
    # urfave quotes string defaults and prints durations as Go's Duration.String.
    if flag.kind is Kind.STRING:
        return f'"{flag.default}"'
    if flag.kind is Kind.DURATION and isinstance(flag.default, float):
        return format_seconds(flag.default)
    return str(flag.default)


def _command_rows(commands: tuple[Command, ...]) -> list[tuple[str, str]]:
    return [(", ".join((c.name, *c.aliases)), c.usage) for c in commands]


def _app_template(
    name: str, usage: str, commands: tuple[Command, ...], flags: tuple[Flag, ...]
) -> str:
    # urfave's AppHelpTemplate, used for etcdctl itself and for a group run as `etcdctl X help`.
    lines = [
        "NAME:",
        f"   {name} - {usage}",
        "",
        "USAGE:",
        f"   {name} [global options] command [command options] [arguments...]",
        "",
        "VERSION:",
        f"   {VERSION}",
        "",
        "COMMANDS:",
        *_table(_command_rows(commands)),
        "",
        "GLOBAL OPTIONS:",
        *_table([flag_row(f) for f in flags]),
    ]
    return "\n".join(lines) + "\n"


def app_help() -> str:
    return _app_template(APP_NAME, APP_USAGE, (*COMMANDS, HELP_COMMAND), GLOBAL_FLAGS)


def command_help(cmd: Command, parents: str = APP_NAME) -> str:
    """Help of a leaf command (`etcdctl get --help`, `etcdctl help get`)."""
    full = f"{parents} {cmd.name}"
    if cmd.subcommands:  # `etcdctl help member`: the command template, no flags or args
        usage = f"{full} [arguments...]"
    else:
        usage = full + (" [command options]" if cmd.flags else "") + f" {cmd.args_usage}"
    lines = ["NAME:", f"   {full} - {cmd.usage}", "", "USAGE:", f"   {usage}"]
    if cmd.description:
        lines += ["", "DESCRIPTION:", f"   {cmd.description}"]
    if cmd.flags:
        lines += ["", "OPTIONS:", *_table([flag_row(f) for f in cmd.flags]), "   "]
    return "\n".join(lines) + "\n"


def group_help(cmd: Command) -> str:
    """`etcdctl member` / `etcdctl member --help`: the group's subcommands."""
    full = f"{APP_NAME} {cmd.name}"
    lines = [
        "NAME:",
        f"   {full} - {cmd.usage}",
        "",
        "USAGE:",
        f"   {full} command [command options] [arguments...]",
        "",
        "COMMANDS:",
        *_table(_command_rows(cmd.subcommands)),
        "",
        "OPTIONS:",
        *_table([flag_row(HELP_FLAG)]),
        "   ",
    ]
    return "\n".join(lines) + "\n"


def group_app_help(cmd: Command) -> str:
    """`etcdctl member help`: the group rendered as an app of its own."""
    return _app_template(f"{APP_NAME} {cmd.name}", cmd.usage, cmd.subcommands, (HELP_FLAG,))


def version_text() -> str:
    return f"{APP_NAME} version: {VERSION}\nAPI version: 2\n"
