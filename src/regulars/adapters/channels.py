"""The channels playbooks send through (issue 20; the port
:class:`regulars.services.playbooks.ports.Channel`):

- :class:`SmtpChannel`: e-mail over SMTP (smtplib), STARTTLS and AUTH when set, plain text
  and HTML as ``multipart/alternative``, with ``List-Unsubscribe`` and RFC 8058's
  ``List-Unsubscribe-Post`` on marketing mail;
- :class:`GatewayChannel`: SMS and messenger messages POSTed as JSON to a gateway, signed as
  webhooks are (``Regulars-Signature``, :func:`regulars.services.api.webhooks.sign`) and tried
  again with backoff on a 5xx or no answer, never on a 4xx.

What a failure means for a repeat is the channel's to say (:class:`ChannelError` ``unsent``):
SMTP knows a message did not leave while the server refuses it before the end of DATA; a
dropped connection after that is unknown. A gateway post carries the message id in
``Regulars-Delivery`` on every try, so the gateway drops a repeat.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, formatdate

from regulars.adapters.webhook_http import HttpSender
from regulars.services.api.webhooks import SIGNATURE_HEADER, Send, sign
from regulars.services.playbooks.ports import ChannelError, Outgoing


def _domain(address: str) -> str:
    return address.rpartition("@")[2] or "localhost"


def message_id_header(message_id: str, sender: str) -> str:
    """The Message-ID of the message ``message_id``: the same on every try, so a receiving
    server (and a person) can tell a repeat."""
    return f"<{message_id}@{_domain(sender)}>"


class SmtpChannel:
    """E-mail through one SMTP server; a connection per message (playbooks send a few
    thousand a pass at most, and a long-held connection would outlive a server's idle
    timeout between passes)."""

    def __init__(self, *, host: str, port: int, sender: str, sender_name: str | None = None,
                 reply_to: str | None = None, username: str | None = None,
                 password: str | None = None, starttls: bool | None = None, use_ssl: bool = False,
                 timeout: float = 30.0, tls_context: ssl.SSLContext | None = None) -> None:
        self.host, self.port = host, port
        self.sender, self.sender_name, self.reply_to = sender, sender_name, reply_to
        self.username, self.password = username, password
        self.starttls, self.use_ssl, self.timeout = starttls, use_ssl, timeout
        self.tls = tls_context or ssl.create_default_context()

    def compose(self, m: Outgoing) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = formataddr((self.sender_name or "", self.sender))
        msg["To"] = formataddr((m.to_name or "", m.to))
        msg["Subject"] = m.subject or ""
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = message_id_header(m.message_id, self.sender)
        if self.reply_to:
            msg["Reply-To"] = self.reply_to
        # RFC 3834: a machine sent it, so auto-responders do not answer it
        msg["Auto-Submitted"] = "auto-generated"
        if m.purpose == "marketing":
            links = []
            if m.unsubscribe_url:
                links.append(f"<{m.unsubscribe_url}>")
            mailto = m.unsubscribe_mailto or self.sender
            links.append(f"<mailto:{mailto}?subject=unsubscribe>")
            msg["List-Unsubscribe"] = ", ".join(links)
            if m.unsubscribe_url and m.unsubscribe_url.startswith("https://"):
                # RFC 8058 one-click: only with an https URI to POST to
                msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            msg["Precedence"] = "bulk"
        msg.set_content(m.text)
        if m.html:
            msg.add_alternative(m.html, subtype="html")
        if m.language:  # after the content: setting it clears the Content-* headers
            msg["Content-Language"] = m.language
        return msg

    def send(self, message: Outgoing) -> str:
        msg = self.compose(message)
        # from the first byte of the message on, a dropped connection may have delivered
        # it; a reply code (a refusal) says it was not
        started = False
        try:
            smtp: smtplib.SMTP
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        context=self.tls)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with smtp:
                smtp.ehlo()
                if not self.use_ssl and self._wants_tls(smtp):
                    smtp.starttls(context=self.tls)
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self.password or "")
                started = True
                refused = smtp.send_message(msg, to_addrs=[message.to])
                if refused:
                    raise ChannelError(f"refused: {refused}", unsent=True, permanent=True)
        except ChannelError:
            raise
        except smtplib.SMTPResponseException as e:
            raise ChannelError(f"SMTP {e.smtp_code}: {e.smtp_error!r}", unsent=True,
                               permanent=500 <= e.smtp_code < 600) from None
        except smtplib.SMTPRecipientsRefused as e:
            raise ChannelError(f"recipient refused: {e.recipients}", unsent=True,
                               permanent=True) from None
        except smtplib.SMTPNotSupportedError as e:
            raise ChannelError(f"SMTP: {e}", unsent=True, permanent=True) from None
        except (OSError, smtplib.SMTPException) as e:
            raise ChannelError(f"{type(e).__name__}: {e}", unsent=not started,
                               permanent=False) from None
        return str(msg["Message-ID"])

    def _wants_tls(self, smtp: smtplib.SMTP) -> bool:
        if self.starttls is False:
            return False
        offered = smtp.has_extn("starttls")
        if self.starttls is None and not self.username:
            return offered
        if not offered:  # asked for (or a password to protect): never fall back to clear
            raise ChannelError("the SMTP server does not offer STARTTLS", unsent=True,
                               permanent=True)
        return True


class SignedPoster:
    """POSTs a body signed as webhooks are, tried again with backoff on a 5xx or no answer
    (the same ``Regulars-Delivery`` each time, so the receiver can drop a repeat), never on
    a 4xx. The gateways' channel and a playbook's webhook step both post through it."""

    def __init__(self, *, secret: str, max_attempts: int = 4, backoff: float = 1.0,
                 timeout: float = 10.0, send: Send | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.max_attempts, self.backoff, self.timeout = max_attempts, backoff, timeout
        self.post: Send = send or HttpSender()
        self.sleep, self.clock = sleep, clock

    def __call__(self, url: str, body: bytes, delivery: str,
                 event: str = "playbook_step") -> tuple[bool, str | None]:
        """Post ``body``; (delivered, what went wrong). Never raises for the network."""
        done, detail, _permanent, _taken = self.deliver(url, body, delivery, event)
        return done, detail

    def deliver(self, url: str, body: bytes, delivery: str,
                event: str) -> tuple[bool, str | None, bool, bool]:
        """(delivered, detail, refused for good (4xx), maybe taken: some try reached the
        receiver, which may have acted on it without answering 2xx)."""
        last = ""
        taken = False
        for attempt in range(1, self.max_attempts + 1):
            headers = {"Content-Type": "application/json", "Regulars-Event": event,
                       "Regulars-Delivery": delivery,
                       SIGNATURE_HEADER: sign(self.secret, int(self.clock()), body)}
            status, error = self.post(url, body, headers, self.timeout)
            if status is not None and 200 <= status < 300:
                return True, None, False, True
            if status is not None and 400 <= status < 500:
                return False, f"answered {status}", True, taken
            # a refused connection never reached it; a 5xx or a timeout may have
            taken = taken or status is not None or not (error or "").startswith("ConnectError")
            last = f"answered {status}" if status is not None else (error or "no answer")
            if attempt < self.max_attempts:
                self.sleep(self.backoff * 2 ** (attempt - 1))
        return False, f"{last} after {self.max_attempts} tries", False, taken


class GatewayChannel:
    """SMS or messenger messages POSTed to a gateway as signed JSON:
    ``{"message_id", "channel", "to", "text", "language", "customer_id", "purpose"}`` with
    the headers ``Regulars-Event: message.<channel>``, ``Regulars-Delivery: <message_id>``
    and ``Regulars-Signature``."""

    def __init__(self, *, channel: str, url: str, poster: SignedPoster) -> None:
        self.channel, self.url, self.poster = channel, url, poster

    @staticmethod
    def body(m: Outgoing) -> bytes:
        return json.dumps({"message_id": m.message_id, "channel": m.channel, "to": m.to,
                           "text": m.text, "language": m.language,
                           "customer_id": m.customer_id, "purpose": m.purpose},
                          ensure_ascii=False, separators=(",", ":")).encode()

    def send(self, message: Outgoing) -> str:
        done, detail, permanent, taken = self.poster.deliver(
            self.url, self.body(message), message.message_id, f"message.{self.channel}")
        if done:
            return message.message_id
        # a 4xx refused it for good; a 5xx or a timeout may have been acted on (a repeat
        # would carry the same Regulars-Delivery, but playbooks prefer at most once)
        raise ChannelError(f"gateway {detail}", unsent=permanent or not taken,
                           permanent=permanent)
