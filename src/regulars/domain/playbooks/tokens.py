"""Unsubscribe tokens (issue 20, RFC 8058): the credential of a one-click unsubscribe link.

A token names a customer and a channel and is signed with the server's key (HMAC-SHA256,
truncated to 128 bits — enough against forgery, short enough for a link), URL-safe base64
without padding: ``<payload>.<mac>``. It carries no expiry on purpose: a link in a mail read
a year later must still unsubscribe (RFC 8058 asks that it keep working), and undoing it only
sets a consent to false, which cannot harm the customer.

Pure: the key is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

_MAC_BYTES = 16
_VERSION = 1


class BadTokenError(ValueError):
    """The token is malformed or its signature does not match (which one is not said)."""


@dataclass(frozen=True)
class Unsubscribe:
    customer_id: str
    channel: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, b"unsubscribe." + payload.encode("ascii"),
                    hashlib.sha256).digest()[:_MAC_BYTES]


def make_token(key: bytes, customer_id: str, channel: str) -> str:
    """The token of ``customer_id``'s unsubscribe from ``channel``."""
    payload = _b64(json.dumps([_VERSION, customer_id, channel],
                              separators=(",", ":"), ensure_ascii=False).encode())
    return f"{payload}.{_b64(_mac(key, payload))}"


def read_token(key: bytes, token: str) -> Unsubscribe:
    """The customer and channel ``token`` names; :class:`BadTokenError` when it is not one
    this key signed. The signature is compared in constant time before anything of the
    payload is read."""
    payload, dot, mac = token.partition(".")
    if not dot or not payload or not mac or len(token) > 2048:
        raise BadTokenError("malformed")
    try:
        given = _unb64(mac)
    except (ValueError, UnicodeEncodeError):
        raise BadTokenError("malformed") from None
    try:
        expected = _mac(key, payload)
    except UnicodeEncodeError:
        raise BadTokenError("malformed") from None
    if not hmac.compare_digest(expected, given):
        raise BadTokenError("signature")
    try:
        version, customer_id, channel = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        raise BadTokenError("malformed") from None
    if version != _VERSION or not isinstance(customer_id, str) or not isinstance(channel, str):
        raise BadTokenError("malformed")
    return Unsubscribe(customer_id, channel)
