"""The import page's imports, run in a process of their own.

The import reads and writes a SQLite store through ADBC, whose driver carries its own copy of
SQLite, while the server's requests use Python's ``sqlite3``. Two copies of SQLite in one
process, on one file, break each other's POSIX locks (closing a file releases every lock the
process holds on it) and can corrupt the store: https://www.sqlite.org/howtocorrupt.html
(§2.2.1). So the page runs :func:`regulars.api.import_file` — exactly what ``regulars
import`` runs, in a process of its own as the CLI is — in a child process (one per server
process, started on first use, kept for the next import). Its refusals come back as values
(the import's errors do not all survive pickling) and are raised again here.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from regulars import api, i18n
from regulars.domain.errors import InputError, RejectedFileError
from regulars.domain.tables import Kind
from regulars.services.importing import ImportReport


def _in_child(settings: api.Settings, lang: str, kind: str, path: str, options: Any,
              dry_run: bool, quarantine: str | None, sample_rows: int,
              profile: str | None) -> tuple[str, Any]:
    with i18n.use_language(lang):
        try:
            report = api.import_file(kind, Path(path), settings=settings, options=options,
                                     dry_run=dry_run, quarantine=quarantine,
                                     sample_rows=sample_rows, profile=profile)
        except RejectedFileError as e:
            return "rejected", (e.path, e.problems, e.total, str(e))
        except InputError as e:
            return "refused", str(e)
    return "done", report


def _ready() -> None:
    """Nothing: submitted once so that the child starts (and imports the import's modules)
    while the owner is still choosing a file."""


class ImportProcess:
    """Imports for ``settings`` in one child process (spawned, so it shares nothing)."""

    def __init__(self, settings: api.Settings) -> None:
        self.settings = settings
        self.pool = self._new_pool()
        self.pool.submit(_ready)

    @staticmethod
    def _new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=1,
                                   mp_context=multiprocessing.get_context("spawn"))

    def __call__(self, kind: Kind, path: Path, *, options: Any, dry_run: bool,
                 quarantine: Path | None, sample_rows: int,
                 profile: str | None) -> ImportReport:
        try:
            outcome, value = self.pool.submit(
                _in_child, self.settings, i18n.current_language(), kind.value, str(path),
                options, dry_run, str(quarantine) if quarantine else None, sample_rows,
                profile).result()
        except BrokenProcessPool as e:
            # the child died (out of memory, killed): a new one for the next import; its
            # transaction was never committed
            self.pool = self._new_pool()
            raise InputError(i18n._(
                "The import stopped before it finished (its process ended); nothing was "
                "written. Try again, or import a very large file with: regulars import")) from e
        if outcome == "rejected":
            raise RejectedFileError(*value)
        if outcome == "refused":
            raise InputError(value)
        report: ImportReport = value
        return report

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
