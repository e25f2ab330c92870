"""Accept any table a user has: a path, or a pandas, polars or pyarrow table."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from regulars.domain.errors import InputError
from regulars.i18n import _


def is_frame(obj: Any) -> bool:
    """Whether ``obj`` is an in-memory table (not a path)."""
    return isinstance(obj, pa.Table | pa.RecordBatch) or hasattr(obj, "__arrow_c_stream__") or (
        type(obj).__module__.split(".")[0] in ("pandas", "polars")
    )


def as_arrow(obj: Any) -> pa.Table:
    """A pyarrow Table from a pyarrow, pandas or polars table (anything with the Arrow
    PyCapsule stream interface)."""
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatch):
        return pa.Table.from_batches([obj])
    module = type(obj).__module__.split(".")[0]
    if module == "pandas":
        return pa.Table.from_pandas(obj, preserve_index=False)
    if module == "polars":
        return obj.to_arrow()
    if hasattr(obj, "__arrow_c_stream__"):
        return pa.table(obj)
    raise InputError(
        _("expected a file path or a pandas, polars or pyarrow table, got {t}").format(
            t=type(obj).__name__
        )
    )
