"""Who is signed in, and which roles a page admits.

Every page but the sign-in page, the language switch and the static files takes one of the
dependencies here. :data:`SignedIn` admits any signed-in user; :func:`require_role` admits the
roles it names and the owner (who is admitted everywhere, as the API's admin is)::

    Marketer = Annotated[User, require_role(Role.MARKETER)]

    @router.get("/loyalty")
    def loyalty(request: Request, user: Marketer) -> HTMLResponse: ...

No session (or one whose user was disabled, or whose password changed since) raises
:class:`SignInRequiredError`: a 303 to ``/sign-in?next=…`` (htmx: ``HX-Redirect``). A signed-in user
of another role raises :class:`RefusedError`: the 403 page. Both are handled by the web app
(:mod:`~regulars.entrypoints.web.errors`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from regulars.entrypoints.web.sessions import EPOCH, LANGUAGE, USER
from regulars.services.users import Role, User, Users


class SignInRequiredError(Exception):
    """The page needs a signed-in user and the request has none."""


class RefusedError(Exception):
    """The signed-in user's role may not see the page."""

    def __init__(self, user: User, roles: frozenset[Role]) -> None:
        super().__init__(f"{user.role} not in {sorted(roles)}")
        self.user = user
        self.roles = roles


def users_of(request: Request) -> Users:
    users: Users = request.app.state.users
    return users


def current_user(request: Request) -> User | None:
    """The session's user while the session is still theirs, else None (plain ``def``:
    a look-up may read the store, so FastAPI runs it in its thread pool)."""
    if hasattr(request.state, "user"):
        cached: User | None = request.state.user
        return cached
    user = None
    uid, epoch = request.session.get(USER), request.session.get(EPOCH)
    if isinstance(uid, str) and isinstance(epoch, int):
        user = users_of(request).session_user(uid, epoch)
        if user is None:  # ended elsewhere: forget it here too
            request.session.pop(USER, None)
            request.session.pop(EPOCH, None)
        elif user.language and request.session.get(LANGUAGE) != user.language:
            # changed on another device: this session follows from its next page on
            request.session[LANGUAGE] = user.language
    request.state.user = user
    return user


def signed_in(user: Annotated[User | None, Depends(current_user)]) -> User:
    if user is None:
        raise SignInRequiredError
    return user


SignedIn = Annotated[User, Depends(signed_in)]
"""Any signed-in user."""


def require_role(*roles: Role) -> Any:
    """A dependency admitting ``roles`` and the owner (the 403 page for the others); its
    ``roles`` attribute names them, for the role-matrix test."""
    admitted = frozenset(roles) | {Role.OWNER}

    def check(user: SignedIn) -> User:
        if user.role not in admitted:
            raise RefusedError(user, admitted)
        return user

    check.roles = admitted  # type: ignore[attr-defined]
    return Depends(check)


Owner = Annotated[User, require_role(Role.OWNER)]
Manager = Annotated[User, require_role(Role.MANAGER)]
Marketer = Annotated[User, require_role(Role.MARKETER)]
Cashier = Annotated[User, require_role(Role.CASHIER)]
