"""The server's background threads that run a job periodically or when woken."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from regulars.domain.errors import StoreUnavailableError

log = logging.getLogger("regulars.api.workers")


class PeriodicWorker:
    """Runs ``run`` in a thread of the server: once when it starts, then every ``interval``
    seconds (or sooner, on :meth:`wake`) until it is stopped. A failed run is logged; the
    next one retries what it could not do."""

    name = "regulars-periodic"
    what = "the periodic run"

    def __init__(self, run: Callable[[], object], interval: float) -> None:
        self.run = run
        self.interval = interval
        self.runs = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run again now (once the current run, if any, is over)."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()  # a wake-up from now on asks for one more run
            try:
                self.run()
            except StoreUnavailableError as e:  # an outage is one line, not a traceback a run
                log.warning("%s failed; the next run retries: %s", self.what, e)
            except Exception:
                log.exception("%s failed; the next run retries", self.what)
            self.runs += 1
            self._wake.wait(self.interval)

    def pause(self, seconds: float) -> None:
        """Wait inside a run, cut short by :meth:`stop` (not by :meth:`wake`)."""
        self._stop.wait(seconds)

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called (a long run checks it to finish early)."""
        return self._stop.is_set()
