"""One-click unsubscribe (issue 20, RFC 8058): the link in a playbook's message names the
customer and the channel in a signed token (:mod:`regulars.domain.playbooks.tokens`); using
it sets ``consent_<channel>`` to false on the customer's card and records the customer's
``in`` interaction (kind ``support``, outcome ``unsubscribed``) in the same transaction, so
the next send is held back by the contact policy (``no_consent``) and the card shows why.

Idempotent: a second use finds the consent false already and writes nothing. A token that
does not verify, or names a customer no longer in the store (erased), is
:class:`BadTokenError` — the answer does not say which, nor whether the customer exists.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from regulars.domain.contact_policy import CHANNELS
from regulars.domain.playbooks.tokens import BadTokenError, Unsubscribe, read_token
from regulars.domain.tables import INTERACTIONS
from regulars.services.api.ingest import canonical, row_hash

UNSUBSCRIBED = "unsubscribed"


class UnsubscribeStore(Protocol):
    def contact_state(self, customer_id: str) -> dict[str, Any] | None: ...

    def unsubscribe(self, customer_id: str, channel: str,
                    interaction: Mapping[str, Any]) -> bool | None: ...


@dataclass(frozen=True)
class Unsubscribed:
    customer_id: str
    channel: str
    changed: bool  # False: it was off already (a second click)


@dataclass
class Unsubscriber:
    store: UnsubscribeStore
    key: bytes
    zone: str = "UTC"
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def read(self, token: str) -> Unsubscribe:
        """Whom and which channel ``token`` names (:class:`BadTokenError` if not valid)."""
        found = read_token(self.key, token)
        if found.channel not in CHANNELS:
            raise BadTokenError("channel")
        if self.store.contact_state(found.customer_id) is None:  # erased since
            raise BadTokenError("customer")
        return found

    def confirm(self, token: str) -> Unsubscribed:
        found = self.read(token)
        now = self.clock()
        local = now.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)
        record = {"interaction_id": f"unsubscribe-{found.channel}-{found.customer_id}-"
                                    f"{local:%Y%m%dT%H%M%S}",
                  "customer_id": found.customer_id, "at": local, "channel": found.channel,
                  "direction": "in", "kind": "support", "responded_at": None,
                  "outcome": UNSUBSCRIBED, "manager": None}
        stored = canonical(INTERACTIONS, record, None)
        changed = self.store.unsubscribe(
            found.customer_id, found.channel,
            {**stored, "row_hash": row_hash(INTERACTIONS, stored), "import_id": None})
        if changed is None:
            raise BadTokenError("customer")
        return Unsubscribed(found.customer_id, found.channel, changed)


__all__ = ["BadTokenError", "Unsubscribed", "Unsubscriber"]
