"""Start a child that dies with its parent: prctl(PR_SET_PDEATHSIG, SIGKILL) in the child.

Linux delivers the signal when the thread that forked the child exits, so spawn from a thread
that lives as long as the parent does (the main thread, or the event loop's). Where prctl is
missing (not Linux) children simply outlive a killed parent.

Two ways in: `die_with_parent` as a `preexec_fn` (the child runs Python between fork and exec,
so CPython cannot use vfork/posix_spawn and the fork costs a few ms to ~60 ms for a large parent),
or `with_death_signal(argv)`, which puts setpriv(1) in front of the command and keeps the fork
fast; an event loop that spawns often (fleetd's units) wants the second.
"""

from __future__ import annotations

import ctypes
import shutil
import signal
import subprocess
from collections.abc import Callable, Sequence
from typing import Any, Final

# <linux/prctl.h>
PR_SET_PDEATHSIG: Final = 1


def _load_prctl() -> Callable[[int, int], int] | None:
    # Looked up once in the parent, so the child does no imports or dlopen between fork and exec.
    try:
        prctl: Callable[[int, int], int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


_PRCTL: Final = _load_prctl()
_SETPRIV: Final = shutil.which("setpriv")


def die_with_parent() -> None:
    """A `preexec_fn`: the child gets SIGKILL when its parent (thread) dies."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def with_death_signal(argv: Sequence[str]) -> list[str]:
    """`argv` run through `setpriv --pdeathsig KILL` when setpriv exists (else unchanged)."""
    if _SETPRIV is None:
        return list(argv)
    return [_SETPRIV, "--pdeathsig", "KILL", "--", *argv]


def popen(argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    """subprocess.Popen of a child that dies with this process (see module docstring)."""
    return subprocess.Popen(argv, preexec_fn=die_with_parent, **kwargs)
