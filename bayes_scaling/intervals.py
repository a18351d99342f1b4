"""Central intervals: the one place where probabilities are checked and quantiles are taken.

Every table, plot and decision in the package summarises draws through these helpers, so a
``prob`` is validated the same way everywhere and an interval means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["check_probs", "central_interval", "quantiles", "summarise"]


def check_probs(prob: float | Sequence[float], name: str = "prob") -> list[float]:
    """Validate central-interval probabilities (each strictly between 0 and 1)."""
    probs = [prob] if isinstance(prob, int | float | np.floating) else list(prob)
    if not probs:
        raise ValueError(f"{name}: give at least one probability")
    for p in probs:
        if isinstance(p, bool) or not isinstance(p, int | float | np.floating) or not (
            0.0 < float(p) < 1.0
        ):
            raise ValueError(f"{name} must be a probability strictly between 0 and 1, got {p!r}")
    return [float(p) for p in probs]


def central_interval(draws: np.ndarray, prob: float, axis: int = 0) -> tuple:
    """``(lower, median, upper)`` of the central ``prob`` interval of ``draws`` along ``axis``.

    The one helper for every central interval in the package.
    """
    (prob,) = check_probs(prob)
    lo, med, hi = quantiles(draws, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=axis)
    return lo, med, hi


def quantiles(draws: np.ndarray, q: Sequence[float], axis: int = 0) -> np.ndarray:
    """``np.quantile(draws, q, axis=axis)`` (linear interpolation, NaN in, NaN out), by sorting.

    Identical to numpy's numbers, except that a quantile between two equal infinite draws is
    that infinity (numpy gives NaN).

    numpy's vectorised sort of contiguous lanes is several times faster than the multi-``kth``
    partition behind ``np.quantile`` for a few quantiles of many rows (10,000 rows x 1,000
    draws: ~0.03 s against ~0.17 s), and gives the same numbers.
    """
    q = np.asarray(q, dtype=float)
    # a C-ordered copy (sorting strided lanes is slow; the caller's array is never touched)
    lanes = np.moveaxis(np.asarray(draws, dtype=float), axis, -1).copy(order="C")
    lanes.sort(axis=-1)
    n = lanes.shape[-1]
    if n == 0:
        raise ValueError("quantiles of an empty set of draws")
    pos = q * (n - 1)
    below = np.floor(pos).astype(np.int64)
    above = np.minimum(below + 1, n - 1)
    t = pos - below
    lo, hi = np.moveaxis(lanes[..., below], -1, 0), np.moveaxis(lanes[..., above], -1, 0)
    t = t.reshape((-1,) + (1,) * (lo.ndim - 1))
    # numpy's own _lerp (exact at both ends of each step), except that equal neighbours give
    # their value: an infinite quantile stays infinite (numpy returns NaN from inf - inf); the
    # NaN of those discarded differences is why numpy's invalid-value warning is off here
    with np.errstate(invalid="ignore"):
        diff = hi - lo
        out = np.where(t >= 0.5, hi - diff * (1 - t), lo + diff * t)
    out = np.where(lo == hi, lo, out)
    nan = np.isnan(lanes[..., -1])  # NaN sorts last: a lane with one has no quantiles
    if nan.any():
        out[:, nan] = np.nan
    return out


def summarise(draws: np.ndarray, probs: Sequence[float], prefix: str = "") -> dict:
    """Mean, median and central intervals of ``draws`` ``(draws, rows)`` per row.

    The first probability gives ``lower``/``upper``; with several, each also gives
    ``lower_<pct>``/``upper_<pct>``.
    """
    probs = check_probs(list(probs))
    out = {f"{prefix}mean": draws.mean(axis=0)}
    for j, p in enumerate(probs):
        lo, med, hi = central_interval(draws, p)
        if j == 0:
            out[f"{prefix}median"] = med  # the same partition gives the median
            out[f"{prefix}lower"], out[f"{prefix}upper"] = lo, hi
        if len(probs) > 1:
            pct = f"{100 * p:g}"
            out[f"{prefix}lower_{pct}"], out[f"{prefix}upper_{pct}"] = lo, hi
    return out
