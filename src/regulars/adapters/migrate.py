"""Transitional: this module is now :mod:`regulars.adapters.db.migrate` (issue 15).

It stays only until every branch of that issue has merged, so that code written against the
old path still imports; new code imports from the new module. Delete it then.
"""

from regulars.adapters.db.migrate import *  # noqa: F403
