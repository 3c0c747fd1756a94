"""`shoal systemctl`: systemctl for one shoal machine, through its node's control socket.

    shoal systemctl [-M NODE [--dir DIR] | --root DIR] [--no-block] [-a] [-n N] COMMAND [UNIT...]

COMMAND: status, start, stop, restart, list-units (the default), is-active, daemon-reload,
reset-failed. Output and exit codes follow systemctl's: `status` exits 0 for an active unit, 3
for an inactive or failed one, 4 for a unit that does not exist; a failed start prints systemctl's
"Job for ... failed" advice and exits 1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

from shoal.systemd.control import ControlError, call, socket_path
from shoal.systemd.journal import hostname_of, read
from shoal.systemd.machine import NoMachine, resolve_root
from shoal.systemd.unit import SUPPORTED_TYPES, unsupported_reason

EXIT_NOT_ACTIVE = 3
EXIT_NO_SUCH_UNIT = 4
EXIT_START_NOT_FOUND = 5  # systemctl start of a unit that does not exist

LEGEND = """
LOAD   = Reflects whether the unit definition was properly loaded.
ACTIVE = The high-level unit activation state, i.e. generalization of SUB.
SUB    = The low-level unit activation state, values depend on unit type."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shoal systemctl", description=__doc__.split("\n\n")[0])
    p.add_argument("-M", "--machine", help="machine of the cluster in --dir (coreos-01, 1, ...)")
    p.add_argument("--dir", help="cluster directory (default: $SHOAL_HOME or ~/.shoal/cluster)")
    p.add_argument("--root", help="the machine's root directory")
    p.add_argument("--no-block", action="store_true", help="do not wait for the job to finish")
    p.add_argument("-a", "--all", action="store_true", help="list inactive units too")
    p.add_argument("-n", "--lines", type=int, default=10, help="journal lines in status")
    p.add_argument("-l", "--full", action="store_true", help="(accepted; lines are never cut)")
    p.add_argument("--no-pager", action="store_true", help="(accepted; there is no pager)")
    p.add_argument("command", nargs="?", default="list-units")
    p.add_argument("units", nargs="*")
    return p


def main(argv: list[str]) -> int:
    # Options may follow the verb, as systemctl takes them (`systemctl status -l UNIT`, what
    # fleetctl status runs).
    args = _parser().parse_intermixed_args(argv)
    try:
        root = resolve_root(args.root, args.machine, args.dir)
    except NoMachine as e:
        print(f"shoal systemctl: {e}", file=sys.stderr)
        return 1
    sock = socket_path(root)
    cmd = args.command
    try:
        if cmd == "list-units":
            return _list_units(sock, args.all)
        if cmd in ("daemon-reload", "reset-failed"):
            req: dict[str, Any] = {"op": cmd}
            if args.units:
                req["unit"] = args.units[0]
            call(sock, req)
            return 0
        if not args.units:
            print(f"Too few arguments: {cmd} needs a unit name.", file=sys.stderr)
            return 1
        if cmd == "status":
            return _status(root, sock, args.units, args.lines)
        if cmd == "is-active":
            states = [call(sock, {"op": "status", "unit": u})["unit"] for u in args.units]
            for s in states:
                print(s["active_state"])
            return 0 if all(s["active_state"] == "active" for s in states) else EXIT_NOT_ACTIVE
        if cmd in ("start", "stop", "restart"):
            rc = 0
            for u in args.units:
                rc = max(rc, _job(sock, cmd, u, args.no_block))
            return rc
    except ControlError as e:
        print(f"Failed to connect to the machine: {e}", file=sys.stderr)
        return 1
    print(f"Unknown command verb {cmd}.", file=sys.stderr)
    return 1


def _job(sock: Path, cmd: str, unit: str, no_block: bool) -> int:
    answer = call(sock, {"op": cmd, "unit": unit, "no_block": no_block}, timeout=None)
    u, result = answer["unit"], answer["result"]
    name = u["name"]
    if result in ("done", "skipped", "queued"):
        return 0
    verb = cmd
    if result == "invalid" and name.rsplit(".", 1)[-1] not in SUPPORTED_TYPES:
        print(f"Failed to {verb} {name}: {unsupported_reason(name)}.", file=sys.stderr)
        return 1
    if u["load_state"] == "not-found":
        print(f"Failed to {verb} {name}: Unit {name} not found.", file=sys.stderr)
        return EXIT_START_NOT_FOUND
    if result == "invalid":
        why = u["load_error"] or f"unit {u['load_state']}"
        print(f"Failed to {verb} {name}: {why}", file=sys.stderr)
        return 1
    because = {
        "dependency": "a dependency job failed",
        "timeout": "a timeout was exceeded",
    }.get(result, "the control process exited with error code")
    if u["result"] == "start-limit-hit":
        because = "start of the service was attempted too often"
    print(
        f"Job for {name} failed because {because}.\n"
        f'See "shoal systemctl status {name}" and "shoal journal -u {name}" for details.',
        file=sys.stderr,
    )
    return 1


