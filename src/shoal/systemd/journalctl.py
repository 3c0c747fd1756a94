"""`shoal journal`: journalctl for one shoal machine (reads its journal file; no node needed).

    shoal journal [-M NODE [--dir DIR] | --root DIR] [-u UNIT]... [-n [N]] [-f] [-o short|cat]

As journalctl: -n alone means the last 10 entries, -f keeps printing new entries (after the last
-n, 10 by default), -u may be given several times, a name without a type means `.service`.
"""

from __future__ import annotations

import argparse
import sys

from shoal.systemd.journal import Entry, follow, hostname_of, read
from shoal.systemd.machine import NoMachine, resolve_root


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="shoal journal", description=__doc__.split("\n\n")[0])
    p.add_argument("-M", "--machine", help="machine of the cluster in --dir (coreos-01, 1, ...)")
    p.add_argument("--dir", help="cluster directory (default: $SHOAL_HOME or ~/.shoal/cluster)")
    p.add_argument("--root", help="the machine's root directory")
    p.add_argument("-u", "--unit", action="append", default=[], help="only this unit's entries")
    p.add_argument("-n", "--lines", nargs="?", type=int, const=10, default=None)
    p.add_argument("-f", "--follow", action="store_true")
    p.add_argument("-o", "--output", choices=("short", "cat"), default="short")
    p.add_argument("-e", "--pager-end", action="store_true", help="the last 1000 entries")
    p.add_argument("-x", "--catalog", action="store_true", help="(accepted; no catalog)")
    p.add_argument("--no-pager", action="store_true", help="(accepted; there is no pager)")
    args = p.parse_args(argv)
    try:
        root = resolve_root(args.root, args.machine, args.dir)
    except NoMachine as err:
        print(f"shoal journal: {err}", file=sys.stderr)
        return 1
    if not root.is_dir():
        print(f"shoal journal: no machine at {root}: not a directory", file=sys.stderr)
        return 1
    units = frozenset(u if "." in u else u + ".service" for u in args.unit)
    host = hostname_of(root)

    def show(e: Entry) -> None:
        print(e.message if args.output == "cat" else e.short(host), flush=True)

    last = args.lines if args.lines is not None else (10 if args.follow else None)
    if args.pager_end and args.lines is None:
        last = 1000
    entries = read(root, units, last)
    if not entries and not args.follow:
        print("-- No entries --")
    for e in entries:
        show(e)
    if args.follow:
        try:
            for e in follow(root, units):
                show(e)
        except KeyboardInterrupt:
            return 0
    return 0
