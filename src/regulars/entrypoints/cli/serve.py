"""``regulars serve``: the HTTP API (uvicorn). Registered on ``main.app`` when imported."""

from __future__ import annotations

from typing import Annotated

import typer

from regulars.entrypoints.cli.common import ConfigOpt, DatabaseOpt, out
from regulars.entrypoints.cli.main import app, handled, settings_from
from regulars.i18n import _


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(
        help=_("Address to listen on (default from settings: 127.0.0.1)."),
        show_default=False)] = None,
    port: Annotated[int | None, typer.Option(
        help=_("Port to listen on (default from settings: 8000)."), show_default=False)] = None,
    log_level: Annotated[str, typer.Option(help=_("uvicorn's log level."))] = "info",
    config: ConfigOpt = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Serve the HTTP API (OpenAPI docs at /docs); builds the customer map if there is none.

    It also delivers webhooks and checks hourly for points about to expire
    (api.points_expiring_check_minutes).
    """
    import uvicorn

    from regulars.entrypoints.http import create_app

    with handled():
        settings = settings_from(config, database_url)
        app = create_app(settings)
        bind_host = host or settings.api.host
        bind_port = port or settings.api.port
        out.print(_("regulars API on http://{host}:{port} (docs: /docs)").format(
            host=bind_host, port=bind_port), highlight=False)
        if settings.api.points_expiring_check_minutes:
            out.print(_("points_expiring notices: checked at start and every {n} minutes "
                        "(points expiring within {d} days)").format(
                n=settings.api.points_expiring_check_minutes,
                d=settings.api.points_expiring_notice_days), highlight=False)
        uvicorn.run(app, host=bind_host, port=bind_port, log_level=log_level)
