"""The public entry points: the business chunk by chunk, or whole."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pyarrow as pa

from regulars.demo.arrays import _Calendar, _State, _Widths
from regulars.demo.chunk import _Chunk
from regulars.demo.spec import SCHEMAS, DemoSpec

# --------------------------------------------------------------------------------------------
# public API


def iter_business(spec: DemoSpec) -> Iterator[dict[str, pa.Table]]:
    """Generate a synthetic business chunk by chunk.

    Parameters
    ----------
    spec
        What to generate; identical specs give identical tables.

    Yields
    ------
    dict of str to pyarrow.Table
        For every chunk of ``spec.chunk_customers`` persons, the tables ``customers``,
        ``orders``, ``returns``, ``invoices``, ``interactions``, ``feedback``, ``referrals`` and
        ``truth``, each with the schema in :data:`SCHEMAS`. Ids are unique across chunks; rows
        of one chunk only reference customers and orders of the same chunk. The big client
        comes in the last chunk.
    """
    cal = _Calendar(spec.start, spec.end)
    n_regular = spec.customers - 1
    extra_cards = spec.customers // 20 + 10
    widths = _Widths(
        customer=max(6, len(str(spec.customers + extra_cards))),
        order=max(7, len(str(math.ceil(spec.customers * spec.orders_per_customer * 1.5)))),
        other=max(7, len(str(math.ceil(spec.customers * spec.orders_per_customer * 1.5)))),
    )
    state = _State()
    chunks = spec.chunks
    for index in range(chunks):
        lo = index * spec.chunk_customers
        hi = min(n_regular, lo + spec.chunk_customers)
        rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(index,)))
        chunk = _Chunk(spec, cal, widths, state, lo, hi - lo, index == chunks - 1, rng)
        yield chunk.build()


def generate_business(spec: DemoSpec | None = None) -> dict[str, pa.Table]:
    """Generate a whole synthetic business in memory (for small sizes).

    Parameters
    ----------
    spec
        What to generate (default: ``DemoSpec()``, 2,000 customers).

    Returns
    -------
    dict of str to pyarrow.Table
        The tables of :func:`iter_business`, each concatenated over all chunks.
    """
    spec = spec or DemoSpec()
    parts: dict[str, list[pa.Table]] = {name: [] for name in SCHEMAS}
    for chunk in iter_business(spec):
        for name, table in chunk.items():
            parts[name].append(table)
    return {name: pa.concat_tables(tables) for name, tables in parts.items()}
