"""The navigation: which pages each role sees in the menu, and where each role lands.

A page added later registers its menu entry here (``add(NavItem(N_("Worklist"),
"/worklist", {Role.MANAGER}, order=20))``, at import time of its module) and, when it is a
role's first page, sets :data:`LANDING` for that role. The menu lists what is meant for a
role; the owner is admitted to every page all the same
(:func:`regulars.entrypoints.web.auth.require_role`), so a page for the owner too names
``Role.OWNER`` in its entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from regulars.i18n import N_
from regulars.services.users import Role


@dataclass(frozen=True)
class NavItem:
    """A menu entry: ``label`` marked with ``N_`` (translated when shown), the page's path,
    the roles that see it, and its place (lower first)."""

    label: str
    path: str
    roles: frozenset[Role]
    order: int = 100

    def __init__(self, label: str, path: str, roles: Iterable[Role], order: int = 100) -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "roles", frozenset(roles))
        object.__setattr__(self, "order", order)


NAV: list[NavItem] = []

#: Where ``/`` sends each role after signing in: the first page of their day.
LANDING: dict[Role, str] = {
    Role.OWNER: "/dashboard",
    Role.MANAGER: "/welcome",
    Role.MARKETER: "/welcome",
    Role.CASHIER: "/welcome",
}


def add(item: NavItem) -> None:
    """Put ``item`` in the menu (once: a second entry with the same path replaces it)."""
    NAV[:] = [i for i in NAV if i.path != item.path]
    NAV.append(item)
    NAV.sort(key=lambda i: (i.order, i.path))


def for_role(role: Role) -> list[NavItem]:
    """The menu of ``role``, in order."""
    return [i for i in NAV if role in i.roles]


add(NavItem(N_("Dashboard"), "/dashboard", {Role.OWNER}, order=10))
add(NavItem(N_("Start"), "/welcome", {Role.MANAGER, Role.MARKETER, Role.CASHIER}, order=10))
