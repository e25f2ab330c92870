"""The audit log: who did what, through which channel, to whom, and how it ended.

Every channel goes through here: the HTTP API (the caller is an API key), the command line
and Python (the caller is the operating-system user). An entry records

The caller reaches the use cases either as an argument or, across a layer that should not
have to pass it along (the CLI's commands through the composition root), from
:func:`acting_as` around the call.

- ``key_id``: who (the API key's id, or ``cli:<user>`` / ``python:<user>``, or
  ``web:<login>`` for a person signed in to the web pages);
- ``channel``: ``http``, ``cli``, ``python`` or ``web``;
- ``use_case``: what was done, by its use-case name (``loyalty.redeem``, ``ingest``, …);
- ``action``: how the channel spelled it (the route for HTTP, the command for the CLI; the
  use case when the channel has no name of its own);
- ``subject``, ``outcome`` (:class:`Outcome`) and ``detail``;
- ``status``: the HTTP status the API answered (HTTP only; None for the other channels). The
  number is the HTTP presenter's (``entrypoints/http/presenters.py``), handed in with the
  :class:`Caller`: the use cases name an outcome, never a status.

Entries that belong to a write are written in the write's own transaction where the write
has one in the API store (ingest, erasure); the loyalty programme's are written right after
its transaction commits (its ledger is another store's transaction, and on SQLite two write
transactions cannot nest).
"""

from __future__ import annotations

import contextvars
import getpass
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal, Protocol

Channel = Literal["http", "cli", "python", "web"]


class Outcome(StrEnum):
    """How a use case ended, as the audit log and the presenters read it."""

    CREATED = "created"  # something new was written
    REPLAYED = "replayed"  # the same request again: the first answer, nothing written
    UNCHANGED = "unchanged"  # done, and nothing needed writing (all already present)
    DONE = "done"  # a command that ran (a periodic run, a notice run)
    INCOMPLETE = "incomplete"  # stopped midway: what committed is in the detail


def written(replayed: bool) -> Outcome:
    """The outcome of a keyed write: created, or replayed by its key."""
    return Outcome.REPLAYED if replayed else Outcome.CREATED


def os_user() -> str:
    """The operating-system user running this process (the CLI's and Python's actor)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError, ImportError):  # no passwd entry (containers)
        return os.environ.get("USER") or "unknown"


@dataclass(frozen=True)
class Caller:
    """Who calls a use case, and through which channel.

    ``action`` is the channel's own name for the call (an HTTP route); empty means "the use
    case's name". ``status_of`` is the HTTP presenter's outcome-to-status mapping, so that
    the audit entry carries the status the response got (None outside HTTP)."""

    channel: Channel
    actor: str
    name: str = ""  # the API key's name, when it has one
    action: str = ""
    status_of: Callable[[Outcome], int] | None = None

    @classmethod
    def cli(cls, command: str = "", user: str | None = None) -> Caller:
        return cls("cli", user or os_user(), action=command)

    @classmethod
    def python(cls, user: str | None = None) -> Caller:
        return cls("python", user or os_user())

    @classmethod
    def web(cls, login: str, name: str = "", *, action: str = "") -> Caller:
        """A person signed in to the web pages (``login``), doing ``action`` (a page's)."""
        return cls("web", login, name, action)

    @classmethod
    def http(cls, key_id: str, key_name: str = "", *, action: str = "",
             status_of: Callable[[Outcome], int] | None = None) -> Caller:
        return cls("http", key_id, key_name, action, status_of)

    def doing(self, action: str) -> Caller:
        """This caller, naming another call."""
        return replace(self, action=action)

    @property
    def key_id(self) -> str:
        """Who, as the audit log's ``key_id`` column keeps it (32 characters at most)."""
        if self.channel == "http":
            return self.actor
        return f"{self.channel}:{self.actor}"[:32]

    @property
    def ledger_actor(self) -> str:
        """Who, as a ledger entry names the writer (``api-key:ID (name)``, ``cli:user``)."""
        if self.channel == "http":
            return f"api-key:{self.actor}" + (f" ({self.name})" if self.name else "")
        return f"{self.channel}:{self.actor}"

    def status(self, outcome: Outcome) -> int | None:
        return None if self.status_of is None else self.status_of(outcome)


class AuditTx(Protocol):
    """A write transaction that can hold an audit entry (the API store's)."""

    def audit(self, *, key_id: str, action: str, subject: str, status: int | None,
              detail: Mapping[str, Any], channel: str = "http", use_case: str = "",
              outcome: str = "") -> None: ...
    def commit(self) -> None: ...


class AuditStore(Protocol):
    def begin(self) -> AbstractContextManager[AuditTx]: ...


# who is calling, for the use cases that run inside: the HTTP API sets it per request, the
# CLI per command; Python callers get their service's own (``Caller.python()``)
_caller: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("regulars_caller",
                                                                        default=None)


@contextmanager
def acting_as(caller: Caller) -> Iterator[Caller]:
    """Run the block as ``caller``: the use cases it calls audit under this caller."""
    token = _caller.set(caller)
    try:
        yield caller
    finally:
        _caller.reset(token)


def current_caller() -> Caller | None:
    """The caller set by :func:`acting_as` around this call, if any."""
    return _caller.get()


# set while a use case runs, so that the use cases it calls in turn (an accrual inside an
# ingest, the steps of a periodic run) are not audited a second time
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("regulars_audit_inside",
                                                               default=False)


@contextmanager
def one_entry() -> Iterator[bool]:
    """Yields whether the caller is the outermost audited use case (and should record it);
    the use cases called inside are covered by that one entry."""
    if _inside.get():
        yield False
        return
    token = _inside.set(True)
    try:
        yield True
    finally:
        _inside.reset(token)


class AuditTrail:
    """Writes audit entries for every channel (see the module docstring)."""

    def __init__(self, store: AuditStore) -> None:
        self.store = store

    @staticmethod
    def write_in(tx: AuditTx, caller: Caller, use_case: str, *, subject: str = "",
                 outcome: Outcome, detail: Mapping[str, Any]) -> None:
        """The entry, inside a transaction the caller commits (with its change)."""
        tx.audit(key_id=caller.key_id, action=caller.action or use_case, subject=subject,
                 status=caller.status(outcome), detail=detail, channel=caller.channel,
                 use_case=use_case, outcome=outcome.value)

    def record(self, caller: Caller, use_case: str, *, subject: str = "",
               outcome: Outcome, detail: Mapping[str, Any]) -> None:
        """The entry, in a transaction of its own (after the change committed elsewhere)."""
        with self.store.begin() as tx:
            self.write_in(tx, caller, use_case, subject=subject, outcome=outcome,
                          detail=detail)
            tx.commit()
