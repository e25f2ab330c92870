"""Sending e-mail for real (issue 20): a playbook's Send step through aiosmtpd on loopback,
in the customer's language, plain text and HTML, with the unsubscribe headers; once per job;
skips and deferrals logged with their reasons."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage

import pytest

from regulars import bootstrap
from regulars.adapters.db.playbook_messages import SqlMessageStore
from regulars.domain.playbooks.model import Send
from regulars.domain.playbooks.tokens import read_token


@pytest.fixture
def setup(store_url, smtp, kit):
    handler, port = smtp
    settings = kit.make_settings(store_url, port)
    kit.add_customers(settings)
    store = bootstrap.open_api_store(settings)
    sender = bootstrap.playbook_sender(settings, templates=kit.TEMPLATES, engine=kit.engine,
                                       store=store)
    yield settings, sender, SqlMessageStore(store), handler
    store.close()


def _parse(envelope) -> EmailMessage:
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _parts(msg: EmailMessage) -> dict[str, str]:
    return {p.get_content_type(): p.get_content() for p in msg.walk()
            if not p.is_multipart()}


def test_a_mail_in_russian_and_one_in_estonian_with_both_parts_and_the_headers(setup, kit):
    settings, sender, messages, smtp = setup
    ru = sender.run(kit.step_context(kit.SEND_EMAIL, "RU1", job="j-ru"))
    et = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="j-et"))
    assert (ru.outcome, et.outcome) == ("sent", "sent")
    assert [e.rcpt_tos for e in smtp.envelopes] == [["ivan@example.ru"], ["mari@example.ee"]]
    ru_mail, et_mail = (_parse(e) for e in smtp.envelopes)

    assert ru_mail["Subject"] == "Здравствуйте, Иван!"
    assert ru_mail["Content-Language"] == "ru"
    assert ru_mail.get_content_type() == "multipart/alternative"
    parts = _parts(ru_mail)
    assert parts["text/plain"].startswith("Здравствуйте, Иван! Отписаться: https://crm.exa")
    assert "<b>Иван</b>" in parts["text/html"]
    assert et_mail["Subject"] == "Tere, Mari!"
    assert et_mail["Content-Language"] == "et"
    assert _parts(et_mail)["text/plain"].startswith("Tere, Mari! Loobu: ")

    assert ru_mail["From"] == "Kohvik <shop@kohvik.ee>"
    assert ru_mail["Message-ID"] == "<j-ru@kohvik.ee>"  # from the job: the same on a retry
    assert ru_mail["Auto-Submitted"] == "auto-generated"
    assert ru_mail["Date"]
    # RFC 8058: an https URI and a mailto:, and the one-click POST header
    unsub = ru_mail["List-Unsubscribe"]
    https, mailto = (u.strip().strip("<>") for u in unsub.split(","))
    assert https.startswith("https://crm.example.ee/unsubscribe/") and https.endswith("?lang=ru")
    assert mailto == "mailto:shop@kohvik.ee?subject=unsubscribe"
    assert ru_mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = https.removeprefix("https://crm.example.ee/unsubscribe/").split("?")[0]
    key = bootstrap.unsubscribe_key(settings, messages.api)
    found = read_token(key, token)
    assert (found.customer_id, found.channel) == ("RU1", "email")
    assert parts["text/plain"].rstrip().endswith(https)  # the template's link is the header's

    row = messages.message("j-ru")
    assert (row["state"], row["reason"], row["provider_id"]) == ("sent", None, "<j-ru@kohvik.ee>")
    assert (row["channel"], row["purpose"], row["language"]) == ("email", "marketing", "ru")
    # recorded as an outgoing marketing contact, so caps and the worklist count it
    history = messages.contact_history("RU1")
    assert [(h["channel"], h["kind"]) for h in history] == [("email", "offer")]
    # the business's wall clock (Tallinn: UTC+2)
    assert history[0]["at"] == (kit.AT + timedelta(hours=2)).replace(tzinfo=None)


def test_a_job_run_again_does_not_send_again(setup, kit):
    _settings, sender, messages, smtp = setup
    first = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="j1"))
    again = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="j1"))
    assert (first.outcome, again.outcome) == ("sent", "sent")
    assert len(smtp.envelopes) == 1
    assert len(messages.contact_history("ET1")) == 1


def test_a_job_found_sending_after_a_crash_is_failed_not_sent(setup, kit):
    _settings, sender, messages, smtp = setup
    ctx = kit.step_context(kit.SEND_EMAIL, "ET1", job="crashed")
    # what a crash between the 'sending' commit and the 'sent' commit leaves
    messages.record(sender._row(ctx, kit.SEND_EMAIL, "et", "sending", kit.AT, None, None))
    out = sender.run(ctx)
    assert (out.outcome, out.reason) == ("failed", "unknown_after_crash")
    assert smtp.envelopes == []
    assert messages.message("crashed")["state"] == "failed"
    # and it counts towards the caps as a contact that may have happened
    assert len(messages.in_flight("ET1")) == 1


def test_skips_are_logged_with_their_reasons(setup, kit):
    _settings, sender, messages, smtp = setup
    no_consent = sender.run(kit.step_context(kit.SEND_EMAIL, "NOC", job="a"))
    no_address = sender.run(kit.step_context(
        Send(id="s", channel="sms", template="sms"), "NOM", job="b"))
    no_gateway = sender.run(kit.step_context(
        Send(id="s", channel="sms", template="sms"), "RU1", job="c"))
    control = sender.run(kit.step_context(kit.SEND_EMAIL, "RU1", job="d", arm="control"))
    assert (no_consent.outcome, no_consent.reason) == ("skipped", "consent_unknown")
    assert (no_address.outcome, no_address.reason) == ("skipped", "no_address")
    assert (no_gateway.outcome, no_gateway.reason) == ("skipped", "no_channel")
    assert (control.outcome, control.reason) == ("skipped", "control")
    assert smtp.envelopes == []
    rows = {r["message_id"]: (r["state"], r["reason"]) for r in messages.messages()}
    assert rows == {"a": ("skipped", "consent_unknown"), "b": ("skipped", "no_address"),
                    "c": ("skipped", "no_channel"), "d": ("skipped", "control")}


def test_quiet_hours_in_the_customer_zone_defer_to_the_first_open_moment(setup, kit):
    _settings, sender, messages, smtp = setup
    # 05:30 UTC on a Tuesday is 07:30 in Tallinn (quiet until 09:00 local = 07:00 UTC)
    at = kit.AT.replace(hour=5, minute=30) + timedelta(days=0)
    out = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="q", at=at))
    assert (out.outcome, out.reason) == ("deferred", "quiet_hours")
    assert out.retry_at == at.replace(hour=7, minute=0)
    assert smtp.envelopes == [] and messages.message("q") is None
    # the runner comes back at retry_at: it goes out then
    out = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="q", at=out.retry_at))
    assert out.outcome == "sent" and len(smtp.envelopes) == 1


def test_the_marketing_cap_counts_the_messages_playbooks_sent(setup, kit):
    _settings, sender, messages, smtp = setup
    outcomes = [sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job=f"c{i}",
                                            at=kit.AT + timedelta(days=i))).outcome
                for i in range(5)]
    # default cap: 4 marketing messages in 30 days
    assert outcomes == ["sent", "sent", "sent", "sent", "skipped"]
    assert messages.message("c4")["reason"] == "cap"
    assert len(smtp.envelopes) == 4
    # a transactional message is not held back by the marketing cap
    receipt = Send(id="r", channel="email", template="hello", purpose="transactional")
    assert sender.run(kit.step_context(receipt, "ET1", job="t",
                                       at=kit.AT + timedelta(days=4))).outcome == "sent"


def test_a_template_that_fails_to_render_fails_the_message_only(setup, kit):
    _settings, sender, messages, smtp = setup
    out = sender.run(kit.step_context(Send(id="b", channel="email", template="broken"), "ET1",
                                      job="broken"))
    assert (out.outcome, out.reason) == ("failed", "render_error")
    assert "no_such_thing" in (out.detail or "")
    assert smtp.envelopes == []
    assert (messages.message("broken")["state"], messages.message("broken")["reason"]) == (
        "failed", "render_error")


def test_a_dry_run_decides_but_records_and_sends_nothing(setup, kit):
    _settings, sender, messages, smtp = setup
    would = sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="dry", dry_run=True))
    held = sender.run(kit.step_context(kit.SEND_EMAIL, "NOC", job="dry2", dry_run=True))
    assert (would.outcome, would.reason) == ("dry_run", None)
    assert "mari@example.ee" in (would.detail or "")
    assert (held.outcome, held.reason) == ("dry_run", "consent_unknown")
    assert smtp.envelopes == [] and messages.messages() == []
    assert messages.contact_history("ET1") == []


def test_a_prefetch_reads_what_one_by_one_reads(setup, kit):
    _settings, sender, messages, smtp = setup
    assert sender.run(kit.step_context(kit.SEND_EMAIL, "ET1", job="p0")).outcome == "sent"
    ctx = kit.step_context(kit.SEND_EMAIL, "ET1", job="crashed")
    messages.record(sender._row(ctx, kit.SEND_EMAIL, "et", "sending", kit.AT, None, None))
    ids = ["RU1", "ET1", "NOC", "GONE"]
    batch = messages.contacts_of(ids)
    assert set(batch) == set(ids)
    for cid in ids:
        assert batch[cid] == messages.contacts(cid), cid
    assert batch["GONE"] == (None, [], [])
    assert len(batch["ET1"][1]) == 1 and len(batch["ET1"][2]) == 1
    # decided from the prefetch, sent after a fresh check
    sender.prefetch(["RU1", "NOC"])
    assert sender.run(kit.step_context(kit.SEND_EMAIL, "RU1", job="p1")).outcome == "sent"
    assert sender.run(kit.step_context(kit.SEND_EMAIL, "NOC", job="p2")).reason == (
        "consent_unknown")
    assert len(smtp.envelopes) == 2
