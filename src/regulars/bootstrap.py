"""The one place that wires adapters to services from Settings (the composition root)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from regulars.adapters.frames import as_arrow, is_frame
from regulars.adapters.staging import ReadOptions, Staging, normalise_email, normalise_phone
from regulars.adapters.store import SqlStore
from regulars.config import Settings, load_settings
from regulars.domain.tables import Kind
from regulars.services import importing

__all__ = ["ReadOptions", "Settings", "import_file", "load_settings", "open_store"]


def open_store(settings: Settings) -> SqlStore:
    return SqlStore(settings.database_url)


def read_blacklist(settings: Settings, path: Path | None = None) -> importing.Blacklist | None:
    path = path or settings.import_.blacklist
    if path is None:
        return None
    country = settings.import_.default_phone_country
    return importing.read_blacklist(
        Path(path),
        normalise_email=normalise_email,
        normalise_phone=lambda v: normalise_phone(v, country),
    )


def import_file(
    kind: Kind | str,
    path: Path | str | Any,
    *,
    settings: Settings | None = None,
    options: ReadOptions | None = None,
    blacklist: Path | None = None,
    dry_run: bool = False,
    strict_customers: bool = False,
    progress: importing.Progress | None = None,
    store: Any = None,
) -> importing.ImportReport:
    """Import one file into the store of ``settings``; see :mod:`regulars.services.importing`."""
    settings = settings or load_settings()
    if is_frame(path):
        # an in-memory table goes through the same checks as a file: write it as Parquet
        with tempfile.TemporaryDirectory(prefix="regulars-") as tmp:
            file = Path(tmp) / f"{Kind(kind).value}.parquet"
            pq.write_table(as_arrow(path), file)
            return import_file(kind, file, settings=settings, options=options,
                               blacklist=blacklist, dry_run=dry_run,
                               strict_customers=strict_customers, progress=progress, store=store)
    options = options or ReadOptions(currency=settings.currency)
    if options.currency is None:
        options = ReadOptions(**{**options.__dict__, "currency": settings.currency})
    with Staging(default_phone_country=settings.import_.default_phone_country) as staging:
        return importing.import_file(
            store=store or open_store(settings),
            staging=staging,
            kind=Kind(kind),
            path=Path(path),
            options=options,
            max_problems=settings.import_.max_errors,
            batch_rows=settings.import_.batch_rows,
            blacklist=read_blacklist(settings, blacklist),
            strict_customers=strict_customers,
            dry_run=dry_run,
            progress=progress,
        )
