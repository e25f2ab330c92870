"""The rules of the import page's service (services/web_imports.py) with the store, the import
and the reader replaced by fakes: what an upload refuses, how the kind and the columns are
recognised, what the owner's choices become, confirming once, and expiry."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from regulars.domain.errors import FileFormatError
from regulars.domain.tables import Kind
from regulars.services import web_imports as wi
from regulars.services.importing import ImportReport

NOW = datetime(2026, 12, 8, 9, 0)


class Pending:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def add_web_import(self, record: dict[str, Any]) -> None:
        self.rows[record["token"]] = dict(record)

    def web_import(self, token: str) -> dict[str, Any] | None:
        row = self.rows.get(token)
        return dict(row) if row else None

    def update_web_import(self, token: str, values: dict[str, Any], *,
                          state: str | None = None) -> bool:
        row = self.rows.get(token)
        if row is None or (state is not None and row["state"] != state):
            return False
        row.update(values)
        return True

    def expired_web_imports(self, now: datetime) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows.values() if r["expires_at"] < now]

    def delete_web_import(self, token: str) -> None:
        self.rows.pop(token, None)


class Profiles:
    def __init__(self) -> None:
        self.saved: dict[str, dict[str, Any]] = {}

    def save_profile(self, name: str, kind: str | None, options: dict[str, Any]) -> None:
        self.saved[name] = {"name": name, "kind": kind, "options": options}

    def profile(self, name: str) -> dict[str, Any] | None:
        return self.saved.get(name)

    def profiles(self) -> list[dict[str, Any]]:
        return list(self.saved.values())

    def delete_profile(self, name: str) -> bool:
        return self.saved.pop(name, None) is not None


class Options:
    """The import's ReadOptions, as far as the service needs them."""

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update({"format": None, "delimiter": None, "header": None,
                              "columns": (), "encoding": None, "mapping": {},
                              "date_format": None, "decimal_comma": None, "currency": None,
                              "credit_notes": None, **kw})


def shape(columns: list[str], rows: int = 3):
    def read(path: Path, options: Any) -> wi.FileShape:
        if path.read_bytes().startswith(b"\xff\xfe\xfd"):
            raise FileFormatError(f"{path}: cannot tell the text encoding")
        return wi.FileShape(columns, rows)
    return read


@pytest.fixture
def service(tmp_path):
    calls: list[dict[str, Any]] = []

    def run_import(kind, path, **kw):
        calls.append({"kind": kind, "path": path, **kw})
        return ImportReport(kind=kind, path=str(path), rows_read=3, rows_added=3,
                            columns={"order_id": "Номер"}, file_columns=["Номер"],
                            read_as={"date_format": "%d.%m.%Y", "decimal": "comma"},
                            dry_run=kw["dry_run"])

    made = wi.WebImports(pending=Pending(), run_import=run_import,
                         read_shape=shape(["Номер", "Код клиента", "Дата", "Сумма"]),
                         read_options=Options, profiles=Profiles(), root=tmp_path / "up",
                         keep=timedelta(minutes=60), max_bytes=100, now=lambda: NOW)
    made.root.mkdir()
    made.calls = calls  # type: ignore[attr-defined]
    return made


def test_an_upload_is_copied_to_a_folder_of_its_own_and_recorded(service):
    up = service.receive("u1", "C:\\exports\\orders.csv", io.BytesIO(b"a;b\n1;2\n"), None)
    assert up.kind is Kind.ORDERS  # from the name
    assert up.file_name == "orders.csv" and up.size == 8
    assert up.path == service.root / up.token / "upload.csv"
    assert up.path.read_bytes() == b"a;b\n1;2\n"
    assert (up.state, up.expires_at) == ("uploaded", NOW + timedelta(minutes=60))
    assert service.get(up.token, "u1") == up
    assert service.get(up.token, "someone else") is None


@pytest.mark.parametrize(("name", "content", "words"), [
    ("", b"x", "Choose a file"),
    ("book.xlsx", b"x", "spreadsheet"),
    ("a.png", b"x", "reads CSV"),
    ("a.csv", b"", "is empty"),
    ("a.csv", b"x" * 101, "larger than"),
    ("a.csv", b"\xff\xfe\xfd", "cannot tell the text encoding"),
])
def test_an_upload_the_import_cannot_read_is_refused_and_nothing_is_kept(service, name,
                                                                         content, words):
    with pytest.raises(wi.UploadRefusedError, match=words) as caught:
        service.receive("u1", name, io.BytesIO(content), Kind.ORDERS)
    assert str(service.root) not in str(caught.value)  # the file's name, not the folder
    assert list(service.root.iterdir()) == []
    assert service.pending.rows == {}


def test_a_file_with_only_a_header_is_refused(service):
    service.read_shape = shape(["a"], rows=0)
    with pytest.raises(wi.UploadRefusedError, match="no data rows"):
        service.receive("u1", "a.csv", io.BytesIO(b"a\n"), Kind.ORDERS)


