"""`shoal dashboard` without a browser: its errors, and its state for any etcd cluster given by
endpoints (here a real etcd 3.4: the dashboard speaks only etcd's v2 API)."""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from support import SHOAL, Procs, free_port, real_etcd, wait_until


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SHOAL, "dashboard", *args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--listen", "bogus", "--endpoints", "http://127.0.0.1:1"], 2, "want HOST:PORT"),
        (["--endpoints", "ftp://x"], 2, "is not an http(s)://host:port URL"),
        (["--dir", "/nonexistent/cluster"], 1, "no cluster in /nonexistent/cluster"),
        (
            ["--endpoints", "https://127.0.0.1:1", "--ca-file", "/nonexistent/ca.pem"],
            1,
            "cannot use the TLS files (/nonexistent/ca.pem): No such file or directory",
        ),
    ],
)
def test_bad_input_is_one_line_and_an_exit_code(args: list[str], code: int, says: str) -> None:
    r = run(*args)
    assert r.returncode == code
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in r.stderr, r.stderr


def get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return int(e.code), json.loads(e.read())


def test_the_state_of_a_real_etcd_given_by_endpoints(tmp_path: Path) -> None:
    with real_etcd(name="solo") as member, Procs(prefix="shoal-dashboard-") as procs:
        url_file = tmp_path / "url"
        procs.start(
            "dashboard",
            [*SHOAL, "dashboard", "--endpoints", member.client_url,
             "--listen", f"127.0.0.1:{free_port()}", "--url-file", str(url_file)],
        )  # fmt: skip
        procs.wait_ready("dashboard", url_file.exists, 30, "the dashboard to listen")
        page = url_file.read_text().strip()

        def healthy() -> dict[str, Any] | None:
            status, state = get(page + "api/state")
            ok = status == 200 and state.get("cluster", {}).get("level") == "ok"
            return state if ok else None

        state = wait_until(healthy, 30, "the dashboard to see a healthy etcd")
        (m,) = state["members"]
        assert m["name"] == "solo" and m["role"] == "leader" and m["healthy"]
        assert m["clientURLs"] == [member.client_url] and len(m["id"]) == 16
        assert m["term"] >= 2 and m["commit"] >= 1 and m["applied"] >= 1
        assert state["cluster"]["leader"] == "solo" and state["local"] is None
        assert any(e["text"] == "leader is solo" for e in state["timeline"])
        # Buttons belong to a local cluster only.
        req = urllib.request.Request(
            page + "api/action", data=b'{"action": "stop", "machine": "solo"}', method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 400 and b"local cluster" in err.value.read()
        # The page itself and its push channel.
        with urllib.request.urlopen(page, timeout=10) as r:
            assert b"<title>shoal dashboard</title>" in r.read()
        with urllib.request.urlopen(page + "api/events", timeout=10) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            first = r.readline()
            assert first.startswith(b"data: {") and b'"solo"' in first
