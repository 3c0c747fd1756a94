"""Waiting for units to get where a command sent them, as fleetctl waits (fleetctl/fleetctl.go
checkUnitState, assertUnitState, tryWaitForSystemdActiveState): each attempt polls every 250 ms
for up to 2 s; 0 attempts means wait forever and -1 (`--no-block`) not at all."""

from __future__ import annotations

import contextlib
import time

from shoal.fleet.client import FleetAPIError
from shoal.fleet.schema import UnitState
from shoal.fleetctl.context import Ctl
from shoal.fleetctl.output import machine_full_legend

POLL = 0.25  # seconds between two looks at a unit
ATTEMPT = 2.0  # seconds one block attempt lasts


def _assert_state(ctl: Ctl, name: str, want: str) -> str | None:
    """fleetctl assertUnitState: the message to print once the unit reached `want`."""
    u = ctl.api.unit(name)
    if u is None:
        return None
    state = u.desired_state if u.is_global else u.current_state
    if (state or "inactive") != want:
        return None
    # A global unit has no current state: fleetctl prints the empty one ("Unit NAME ").
    msg = f"Unit {name} {u.current_state}"
    if u.machine_id:
        m = ctl.machine(u.machine_id)
        if m is not None:
            msg += f" on {machine_full_legend(m, False)}"
    return msg


LOAD_FAILED = frozenset(("error", "not-found", "bad-setting", "masked"))
"""systemd load states of a unit that cannot run as it is."""


def _hint_unplaced(ctl: Ctl, name: str) -> None:
    """A unit still on no machine after a while: point at `fleetctl why` (once)."""
    with contextlib.suppress(FleetAPIError):
        u = ctl.api.unit(name)
        if u is not None and not u.machine_id and not u.is_global:
            ctl.stderr(f"Unit {name} is not on any machine yet; `fleetctl why {name}` says why.")


def wait_for_states(
    ctl: Ctl, names: list[str], want: str, attempts: int, label: str = "units"
) -> str | None:
    """fleetctl checkUnitState: print `Unit NAME STATE on MACHINE` as each unit gets there.
    Returns None when all did, else the first unit's timeout, already printed as fleetctl's
    tryWaitForUnitStates prints it (the caller adds its own line with the same text)."""
    if attempts < 0:
        return None
    for name in names:
        start = time.monotonic()
        deadline = None if attempts == 0 else start + ATTEMPT * attempts
        hinted = want != "launched"
        while True:
            try:
                msg = _assert_state(ctl, name, want)
            except FleetAPIError:
                msg = None
            if msg is not None:
                ctl.stdout(msg)
                break
            if not hinted and time.monotonic() - start > ATTEMPT:
                hinted = True
                _hint_unplaced(ctl, name)
            if deadline is not None and time.monotonic() > deadline:
                what = (
                    "Error waiting on unit creation"
                    if label == "creation"
                    else "Error waiting for units"
                )
                err = f"timed out waiting for unit {name} to report state {want}"
                ctl.stderr(f"{what}: {err}")
                return err
            time.sleep(POLL)
    return None


def wait_active(ctl: Ctl, names: list[str], attempts: int) -> bool:
    """fleetctl tryWaitForSystemdActiveState: the unit's process must really be active (and
    loaded). fleetctl reports the first attempt that failed, so it gives up after one attempt
    of 2 s whatever --block-attempts says: a unit that fails at once or only starts slowly ends
    the command with exit status 1 (the unit keeps its desired state)."""
    if attempts < 0:
        for n in names:
            ctl.stdout(f"Triggered unit {n} start")
        return True
    for name in names:
        deadline = time.monotonic() + ATTEMPT
        while True:
            # fleetctl's waitForState looks first after one tick.
            time.sleep(POLL)
            st: UnitState | None = None
            with contextlib.suppress(FleetAPIError):
                st = ctl.api.unit_state(name)
            if st is not None and st.active_state == "active" and st.load_state == "loaded":
                break
            if st is not None and st.load_state in LOAD_FAILED:
                # shoal: the machine refused the unit (systemd's "Loaded: error"): say why.
                m = ctl.machine_or_bare(st.machine_id)
                reason = f" (Reason: {st.load_error})" if st.load_error else ""
                ctl.stderr(
                    f"Unit {name} could not be loaded on {machine_full_legend(m, False)}: "
                    f"Loaded: {st.load_state}{reason}"
                )
                return False
            if time.monotonic() > deadline:
                err = (
                    f"Failed to find an active unit {name} within {ATTEMPT:g}s, "
                    f"err: Failed to fetch states within {ATTEMPT:g}s"
                )
                ctl.stderr(f"Error waiting for units: {err}")
                ctl.stderr(f"Error waiting for systemd unit states, err: {err}")
                return False
    return True
