"""Central intervals: the one place where probabilities are checked and quantiles are taken.

Every table, plot and decision in the package summarises draws through these helpers, so a
``prob`` is validated the same way everywhere and an interval means the same thing everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["check_probs", "central_interval", "summarise"]


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
    lo, med, hi = np.quantile(draws, [(1 - prob) / 2, 0.5, (1 + prob) / 2], axis=axis)
    return lo, med, hi


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
