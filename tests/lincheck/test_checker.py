"""The checker's verdicts on small hand-made histories, named after the rule each one checks."""

from __future__ import annotations

from shoal.lincheck import (
    CasRegister,
    CheckResult,
    KvInput,
    KvMap,
    KvOutput,
    Operation,
    OpKind,
    check,
    check_partition,
    report,
)
from shoal.lincheck.kvops import Value
from shoal.lincheck.report import earliest_failure

REG = CasRegister()


def read(client: int, call: float, ret: float, value: Value, key: str = "") -> Operation:
    return Operation(client, call, ret, KvInput(OpKind.READ, key), KvOutput(value=value))


def write(client: int, call: float, ret: float | None, value: Value, key: str = "") -> Operation:
    out = None if ret is None else KvOutput()
    return Operation(client, call, ret, KvInput(OpKind.WRITE, key, value), out)


def cas(
    client: int, call: float, ret: float | None, old: Value, new: Value, swapped: bool = True
) -> Operation:
    out = None if ret is None else KvOutput(ok=swapped)
    return Operation(client, call, ret, KvInput(OpKind.CAS, value=new, expected=old), out)


def verdict(history: list[Operation], model: CasRegister = REG) -> CheckResult:
    return check(model, history, timeout=10).result


def test_sequential_reads_see_the_last_write() -> None:
    h = [write(0, 0, 1, 1), read(1, 2, 3, 1), write(0, 4, 5, 2), read(1, 6, 7, 2)]
    assert verdict(h) is CheckResult.OK


def test_a_stale_read_after_a_newer_write_returned_is_caught() -> None:
    h = [write(0, 0, 1, 1), write(0, 2, 3, 2), read(1, 4, 5, 1)]
    result = check(REG, h)
    assert result.result is CheckResult.ILLEGAL
    text = report(REG, result)
    assert "read -> 1" in text and "State after it: 2" in text


def test_a_read_of_a_missing_key_before_any_write_is_fine_and_after_one_is_not() -> None:
    assert verdict([read(0, 0, 1, None), write(1, 2, 3, 5)]) is CheckResult.OK
    assert verdict([write(1, 0, 1, 5), read(0, 2, 3, None)]) is CheckResult.ILLEGAL


def test_reads_concurrent_with_a_write_may_see_either_value() -> None:
    h = [write(0, 0, 10, 1), read(1, 1, 2, None), read(2, 3, 4, 1), read(3, 5, 6, 1)]
    assert verdict(h) is CheckResult.OK


def test_once_a_concurrent_read_saw_the_new_value_a_later_read_cannot_see_the_old() -> None:
    h = [write(0, 0, 10, 1), read(1, 1, 2, 1), read(2, 3, 4, None)]
    assert verdict(h) is CheckResult.ILLEGAL


def test_operations_that_touch_in_time_count_as_concurrent() -> None:
    # The read returns at the very instant the write is called: either order is allowed.
    assert verdict([read(1, 0, 5, 1), write(0, 5, 6, 1)]) is CheckResult.OK


def test_an_unknown_write_may_never_take_effect() -> None:
    h = [write(0, 0, None, 1), read(1, 1, 2, None), read(1, 3, 4, None)]
    assert verdict(h) is CheckResult.OK


def test_an_unknown_write_may_take_effect_long_after_its_call() -> None:
    h = [write(0, 0, None, 1), read(1, 1, 2, None), read(1, 30, 31, None), read(2, 40, 41, 1)]
    assert verdict(h) is CheckResult.OK


def test_an_unknown_write_takes_effect_at_most_once() -> None:
    h = [write(0, 0, 1, 2), write(1, 2, None, 1), read(2, 3, 4, 1), read(2, 5, 6, 2)]
    assert verdict(h) is CheckResult.ILLEGAL


def test_an_unknown_write_cannot_take_effect_before_it_is_called() -> None:
    assert verdict([read(1, 0, 1, 1), write(0, 2, None, 1)]) is CheckResult.ILLEGAL


def test_a_pending_write_that_never_applied_does_not_hide_a_stale_read() -> None:
    h = [write(0, 0, 1, 1), write(1, 2, None, 9), write(0, 3, 4, 2), read(2, 5, 6, 1)]
    assert verdict(h) is CheckResult.ILLEGAL


def test_cas_swaps_only_when_the_value_matches() -> None:
    h = [
        write(0, 0, 1, 1),
        cas(1, 2, 3, 1, 2),
        cas(2, 4, 5, 1, 3, swapped=False),
        read(0, 6, 7, 2),
    ]
    assert verdict(h) is CheckResult.OK


