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
    the roles that see it, and its place (lower first). With ``landing_only``, a role sees
    it only while it is that role's :data:`LANDING` page (a start page is no use in the menu
    of a role that lands on a page of its own)."""

    label: str
    path: str
    roles: frozenset[Role]
    order: int = 100
    landing_only: bool = False

    def __init__(self, label: str, path: str, roles: Iterable[Role], order: int = 100,
                 landing_only: bool = False) -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "roles", frozenset(roles))
        object.__setattr__(self, "order", order)
        object.__setattr__(self, "landing_only", landing_only)


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
    return [i for i in NAV
            if role in i.roles and (not i.landing_only or LANDING.get(role) == i.path)]


add(NavItem(N_("Dashboard"), "/dashboard", {Role.OWNER}, order=10))
# the start page of the roles without a page of their own to land on (the marketer's, now
# that the manager lands on the worklist and the cashier on the till; the page stays at its
# address for everyone, and the brand link leads each role to their landing page)
add(NavItem(N_("Start"), "/welcome", {Role.MANAGER, Role.MARKETER, Role.CASHIER}, order=10,
            landing_only=True))
