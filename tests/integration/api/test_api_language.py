"""Each request is answered in its own language (Accept-Language), over a real server.

The problem's ``title``, ``detail`` and validation messages are in the asked language; its
``type``, field names, codes and data are the same in every language; concurrent requests in
Russian and Estonian never get each other's words.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import httpx
import pytest

PROBLEM = "application/problem+json"


def problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict = r.json()
    return body


def test_an_unknown_customer_in_estonian_russian_and_english(call):
    path = "/v1/customers/NOBODY"
    et = call("readonly", "GET", path, headers={"Accept-Language": "et-EE,et;q=0.9,en;q=0.5"})
    ru = call("readonly", "GET", path, headers={"Accept-Language": "ru"})
    en = call("readonly", "GET", path)

    assert problem(et, 404) == {"type": "/problems/not-found", "title": "Ei leitud",
                                "status": 404, "detail": "klienti NOBODY ei ole",
                                "instance": path}
    assert et.headers["content-language"] == "et"
    assert "Accept-Language" in et.headers["vary"]
    assert problem(ru, 404)["title"] == "Не найдено"
    assert problem(ru, 404)["detail"] == "клиента NOBODY нет"
    assert ru.headers["content-language"] == "ru"
    # no header: the server's language, English in the suite
    assert problem(en, 404)["title"] == "Not found"
    assert problem(en, 404)["detail"] == "no customer NOBODY"
    assert en.headers["content-language"] == "en"


def test_a_language_regulars_does_not_speak_falls_back_to_the_next_or_english(call):
    r = call("readonly", "GET", "/v1/customers/X", headers={"Accept-Language": "de, ru;q=0.5"})
    assert problem(r, 404)["title"] == "Не найдено"
    r = call("readonly", "GET", "/v1/customers/X", headers={"Accept-Language": "de, fr;q=0.5"})
    assert problem(r, 404)["title"] == "Not found"
    r = call("readonly", "GET", "/v1/customers/X", headers={"Accept-Language": "ru;q=0, et"})
    assert problem(r, 404)["title"] == "Ei leitud"


def test_authentication_and_permission_problems_are_translated(call):
    body = problem(call(None, "GET", "/v1/customers", headers={"Accept-Language": "ru"}), 401)
    assert body["title"] == "Требуется авторизация"
    assert "Authorization: Bearer" in body["detail"] and "ключ API" in body["detail"]
    body = problem(call("readonly", "POST", "/v1/orders", json=[],
                        headers={"Accept-Language": "et"}), 403)
    assert body["detail"] == "roll readonly ei tohi andmeid saata"


def test_validation_messages_are_ours_with_the_field_named(call):
    sent = {"order_id": "O1", "customer_id": "C1", "ordered_at": "vana", "amount": "kümme"}
    body = problem(call("integration", "POST", "/v1/orders", json=sent,
                        headers={"Accept-Language": "ru"}), 422)
    assert body["type"] == "/problems/validation"
    assert body["title"] == "Данные не приняты"
    assert body["detail"] == "запрос не соответствует схеме"
    by_field = {e["field"]: e["message"] for e in body["errors"]}
    assert by_field["ordered_at"].startswith("неверная дата и время")
    assert by_field["amount"] == "это не число"

    body = problem(call("readonly", "GET", "/v1/customers", params={"limit": 0},
                        headers={"Accept-Language": "et"}), 422)
    assert body["errors"] == [{"field": "query.limit", "message": "peab olema vähemalt 1"}]

    body = problem(call("integration", "POST", "/v1/orders", content=b"{oops",
                        headers={"content-type": "application/json",
                                 "Accept-Language": "et"}), 422)
    assert body["errors"] == [{"field": "body", "message": "see ei ole korrektne JSON"}]

    missing = {"order_id": "O1", "ordered_at": "2024-01-02T10:00:00", "amount": "5"}
    body = problem(call("integration", "POST", "/v1/orders", json=missing,
                        headers={"Accept-Language": "ru"}), 422)
    assert {"field": "customer_id", "message": "обязательное поле"} in body["errors"]


def test_the_input_rules_reasons_are_translated_where_the_api_shows_them(call):
    sent = {"order_id": "O1", "customer_id": "C1", "ordered_at": "2024-01-02T10:00:00",
            "amount": "-1"}
    body = problem(call("integration", "POST", "/v1/orders", json=sent,
                        headers={"Accept-Language": "ru"}), 422)
    from regulars.i18n import _, use_language

    with use_language("ru"):
        expected = _("negative amount")  # the domain's reason, marked N_ where it is written
    assert body["errors"] == [{"field": "amount", "message": expected, "index": 0}] or \
        body["errors"] == [{"field": "amount", "message": expected}]


def _ask(client: httpx.AsyncClient, lang: str, i: int) -> asyncio.Future[httpx.Response]:
    return asyncio.ensure_future(client.get(f"/v1/customers/C{i}", headers={
        "Accept-Language": lang}))


def test_concurrent_requests_in_russian_and_estonian_each_get_their_own(client, keys):
    base = str(client.base_url)
    headers = {"Authorization": f"Bearer {keys['readonly']}"}

    async def many() -> list[tuple[str, httpx.Response]]:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
            asked = ["ru" if i % 2 else "et" for i in range(50)]
            got = await asyncio.gather(*(_ask(http, lang, i) for i, lang in enumerate(asked)))
            return list(zip(asked, got, strict=True))

    answers = asyncio.run(many())
    assert len(answers) == 50
    for i, (lang, r) in enumerate(answers):
        body = problem(r, 404)
        assert r.headers["content-language"] == lang
        if lang == "ru":
            assert (body["title"], body["detail"]) == ("Не найдено", f"клиента C{i} нет")
        else:
            assert (body["title"], body["detail"]) == ("Ei leitud", f"klienti C{i} ei ole")


@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl on this machine")
def test_curl_gets_estonian_problem_details(client, keys):
    done = subprocess.run(
        ["curl", "-s", "-i", "-H", "Accept-Language: et",
         "-H", f"Authorization: Bearer {keys['readonly']}",
         f"{client.base_url}/v1/customers/NOBODY"],
        capture_output=True, text=True, timeout=30, check=True)
    assert "content-language: et" in done.stdout.lower()
    assert '"title":"Ei leitud"' in done.stdout
    assert '"detail":"klienti NOBODY ei ole"' in done.stdout


def test_a_users_own_language_wins_over_the_header(services, api_settings, keys):
    from regulars.entrypoints.http import create_app
    from regulars.entrypoints.http.app import serving

    app = create_app(api_settings, services=services, rebuild_on_start=False,
                     user_language=lambda scope: "et")
    with serving(app) as url:
        r = httpx.get(f"{url}/v1/customers/X", headers={
            "Accept-Language": "ru", "Authorization": f"Bearer {keys['readonly']}"})
    assert problem(r, 404)["title"] == "Ei leitud"
    assert r.headers["content-language"] == "et"
