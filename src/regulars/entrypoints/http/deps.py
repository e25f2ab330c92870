"""FastAPI dependencies, as ``Annotated`` aliases: the services, and who is calling."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from regulars.entrypoints.http.problems import Problem
from regulars.i18n import N_, _
from regulars.services.api import ApiServices, retry_after
from regulars.services.api.keys import ApiKey, Permission, Role, allowed

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer rgl_…")
header_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: rgl_…")


# The dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in its thread
# pool, and a hop to a worker thread and back per dependency was a quarter of a single
# order's CPU. They do no I/O, except a key look-up, which goes to the thread pool.


async def get_services(request: Request) -> ApiServices:
    services: ApiServices = request.app.state.services
    return services


Services = Annotated[ApiServices, Depends(get_services)]

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="regulars"'}

# the refusal of each permission, a whole sentence each (a language may need to put the verb
# elsewhere than after the role)
REFUSED: dict[Permission, str] = {
    Permission.INGEST: N_("the role {role} may not send data"),
    Permission.READ_CUSTOMERS: N_("the role {role} may not read customers"),
    Permission.READ_PORTFOLIO: N_("the role {role} may not read the portfolio"),
    Permission.EXPORT: N_("the role {role} may not export customers' data"),
    Permission.ERASE: N_("the role {role} may not erase customers' data"),
    Permission.READ_POINTS: N_("the role {role} may not read points"),
    Permission.QUOTE_POINTS: N_("the role {role} may not quote points"),
    Permission.REDEEM_POINTS: N_("the role {role} may not redeem points"),
    Permission.ENROL_MEMBERS: N_("the role {role} may not enrol members"),
    Permission.ADJUST_POINTS: N_("the role {role} may not adjust points"),
    Permission.READ_WORKLIST: N_("the role {role} may not read the worklist"),
    Permission.READ_PLAYBOOKS: N_("the role {role} may not read the playbooks"),
    Permission.WORK_TASKS: N_("the role {role} may not work the managers' tasks"),
    Permission.ADMIN: N_("the role {role} may not administer the server"),
}


async def authenticated(
    services: Services,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
    api_key: Annotated[str | None, Security(header_key)] = None,
) -> ApiKey:
    presented = credentials.credentials if credentials else api_key
    if not presented:
        raise Problem(401, _("send an API key: Authorization: Bearer <key> or X-API-Key"),
                      headers=_CHALLENGE)
    if services.keys.needs_lookup(presented):
        key = await run_in_threadpool(services.keys.verify, presented)
    else:
        key = services.keys.verify(presented)
    if key is None:
        raise Problem(401, _("unknown or revoked API key"), headers=_CHALLENGE)
    wait = services.limiter.take(key.key_id)
    if wait:
        raise Problem(429, _("rate limit of this API key exceeded; retry later"),
                      headers={"Retry-After": str(retry_after(wait))})
    request.state.key = key
    return key


def require(permission: Permission) -> Any:
    """A dependency admitting the roles granted ``permission`` (403 for the others)."""

    async def check(key: Annotated[ApiKey, Depends(authenticated)]) -> ApiKey:
        if not allowed(key.role, permission):
            raise Problem(403, _(REFUSED[permission]).format(role=key.role.value))
        return key

    check.permission = permission  # type: ignore[attr-defined]
    return Depends(check)


Ingester = Annotated[ApiKey, require(Permission.INGEST)]
Reader = Annotated[ApiKey, require(Permission.READ_CUSTOMERS)]
PortfolioReader = Annotated[ApiKey, require(Permission.READ_PORTFOLIO)]
Exporter = Annotated[ApiKey, require(Permission.EXPORT)]
Eraser = Annotated[ApiKey, require(Permission.ERASE)]
Admin = Annotated[ApiKey, require(Permission.ADMIN)]
PointsReader = Annotated[ApiKey, require(Permission.READ_POINTS)]
PointsQuoter = Annotated[ApiKey, require(Permission.QUOTE_POINTS)]
PointsRedeemer = Annotated[ApiKey, require(Permission.REDEEM_POINTS)]
MemberEnroller = Annotated[ApiKey, require(Permission.ENROL_MEMBERS)]
PointsAdjuster = Annotated[ApiKey, require(Permission.ADJUST_POINTS)]
WorklistReader = Annotated[ApiKey, require(Permission.READ_WORKLIST)]
PlaybooksReader = Annotated[ApiKey, require(Permission.READ_PLAYBOOKS)]


def manager_scope(key: ApiKey) -> str | None:
    """The manager a key acts for: None for an admin (every manager), its bound manager for a
    manager key (403 for a manager key bound to no one), so a manager sees their own list and
    tasks only."""
    if key.role is Role.ADMIN:
        return None
    if not key.manager:
        raise Problem(403, _("this manager key is bound to no manager: create one with "
                             "regulars keys create --role manager --manager NAME"))
    return key.manager
