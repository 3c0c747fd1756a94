"""The seed's experiment run from the dashboard in a real browser (headless Chromium driven by
Selenium): all healthy; coreos-03 stopped by its button -> the page shows it unreachable and
the cluster degraded; coreos-02 stopped -> the page shows quorum lost; both started by their
buttons -> healthy again. The dashboard is the one `shoal up` starts and prints.

Skips with a reason where Chromium, chromedriver or Selenium is missing (`apt-get install
chromium chromium-driver`, `pip install selenium`). Screenshots of each step go to the test's
temp dir, or to $SHOAL_DASHBOARD_SCREENSHOTS (docs/img/ holds the ones the README shows).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shoal.cluster.layout import STATE_FILE
from support import free_subnet, wait_until

pytestmark = pytest.mark.timeout(600)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    HAVE_SELENIUM = True
except ImportError:  # pragma: no cover - depends on the machine
    HAVE_SELENIUM = False

if not (CHROMIUM and CHROMEDRIVER and HAVE_SELENIUM):
    pytest.skip(
        "needs headless Chromium, chromedriver and Selenium (apt-get install chromium "
        "chromium-driver; pip install selenium)",
        allow_module_level=True,
    )


def shoal(d: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SHOAL_ROOT", "SHOAL_HOME")}
    return subprocess.run(
        [sys.executable, "-m", "shoal.cli", args[0], "--dir", str(d), *args[1:]],
        capture_output=True, text=True, timeout=timeout, env=env,
    )  # fmt: skip


def machine_processes(d: Path) -> list[int]:
    want = f"SHOAL_ROOT={d}/".encode()
    out = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{e}/environ", "rb") as f:
                if any(v.startswith(want) for v in f.read().split(b"\0")):
                    out.append(int(e))
    return out


@pytest.fixture
def page_url(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local cluster started by `shoal up`, the dashboard URL it printed, and its dir."""
    d = tmp_path / "c"
    try:
        r = shoal(d, "up", "--subnet", free_subnet())
        assert r.returncode == 0, r.stdout + r.stderr
        m = re.search(r"^dashboard: (http://\S+)", r.stdout, re.M)
        assert m, f"`shoal up` printed no dashboard URL:\n{r.stdout}"
        yield m[1], d
    finally:
        if (d / STATE_FILE).exists():
            shoal(d, "down", "--purge", timeout=200)
        for pid in machine_processes(d):
            with contextlib.suppress(OSError):
                os.kill(pid, 9)


@pytest.fixture
def browser() -> Iterator[Any]:
    o = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,1000"):  # fmt: skip
        o.add_argument(a)
    o.binary_location = CHROMIUM or ""
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER or ""), options=o)
    try:
        yield driver
    finally:
        driver.quit()


def shots_dir(tmp_path: Path) -> Path:
    d = Path(os.environ.get("SHOAL_DASHBOARD_SCREENSHOTS") or tmp_path / "shots")
    d.mkdir(parents=True, exist_ok=True)
    return d


def banner(b: Any) -> tuple[str, str]:
    # Read in one script: the page re-renders its tables on every push, so element handles
    # taken a moment ago may be gone.
    got = b.execute_script(
        "const e = document.getElementById('banner'); return [e.dataset.level || '', e.innerText];"
    )
    return str(got[0]), str(got[1])


def health_of(b: Any, member: str) -> tuple[str, str]:
    got = b.execute_script(
        "const r = document.querySelector(`#members tr[data-member='${arguments[0]}']`);"
        "return r ? [r.dataset.health, r.innerText] : ['', ''];",
        member,
    )
    return str(got[0]), str(got[1])


def text_of(b: Any, element_id: str) -> str:
    return str(
        b.execute_script("return document.getElementById(arguments[0]).innerText;", element_id)
    )


def _clicked(b: Any, selector: str) -> bool:
    try:
        b.find_element(By.CSS_SELECTOR, selector).click()
    except (StaleElementReferenceException, NoSuchElementException):
        return False
    return True


