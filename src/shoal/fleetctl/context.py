"""What every fleetctl command gets: the parsed command line, the API client, the output streams,
the machine list read once per run, and a way to act on many units at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO, TypeVar

from shoal.fleet.client import FleetAPIError, FleetClient
from shoal.fleet.schema import Machine, Unit
from shoal.fleet.unit import mangle_name
from shoal.fleetctl.flags import Invocation

# shoal: requests fleetctl has in flight at once when acting on many units.
PARALLEL_REQUESTS = 8

Emit = list[tuple[str, str]]  # ("out" | "err", message), printed in argument order
T = TypeVar("T")


class CommandError(Exception):
    """A command cannot go on; main prints the message on stderr and exits 1."""


class Ctl:
    """One fleetctl run: the client, output streams, and fleetctl's shared helpers."""

    def __init__(self, inv: Invocation, out: TextIO, err: TextIO) -> None:
        self.inv = inv
        self.out = out
        self.err = err
        self.api = FleetClient(
            str(inv.get("endpoint")),
            float(inv.get("request-timeout")),
            str(inv.get("ca-file")),
            str(inv.get("cert-file")),
            str(inv.get("key-file")),
        )
        self._machines: dict[str, Machine] | None = None

    def stderr(self, msg: str) -> None:
        self.err.write(msg if msg.endswith("\n") else msg + "\n")
        self.err.flush()

    def log_info(self, where: str, msg: str) -> None:
        """A line of fleetctl's INFO log (stderr, with its timestamp and Go source position, as
        users see it and scripts may match it)."""
        self.stderr(f"{time.strftime('%Y/%m/%d %H:%M:%S')} INFO {where}: {msg}")

    def stdout(self, msg: str) -> None:
        self.out.write(msg if msg.endswith("\n") else msg + "\n")
        self.out.flush()

    def machine(self, mid: str) -> Machine | None:
        """fleetctl cachedMachineState: one /machines read per run."""
        if self._machines is None:
            try:
                self._machines = {m.id: m for m in self.api.machines()}
            except FleetAPIError:
                self._machines = {}
        return self._machines.get(mid)

    def machine_or_bare(self, mid: str) -> Machine:
        """The machine with that ID, or one known by its ID alone (it left the cluster)."""
        return self.machine(mid) or Machine(mid)

    def one_unit_name(self, usage: str) -> str | None:
        """The one unit the arguments name (mangled as fleetctl does); None, with `usage`
        printed, unless there is exactly one argument."""
        if len(self.inv.args) != 1:
            self.stderr(usage)
            return None
        return mangle_name(self.inv.args[0])

    def registered_unit(self, name: str, failed: str, missing: str) -> Unit | None:
        """The unit as the registry has it; None once `<failed>: <error>` (the API failed) or
        `missing` (no such unit) is printed: each command words these its own way."""
        try:
            u = self.api.unit(name)
        except FleetAPIError as e:
            self.stderr(f"{failed}: {e}")
            return None
        if u is None:
            self.stderr(missing)
        return u

    def block_attempts(self) -> int:
        """fleetctl getBlockAttempts: -1 no wait, 0 forever, N attempts of about 2 s each."""
        if self.inv.flags.get("no-block"):
            return -1
        attempts: int = self.inv.get("block-attempts") if "block-attempts" in self.inv.flags else 0
        return max(0, attempts)

    def in_parallel(self, fn: Callable[[str, Emit], T], items: list[str]) -> list[T]:
        """Run fn over items on a few threads (shoal: fleetctl did one unit at a time, so starting
        hundreds of units took minutes), then print their messages in item order and re-raise
        the first error."""

        def run(item: str) -> tuple[Emit, list[T], Exception | None]:
            emit: Emit = []
            try:
                return emit, [fn(item, emit)], None
            except (CommandError, FleetAPIError) as e:
                return emit, [], e

        with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
            results = list(pool.map(run, items))
        out: list[T] = []
        for emit, value, err in results:
            for stream, msg in emit:
                (self.stdout if stream == "out" else self.stderr)(msg)
            if err is not None:
                raise err
            out.extend(value)
        return out
