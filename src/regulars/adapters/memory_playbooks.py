"""The playbooks' schedule in memory (tests, and a store-less preview): the service's
:class:`~regulars.services.playbooks.overlay.Overlay` over nothing."""

from __future__ import annotations

from regulars.services.playbooks.overlay import Overlay


class MemoryJobStore(Overlay):
    def __init__(self) -> None:
        super().__init__(None)
