"""How far a prediction lies beyond the data, along the directions that matter.

For inputs that measure scale (all inputs of a law unless it says otherwise: ``lr_batch`` leaves
out the learning rate and batch size), the distance of a row from the training data is, in
decades::

    Delta = max( max over non-empty subsets A of the scale inputs of
                     sum_{k in A} log10 x_k  -  max over training rows of the same sum,
                 max over scale inputs k of  min over training rows log10 x_k - log10 x_k,
                 0 )

The subset sums make a larger *product* count even when each input stays inside its own range:
for an (N, D) law, ``A = {N, D}`` is log compute (C = 6ND), so a 3x larger budget with N and D
inside the seen ranges is 0.48 decades out. Single inputs catch a larger model or more data
alone, and the second term a prediction below the data. The training rows are those of the
row's curve (all rows for a curve the fit never saw). The drift reference point ``x0`` is the row
moved back onto the data along the maximising direction (all inputs of ``A`` scaled down
equally).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

__all__ = ["scale_subsets", "DistanceTable", "distance_table", "extrapolation_distance"]

_MAX_FULL = 5  # up to this many scale inputs, every subset; beyond, singletons and all inputs


def scale_subsets(n_scales: int) -> list[tuple[int, ...]]:
    """Subsets of scale-input positions whose products are checked."""
    idx = range(n_scales)
    if n_scales <= _MAX_FULL:
        return [c for r in range(1, n_scales + 1) for c in combinations(idx, r)]
    return [(k,) for k in idx] + [tuple(idx)]


class DistanceTable:
    """Per curve (and over all rows): the training maxima of every subset sum and the minima."""

    def __init__(self, upper: np.ndarray, lower: np.ndarray, subsets: list[tuple[int, ...]]):
        self.upper = upper  # (curves + 1, subsets): last row = all training rows
        self.lower = lower  # (curves + 1, scales)
        self.subsets = subsets

    def to_dict(self) -> dict:
        """JSON form."""
        return {
            "upper": self.upper.tolist(),
            "lower": self.lower.tolist(),
            "subsets": [list(s) for s in self.subsets],
        }

    @classmethod
    def from_dict(cls, d: dict) -> DistanceTable:
        """Inverse of :meth:`to_dict`."""
        return cls(
            np.asarray(d["upper"], dtype=float),
            np.asarray(d["lower"], dtype=float),
            [tuple(s) for s in d["subsets"]],
        )


def _sums(log10_x: np.ndarray, subsets: Sequence[tuple[int, ...]]) -> np.ndarray:
    return np.column_stack([log10_x[:, list(s)].sum(axis=1) for s in subsets])


def distance_table(log10_scales: np.ndarray, unit_idx: np.ndarray, n_units: int) -> DistanceTable:
    """Training extremes per unit (curve or run) of the scale inputs (``(n, scales)``, log10)."""
    subsets = scale_subsets(log10_scales.shape[1])
    sums = _sums(log10_scales, subsets)
    upper = np.full((n_units + 1, len(subsets)), -np.inf)
    lower = np.full((n_units + 1, log10_scales.shape[1]), np.inf)
    np.maximum.at(upper, unit_idx, sums)
    np.minimum.at(lower, unit_idx, log10_scales)
    upper[-1] = sums.max(axis=0)
    lower[-1] = log10_scales.min(axis=0)
    return DistanceTable(upper, lower, subsets)


def extrapolation_distance(
    table: DistanceTable, log10_scales: np.ndarray, unit: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance in decades and the shift (in log10, per scale input) back to the data.

    Parameters
    ----------
    table : DistanceTable
        Training extremes.
    log10_scales : ndarray
        ``(rows, scales)`` log10 of the requested scale inputs.
    unit : ndarray of int
        Row's unit in the table (``-1`` or ``n_units``: all training rows).

    Returns
    -------
    (decades, back)
        ``decades`` ``(rows,)`` >= 0; ``back`` ``(rows, scales)``: add to ``log10_scales`` to reach
        the reference point on the data.
    """
    n_units = table.upper.shape[0] - 1
    u = np.where((unit < 0) | (unit >= n_units), n_units, unit)
    sums = _sums(log10_scales, table.subsets)
    up = sums - table.upper[u]  # (rows, subsets)
    down = table.lower[u] - log10_scales  # (rows, scales)
    i_up = np.argmax(up, axis=1)
    i_dn = np.argmax(down, axis=1)
    best_up = up[np.arange(len(u)), i_up]
    best_dn = down[np.arange(len(u)), i_dn]
    decades = np.maximum(np.maximum(best_up, best_dn), 0.0)
    back = np.zeros_like(log10_scales)
    for r in np.flatnonzero(decades > 0):
        if best_up[r] >= best_dn[r]:
            members = list(table.subsets[i_up[r]])
            back[r, members] = -decades[r] / len(members)
        else:
            back[r, i_dn[r]] = decades[r]
    return decades, back
