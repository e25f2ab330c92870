"""The channels against real servers (issue 20): SMTP with STARTTLS and AUTH (aiosmtpd with a
certificate from a throwaway authority, trustme), and the gateway's signed posts to a real
HTTP receiver, retried after a 5xx and delivered once."""

from __future__ import annotations

import json
import socket
import ssl

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from regulars.adapters.channels import GatewayChannel, SignedPoster, SmtpChannel
from regulars.services.api.webhooks import verify
from regulars.services.playbooks.ports import ChannelError, Outgoing

SECRET = "gateway-secret-0123456789abcdef0123456789"


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []
        self.logins: list[str] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append((envelope, session.authenticated, bool(session.ssl)))
        return "250 OK"


def _auth(inbox: Inbox):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login, auth_data.password) == (b"shop", b"s3cret")
        if ok:
            inbox.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)  # False: aiosmtpd answers 535
    return authenticator


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def ca():
    return trustme.CA()


@pytest.fixture
def tls_smtp(ca):
    """aiosmtpd that requires STARTTLS before anything and AUTH over it."""
    inbox = Inbox()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    port = _port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_ctx,
                            require_starttls=True, auth_required=True,
                            authenticator=_auth(inbox))
    controller.start()
    yield inbox, port
    controller.stop()


def _client_ctx(ca) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


def _mail(**kw) -> Outgoing:
    return Outgoing(**{"message_id": "m1", "customer_id": "C1", "channel": "email",
                       "purpose": "marketing", "to": "anna@example.ee", "text": "Tere!",
                       "subject": "Tere", **kw})


def test_starttls_and_auth_deliver_over_an_encrypted_authenticated_session(tls_smtp, ca):
    inbox, port = tls_smtp
    channel = SmtpChannel(host="127.0.0.1", port=port, sender="shop@kohvik.ee",
                          username="shop", password="s3cret", tls_context=_client_ctx(ca))
    provider_id = channel.send(_mail())
    assert provider_id == "<m1@kohvik.ee>"
    assert inbox.logins == ["shop"]
    [(envelope, authenticated, over_tls)] = inbox.envelopes
    assert authenticated and over_tls
    assert envelope.rcpt_tos == ["anna@example.ee"]


def test_a_wrong_password_is_a_permanent_failure_that_certainly_did_not_send(tls_smtp, ca):
    inbox, port = tls_smtp
    channel = SmtpChannel(host="127.0.0.1", port=port, sender="shop@kohvik.ee",
                          username="shop", password="wrong", tls_context=_client_ctx(ca))
    with pytest.raises(ChannelError) as e:
        channel.send(_mail())
    assert e.value.permanent and e.value.unsent
    assert inbox.envelopes == []


def test_a_certificate_not_trusted_is_refused_before_the_password_goes(tls_smtp):
    inbox, port = tls_smtp
    channel = SmtpChannel(host="127.0.0.1", port=port, sender="shop@kohvik.ee",
                          username="shop", password="s3cret")  # the system's trust store
    with pytest.raises(ChannelError) as e:
        channel.send(_mail())
    assert e.value.unsent
    assert inbox.logins == [] and inbox.envelopes == []


def test_a_password_never_goes_to_a_server_without_starttls():
    inbox = Inbox()
    port = _port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port,
                            auth_require_tls=False, authenticator=_auth(inbox))
    controller.start()
    try:
        channel = SmtpChannel(host="127.0.0.1", port=port, sender="shop@kohvik.ee",
                              username="shop", password="s3cret")
        with pytest.raises(ChannelError) as e:
            channel.send(_mail())
        assert "STARTTLS" in e.value.detail and e.value.permanent
        assert inbox.logins == [] and inbox.envelopes == []
    finally:
        controller.stop()


def test_a_closed_port_is_a_failure_that_certainly_did_not_send():
    channel = SmtpChannel(host="127.0.0.1", port=_port(), sender="shop@kohvik.ee", timeout=2)
    with pytest.raises(ChannelError) as e:
        channel.send(_mail())
    assert e.value.unsent and not e.value.permanent


