"""The server's periodic ``points_expiring`` run: once at start, then every interval; a failed
run is logged and the next one goes ahead; stopping ends it promptly."""

from __future__ import annotations

import time

from regulars.services.api.loyalty import ExpiryNoticeWorker


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_runs_once_at_start_then_waits_a_whole_interval():
    calls: list[float] = []
    worker = ExpiryNoticeWorker(lambda: calls.append(time.monotonic()), interval=3600)
    worker.start()
    try:
        wait_for(lambda: worker.runs == 1)
        time.sleep(0.1)
        assert len(calls) == 1
    finally:
        started = time.monotonic()
        worker.stop()
    assert time.monotonic() - started < 5  # stopping does not wait for the next hour


def test_runs_again_every_interval_and_survives_a_failed_run(caplog):
    seen = []

    def run() -> None:
        seen.append(1)
        if len(seen) == 1:
            raise OSError("the store went away")

    worker = ExpiryNoticeWorker(run, interval=0.05)
    worker.start()
    try:
        wait_for(lambda: len(seen) >= 3)
    finally:
        worker.stop()
    assert "the next run retries" in caplog.text


def test_a_stopped_worker_can_start_again():
    seen: list[int] = []
    worker = ExpiryNoticeWorker(lambda: seen.append(1), interval=3600)
    for n in (1, 2):
        worker.start()
        wait_for(lambda n=n: len(seen) == n)
        worker.stop()
    assert worker.runs == 2
