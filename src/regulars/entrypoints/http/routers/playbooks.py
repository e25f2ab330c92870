"""The playbooks' definitions over HTTP (issue 20): every playbook, and one with its steps.

Read by an admin key (the business's owner) or a manager key (the managers carry out the
playbooks' tasks); the other roles may not. The playbooks are read from the server's files
once, on the first request (a change of the files takes a restart, like any setting).
"""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from regulars import bootstrap
from regulars.entrypoints.http.deps import PlaybooksReader
from regulars.entrypoints.http.problems import Problem
from regulars.entrypoints.http.routers.ingest import _PROBLEMS
from regulars.entrypoints.http.schemas import PlaybookOut, PlaybooksOut
from regulars.services.playbooks.definitions import Library, UnknownPlaybookError
from regulars.services.playbooks.describe import playbook_data

router = APIRouter(prefix="/v1", tags=["playbooks"])
_lock = threading.Lock()
PlaybookName = Annotated[str, Path(min_length=1, max_length=100,
                                   pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]


def _library(request: Request) -> Library:
    with _lock:
        library: Library | None = getattr(request.app.state, "playbook_library", None)
        if library is None:
            library = bootstrap.playbook_library(request.app.state.settings)
            request.app.state.playbook_library = library
        return library


@router.get("/playbooks", responses=_PROBLEMS, summary="Every playbook",
            response_model=PlaybooksOut)
async def playbooks(key: PlaybooksReader, request: Request) -> Any:
    """Every playbook the business has (the shipped sets and its own), without their steps,
    and the sets switched on. Codes, not words: as written in the playbooks files."""
    library = await run_in_threadpool(_library, request)
    return {"playbooks": [playbook_data(library, p, steps=False)
                          for p in library.playbooks.values()],
            "enabled_sets": list(library.enabled_sets)}


@router.get("/playbooks/{name}", responses=_PROBLEMS, summary="One playbook with its steps",
            response_model=PlaybookOut)
async def playbook(key: PlaybooksReader, request: Request, name: PlaybookName) -> Any:
    """One playbook with its steps; 404 when no playbook has the name."""
    library = await run_in_threadpool(_library, request)
    try:
        return playbook_data(library, library.get(name))
    except UnknownPlaybookError as exc:
        raise Problem(404, str(exc), slug="unknown-playbook") from exc