def _list_units(sock: Path, all_units: bool) -> int:
    units = call(sock, {"op": "list-units", "all": all_units})["units"]
    rows = [("  UNIT", "LOAD", "ACTIVE", "SUB", "DESCRIPTION")]
    for u in units:
        mark = "● " if u["active_state"] == "failed" or u["load_state"] != "loaded" else "  "
        rows.append((mark + u["name"], u["load_state"], u["active_state"], u["sub_state"],
                     u["description"]))  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        cols = [f"{r[i]:<{widths[i]}}" for i in range(4)]
        print(" ".join([*cols, r[4]]).rstrip())
    print(LEGEND)
    print()
    print(f"{len(units)} loaded units listed." + ("" if all_units else
          " Pass --all to see loaded but inactive units, too."))  # fmt: skip
    return 0


def _since(ts: float) -> str:
    when = dt.datetime.fromtimestamp(ts).astimezone()
    ago = max(0.0, time.time() - ts)
    if ago < 60:
        rel = f"{int(ago)}s ago"
    elif ago < 3600:
        rel = f"{int(ago // 60)}min {int(ago % 60)}s ago"
    else:
        rel = f"{int(ago // 3600)}h {int(ago % 3600 // 60)}min ago"
    return f"{when.strftime('%a %Y-%m-%d %H:%M:%S %Z')}; {rel}"


def format_status(u: dict[str, Any]) -> list[str]:
    """systemctl status's header lines for one unit (without the journal)."""
    name = u["name"]
    lines = [f"{'●' if u['active_state'] != 'inactive' else '○'} {name} - {u['description']}"]
    if u["load_state"] == "loaded":
        lines.append(f"   Loaded: loaded ({u['fragment']}; static)")
    elif u["load_state"] == "not-found":
        lines.append("   Loaded: not-found (Reason: Unit not found.)")
    else:
        lines.append(f"   Loaded: {u['load_state']} (Reason: {u['load_error']})")
    dropins = u.get("dropins") or []
    if dropins:
        folders: dict[str, list[str]] = {}
        for d in dropins:
            p = Path(d)
            folders.setdefault(str(p.parent), []).append(p.name)
        label = "  Drop-In: "
        for folder, names in folders.items():
            lines.append(f"{label}{folder}")
            lines.append("           └─" + ", ".join(names))
            label = "           "
    active = f"{u['active_state']} ({u['sub_state']})"
    if u["active_state"] == "failed" or u["result"] not in ("success", ""):
        active += f" (Result: {u['result']})"
    lines.append(f"   Active: {active} since {_since(u['since'])}")
    if u["condition_failed"]:
        lines.append(f"Condition: start condition failed: {u['condition_failed']} was not met")
    if u["main_pid"]:
        lines.append(f" Main PID: {u['main_pid']}{_comm(u['main_pid'])}")
    elif u["main_exit"]:
        lines.append(f" Main PID: ({u['main_exit']})")
    if u["status_text"]:
        lines.append(f'   Status: "{u["status_text"]}"')
    if u["job"]:
        lines.append(f"      Job: {u['job']}")
    return lines


def _comm(pid: int) -> str:
    """` (etcd)`: the process name, as systemctl shows it (when it runs on this computer)."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            return f" ({f.read().strip()})"
    except OSError:
        return ""


def _status(root: Path, sock: Path, units: list[str], n: int) -> int:
    rc = 0
    host = hostname_of(root)
    for i, name in enumerate(units):
        u = call(sock, {"op": "status", "unit": name})["unit"]
        if u["load_state"] == "not-found" and u["active_state"] == "inactive":
            print(f"Unit {u['name']} could not be found.", file=sys.stderr)
            rc = max(rc, EXIT_NO_SUCH_UNIT)
            continue
        if i:
            print()
        print("\n".join(format_status(u)))
        entries = read(root, frozenset({u["name"]}), last=n) if n > 0 else []
        if entries:
            print()
            for e in entries:
                print(e.short(host))
        if u["active_state"] != "active":
            rc = max(rc, EXIT_NOT_ACTIVE)
    return rc
