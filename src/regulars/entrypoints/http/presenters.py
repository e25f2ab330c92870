"""How the use cases' typed results become HTTP answers: the status code of each outcome, and
the :class:`~regulars.services.audit.Caller` a request acts as.

The use cases say how a call ended (:class:`~regulars.services.audit.Outcome`: created,
replayed, unchanged, done, incomplete); the status number is chosen here, once, for the
response and for the audit entry alike (the caller hands :func:`status_for` to the audit
trail, so the log keeps the status the client got)."""

from __future__ import annotations

from regulars.services.api.keys import ApiKey
from regulars.services.audit import Caller, Outcome

STATUS: dict[Outcome, int] = {
    Outcome.CREATED: 201,
    Outcome.REPLAYED: 200,  # the first answer again, with 200 instead of 201
    Outcome.UNCHANGED: 200,  # every record was already stored
    Outcome.DONE: 200,
    Outcome.INCOMPLETE: 500,  # what committed is in the answer and the audit log
}


def status_for(outcome: Outcome) -> int:
    return STATUS[outcome]


def caller(key: ApiKey, action: str) -> Caller:
    """The request's caller: its API key, the route (``action``) it called."""
    return Caller.http(key.key_id, key.name, action=action, status_of=status_for)
