"""The request's language reaches the answers Starlette writes outside the middleware (an
unhandled error's 500), and pydantic's errors read in our words in each language."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI

from regulars.config.pydantic_words import error_message
from regulars.entrypoints.http import problems
from regulars.entrypoints.http.language import RequestLanguage
from regulars.i18n import use_language


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    app.add_middleware(RequestLanguage)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    return app


def test_an_unhandled_error_is_answered_in_the_request_language() -> None:
    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/boom", headers={"Accept-Language": "ru"})

    r = asyncio.run(ask())
    assert r.status_code == 500
    assert r.headers["content-language"] == "ru"
    assert r.json()["title"] == "Внутренняя ошибка сервера"
    assert r.json()["detail"] == "непредвиденная ошибка; она записана в журнал"


def test_pydantic_errors_in_our_words_with_plural_forms() -> None:
    short = {"type": "string_too_short", "ctx": {"min_length": 2}}
    long = {"type": "string_too_long", "ctx": {"max_length": 5}}
    assert error_message(short) == "at least 2 characters"
    with use_language("ru"):
        assert error_message(short) == "не короче 2 символов"
        assert error_message(long) == "не длиннее 5 символов"
        assert error_message({"type": "too_long", "ctx": {"max_length": 1000}}) == \
            "не больше 1\u00a0000 элементов"
        assert error_message({"type": "missing"}) == "обязательное поле"
        assert error_message({"type": "literal_error",
                              "ctx": {"expected": "'in', 'out' or 'both'"}}) == \
            "должно быть одним из: in, out, both"
    with use_language("et"):
        assert error_message({"type": "too_short", "ctx": {"min_length": 1}}) == \
            "vähemalt 1 element"
        assert error_message({"type": "int_parsing"}) == "see ei ole täisarv"
    # our own validators' messages are kept as they were raised
    assert error_message({"type": "value_error", "msg": "Value error, x",
                          "ctx": {"error": ValueError("write yes or no")}}) == "write yes or no"
