"""Unsubscribe end to end (issue 20, RFC 8058): the link from a real mail, the confirmation
page, the one-click POST, consent off and recorded, the next send held back."""

from __future__ import annotations

import email
import email.policy
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from regulars import bootstrap
from regulars.adapters.db.playbook_messages import CUSTOMERS, INTERACTIONS, SqlMessageStore
from regulars.domain.playbooks.tokens import make_token
from regulars.entrypoints.http import create_app
from regulars.entrypoints.http.app import serving


@pytest.fixture
def world(store_url, smtp, kit):
    handler, port = smtp
    settings = kit.make_settings(store_url, port)
    kit.add_customers(settings)
    store = bootstrap.open_api_store(settings)
    sender = bootstrap.playbook_sender(settings, templates=kit.TEMPLATES, engine=kit.engine,
                                       store=store)
    # the web pages mounted too: their CSRF check must not stand in a mail client's way
    app = create_app(settings, background=False, rebuild_on_start=False)
    with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield settings, sender, SqlMessageStore(store), handler, client
    store.close()


def _link(envelope) -> str:
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    https = msg["List-Unsubscribe"].split(",")[0].strip().strip("<>")
    parts = urlsplit(https)
    return f"{parts.path}?{parts.query}"


def _card(messages: SqlMessageStore, cid: str) -> dict:
    c, i = CUSTOMERS.c, INTERACTIONS.c
    with messages.reader.connect() as conn:
        row = conn.execute(sa.select(c.consent_email, c.consent_sms).where(
            c.customer_id == cid)).mappings().one()
        ins = conn.execute(sa.select(i.channel, i.kind, i.outcome).where(
            i.customer_id == cid, i.direction == "in")).all()
    return {**row, "in": [tuple(r) for r in ins]}


def test_the_link_in_the_mail_unsubscribes_and_the_next_send_is_held_back(world, kit):
    _settings, sender, messages, smtp, client = world
    assert sender.run(kit.step_context(kit.SEND_EMAIL, "RU1", job="first")).outcome == "sent"
    link = _link(smtp.envelopes[0])
    assert link.endswith("?lang=ru")

    page = client.get(link)
    assert page.status_code == 200
    assert '<html lang="ru">' in page.text
    assert "Отписаться" in page.text  # the customer's language, from the link
    assert 'method="post"' in page.text and "One-Click" in page.text
    assert f'action="{link.replace("&", "&amp;")}"' in page.text  # its own address
    assert _card(messages, "RU1")["consent_email"] is True  # looking changes nothing

    # what a mail client's one-click sends (RFC 8058 §3.2)
    done = client.post(link, content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert done.status_code == 200
    card = _card(messages, "RU1")
    assert card["consent_email"] is False
    assert card["consent_sms"] is True  # only the channel of the link
    assert card["in"] == [("email", "support", "unsubscribed")]

    again = client.post(link, content=b"List-Unsubscribe=One-Click",
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert again.status_code == 200
    assert _card(messages, "RU1")["in"] == [("email", "support", "unsubscribed")]  # once

    nxt = sender.run(kit.step_context(kit.SEND_EMAIL, "RU1", job="second",
                                      at=kit.AT.replace(day=9)))
    assert (nxt.outcome, nxt.reason) == ("skipped", "no_consent")
    assert len(smtp.envelopes) == 1
    assert messages.message("second")["reason"] == "no_consent"


def test_a_bad_token_is_a_404_that_says_nothing_more(world, kit):
    settings, _sender, messages, _smtp, client = world
    key = bootstrap.unsubscribe_key(settings, messages.api)
    good = make_token(key, "ET1", "email")
    payload, mac = good.split(".")
    forged = make_token(b"another key of at least thirty-two bytes", "ET1", "email")
    erased = make_token(key, "GONE", "email")
    answers = []
    for token in (f"{payload}.{mac[:-2]}AA", forged, "garbage", erased, f"{payload}."):
        for method in (client.get, client.post):
            r = method(f"/unsubscribe/{token}")
            answers.append((r.status_code, r.text))
    assert {status for status, _t in answers} == {404}
    # the same page whatever was wrong: nothing tells a forged token from an erased customer
    assert len({t for _s, t in answers}) == 1
    assert _card(messages, "ET1")["consent_email"] is True
