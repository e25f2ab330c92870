"""Members at the till for the web pages' tests: customers with names (one of them HTML), made
members through the loyalty service, with phones, a card and points to spend."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from regulars.services.api import ApiServices

#: (customer id, name, phone as typed, card, points given on top of the sign-up bonus)
MEMBERS = (
    ("M001", "Mari Maasikas", "+372 5551 0001", "CARD0001", 600),
    ("M002", "Jaan Tamm", "+372 5551 0002", None, 0),
    ("M003", '<img src=x onerror="alert(1)"> Evil', "+372 5551 0003", None, 1000),
    # two members sharing a phone (a family): the search lists both
    ("M004", "Anna Kask", "+372 5551 0044", None, 50),
    ("M005", "Peeter Kask", "+372 5551 0044", None, 50),
    ("M006", "Kati Karu", "+372 5551 0006", None, 800),
)
#: a customer who is not a member (the till offers to enrol them)
NON_MEMBER = ("C900", "Liis Lepp", "+372 5551 0900")


def seed_members(services: ApiServices) -> dict[str, Any]:
    """The customers of :data:`MEMBERS` and :data:`NON_MEMBER`, the members enrolled (and
    given points by an adjustment) through the loyalty service."""
    from regulars.domain.tables import Kind
    from regulars.services.audit import Caller, acting_as

    assert services.loyalty is not None
    # the second of a family is a customer without the phone (two cards sharing a phone are
    # merged into one by the ingest); the programme knows it for both
    services.ingest.run([(Kind.CUSTOMERS, {"customer_id": cid, "name": name,
                                           "phone": None if cid == "M005" else phone})
                         for cid, name, phone, _card, _pts in MEMBERS]
                        + [(Kind.CUSTOMERS, dict(zip(("customer_id", "name", "phone"),
                                                     NON_MEMBER, strict=True)))])
    service = services.loyalty.service
    with acting_as(Caller.python("tests")):
        for cid, _name, phone, card, points in MEMBERS:
            service.enrol(cid, phone=phone, card_number=card)
            if points:
                service.adjust(cid, points, reason="seed", actor="tests", key=f"seed-{cid}")
    return {cid: service.statement(cid).balance for cid, *_rest in MEMBERS}
