"""Importing a file from the web page: upload, preview, confirm, save the mapping as a profile.

One door for data: the preview is the import itself run dry (``regulars import --dry-run
--quarantine``) and the confirmation is the import run for real, both through the same
function as the CLI (:func:`regulars.api.import_file`, given here as ``run_import``), so the
page recognises and refuses exactly what ``regulars import`` does. What this module adds is
the waiting between the steps:

- an upload is copied, in chunks, to a folder of its own under ``root`` (never held in
  memory whole) and recorded in the store's ``web_imports`` table with a one-time token;
- the reading options the owner chooses on the preview (a column's field, the encoding, the
  decimal mark, the date format, what a negative amount is, a saved profile) are kept with it;
- confirming moves it from ``uploaded`` to ``importing`` in one statement, so a second
  confirmation (a double click, a reload, another tab) never imports it twice; once done, the
  uploaded file is removed and the result kept until the upload expires;
- uploads older than ``keep`` are removed with their folders (:meth:`WebImports.clean`, run on
  every upload).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Protocol

from regulars.domain.errors import InputError, Problem, RejectedFileError
from regulars.domain.headers import HEADERS, header_key
from regulars.domain.tables import IMPORT_ORDER, SPECS, Column, Kind
from regulars.i18n import _, fmt_number
from regulars.services import profiles
from regulars.services.importing import ImportReport

#: What the import reads, by the file name's ending (the import's own list).
SUFFIXES = (".csv", ".tsv", ".tab", ".txt", ".dat", ".parquet", ".pq", ".jsonl", ".ndjson",
            ".json")
#: Spreadsheets the import does not read: refused with what to do instead.
SPREADSHEETS = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")
#: The encodings offered on the page (None: detected, as the CLI does without --encoding).
ENCODINGS = ("utf-8", "cp1251", "cp1257", "latin-1", "utf-16")
#: Rows of the file shown as they are read.
SAMPLE_ROWS = 10
#: The file a preview writes the rows with problems to (and the import, when it sets them aside).
PROBLEMS_FILE = "problems.csv"
CHUNK = 1 << 20
PROFILE_NAME = re.compile(r"^[\w .@-]{1,64}$")

UPLOADED, IMPORTING, DONE = "uploaded", "importing", "done"


class UploadRefusedError(InputError):
    """The upload is not a file the import can read (said in words for the upload page)."""


class AlreadyConfirmedError(InputError):
    """The upload is being imported, or was: a second confirmation imports nothing."""

    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


class PendingImports(Protocol):
    """The store's ``web_imports`` rows."""

    def add_web_import(self, record: dict[str, Any]) -> None: ...
    def web_import(self, token: str) -> dict[str, Any] | None: ...
    def update_web_import(self, token: str, values: dict[str, Any], *,
                          state: str | None = None) -> bool: ...
    def expired_web_imports(self, now: datetime) -> list[dict[str, Any]]: ...
    def delete_web_import(self, token: str) -> None: ...


class RunImport(Protocol):
    """:func:`regulars.api.import_file` with the server's settings and store."""

    def __call__(self, kind: Kind, path: Path, *, options: Any, dry_run: bool,
                 quarantine: Path | None, sample_rows: int,
                 profile: str | None) -> ImportReport: ...


@dataclass(frozen=True)
class FileShape:
    """What reading a file says before any kind is chosen: its columns and rows."""

    columns: list[str]
    rows: int


@dataclass(frozen=True)
class Upload:
    """A file uploaded and not yet expired."""

    token: str
    user_id: str
    kind: Kind
    file_name: str
    folder: Path
    size: int
    options: dict[str, Any]
    state: str
    created_at: datetime
    expires_at: datetime
    result: dict[str, Any] | None

    @property
    def path(self) -> Path:
        return self.folder / ("upload" + Path(self.file_name).suffix.lower())

    @property
    def problems_file(self) -> Path:
        return self.folder / PROBLEMS_FILE

    @property
    def mapping(self) -> dict[str, str]:
        """Our column -> the file's, as chosen on the preview (empty: all recognised)."""
        chosen: dict[str, str] = self.options.get("mapping") or {}
        return chosen

    @property
    def profile(self) -> str | None:
        name = self.options.get("profile")
        return str(name) if name else None


