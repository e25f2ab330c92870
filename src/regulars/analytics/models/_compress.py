"""Identical rows collapsed into weighted rows, and columns coded as distinct values.

The models' likelihoods are sums over customers; customers with the same (frequency, recency,
age) contribute the same term, so the fits work on the distinct rows and their counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]  # the same alias as _base.FloatArray


_SMALL_INT = 1 << 22  # whole-number columns below this are coded by counting, not sorting


def _small_int_codes(values: FloatArray) -> npt.NDArray[np.int64] | None:
    """``values`` as int64 when every value is a whole number in ``[0, 2^22)`` (counts, and
    ages or recencies in days or weeks), else ``None``."""
    if values.shape[0] == 0:
        return None
    lo, hi = float(values.min()), float(values.max())
    if lo < 0 or hi >= _SMALL_INT:
        return None
    codes = values.astype(np.int64)
    if not np.array_equal(codes, values):
        return None
    return codes


def factorize(values: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Distinct values and, for each input, the index of its value (``uniq[index] == values``).

    Likelihood terms that depend on one column only are computed once per distinct value and
    gathered: with daily data a million customers have a few hundred distinct ages. Whole
    numbers (the usual case) are coded by counting, in linear time.
    """
    codes = _small_int_codes(values)
    if codes is not None:
        present = np.bincount(codes) > 0
        rank = np.cumsum(present, dtype=np.intp) - 1
        return np.flatnonzero(present).astype(np.float64), rank[codes]
    uniq, inverse = np.unique(values, return_inverse=True)
    return uniq, inverse.astype(np.intp).reshape(-1)


def _row_key(
    columns: Sequence[FloatArray],
) -> tuple[npt.NDArray[np.int64], list[tuple[int, FloatArray | None]]] | None:
    """One int64 per row that orders rows as ``np.lexsort`` on the columns would (first
    column most significant), with each column's (number of codes, distinct values or ``None``
    when the code is the value); ``None`` when the codes do not fit in 62 bits."""
    key: npt.NDArray[np.int64] | None = None
    span = 1
    parts: list[tuple[int, FloatArray | None]] = []
    for c in columns:
        values: FloatArray | None = None
        codes = _small_int_codes(c)
        if codes is None:
            values, inv = factorize(c)
            codes, card = inv.astype(np.int64), max(int(values.shape[0]), 1)
        else:
            card = int(codes.max()) + 1
        span *= card
        if span >= 1 << 62:
            return None
        parts.append((card, values))
        if key is None:
            key = codes
        else:
            key *= card
            key += codes
    assert key is not None
    return key, parts


def _decode(
    keys: npt.NDArray[np.int64], parts: list[tuple[int, FloatArray | None]]
) -> tuple[FloatArray, ...]:
    """The columns' values of the rows with these keys (inverse of :func:`_row_key`)."""
    out: list[FloatArray] = []
    rest = keys.copy()
    for card, values in reversed(parts):
        rest, codes = np.divmod(rest, card)
        out.append(codes.astype(np.float64) if values is None else values[codes])
    return tuple(reversed(out))


def compress(
    columns: Sequence[FloatArray], weights: FloatArray, *, inverse: bool = True
) -> tuple[tuple[FloatArray, ...], FloatArray, npt.NDArray[np.intp]]:
    """Identical rows collapsed into one row each, their weights summed.

    Returns the unique rows (one array per column, sorted lexicographically), their weights
    and, for every input row, the index of its unique row (so per-row results can be broadcast
    back with ``out[inverse]``; an empty array when ``inverse=False``). The columns are
    combined into one integer key and sorted once (a lexsort of three float columns is ten
    times slower); without weights to carry or an inverse to return, the keys alone are
    sorted.
    """
    n = columns[0].shape[0]
    if n == 0:
        return tuple(c[:0] for c in columns), weights[:0], np.zeros(0, dtype=np.intp)
    keyed = _row_key(columns)
    new = np.ones(n, dtype=bool)
    if keyed is not None and not inverse and bool(np.all(weights == 1.0)):
        sorted_key = np.sort(keyed[0])
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        counts = np.diff(np.append(starts, n)).astype(np.float64)
        return _decode(sorted_key[starts], keyed[1]), counts, np.zeros(0, dtype=np.intp)
    if keyed is not None:
        order = np.argsort(keyed[0])
        sorted_key = keyed[0][order]
        np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
    else:
        order = np.lexsort(tuple(reversed(columns)))
        diff = np.zeros(n - 1, dtype=bool)
        for c in columns:
            sc = c[order]
            diff |= sc[1:] != sc[:-1]
        new[1:] = diff
    group = np.cumsum(new, dtype=np.intp) - 1
    if inverse:
        inv = np.empty(n, dtype=np.intp)
        inv[order] = group
    else:
        inv = np.zeros(0, dtype=np.intp)
    first = order[new]
    uniq = tuple(c[first] for c in columns)
    w = np.bincount(group, weights=weights[order], minlength=int(group[-1]) + 1)
    return uniq, w.astype(np.float64), inv
