"""StageTimes: the one per-stage time record of enhance and extract-priors."""

from __future__ import annotations

import threading

import pytest

from facesr_video.timing import StageTimes


def test_stages_named_up_front_keep_their_order_and_start_at_zero() -> None:
    times = StageTimes(("read", "fit", "write"))
    times.add("write", 2.0)
    times.add("extra", 0.5)
    assert list(times.seconds) == ["read", "fit", "write", "extra"]
    assert times.seconds == {"read": 0.0, "fit": 0.0, "write": 2.0, "extra": 0.5}
    assert times.dominant() == "write"


def test_adds_from_several_threads_are_not_lost() -> None:
    times = StageTimes(("sr",))

    def work() -> None:
        for _ in range(10_000):
            times.add("sr", 1.0)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert times.seconds["sr"] == 40_000.0


def test_measure_counts_a_block_that_raises_and_update_sets_totals() -> None:
    times = StageTimes(("render", "detect"))
    with pytest.raises(ValueError), times.measure("render"):
        raise ValueError
    assert times.seconds["render"] > 0.0
    times.update({"detect": 3.0})
    times.update({"detect": 4.0})  # totals kept elsewhere replace, not add
    assert times.seconds["detect"] == 4.0


def test_seconds_is_a_copy() -> None:
    times = StageTimes(("a",))
    times.add("a", 1.5)
    copy = times.seconds
    copy["a"] = 99.0
    copy["b"] = 1.0
    assert times.seconds == {"a": 1.5}  # changing the copy leaves the record alone
    assert times.seconds is not times.seconds  # each read is a fresh copy
    times.add("a", 0.5)
    assert times.seconds == {"a": 2.0} and copy == {"a": 99.0, "b": 1.0}  # nor does it follow