def test_the_kind_is_the_one_whose_required_columns_the_headers_name_best():
    assert wi.recognise_kind("export.csv", ["Номер", "Код клиента", "Дата", "Сумма"]) \
        is Kind.ORDERS
    assert wi.recognise_kind("x.csv", ["Код клиента", "ФИО", "Телефон"]) is Kind.CUSTOMERS
    assert wi.recognise_kind("returns.2025.csv", ["whatever"]) is Kind.RETURNS
    assert wi.recognise_kind("x.csv", ["a", "b"]) is None
    # a customer and a date: feedback's required columns (2) beat customers' (1); the
    # preview names the kind, and the owner may change it there
    assert wi.recognise_kind("x.csv", ["Код клиента", "Дата"]) is Kind.FEEDBACK


def test_a_refused_files_columns_are_guessed_as_the_import_would_read_them():
    cols = ["Номер", "Клиент", "Покупатель", "Дата", "Деньги"]
    # Клиент and Покупатель both in the second tier of customer_id: ambiguous, not guessed
    assert wi.guess_columns(Kind.ORDERS, cols, {"amount": "Деньги"}) == {
        "amount": "Деньги", "order_id": "Номер", "ordered_at": "Дата"}


def test_the_owners_choices_become_reading_options_or_errors_by_field(service):
    up = service.receive("u1", "orders.csv", io.BytesIO(b"x"), None)
    errors = service.choose(up, fields={"Номер": "order_id", "Код клиента": "order_id",
                                        "Дата": "nonsense"},
                            reading={"encoding": "klingon", "date_format": "dd.mm"},
                            profile="missing")
    assert errors == {"Код клиента": "order_id is already read from Номер",
                      "Дата": "orders have no column nonsense",
                      "encoding": "unknown encoding 'klingon'",
                      "date_format": "a date format such as %d.%m.%Y",
                      "profile": "no import profile 'missing'"}
    assert service.get(up.token, "u1").options == {}  # nothing kept
    assert service.choose(up, fields={"Номер": "order_id", "Дата": ""},
                          reading={"encoding": "cp1251", "decimal_comma": True,
                                   "date_format": "%d.%m.%Y", "credit_notes": "returns"},
                          profile=None) == {}
    kept = service.get(up.token, "u1")
    assert kept.options == {"mapping": {"order_id": "Номер"}, "encoding": "cp1251",
                            "decimal_comma": True, "date_format": "%d.%m.%Y",
                            "credit_notes": "returns"}
    # another kind drops the columns chosen for this one
    assert service.choose(kept, fields={"Номер": "order_id"}, reading={}, profile=None,
                          kind=Kind.RETURNS) == {}
    again = service.get(up.token, "u1")
    assert (again.kind, again.options) == (Kind.RETURNS, {"mapping": {}})


def test_the_preview_is_the_import_run_dry_with_the_rows_with_problems_set_aside(service):
    up = service.receive("u1", "orders.csv", io.BytesIO(b"x"), None)
    shown = service.preview(up)
    call = service.calls[-1]
    assert (call["dry_run"], call["quarantine"], call["sample_rows"]) == (
        True, up.problems_file, wi.SAMPLE_ROWS)
    assert shown.error is None and shown.can_import
    assert shown.field_of == {"Номер": "order_id"}


def test_a_file_is_imported_once_and_its_upload_removed(service):
    up = service.receive("u1", "orders.csv", io.BytesIO(b"x"), None)
    result = service.confirm(up, set_aside=True)
    assert service.calls[-1]["dry_run"] is False
    assert service.calls[-1]["quarantine"] == up.problems_file
    assert result["rows_added"] == 3
    assert result["profile"]["mapping"] == {"order_id": "Номер"}
    assert result["profile"]["date_format"] == "%d.%m.%Y"
    assert not up.path.exists()
    with pytest.raises(wi.AlreadyConfirmedError) as caught:
        service.confirm(up, set_aside=True)
    assert caught.value.state == "done"
    assert len([c for c in service.calls if not c["dry_run"]]) == 1
    done = service.get(up.token, "u1")
    assert service.save_profile(done, "<b>") is not None
    assert service.save_profile(done, "till export") is None
    assert service.profiles.saved["till export"]["options"]["mapping"] == {
        "order_id": "Номер"}
    # offered next time for a file with the same columns
    assert service.matching_profiles(Kind.ORDERS, ["Номер", "Дата"]) == ["till export"]
    assert service.matching_profiles(Kind.ORDERS, ["Дата"]) == []
    assert service.matching_profiles(Kind.RETURNS, ["Номер"]) == []


def test_a_refused_import_leaves_the_upload_to_be_previewed_again(service):
    up = service.receive("u1", "orders.csv", io.BytesIO(b"x"), None)

    def refuse(*a, **kw):
        raise FileFormatError("the store changed")

    service.run_import = refuse
    with pytest.raises(FileFormatError):
        service.confirm(up, set_aside=False)
    assert service.get(up.token, "u1").state == "uploaded"


def test_expired_uploads_are_removed_with_their_folders(service):
    old = service.receive("u1", "orders.csv", io.BytesIO(b"x"), None)
    service.now = lambda: NOW + timedelta(minutes=61)
    assert service.get(old.token, "u1") is None  # expired, even before it is cleaned
    fresh = service.receive("u1", "orders.csv", io.BytesIO(b"x"), None)  # cleans
    assert old.token not in service.pending.rows and not old.folder.exists()
    assert fresh.folder.exists()