def test_transactional_mail_has_no_unsubscribe_headers():
    channel = SmtpChannel(host="127.0.0.1", port=1, sender="shop@kohvik.ee")
    msg = channel.compose(_mail(purpose="transactional",
                                unsubscribe_url="https://crm.example.ee/unsubscribe/x"))
    assert msg["List-Unsubscribe"] is None and msg["List-Unsubscribe-Post"] is None
    # without an https link there is no one-click header (RFC 8058 needs an https URI)
    plain = channel.compose(_mail(unsubscribe_url="http://crm.example.ee/unsubscribe/x"))
    assert plain["List-Unsubscribe-Post"] is None
    assert "mailto:shop@kohvik.ee" in plain["List-Unsubscribe"]


# -- the gateway -------------------------------------------------------------------------------

def _sms(**kw) -> Outgoing:
    return Outgoing(**{"message_id": "job-7", "customer_id": "RU1", "channel": "sms",
                       "purpose": "marketing", "to": "+79161234567",
                       "text": "Скидка для вас", "language": "ru", **kw})


def _gateway(url: str, *, tries: int = 4) -> tuple[GatewayChannel, list[float]]:
    slept: list[float] = []
    poster = SignedPoster(secret=SECRET, max_attempts=tries, backoff=0.5, timeout=5,
                          sleep=slept.append)
    return GatewayChannel(channel="sms", url=url + "/sms", poster=poster), slept


def test_the_gateway_post_is_signed_and_verifies(kit):
    r = kit.Receiver()
    try:
        channel, _slept = _gateway(r.url)
        assert channel.send(_sms()) == "job-7"
        [(path, headers, body)] = r.requests
        assert path == "/sms"
        assert verify(SECRET, headers["Regulars-Signature"], body)
        assert not verify("another-secret", headers["Regulars-Signature"], body)
        assert headers["Regulars-Event"] == "message.sms"
        assert headers["Regulars-Delivery"] == "job-7"
        assert json.loads(body) == {"message_id": "job-7", "channel": "sms",
                                    "to": "+79161234567", "text": "Скидка для вас",
                                    "language": "ru", "customer_id": "RU1",
                                    "purpose": "marketing"}
    finally:
        r.close()


def test_a_500_is_tried_again_with_backoff_and_delivered_once(kit):
    r = kit.Receiver([500, 503])
    try:
        channel, slept = _gateway(r.url)
        assert channel.send(_sms()) == "job-7"
        assert [h["Regulars-Delivery"] for _p, h, _b in r.requests] == ["job-7"] * 3
        assert slept == [0.5, 1.0]  # backoff doubles
        delivered = [b for (_p, _h, b), s in zip(r.requests, [500, 503, 200], strict=True)
                     if s == 200]
        assert len(delivered) == 1
    finally:
        r.close()


def test_a_4xx_is_not_tried_again(kit):
    r = kit.Receiver([422])
    try:
        channel, slept = _gateway(r.url)
        with pytest.raises(ChannelError) as e:
            channel.send(_sms())
        assert e.value.permanent and e.value.unsent
        assert len(r.requests) == 1 and slept == []
    finally:
        r.close()


def test_5xx_on_every_try_may_have_been_taken(kit):
    r = kit.Receiver([500, 500, 500])
    try:
        channel, _slept = _gateway(r.url, tries=3)
        with pytest.raises(ChannelError) as e:
            channel.send(_sms())
        assert not e.value.permanent and not e.value.unsent
        assert len(r.requests) == 3
    finally:
        r.close()


def test_no_gateway_listening_certainly_did_not_send():
    channel, slept = _gateway(f"http://127.0.0.1:{_port()}", tries=2)
    with pytest.raises(ChannelError) as e:
        channel.send(_sms())
    assert e.value.unsent and not e.value.permanent and slept == [0.5]