def click(b: Any, action: str, machine: str) -> None:
    """A real click on the machine's button (found again if a re-render replaced it)."""
    sel = f'button[data-action="{action}"][data-machine="{machine}"]'
    wait_until(lambda: _clicked(b, sel), 10, f"the {action} button of {machine}")


DB_UNIT = """[Service]
ExecStart=/bin/sleep 1000

[X-Fleet]
MachineMetadata=role=db
"""


HELLO_UNIT = """[Service]
ExecStart=/bin/sh -c "while true; do echo hello from the dashboard; sleep 1; done"
"""


def test_the_seed_experiment_from_the_dashboard(
    page_url: tuple[str, Path], browser: Any, tmp_path: Path
) -> None:
    url, d = page_url
    shots = shots_dir(tmp_path)
    b = browser
    b.get(url)
    members = ("coreos-01", "coreos-02", "coreos-03")

    wait_until(
        lambda: banner(b)[0] == "ok" and all(health_of(b, m)[0] == "healthy" for m in members),
        60,
        "the page to show three healthy members",
    )
    assert "healthy: 3 of 3" in banner(b)[1]
    assert text_of(b, "leader").startswith("leader: coreos-0")

    # A unit no machine can take: the page lists it and its "why" says what fleetctl why says.
    unit = tmp_path / "db.service"
    unit.write_text(DB_UNIT)
    r = shoal(d, "ssh", "coreos-01", "--", f"fleetctl start --no-block {unit}", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    sel = 'button[data-why="db.service"]'
    wait_until(lambda: b.find_elements(By.CSS_SELECTOR, sel), 30, "db.service on the page")
    wait_until(lambda: _clicked(b, sel), 10, "the why button")
    wait_until(lambda: "role=db" in text_of(b, "detail"), 30, "fleetctl why's answer")
    assert text_of(b, "detail").startswith("$ fleetctl why db.service")

    # A unit that runs: its journal tail, from the machine it runs on.
    hello = tmp_path / "hello.service"
    hello.write_text(HELLO_UNIT)
    r = shoal(d, "ssh", "coreos-01", "--", f"fleetctl start {hello}", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    sel = 'button[data-journal="hello.service"]'
    wait_until(
        lambda: "active/running" in text_of(b, "units"), 60, "hello.service running on the page"
    )

    def journal_says_hello() -> bool:
        _clicked(b, sel)
        return wait_until(
            lambda: "…" not in text_of(b, "detail").splitlines()[0], 10, "the journal"
        ) and "hello from the dashboard" in text_of(b, "detail")

    wait_until(journal_says_hello, 60, "the journal tail of hello.service")
    b.save_screenshot(str(shots / "dashboard-healthy.png"))

    click(b, "stop", "coreos-03")
    wait_until(
        lambda: health_of(b, "coreos-03")[0] == "unreachable" and banner(b)[0] == "warn",
        120,
        "coreos-03 unreachable and the cluster degraded",
    )
    # The page says why it is unreachable: first its etcd stops answering, then the machine
    # is down altogether.
    wait_until(
        lambda: "machine coreos-03 is not running" in health_of(b, "coreos-03")[1],
        60,
        "the page to say coreos-03 is not running",
    )
    assert "degraded" in banner(b)[1]
    wait_until(lambda: "coreos-03" in text_of(b, "timeline"), 10, "the timeline to tell")
    b.save_screenshot(str(shots / "dashboard-degraded.png"))

    click(b, "stop", "coreos-02")
    wait_until(lambda: banner(b)[0] == "bad", 120, "the page to show quorum lost")
    assert "NO QUORUM" in banner(b)[1]
    assert health_of(b, "coreos-02")[0] == "unreachable"
    b.save_screenshot(str(shots / "dashboard-no-quorum.png"))

    click(b, "start", "coreos-02")
    click(b, "start", "coreos-03")
    wait_until(
        lambda: banner(b)[0] == "ok" and all(health_of(b, m)[0] == "healthy" for m in members),
        180,
        "the page to show the cluster healthy again",
    )
    timeline = text_of(b, "timeline")
    assert "NO QUORUM" in timeline and "cluster healthy" in timeline, timeline
    b.save_screenshot(str(shots / "dashboard-healed.png"))
