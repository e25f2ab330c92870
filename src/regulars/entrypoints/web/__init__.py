"""The web pages for the people who run the business (issue 19): served by ``regulars
serve`` at ``/`` beside the API (``/v1``), in ru, et and en.

The seams a page is built on (docs/web.md tells the whole story):

- :mod:`~regulars.entrypoints.web.app`: the app, mounted on the API's (``mount_web``);
- :mod:`~regulars.entrypoints.web.pages`: one module per page, its ``router`` in ``ROUTERS``;
- :mod:`~regulars.entrypoints.web.auth`: ``SignedIn``, ``require_role(...)`` and the role
  aliases (``Owner``, ``Manager``, ``Marketer``, ``Cashier``);
- :mod:`~regulars.entrypoints.web.rendering`: ``page(request, "x.html", {...})``, the
  templates' filters and globals, htmx fragments;
- :mod:`~regulars.entrypoints.web.csrf`: every form's token (checked for every route);
- :mod:`~regulars.entrypoints.web.sessions`: the signed cookie, ``flash(...)``;
- :mod:`~regulars.entrypoints.web.nav`: the menu by role, and each role's landing page.
"""

from regulars.entrypoints.web.app import create_web_app, mount_web

__all__ = ["create_web_app", "mount_web"]
