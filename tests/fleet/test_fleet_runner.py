"""The standalone process runner: systemd-like states for units run as child processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from shoal.fleet.runner import ProcessRunner, UnitStatus
from support import wait_until_async


async def settle(r: ProcessRunner, name: str, want: UnitStatus) -> UnitStatus | None:
    await wait_until_async(lambda: r.status(name) == want, 20, f"{name} to be {want}")
    return r.status(name)


def test_lifecycle_states(tmp_path: Path) -> None:
    async def main() -> None:
        r = ProcessRunner(str(tmp_path))
        await r.load("s.service", "[Service]\nExecStart=/bin/sleep 30\n")
        assert r.status("s.service") == UnitStatus("loaded", "inactive", "dead")
        await r.start("s.service")
        assert r.status("s.service") == UnitStatus("loaded", "active", "running")
        await r.stop("s.service")
        assert r.status("s.service") == UnitStatus("loaded", "inactive", "dead")
        await r.load("f.service", "[Service]\nExecStart=/bin/sh -c 'echo out-%n; exit 3'\n")
        await r.start("f.service")
        want = UnitStatus("loaded", "failed", "failed")
        assert await settle(r, "f.service", want) == want
        assert "out-f.service" in r.log_path("f.service").read_text()
        await r.load(
            "o.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n"
        )
        await r.start("o.service")
        want = UnitStatus("loaded", "active", "exited")
        assert await settle(r, "o.service", want) == want
        await r.load("b.service", "[Unit]\nDescription=no exec\n")
        assert r.status("b.service") == UnitStatus("bad-setting", "inactive", "dead")
        await r.close()
        assert r.loaded() == [] and not (tmp_path / "s.service").exists()

    asyncio.run(main())