def test_a_failed_cas_is_an_observation_that_the_value_differed() -> None:
    assert verdict([write(0, 0, 1, 1), cas(1, 2, 3, 1, 2, swapped=False)]) is CheckResult.ILLEGAL


def test_two_concurrent_cas_from_the_same_value_cannot_both_swap() -> None:
    h = [write(0, 0, 1, 0), cas(1, 2, 5, 0, 1), cas(2, 2, 5, 0, 2)]
    assert verdict(h) is CheckResult.ILLEGAL
    h[2] = cas(2, 2, 5, 1, 2)  # the second one chains on the first: fine
    assert verdict(h) is CheckResult.OK


def test_an_unknown_cas_may_or_may_not_have_swapped() -> None:
    base = [write(0, 0, 1, 1), cas(1, 2, None, 1, 2)]
    assert verdict([*base, read(2, 3, 4, 1), read(2, 5, 6, 2)]) is CheckResult.OK
    assert verdict([*base, read(2, 3, 4, 1), read(2, 5, 6, 3)]) is CheckResult.ILLEGAL


def test_a_create_only_if_missing_is_a_cas_from_nil() -> None:
    h = [cas(0, 0, 1, None, "a"), cas(1, 2, 3, None, "b", swapped=False), read(0, 4, 5, "a")]
    assert verdict(h) is CheckResult.OK


def test_keys_are_checked_apart_and_the_failing_key_is_named() -> None:
    model = KvMap()
    h = [
        write(0, 0, 1, "x", key="/a"),
        read(1, 2, 3, "x", key="/a"),
        write(0, 0, 1, "y", key="/b"),
        write(0, 2, 3, "z", key="/b"),
        read(1, 4, 5, "y", key="/b"),
    ]
    result = check(model, h, all_failures=True)
    assert result.result is CheckResult.ILLEGAL
    assert [p.label for p in result.failures] == ["key '/b'"]
    assert "key '/b': not linearizable" in report(model, result)


def test_a_search_out_of_time_says_unknown_not_ok() -> None:
    # 14 concurrent appends whose orders all give different values, then a read that matches
    # none of them: deciding that means trying every order.
    model = KvMap(initial="")
    appends = [
        Operation(i, 0, 10, KvInput(OpKind.APPEND, "k", f"<{i}>"), KvOutput()) for i in range(14)
    ]
    h = [*appends, read(99, 11, 12, "impossible", key="k")]
    result = check_partition(model, h, timeout=0.3)
    assert result.result is CheckResult.UNKNOWN
    assert check(model, h, timeout=0.3).result is CheckResult.UNKNOWN


def delete(client: int, call: float, ret: float, existed: bool = True) -> Operation:
    return Operation(client, call, ret, KvInput(OpKind.DELETE), KvOutput(ok=existed))


def append(client: int, call: float, ret: float, value: str) -> Operation:
    return Operation(client, call, ret, KvInput(OpKind.APPEND, value=value), KvOutput())


def test_a_delete_removes_the_key_and_a_key_not_found_is_an_observation() -> None:
    h = [write(0, 0, 1, 1), delete(1, 2, 3), read(2, 4, 5, None), delete(1, 6, 7, existed=False)]
    assert verdict(h) is CheckResult.OK
    assert verdict([write(0, 0, 1, 1), delete(1, 2, 3, existed=False)]) is CheckResult.ILLEGAL


def test_in_order_appends_read_back_in_one_order_that_real_time_allows() -> None:
    model = KvMap(initial=None)
    # Two concurrent POSTs may land in either order; a later listing cannot lose or reorder them.
    h = [append(0, 0, 5, "a;"), append(1, 0, 5, "b;"), read(2, 6, 7, "b;a;")]
    assert verdict(h, model) is CheckResult.OK
    assert verdict([*h, read(2, 8, 9, "a;b;")], model) is CheckResult.ILLEGAL
    assert verdict([*h, read(2, 8, 9, "b;")], model) is CheckResult.ILLEGAL


def test_the_report_cuts_the_history_at_the_first_point_no_order_explains() -> None:
    h = [write(0, 0, 1, 1), write(0, 2, 3, 2), read(1, 4, 5, 1)]
    h += [write(0, 10 + 2 * i, 11 + 2 * i, 10 + i) for i in range(20)]  # much later traffic
    failed = check(REG, h).failures[0]
    at, part = earliest_failure(REG, failed)
    assert at == 5  # the stale read's return
    assert len(part.operations) == 3
    assert part.blocked is not None and part.operations[part.blocked] == h[2]
