"""``regulars serve``: the web pages and the HTTP API (uvicorn). Registered on ``main.app``
when imported.

By default the requests are served by ``[api] workers`` processes (``--workers``) and the
background work (live map, webhooks, tier events, expiry notices) runs in one more process,
started and stopped with the server (``regulars worker``'s loop). ``--no-background`` leaves
that to a ``regulars worker`` run separately; ``--in-process`` runs it in threads of the one
request process, as before issue 16.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from regulars import bootstrap
from regulars.config import Settings
from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.entrypoints.cli.worker import background_process, playbooks_loop
from regulars.i18n import _, ngettext

# the uvicorn factory each request process of ``--workers N`` (N > 1) builds its app with
APP_FACTORY = "regulars.entrypoints.http.app:app_from_environment"

# how long uvicorn waits for a request process to answer its supervisor before it replaces
# it (uvicorn's default, 5 s, is shorter than a new process's start on a busy 2-core machine:
# importing the analytics stack alone takes seconds, and it was replaced again and again)
HEALTHCHECK_SECONDS = 60


@app.command("serve", help=_(
    "Serve the web pages (sign in at /) and the HTTP API (/v1, OpenAPI docs at /docs); "
    "builds the customer map if there is none.\n\n"
    "It also delivers webhooks and checks hourly for points about to expire "
    "(api.points_expiring_check_minutes), in a background process of its own."))
def serve(
    host: Annotated[str | None, typer.Option(
        help=_("Address to listen on (default from settings: 127.0.0.1)."),
        show_default=False)] = None,
    port: Annotated[int | None, typer.Option(
        help=_("Port to listen on (default from settings: 8000)."), show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, max=64,
        help=_("Request processes (default from settings: api.workers, 1)."),
        show_default=False)] = None,
    background: Annotated[bool, typer.Option(
        "--background/--no-background",
        help=_("Run the background work (live map, webhooks, tier events, expiry notices) "
               "in a process started with the server; --no-background: run `regulars "
               "worker` yourself."))] = True,
    in_process: Annotated[bool, typer.Option(
        "--in-process",
        help=_("Run the background work in threads of the one request process instead "
               "(--workers 1 only)."))] = False,
    log_level: Annotated[str, typer.Option(help=_("uvicorn's log level."))] = "info",
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    import uvicorn

    from regulars.entrypoints.http.app import SETTINGS_FILE_VAR, create_app

    with handled():
        settings = settings_from(config, database_url)
        n = workers or settings.api.workers
        if in_process and n > 1:
            raise typer.BadParameter(
                _("--in-process runs the background work in the one request process: "
                  "it needs --workers 1"), param_hint="--in-process")
        bind_host = host or settings.api.host
        bind_port = port or settings.api.port
        out.print(_("regulars on http://{host}:{port}: the web pages at /, the API at /v1 "
                    "(docs: /docs)").format(host=bind_host, port=bind_port), highlight=False)
        _say_background(settings, n, background=background, in_process=in_process)
        if in_process:
            # the threads take the store's worker lock too: never two background workers
            lock = bootstrap.worker_lock(settings)
            own = lock.acquire()
            if not own:
                out.print(_("another background worker already runs on this store ({where}): "
                            "this server runs none").format(where=lock.where), highlight=False)
            stop = threading.Event()
            if own and settings.playbook_runner.interval_seconds > 0:
                threading.Thread(target=playbooks_loop, args=(settings, stop),
                                 name="regulars-playbooks", daemon=True).start()
            try:
                uvicorn.run(create_app(settings, background=own), host=bind_host,
                            port=bind_port, log_level=log_level)
            finally:
                stop.set()
                lock.release()
            return
        # the schema brought up to date here, once, before any child opens the store: not
        # by several processes at once
        bootstrap.open_api_store(settings).close()
        with _settings_file(settings) as file, \
                _background(file, log_level, enabled=background):
            if n == 1:
                uvicorn.run(create_app(settings, background=False), host=bind_host,
                            port=bind_port, log_level=log_level)
            else:
                os.environ[SETTINGS_FILE_VAR] = str(file)
                uvicorn.run(APP_FACTORY, factory=True, workers=n, host=bind_host,
                            port=bind_port, log_level=log_level,
                            timeout_worker_healthcheck=HEALTHCHECK_SECONDS)


def _say_background(settings: Settings, n: int, *, background: bool, in_process: bool) -> None:
    if in_process:
        where = _("in threads of the request process")
    elif background:
        where = _("in a background process")
    else:
        where = _("not here: run `regulars worker` on this store")
    out.print(ngettext("{n} request process; live map, webhooks, tier events and expiry "
                       "notices: {where}",
                       "{n} request processes; live map, webhooks, tier events and expiry "
                       "notices: {where}", n).format(n=n, where=where), highlight=False)
    if settings.api.points_expiring_check_minutes and (background or in_process):
        out.print(_("points_expiring notices: checked at start and every {n} minutes "
                    "(points expiring within {d} days)").format(
            n=settings.api.points_expiring_check_minutes,
            d=settings.api.points_expiring_notice_days), highlight=False)


@contextmanager
def _settings_file(settings: Settings) -> Iterator[Path]:
    """The resolved settings in a private temporary file, for the child processes (it may
    hold the store's password: a folder only this user reads, removed at the end)."""
    from regulars.entrypoints.http.app import write_settings

    folder = Path(tempfile.mkdtemp(prefix="regulars-serve-"))
    try:
        file = folder / "settings.json"
        write_settings(settings, file)
        yield file
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def _background(file: Path, log_level: str, *, enabled: bool) -> Iterator[None]:
    """The background process, started before the requests and stopped after them
    (SIGTERM: it finishes its current run and releases the store's lock)."""
    if not enabled:
        yield
        return
    # spawn: a fresh interpreter, not a fork of this one (no threads or pools copied)
    child = multiprocessing.get_context("spawn").Process(
        target=background_process, args=(str(file), log_level, os.getpid()),
        name="regulars-background", daemon=False)
    child.start()
    try:
        yield
    finally:
        if child.is_alive():
            child.terminate()
        child.join(60)
        if child.is_alive():
            child.kill()
            child.join(5)
