"""``regulars worker``: the HTTP API's background work in a process of its own.

The live map's refreshes, webhook delivery, ``tier_changed`` events and ``points_expiring``
notices, the same threads ``regulars serve`` ran inside its request process before issue 16.
They read and write only the store, so they can run beside any number of request processes
(``regulars serve --workers N``), and never twice at once on one store: the worker holds a
lock while it runs (PostgreSQL: an advisory lock; SQLite: a lock file beside the database).

:func:`run_background` is the loop; ``regulars serve`` runs it in a child process
(:func:`background_process`) unless told ``--no-background``. Registered on ``main.app`` when
imported.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from regulars import bootstrap
from regulars.config import Settings
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, err, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.i18n import _

log = logging.getLogger("regulars.worker")

# how often a worker that waits for the lock (``--wait``) tries it again
RETRY_SECONDS = 5.0


def run_background(settings: Settings, stop: threading.Event, *, wait: bool,
                   say: Callable[[str], None]) -> bool:
    """Run the background work on the store of ``settings`` until ``stop`` is set.

    Another worker on the store: ``wait`` tries the lock again every few seconds (a standby
    that takes over when the other stops), else returns False at once. Returns True when it
    ran and stopped."""
    lock = bootstrap.worker_lock(settings)
    told = False
    while not lock.acquire():
        if not wait:
            return False
        if not told:
            say(_("another background worker already runs on this store ({where}); waiting "
                  "for it to stop").format(where=lock.where))
            told = True
        if stop.wait(RETRY_SECONDS):
            return True
    try:
        services = bootstrap.open_api(settings)
        try:
            services.start()
            say(_("background worker running (live map, webhooks, tier events, expiry "
                  "notices); lock: {where}").format(where=lock.where))
            threading.Thread(target=services.first_map, name="regulars-first-map",
                             daemon=True).start()
            if settings.playbook_runner.interval_seconds > 0:
                threading.Thread(target=playbooks_loop, args=(settings, stop),
                                 name="regulars-playbooks", daemon=True).start()
            # a timeout, so that a signal's handler gets to run between waits
            while not stop.wait(1.0):
                pass
        finally:
            services.stop()
    finally:
        lock.release()
    return True


def playbooks_loop(settings: Settings, stop: threading.Event) -> None:
    """Every ``[playbook_runner] interval_seconds``: one pass of the playbooks' schedule
    (enter, then run what is due), until ``stop``. A pass that fails is logged and the next
    one tries again: a claimed job whose pass died is taken again when its lease runs out."""
    from regulars.services.playbooks.runner import one_pass

    interval = settings.playbook_runner.interval_seconds
    runner, feed = bootstrap.open_playbook_runner(settings)
    try:
        while not stop.is_set():
            try:
                r = one_pass(runner, feed)
                if r.entered.entered or r.ran.ran:
                    log.info("playbooks: %d entered, %d steps run, %d failed",
                             r.entered.entered, r.ran.ran, r.ran.failed)
            except Exception:
                log.exception("playbooks: the pass failed; trying again in %s s", interval)
            if stop.wait(interval):
                break
    finally:
        runner.store.close()  # type: ignore[attr-defined]


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT (so the worker stops cleanly, between runs)."""
    stop = threading.Event()

    def handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def background_process(settings_file: str, log_level: str, parent: int) -> None:
    """``regulars serve``'s background process: the settings the parent resolved, and a
    standby when another worker holds the store's lock. It also stops when ``parent`` (the
    serve's process) is gone, killed without the chance to stop it: no orphan keeps the
    store's lock."""
    from regulars.entrypoints.http.app import read_settings

    logging.basicConfig(level=log_level.upper(), format="%(levelname)s:  [worker] %(message)s")
    stop = stop_on_signals()

    def orphaned() -> None:
        while not stop.wait(1.0):
            if os.getppid() != parent:
                stop.set()

    threading.Thread(target=orphaned, name="regulars-parent-watch", daemon=True).start()
    run_background(read_settings(Path(settings_file)), stop, wait=True, say=log.info)


@app.command("worker", help=_(
    "Run the HTTP API's background work: the live map, webhook delivery, tier events and "
    "points_expiring notices, until SIGTERM or Ctrl-C.\n\n"
    "One per store: a second worker on the same database says so and exits (or, with --wait, "
    "waits to take over). Run it beside `regulars serve --no-background`."))
def worker(
    wait: Annotated[bool, typer.Option(
        "--wait/--no-wait",
        help=_("When another worker already runs on the store: wait for it to stop and take "
               "over (a standby), or exit with code 1."))] = False,
    log_level: Annotated[str, typer.Option(help=_("Log level."))] = "info",
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    with handled():
        settings = settings_from(config, database_url)
        logging.basicConfig(level=log_level.upper(), format="%(levelname)s:  %(message)s")
        stop = stop_on_signals()
        ran = run_background(settings, stop, wait=wait,
                             say=lambda text: out.print(text, highlight=False, markup=False))
        if not ran:
            where = bootstrap.worker_lock(settings).where
            err.print(_("another background worker already runs on this store ({where}); "
                        "not starting a second one (--wait waits for it)").format(where=where),
                      highlight=False, markup=False)
            raise typer.Exit(1)
