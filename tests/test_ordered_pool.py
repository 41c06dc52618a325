"""OrderedPool: calls run in order on another thread, a bounded few behind, errors raised."""

from __future__ import annotations

import threading
import time

import pytest

from facesr_video.ordered_pool import OrderedPool


def test_items_are_written_in_order_on_another_thread_and_all_come_back() -> None:
    written, threads = [], set()

    def write(item: int) -> int:
        time.sleep(0.002 * (item % 3))  # uneven encoder times
        written.append(item)
        threads.add(threading.current_thread().name)
        return item

    returned = []
    with OrderedPool[int](2, "test-write") as pool:
        for item in range(20):
            returned += pool.submit(write, item)
            assert item + 1 - len(returned) <= 3  # at most depth waiting, plus the new one
        returned += pool.drain()
    assert written == list(range(20)) and returned == list(range(20))
    assert threads and threading.current_thread().name not in threads


def test_an_encoder_error_reaches_the_submitting_thread() -> None:
    def write(item: int) -> None:
        if item == 3:
            raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space"), OrderedPool[None](1, "test-write") as pool:
        for item in range(10):
            pool.submit(write, item)
        pool.drain()


def test_leaving_on_an_error_does_not_write_what_had_not_started() -> None:
    release, written = threading.Event(), []

    def write(item: int) -> None:
        release.wait(5)
        written.append(item)

    with pytest.raises(KeyboardInterrupt), OrderedPool[None](5, "test-write") as pool:
        for item in range(4):
            pool.submit(write, item)
        # The first item is being written (held until released): it finishes; the rest never
        # start.
        threading.Timer(0.2, release.set).start()
        raise KeyboardInterrupt
    assert written == [0]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth"):
        OrderedPool(0, "test-write")
