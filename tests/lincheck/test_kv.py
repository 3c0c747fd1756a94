"""check_kv: what the torture harness calls with its wall-clock records."""

from __future__ import annotations

from shoal.lincheck import CheckResult, KvRecord, check_kv

T0 = 1_764_000_000.0  # wall-clock seconds, as time.time() gives them


def test_a_good_history_is_ok_with_a_one_line_summary() -> None:
    verdict = check_kv(
        [
            KvRecord(1, "put", "/a", T0, T0 + 0.01, value="1"),
            {"client": 2, "op": "get", "key": "/a", "call": T0 + 0.02, "ret": T0 + 0.03,
             "result": "1"},
            {"client": 3, "op": "cas", "key": "/a", "call": T0 + 0.04, "ret": T0 + 0.05,
             "expected": "1", "value": "2"},
            {"client": 4, "op": "put", "key": "/b", "call": T0, "ret": None, "value": "x"},
        ]
    )  # fmt: skip
    assert verdict.ok and verdict.result is CheckResult.OK
    assert verdict.summary.startswith("linearizable: 2 partition(s), 4 operations")


def test_a_stale_quorum_read_is_reported_with_the_key_client_and_times() -> None:
    verdict = check_kv(
        [
            {"client": 1, "op": "put", "key": "/a", "call": T0, "ret": T0 + 0.010, "value": "old"},
            {"client": 1, "op": "put", "key": "/a", "call": T0 + 0.020, "ret": T0 + 0.030,
             "value": "new"},
            {"client": 2, "op": "get", "key": "/a", "call": T0 + 0.040, "ret": T0 + 0.050,
             "result": "old"},
            {"client": 3, "op": "put", "key": "/other", "call": T0, "ret": T0 + 1, "value": "x"},
        ]
    )  # fmt: skip
    assert not verdict.ok and verdict.result is CheckResult.ILLEGAL
    assert verdict.summary.startswith("NOT linearizable")
    assert "key '/a': not linearizable" in verdict.text
    # The operation that could not be placed, with its client and times since the first call.
    assert "times: seconds since the first call, made at 2025-11-24T16:00:00.000+00:00" in (
        verdict.text
    )
    assert "client 2    0.040s .. 0.050s" in verdict.text
    assert "'/a': read -> 'old'" in verdict.text
    assert "State after it: 'new'" in verdict.text
