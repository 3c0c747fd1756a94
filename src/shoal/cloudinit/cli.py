"""`shoal cloudinit`: coreos-cloudinit's `-from-file` and `-validate`, applied under a root dir.

    shoal cloudinit --from-file FILE --validate
    shoal cloudinit --from-file FILE --root DIR [--public-ipv4 IP] [--private-ipv4 IP]

Exit status as coreos-cloudinit's: with --validate, 1 when anything is reported; when applying, 1
when the config has errors (then nothing is written) or cannot be applied. Applying never touches
the host: it needs --root.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shoal.cloudinit import schema
from shoal.cloudinit.apply import ApplyError, apply
from shoal.cloudinit.report import CloudConfigInvalid, Report
from shoal.cloudinit.substitute import values_from_environment
from shoal.cloudinit.validate import validate


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shoal cloudinit",
        description="Validate a cloud-config, or apply it under a machine's root directory.",
    )
    p.add_argument(
        "--from-file",
        "-from-file",
        dest="file",
        required=True,
        metavar="FILE",
        help="the cloud-config (user-data) to read; - for standard input",
    )
    p.add_argument(
        "--validate",
        "-validate",
        action="store_true",
        help="only validate: print every finding, exit 1 if there is any",
    )
    p.add_argument(
        "--root", metavar="DIR", help="the machine's root directory to apply to (required to apply)"
    )
    for var in schema.SUBSTITUTIONS:
        flag = var[1:].replace("_", "-")
        p.add_argument(
            f"--{flag}",
            dest=var[1:],
            metavar="IP",
            help=f"value of {var} (default: ${schema.SUBSTITUTIONS[var]})",
        )
    p.add_argument(
        "--ssh-key-name",
        "-ssh-key-name",
        default=schema.SSH_KEY_NAME,
        help="name of the authorized_keys.d entry (default: %(default)s)",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    return p


def _print_report(report: Report, as_json: bool) -> None:
    if as_json:
        print(json.dumps([e.to_json() for e in report.sorted()], ensure_ascii=False))
        return
    for e in report.sorted():
        print(e, file=sys.stderr)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        print(f"shoal cloudinit: cannot read {args.file}: {why}", file=sys.stderr)
        return 1
    given = {var: getattr(args, var[1:]) for var in schema.SUBSTITUTIONS}
    values = values_from_environment(given)

    if args.validate:
        # Substitute what is known; a variable without a value is no error before applying.
        report = validate(text, values, require_values=False)
        _print_report(report, args.json)
        return 1 if len(report) else 0

    if not args.root:
        print(
            "shoal cloudinit: refusing to apply to this computer's own /; give --root DIR "
            "(the machine's root directory) or --validate",
            file=sys.stderr,
        )
        return 2
    root = Path(args.root)
    try:
        result = apply(text, root, values, args.ssh_key_name)
    except CloudConfigInvalid as e:
        _print_report(e.report, args.json)
        print(f"shoal cloudinit: {args.file} has errors; nothing was applied", file=sys.stderr)
        return 1
    except (ApplyError, OSError) as e:
        print(f"shoal cloudinit: cannot apply {args.file}: {e}", file=sys.stderr)
        return 1
    _print_report(result.report, args.json)
    for path in result.written:
        print(f"wrote {path}")
    for note in result.plan.notes:
        print(f"note: {note}")
    if result.plan.network_units:
        print(
            f"network units for systemd-networkd (not run by shoal): "
            f"{', '.join(result.plan.network_units)}"
        )
    if result.daemon_reload:
        print("daemon-reload")
    for cmd in result.commands:
        print(f"systemctl {cmd}")
    return 0
