"""The programme edited on the web (``tests/support/loyalty_programmes.py``) on SQLite and
PostgreSQL, and the store's own part: the columns of migration 0020."""

from __future__ import annotations

import sqlalchemy as sa

from ...support.loyalty import programme
from ...support.loyalty_programmes import *  # noqa: F403 (the scenarios, collected here)
from ...support.loyalty_programmes import add_coffee


def test_a_web_version_is_stored_with_its_source_author_and_note(store, clock):
    from regulars.services.loyalty import LoyaltyService

    s = LoyaltyService(store, programme(), clock=clock)
    add_coffee(s, 1, author="Mari Tamm", note="new on the menu")
    with store.engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT version, source, author, note FROM loyalty_programmes ORDER BY version"
        )).all()
    assert [tuple(r) for r in rows] == [(1, "file", None, None),
                                        (2, "web", "Mari Tamm", "new on the menu")]
