"""The import page over HTTP, on a real server: upload, the preview (the CLI's import run
dry), confirming once, the result, a profile saved and offered, and every refusal of the
upload as a 422 on the upload page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ...support.web import PASSWORD, csrf_token

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

ORDERS = (
    "Номер;Код клиента;Дата;Сумма\n"
    "A1;K1;01.03.2025;1 200,50 руб.\n"
    "A2;K2;02.03.2025;300,00 руб.\n"
    "A3;K1;завтра;450,00 руб.\n"
    "A4;K3;04.03.2025;99,90 руб.\n"
)
TOKEN_URL = re.compile(r"^/import/([\w-]+)$")


@pytest.fixture
def api_settings(store_url: str) -> Any:
    from regulars import bootstrap

    return bootstrap.load_settings(database_url=store_url,
                                   api={"live_map": False, "rate_limit": 100_000,
                                        "rate_burst": 100_000, "max_body_bytes": 100_000},
                                   web={"import_max_mb": 1})


def upload(client, name: str, content: bytes | str, kind: str = "", **fields: str):
    token = csrf_token(client.get("/import").text)
    body = content.encode() if isinstance(content, str) else content
    return client.post("/import", data={"csrf_token": token, "kind": kind, **fields},
                       files={"file": (name, body, "text/csv")}, follow_redirects=False)


def uploaded(client, name: str, content: bytes | str, **kw: str) -> str:
    r = upload(client, name, content, **kw)
    assert r.status_code == 303, r.text[:2000]
    found = TOKEN_URL.match(r.headers["location"])
    assert found, r.headers["location"]
    return found.group(1)


def orders_in(api_settings) -> list[str]:
    from regulars import api
    from regulars.domain.tables import Kind

    table = api.open_store(api_settings).read_table(Kind.ORDERS)
    return sorted(table.column("order_id").to_pylist())


def test_the_owner_uploads_sees_the_bad_row_confirms_once_and_reads_the_result(
        browser, api_settings):
    owner = browser("owner")
    token = uploaded(owner, "export.csv", ORDERS)  # the kind recognised from the headers
    page = owner.get(f"/import/{token}")
    assert page.status_code == 200
    html = page.text
    # the mapping, as recognised: each column's select has its field chosen
    for column, field in (("Номер", "order_id"), ("Код клиента", "customer_id"),
                          ("Дата", "ordered_at"), ("Сумма", "amount")):
        assert re.search(rf'value="{column}">.*?<option value="{field}" selected', html, re.S)
    # the bad row, named: row 3 (line 4), the column, the value and why
    row = re.search(r"<tr>\s*<td class=\"num\">3</td>\s*<td class=\"num\">4</td>(.*?)</tr>",
                    html, re.S)
    assert row, html
    assert "Дата (ordered_at)" in row.group(1) and "завтра" in row.group(1)
    # what will happen: 4 read, 3 new, 0 in the store, 1 refused; amounts as read
    counts = re.findall(r'<span class="value">([^<]+)</span>', html)
    assert counts == ["4", "3", "0", "1"]
    assert "1,200.50" in html
    assert orders_in(api_settings) == []  # nothing written by the preview
    # every row with a problem, as CSV
    csv = owner.get(f"/import/{token}/problems.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "A3" in csv.text and "A1" not in csv.text

    form = {"csrf_token": csrf_token(html), "set_aside": "1"}
    r = owner.post(f"/import/{token}/confirm", data=form, follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, f"/import/{token}/done")
    assert orders_in(api_settings) == ["A1", "A2", "A4"]
    done = owner.get(f"/import/{token}/done")
    assert re.findall(r'<span class="value">([^<]+)</span>', done.text) == ["4", "3", "0", "1"]
    assert 'href="/dashboard"' in done.text
    # a second confirmation (a double click, a reload) imports nothing
    again = owner.post(f"/import/{token}/confirm", data=form, follow_redirects=True)
    assert again.status_code == 200 and str(again.url).endswith(f"/import/{token}/done")
    assert "not imported twice" in again.text
    assert orders_in(api_settings) == ["A1", "A2", "A4"]
    # the uploaded file is gone; the rows left out stay to download until it expires
    assert owner.get(f"/import/{token}/problems.csv").status_code == 200


def test_the_upload_refuses_what_the_import_cannot_read_with_a_422(browser):
    owner = browser("owner")
    cases = {
        ("empty.csv", b""): "is empty",
        ("book.xlsx", b"PK\x03\x04 not really"): "spreadsheet",
        ("photo.png", b"\x89PNG"): "reads CSV",
        ("garbage.csv", bytes(range(128, 256)) * 50): "encoding",
        ("header.csv", "Номер;Код клиента;Дата;Сумма\n"): "no data rows",
        ("big.csv", b"a,b\n" + b"1,2\n" * 300_000): "larger than",
        ("what.csv", "x;y\n1;2\n"): "cannot be told",
    }
    for (name, content), words in cases.items():
        r = upload(owner, name, content)
        assert r.status_code == 422, (name, r.status_code)
        assert words in r.text, (name, r.text[:3000])
        assert 'id="import-file-error"' in r.text
    # no file at all
    token = csrf_token(owner.get("/import").text)
    r = owner.post("/import", data={"csrf_token": token},
                   files={"file": ("", b"", "application/octet-stream")})
    assert r.status_code == 422 and "Choose a file" in r.text


def test_the_upload_has_its_own_limit_above_the_apis(browser):
    # the API takes bodies up to 100 kB here; the import page up to 1 MB
    owner = browser("owner")
    rows = "".join(f"X{i};K{i};01.03.2025;10,00\n" for i in range(20_000))
    content = "Номер;Код клиента;Дата;Сумма\n" + rows
    assert 100_000 < len(content.encode()) < 1 << 20
    assert upload(owner, "orders.csv", content).status_code == 303


def test_a_body_over_the_limit_is_refused_before_it_is_read(browser):
    owner = browser("owner")
    token = csrf_token(owner.get("/import").text)
    r = owner.post("/import", headers={"X-CSRF-Token": token},
                   files={"file": ("big.csv", b"x" * (2 << 20), "text/csv")})
    assert r.status_code == 422 and "larger than the 1 MB" in r.text


def test_a_column_chosen_by_hand_and_the_profile_saved_is_offered_next_time(
        browser, api_settings):
    owner = browser("owner")
    odd = "Док;Покупатель-код;Когда;Деньги\nB1;K9;2025-03-01;10.00\nB2;K9;2025-03-02;12.00\n"
    token = uploaded(owner, "odd.csv", odd, kind="orders")
    page = owner.get(f"/import/{token}").text
    assert "cannot be imported as it is read now" in page  # required columns missing
    assert "odd.csv" in page and "/tmp" not in page  # the file's name, not its folder
    fields = {"csrf_token": csrf_token(page), "kind": "orders"}
    for i, (column, field) in enumerate((("Док", "order_id"), ("Покупатель-код",
                                         "customer_id"), ("Когда", "ordered_at"),
                                         ("Деньги", "amount")), start=1):
        fields[f"name-{i}"] = column
        fields[f"field-{i}"] = field
    # two columns for one field: the form again, the message by the second
    clash = {**fields, "field-2": "order_id"}
    r = owner.post(f"/import/{token}", data=clash)
    assert r.status_code == 422 and "order_id is already read from Док" in r.text
    r = owner.post(f"/import/{token}", data=fields, follow_redirects=True)
    assert r.status_code == 200
    assert "cannot be imported" not in r.text
    assert re.findall(r'<span class="value">([^<]+)</span>', r.text) == ["2", "2", "0", "0"]
    r = owner.post(f"/import/{token}/confirm", data={"csrf_token": fields["csrf_token"]},
                   follow_redirects=True)
    assert str(r.url).endswith("/done")
    assert orders_in(api_settings) == ["B1", "B2"]

    bad = owner.post(f"/import/{token}/profile",
                     data={"csrf_token": fields["csrf_token"], "name": "<b>x</b>"})
    assert bad.status_code == 422 and 'id="profile-name-error"' in bad.text
    saved = owner.post(f"/import/{token}/profile",
                       data={"csrf_token": fields["csrf_token"], "name": "till export"},
                       follow_redirects=True)
    assert saved.status_code == 200 and "till export" in saved.text
    from regulars import api

    profile = api.import_profile("till export", api_settings)
    assert profile["kind"] == "orders"
    assert profile["options"]["mapping"] == {"order_id": "Док", "customer_id": "Покупатель-код",
                                             "ordered_at": "Когда", "amount": "Деньги"}

    # next month's file with the same columns: the profile is offered, and reads it
    later = "Док;Покупатель-код;Когда;Деньги\nB3;K9;2025-04-01;7.50\n"
    second = uploaded(owner, "april.csv", later, kind="orders")
    page = owner.get(f"/import/{second}").text
    assert '<option value="till export">' in page
    r = owner.post(f"/import/{second}", data={"csrf_token": csrf_token(page),
                                              "profile": "till export"},
                   follow_redirects=True)
    assert "Read as the import profile till export says." in r.text
    assert re.findall(r'<span class="value">([^<]+)</span>', r.text) == ["1", "1", "0", "0"]


def test_an_upload_is_its_owners_alone_and_text_from_the_file_is_escaped(browser, users):
    users.create("boss2", "owner", PASSWORD, name="Second Owner")
    owner = browser("owner")
    evil = ('Номер;Код клиента;Дата;Сумма;<script>alert(1)</script>\n'
            'A1;<img src=x onerror=alert(1)>;01.03.2025;10,00;x\n'
            'A2;K1;<b>bad</b>;10,00;x\n')
    token = uploaded(owner, "<i>evil</i>.csv", evil)
    html = owner.get(f"/import/{token}").text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>bad</b>" not in html and "<i>evil</i>" not in html
    other = browser()
    from ...support.web import sign_in

    assert sign_in(other, "boss2").status_code == 303
    r = other.get(f"/import/{token}", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/import")
    assert "no longer here" in other.get("/import").text
    # and a form without its CSRF token is refused
    r = owner.post(f"/import/{token}/confirm", data={})
    assert r.status_code == 403
