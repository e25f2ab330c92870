"""The HTTP API (FastAPI): ``create_app(settings)``."""

from regulars.entrypoints.http.app import create_app

__all__ = ["create_app"]