@dataclass
class Preview:
    """The import of an upload, run dry: what it would do, or why it cannot."""

    upload: Upload
    fields: list[Column]
    file_columns: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    """Our column -> the file's, as the import read them."""
    report: ImportReport | None = None
    error: str | None = None
    """Why the file cannot be imported at all (a column missing, …): no confirmation."""
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    profiles: list[str] = field(default_factory=list)
    """Saved profiles for this kind whose columns the file has (offered)."""

    @property
    def field_of(self) -> dict[str, str]:
        """The file's column -> our column it is read as."""
        return {theirs: ours for ours, theirs in self.columns.items()}

    @property
    def ignored(self) -> list[str]:
        used = set(self.columns.values())
        return [c for c in self.file_columns if c not in used]

    @property
    def can_import(self) -> bool:
        return self.report is not None and self.report.rows_added + (
            self.report.returns.rows_added if self.report.returns else 0) > 0


def recognise_kind(file_name: str, columns: list[str]) -> Kind | None:
    """The kind of a file: named after it (``orders.csv``), else the only kind whose required
    columns its headers all name and which recognises most of them; None when that is not
    one kind."""
    stem = Path(file_name).name.split(".")[0].lower()
    for kind in Kind:
        if stem == kind.value:
            return kind
    keys = {header_key(c) for c in columns}
    scores: dict[Kind, int] = {}
    for kind in IMPORT_ORDER:
        tiers = HEADERS.get(kind, {})
        found = {col.name for col in SPECS[kind].columns
                 if header_key(col.name) in keys or any(
                     header_key(h) in keys for tier in tiers.get(col.name, ()) for h in tier)}
        if all(name in found for name in SPECS[kind].required):
            scores[kind] = len(found)
    if not scores:
        return None
    best = max(scores.values())
    winners = [k for k, s in scores.items() if s == best]
    return winners[0] if len(winners) == 1 else None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class WebImports:
    """Uploads waiting for their owner, and the import run on them.

    ``run_import``: the CLI's import (dry or not); ``read_shape``: read a file's columns and
    rows as the import would (raising its :class:`~regulars.domain.errors.InputError` for a
    file that is not a table); ``read_options``: the import's ``ReadOptions`` from keywords;
    ``profiles``: the store's saved import profiles; ``root``: the folder uploads are kept
    in; ``keep``: how long an upload (and then its result) is kept; ``max_bytes``: the
    largest upload.
    """

    pending: PendingImports
    run_import: RunImport
    read_shape: Callable[[Path, Any], FileShape]
    read_options: Callable[..., Any]
    profiles: profiles.Profiles
    root: Path
    keep: timedelta = timedelta(hours=1)
    max_bytes: int = 20 << 20
    now: Callable[[], datetime] = _now

    # -- upload --------------------------------------------------------------------------

    def receive(self, user_id: str, file_name: str, stream: IO[bytes],
                kind: Kind | None, encoding: str | None = None) -> Upload:
        """Copy ``stream`` to a folder of its own and record it; ``kind`` None: recognised.

        Raises :class:`UploadRefusedError` (nothing kept) for a file with no name, a
        spreadsheet, a format the import does not read, an empty or too large file, a file
        that does not read as a table, or one whose kind cannot be told."""
        self.clean()
        name = Path(file_name.replace("\\", "/")).name.strip()
        if not name:
            raise UploadRefusedError(_("Choose a file to upload."))
        suffix = Path(name).suffix.lower()
        if suffix in SPREADSHEETS:
            raise UploadRefusedError(_(
                "{name} is a spreadsheet workbook, which the import does not read. Save the "
                "sheet as CSV (in Excel: File → Save as → CSV UTF-8) and upload that.").format(
                    name=name))
        if suffix not in SUFFIXES:
            raise UploadRefusedError(_(
                "{name}: the import reads CSV, TSV, text, Parquet and JSON Lines files "
                "(.csv, .tsv, .txt, .parquet, .jsonl).").format(name=name))
        if encoding is not None:
            _check_encoding(encoding)
        token = secrets.token_urlsafe(24)
        folder = self.root / token
        folder.mkdir(parents=True, mode=0o700)
        target = folder / ("upload" + suffix)
        try:
            size = self._copy(stream, target, name)
            options = {"encoding": encoding} if encoding else {}
            try:
                shape = self.read_shape(target, self.read_options(encoding=encoding))
            except InputError as e:
                raise UploadRefusedError(_named(str(e), target, name)) from e
            if shape.rows == 0:
                raise UploadRefusedError(_("{name} has no data rows: only a header, or "
                                           "nothing.").format(name=name))
            if kind is None:
                kind = recognise_kind(name, shape.columns)
                if kind is None:
                    raise UploadRefusedError(_(
                        "The kind of table in {name} cannot be told from its name or "
                        "headers: choose it.").format(name=name))
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        now = self.now()
        record = {"token": token, "user_id": user_id, "kind": kind.value, "file_name": name,
                  "folder": str(folder), "size": size, "options": json.dumps(options),
                  "state": UPLOADED, "created_at": now, "expires_at": now + self.keep,
                  "result": None}
        self.pending.add_web_import(record)
        return _upload(record)

    def _copy(self, stream: IO[bytes], target: Path, name: str) -> int:
        size = 0
        with target.open("wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > self.max_bytes:
                    raise UploadRefusedError(self.too_large(name))
                out.write(chunk)
        if size == 0:
            raise UploadRefusedError(_("{name} is empty.").format(name=name))
        return size

    def too_large(self, name: str) -> str:
        return _("{name} is larger than the {limit} MB the server takes ([web] "
                 "import_max_mb). Import it with: regulars import").format(
                     name=name, limit=fmt_number(self.max_bytes / (1 << 20), 0))

    def get(self, token: str, user_id: str) -> Upload | None:
        """The upload ``token`` of ``user_id``; None when there is none, it is another
        user's, or it has expired."""
        row = self.pending.web_import(token) if token else None
        if row is None or row["user_id"] != user_id or row["expires_at"] < self.now():
            return None
        return _upload(row)

    # -- preview -------------------------------------------------------------------------

    def options_of(self, upload: Upload) -> Any:
        kept = {k: v for k, v in upload.options.items() if k != "profile"}
        return self.read_options(**kept)

    def preview(self, upload: Upload) -> Preview:
        """The import run dry on the upload with the options chosen; the rows with problems
        are set aside (to :attr:`Upload.problems_file`) so that the rest is counted."""
        spec = SPECS[upload.kind]
        shown = Preview(upload=upload, fields=list(spec.columns))
        options = self.options_of(upload)
        upload.problems_file.unlink(missing_ok=True)  # the last preview's
        try:
            report = self.run_import(upload.kind, upload.path, options=options, dry_run=True,
                                     quarantine=upload.problems_file,
                                     sample_rows=SAMPLE_ROWS, profile=upload.profile)
        except RejectedFileError as e:  # problems of the whole file: set aside, they stay
            shown.error = _named(str(e).splitlines()[0], upload.path, upload.file_name)
            shown.problems, shown.problems_total = e.problems, e.total
        except InputError as e:
            shown.error = _named(str(e), upload.path, upload.file_name)
        else:
            shown.report = report
            shown.columns = dict(report.columns)
            shown.file_columns = list(report.file_columns)
            shown.problems, shown.problems_total = report.problems, report.problems_total
        if not shown.file_columns:
            with contextlib.suppress(InputError):
                shown.file_columns = self.read_shape(upload.path, options).columns
            shown.columns = guess_columns(upload.kind, shown.file_columns, upload.mapping)
        if upload.profile is None:
            shown.profiles = self.matching_profiles(upload.kind, shown.file_columns)
        return shown

    def matching_profiles(self, kind: Kind, file_columns: list[str]) -> list[str]:
        """Saved profiles for ``kind`` (or any kind) that map columns, all in the file."""
        have = set(file_columns)
        found = []
        for p in self.profiles.profiles():
            mapping = (p.get("options") or {}).get("mapping") or {}
            if p.get("kind") in (None, kind.value) and mapping and set(
                    mapping.values()) <= have:
                found.append(str(p["name"]))
        return found

    def choose(self, upload: Upload, *, fields: dict[str, str], reading: dict[str, Any],
               profile: str | None, kind: Kind | None = None) -> dict[str, str]:
        """Keep the options chosen on the preview: ``fields`` the file's column -> our column
        ("" for none), ``reading`` the reading options (``encoding``, ``decimal_comma``,
        ``date_format``, ``credit_notes``), ``profile`` a saved profile to read it as,
        ``kind`` another kind of table (the fields chosen for this one are then dropped).
        Returns the errors by form field (nothing kept then)."""
        kind = kind or upload.kind
        errors: dict[str, str] = {}
        mapping = _mapping(kind, fields if kind is upload.kind else {}, errors)
        options: dict[str, Any] = {"mapping": mapping, **_reading(reading, errors)}
        if profile:
            if self.profiles.profile(profile) is None:
                errors["profile"] = _("no import profile '{name}'").format(name=profile)
            options["profile"] = profile
        if not errors:
            self.pending.update_web_import(
                upload.token, {"options": json.dumps(options), "kind": kind.value},
                state=UPLOADED)
        return errors

    # -- confirm -------------------------------------------------------------------------

    def confirm(self, upload: Upload, *, set_aside: bool) -> dict[str, Any]:
        """Import the upload for real (once: :class:`AlreadyConfirmedError` for a second
        time). ``set_aside``: the rows with problems are set aside, as the preview said,
        and the others imported; else all or nothing. A refusal (the store changed since
        the preview, say) leaves the upload as it was, to be previewed again."""
        if not self.pending.update_web_import(upload.token, {"state": IMPORTING},
                                              state=UPLOADED):
            row = self.pending.web_import(upload.token)
            raise AlreadyConfirmedError(row["state"] if row else DONE)
        options = self.options_of(upload)
        try:
            report = self.run_import(
                upload.kind, upload.path, options=options, dry_run=False,
                quarantine=upload.problems_file if set_aside else None, sample_rows=0,
                profile=upload.profile)
        except BaseException:
            self.pending.update_web_import(upload.token, {"state": UPLOADED})
            raise
        result = result_of(report, profiles.from_import(self._applied(options, upload),
                                                       report))
        upload.path.unlink(missing_ok=True)
        self.pending.update_web_import(upload.token, {
            "state": DONE, "result": json.dumps(result, default=str),
            "expires_at": self.now() + self.keep})
        return result

    def _applied(self, options: Any, upload: Upload) -> Any:
        """``options`` completed by the profile the upload was read with."""
        if upload.profile is None:
            return options
        return profiles.apply(options, profiles.load(self.profiles, upload.profile,
                                                     upload.kind.value))

    def save_profile(self, upload: Upload, name: str) -> str | None:
        """Save how the confirmed upload was read as the profile ``name``; an error message
        (nothing saved) for a name that will not do."""
        name = name.strip()
        if not PROFILE_NAME.match(name):
            return _("1 to 64 letters, digits, spaces and . _ @ -")
        if upload.result is None:
            return _("Import the file first.")
        self.profiles.save_profile(name, upload.kind.value, upload.result["profile"])
        return None

    # -- expiry --------------------------------------------------------------------------

    def clean(self) -> int:
        """Remove the uploads (and their folders) that have expired; how many. One being
        imported is left for a day, in case the import still runs."""
        now = self.now()
        removed = 0
        for row in self.pending.expired_web_imports(now):
            if row["state"] == IMPORTING and row["expires_at"] > now - timedelta(days=1):
                continue
            folder = Path(row["folder"])
            if folder.parent == self.root:  # never anything outside the uploads' folder
                shutil.rmtree(folder, ignore_errors=True)
            self.pending.delete_web_import(row["token"])
            removed += 1
        return removed


def result_of(report: ImportReport, profile: dict[str, Any]) -> dict[str, Any]:
    """What the result page shows, and the profile the import would save (JSON)."""
    returns = report.returns
    return {
        "rows_read": report.rows_read,
        "rows_added": report.rows_added,
        "rows_already_present": report.rows_already_present,
        "rows_duplicate_in_file": report.rows_duplicate_in_file,
        "rows_blacklisted": report.rows_blacklisted,
        "rows_set_aside": report.rows_set_aside,
        "customers_created": report.customers_created,
        "customers_completed": report.customers_completed,
        "merges": len(report.merges),
        "credit_notes": report.credit_notes,
        "returns_added": returns.rows_added if returns else 0,
        "import_id": report.import_id,
        "columns": report.columns,
        "profile": profile,
    }


def _mapping(kind: Kind, fields: dict[str, str], errors: dict[str, str]) -> dict[str, str]:
    """Our column -> the file's from the page's choices (the file's column -> ours)."""
    names = {c.name for c in SPECS[kind].columns}
    mapping: dict[str, str] = {}
    for theirs, ours in fields.items():
        if not ours:
            continue
        if ours not in names:
            errors[theirs] = _("{kind} have no column {column}").format(
                kind=kind.value, column=ours)
        elif ours in mapping:
            errors[theirs] = _("{column} is already read from {other}").format(
                column=ours, other=mapping[ours])
        else:
            mapping[ours] = theirs
    return mapping


def _reading(reading: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """The reading options chosen on the page, as the import's ``ReadOptions`` fields."""
    options: dict[str, Any] = {}
    encoding = reading.get("encoding") or None
    if encoding is not None:
        try:
            _check_encoding(encoding)
        except UploadRefusedError as e:
            errors["encoding"] = str(e)
        options["encoding"] = encoding
    if reading.get("decimal_comma") is not None:
        options["decimal_comma"] = bool(reading["decimal_comma"])
    date_format = (reading.get("date_format") or "").strip() or None
    if date_format is not None:
        if "%" not in date_format or len(date_format) > 40:
            errors["date_format"] = _("a date format such as %d.%m.%Y")
        options["date_format"] = date_format
    credit = reading.get("credit_notes") or None
    if credit not in (None, "reject", "returns"):
        errors["credit_notes"] = _("reject or returns")
    elif credit:
        options["credit_notes"] = credit
    return options


def guess_columns(kind: Kind, file_columns: list[str],
                  chosen: dict[str, str]) -> dict[str, str]:
    """Our column -> the file's for a file the import refused before saying how it read
    them: the ones chosen, then our own names, then the first tier of recognised headers
    (:mod:`regulars.domain.headers`) with one column of the file."""
    found = {ours: theirs for ours, theirs in chosen.items() if theirs in file_columns}
    by_key: dict[str, list[str]] = {}
    for c in file_columns:
        by_key.setdefault(header_key(c), []).append(c)
    for col in SPECS[kind].columns:
        if col.name in found:
            continue
        tiers = ((col.name,), *HEADERS.get(kind, {}).get(col.name, ()))
        for tier in tiers:
            hits = [c for h in tier for c in by_key.get(header_key(h), [])
                    if c not in found.values()]
            if hits:
                if len(set(hits)) == 1:
                    found[col.name] = hits[0]
                break
    return found


def _upload(row: dict[str, Any]) -> Upload:
    result = row.get("result")
    return Upload(token=row["token"], user_id=row["user_id"], kind=Kind(row["kind"]),
                  file_name=row["file_name"], folder=Path(row["folder"]), size=int(row["size"]),
                  options=json.loads(row["options"] or "{}"), state=row["state"],
                  created_at=row["created_at"], expires_at=row["expires_at"],
                  result=json.loads(result) if result else None)


def _named(message: str, path: Path, name: str) -> str:
    """A message of the import about ``path`` (the upload's folder), naming the file as the
    owner knows it."""
    return message.replace(str(path), name).replace(str(path.resolve()), name)


def _check_encoding(encoding: str) -> None:
    try:
        codecs.lookup(encoding)
    except LookupError as e:
        raise UploadRefusedError(_("unknown encoding '{enc}'").format(enc=encoding)) from e
