"""Reading playbooks files (issue 20): the shipped sets inside the package, a business's own
files, and the playbook tables of ``regulars.toml``. TOML syntax errors become the playbooks'
own error, naming the file."""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

from regulars.domain.playbooks.parse import (
    DEFINITION_TABLES,
    PlaybookError,
    PlaybooksInvalid,
)
from regulars.i18n import _
from regulars.services.playbooks.definitions import Document

SHIPPED_SETS = ("communication_plan", "retention")


def shipped_documents() -> list[Document]:
    """The sets that come with regulars (``src/regulars/playbooks/*.toml``)."""
    folder = files("regulars") / "playbooks"
    return [Document(f"{name}.toml", tomllib.loads((folder / f"{name}.toml").read_text("utf-8")))
            for name in SHIPPED_SETS]


def _load(path: Path, label: str | None = None) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        message = _("not valid TOML: {error}").format(error=exc)
    except OSError as exc:
        message = _("cannot be read: {error}").format(error=exc.strerror or exc)
    raise PlaybooksInvalid([PlaybookError(label or str(path), None, None, message)])


def read_files(paths: Sequence[Path | str], base: Path | None = None,
               ) -> tuple[list[Document], list[PlaybookError]]:
    """Playbooks files of the business, and what is wrong with those that cannot be read; a
    relative path is relative to ``base`` (None: the working directory)."""
    documents: list[Document] = []
    errors: list[PlaybookError] = []
    for name in paths:
        path = Path(name)
        full = path if path.is_absolute() or base is None else base / path
        try:
            documents.append(Document(str(path), _load(full, str(path))))
        except PlaybooksInvalid as exc:
            errors += exc.errors
    return documents, errors


def file_documents(paths: Sequence[Path | str], base: Path | None = None) -> list[Document]:
    """:func:`read_files`, raising every unreadable file's problem at once."""
    documents, errors = read_files(paths, base)
    if errors:
        raise PlaybooksInvalid(errors)
    return documents


def config_document(path: Path) -> Document:
    """The playbook and template tables of ``regulars.toml`` (the settings' loader has read
    the rest, and refused what it does not know)."""
    data = _load(path, path.name)
    return Document(path.name, {k: v for k, v in data.items() if k in DEFINITION_TABLES},
                    definitions_only=False)
