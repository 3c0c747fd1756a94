"""The one `shoal` entry point: each subcommand delegates to a function `fn(argv) -> exit code`.

Subcommands keep their own flag syntax (`shoal etcd` parses Go-style flags as etcd does), so this
module only dispatches; it never parses a subcommand's arguments. It is also the one place where an
exception nobody caught becomes a one-line error (`run_guarded`): `shoal --debug CMD ...` or
SHOAL_DEBUG=1 shows the traceback instead, and a closed stdout (`... | head`) ends the command
quietly, as it ends a Go program.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import select
import sys
import threading
from collections.abc import Callable

from shoal import __version__

# name -> ("module:function", one-line help). The module is imported only when its command runs,
# so `shoal --help` stays fast and a command's heavy imports never slow another.
COMMANDS: dict[str, tuple[str, str]] = {
    "sim": ("shoal.sim.cli:main", "deterministic simulation of raft clusters"),
    "etcd": ("shoal.etcd.cli:main", "an etcd member speaking the v2 API (etcd 3.4's flags)"),
    "fleetd": ("shoal.fleet.fleetd:main", "fleet daemon: engine, agent and HTTP API v1"),
    "fleetctl": ("shoal.fleetctl.main:main", "fleet command line client (fleetctl 1.0)"),
    "cloudinit": ("shoal.cloudinit.cli:main", "validate or apply a cloud-config"),
    "etcdctl": (
        "shoal.etcdctl.main:main",
        "etcd v2 command line client (etcdctl 3.4, ETCDCTL_API=2)",
    ),
    "node": ("shoal.node.daemon:main", "one machine: apply a cloud-config, run its units"),
    "systemctl": ("shoal.systemd.systemctl:main", "show and change a machine's units (systemctl)"),
    "journal": ("shoal.systemd.journalctl:main", "read a machine's journal (journalctl)"),
    "up": ("shoal.cluster.commands:up", "start a local cluster (coreos-01..N) in the background"),
    "status": ("shoal.cluster.commands:status", "show the local cluster's machines and health"),
    "stop": ("shoal.cluster.commands:stop", "shut a machine of the local cluster down cleanly"),
    "start": ("shoal.cluster.commands:start", "boot a stopped machine of the local cluster"),
    "kill": ("shoal.cluster.commands:kill", "power a machine off (SIGKILL everything it runs)"),
    "partition": ("shoal.cluster.commands:partition", "cut machines' etcd peer links"),
    "heal": ("shoal.cluster.commands:heal", "remove every partition"),
    "down": ("shoal.cluster.commands:down", "stop the local cluster (--purge: delete it)"),
    "bench": ("shoal.bench.cli:main", "benchmark a 3-member shoal cluster against etcd 3.4"),
    "discovery": (
        "shoal.discovery.main:main",
        "discovery service (like discovery.etcd.io) on etcd",
    ),
    "ssh": (
        "shoal.cluster.commands:ssh",
        "a shell (or a command) on a machine of the local cluster",
    ),
    "dashboard": ("shoal.dashboard.cli:main", "a live web page of a cluster (members, fleet)"),
    "torture": ("shoal.torture.cli:main", "Jepsen-style fault test of a local shoal etcd cluster"),
}


def resolve(target: str) -> Callable[[list[str]], int]:
    """The function a `"module:function"` target names, importing its module now."""
    module_name, _, function = target.partition(":")
    entry: Callable[[list[str]], int] = getattr(importlib.import_module(module_name), function)
    return entry


def _usage() -> str:
    lines = ["usage: shoal <command> [args...]", "", "commands:"]
    width = max(len(n) for n in COMMANDS)
    for name, (_, text) in sorted(COMMANDS.items()):
        lines.append(f"  {name:<{width}}  {text}")
    lines += [
        "",
        "Run `shoal <command> --help` for a command's options.",
        f"`shoal --debug <command> ...` (or {DEBUG_ENV}=1) shows an unexpected error's traceback.",
    ]
    return "\n".join(lines)


DEBUG_ENV = "SHOAL_DEBUG"
EXIT_BROKEN_PIPE = 141  # what a shell reports for a program killed by SIGPIPE (128 + 13)
EXIT_INTERRUPTED = 130  # 128 + SIGINT

# What to do about an OSError, by errno: the advice a user can act on.
_ADVICE = {
    errno.ENOENT: "check the path",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "the path is a directory; give a file",
    errno.EACCES: "check its permissions, or choose another path",
    errno.EPERM: "check its permissions, or choose another path",
    errno.EROFS: "the file system is read-only; choose another path",
    errno.ENOSPC: "the disk is full; free some space",
    errno.EADDRINUSE: "another process holds the address; stop it or choose another",
    errno.EADDRNOTAVAIL: "the address is not one of this computer's",
    errno.ECONNREFUSED: "nothing listens there; is it running?",
}


def debugging() -> bool:
    return os.environ.get(DEBUG_ENV, "") not in ("", "0")


def describe(exc: BaseException) -> str:
    """One line naming what failed and what to do about it."""
    hint = f"`shoal --debug ...` or {DEBUG_ENV}=1 shows the traceback"
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename is not None else ""
        if exc.filename2 is not None:
            where = f"{exc.filename} -> {exc.filename2}: "
        advice = _ADVICE.get(exc.errno or 0)
        return f"{where}{exc.strerror}" + (f" ({advice})" if advice else "") + f"; {hint}"
    text = " ".join(str(exc).split()) or "(no message)"
    return (
        f"unexpected error: {type(exc).__name__}: {text}. This is a bug in shoal: {hint}, "
        "please report it with that traceback"
    )


def _closed(fd: int) -> bool:
    """The reading end of this pipe is gone (`| head` exited)."""
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    try:
        return any(ev & select.POLLERR for _, ev in poll.poll(0))
    except (OSError, ValueError):
        return False


def _broken_stdout(exc: BaseException) -> bool:
    if not isinstance(exc, BrokenPipeError):
        return False
    return any(_closed(s.fileno()) for s in (sys.stdout, sys.stderr) if _has_fd(s))


def _has_fd(stream: object) -> bool:
    try:
        stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return False
    return True


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's last flush cannot fail again."""
    if _has_fd(sys.stdout):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _thread_hook(prog: str) -> Callable[[threading.ExceptHookArgs], None]:
    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        if _broken_stdout(args.exc_value):
            return
        name = args.thread.name if args.thread is not None else "a thread"
        print(f"{prog}: {name}: {describe(args.exc_value)}", file=sys.stderr, flush=True)

    return hook


def run_guarded(name: str, fn: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run a subcommand; whatever escapes it becomes one line on stderr and exit 1 (the
    traceback with --debug), a closed stdout a quiet exit, Ctrl+C exit 130."""
    prog = f"shoal {name}"
    if debugging():
        return fn(argv)
    threading.excepthook = _thread_hook(prog)
    try:
        code = fn(argv)
        sys.stdout.flush()
        return code
    except BrokenPipeError as e:
        if not _broken_stdout(e):
            print(f"{prog}: {describe(e)}", file=sys.stderr, flush=True)
            return 1
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as e:
        with contextlib.suppress(BrokenPipeError):
            print(f"{prog}: {describe(e)}", file=sys.stderr, flush=True)
        return 1


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--debug"]:
        # Through the environment, so that the daemons a command starts show theirs too.
        os.environ[DEBUG_ENV] = "1"
        args = args[1:]
    if not args or args[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if args else 1
    if args[0] in ("--version", "version"):
        print(f"shoal {__version__}")
        return 0
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"shoal: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 1
    return run_guarded(name, lambda a: resolve(COMMANDS[name][0])(a), rest)


if __name__ == "__main__":
    sys.exit(main())
