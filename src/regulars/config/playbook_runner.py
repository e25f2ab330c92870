"""The ``[playbook_runner]`` section (issue 20): how the playbooks' schedule is run — by
``regulars playbooks run`` (cron) and by the worker of ``regulars serve``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PlaybookRunnerSettings(BaseModel):
    """The ``[playbook_runner]`` section: the durable schedule's runner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval_seconds: float = Field(
        default=60.0, ge=0, le=86_400,
        description=(
            "How often the background worker of `regulars serve` (and `regulars worker`) "
            "enters new customers and runs the due steps; 0: it does not, and "
            "`regulars playbooks run` from cron does."))
    batch: int = Field(
        default=500, ge=1, le=10_000,
        description="Jobs claimed, and completed, in one transaction.")
    lease_seconds: int = Field(
        default=300, ge=1, le=86_400,
        description=(
            "How long a claimed job is a worker's: a worker that dies holding it leaves it "
            "to be claimed again after this many seconds."))
    max_attempts: int = Field(
        default=5, ge=1, le=100,
        description=(
            "Tries of a step that fails (an error, not a skip) before its job is marked "
            "failed and the journey ends."))
    retry_seconds: int = Field(
        default=60, ge=1, le=86_400,
        description=(
            "Wait before the first retry of a failed step; each further retry waits twice "
            "as long as the one before."))
