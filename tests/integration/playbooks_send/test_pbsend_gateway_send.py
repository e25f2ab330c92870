"""A playbook's SMS through the gateway (a real HTTP receiver), and a channel that is down:
tried again later while it certainly did not send, never twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from regulars import bootstrap
from regulars.adapters.db.playbook_messages import SqlMessageStore
from regulars.domain.playbooks.model import Send
from regulars.services.api.webhooks import verify

SECRET = "gateway-secret-0123456789abcdef0123456789"
SMS = Send(id="sms", channel="sms", template="sms")


@pytest.fixture
def world(store_url, kit):
    r = kit.Receiver([500])
    settings = kit.make_settings(store_url, messages={
        "sms_url": r.url + "/sms", "secret": SECRET, "backoff": 0})
    kit.add_customers(settings)
    store = bootstrap.open_api_store(settings)
    sender = bootstrap.playbook_sender(
        settings, templates=kit.TEMPLATES, engine=kit.engine, store=store,
        business={"name": "Kohvik"})
    yield sender, SqlMessageStore(store), r
    store.close()
    r.close()


def test_an_sms_after_a_500_is_delivered_once_and_recorded(world, kit):
    sender, messages, r = world
    out = sender.run(kit.step_context(SMS, "RU1", job="sms-1"))
    assert (out.outcome, out.detail) == ("sent", "sms-1")
    assert len(r.requests) == 2  # the 500, then the delivery
    _p, headers, body = r.requests[-1]
    assert verify(SECRET, headers["Regulars-Signature"], body)
    assert "Kohvik: скидка для вас, Иван".encode() in body
    again = sender.run(kit.step_context(SMS, "RU1", job="sms-1"))
    assert again.outcome == "sent" and len(r.requests) == 2
    row = messages.message("sms-1")
    assert (row["state"], row["channel"], row["provider_id"]) == ("sent", "sms", "sms-1")
    assert [(h["channel"], h["kind"]) for h in messages.contact_history("RU1")] == [
        ("sms", "offer")]


def test_an_smtp_server_that_is_down_is_tried_later_and_then_sends_once(store_url, smtp, kit):
    handler, port = smtp
    settings = kit.make_settings(store_url, port)
    kit.add_customers(settings)
    store = bootstrap.open_api_store(settings)
    try:
        down = bootstrap.playbook_sender(
            settings.model_copy(update={"email": settings.email.model_copy(
                update={"port": 1, "timeout": 2})}),
            templates=kit.TEMPLATES, engine=kit.engine, store=store)
        out = down.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="m"))
        assert (out.outcome, out.reason) == ("deferred", "channel_error")
        assert out.retry_at == kit.AT + timedelta(minutes=5)
        messages = SqlMessageStore(store)
        assert messages.message("m")["state"] == "retry"
        assert messages.contact_history("ET1") == []  # not a contact: it did not leave
        up = bootstrap.playbook_sender(settings, templates=kit.TEMPLATES, engine=kit.engine,
                                       store=store)
        out = up.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="m", at=out.retry_at,
                                      attempts=1))
        assert out.outcome == "sent"
        assert len(handler.envelopes) == 1
        assert messages.message("m")["state"] == "sent"
    finally:
        store.close()


def test_a_message_waiting_to_be_tried_again_is_skipped_if_consent_goes_meanwhile(
        store_url, kit):
    settings = kit.make_settings(store_url, 1)  # nothing listens on port 1
    kit.add_customers(settings)
    store = bootstrap.open_api_store(settings)
    try:
        sender = bootstrap.playbook_sender(settings, templates=kit.TEMPLATES,
                                           engine=kit.engine, store=store)
        out = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="m"))
        assert out.outcome == "deferred"
        messages = SqlMessageStore(store)
        assert messages.message("m")["state"] == "retry"
        with store.begin() as tx:
            tx.update_customer("ET1", {"consent_email": False})
            tx.commit()
        out = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="m", at=out.retry_at,
                                          attempts=1))
        assert (out.outcome, out.reason) == ("skipped", "no_consent")
        row = messages.message("m")
        assert (row["state"], row["reason"]) == ("skipped", "no_consent")
    finally:
        store.close()
