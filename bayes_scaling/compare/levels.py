"""Comparing the levels of a factor: which architecture or domain scales better, and when.

"Does X scale better than Y, and from what size on does it win?" All answers come from the
hierarchical posterior: a level's parameter is the population mean plus that level's effect
(the other factors at their population average), so levels measured on different tasks or
domains are compared on the same footing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.intervals import central_interval, check_probs
from bayes_scaling.predict import predictive_draws
from bayes_scaling.summaries import level_draws

__all__ = [
    "LevelComparison",
    "compare_levels",
    "crossover",
    "crossover_curves",
    "crossover_from_curves",
    "factor_spread",
]


@dataclass(frozen=True)
class LevelComparison:
    """Posterior comparison of one parameter across the levels of one factor.

    Attributes
    ----------
    factor, param : str
        What is compared.
    levels : DataFrame
        Per level: ``level``, ``median``, ``lower``, ``upper``.
    pairs : DataFrame
        Per pair: ``a``, ``b``, and for ``param(a) - param(b)``: ``median``, ``lower``, ``upper``
        and ``p_greater`` = P(param(a) > param(b)).
    draws : ndarray
        Draws of the parameter per level, ``(draws, levels)``.
    """

    factor: str
    param: str
    levels: pd.DataFrame
    pairs: pd.DataFrame
    draws: np.ndarray

    def to_dict(self) -> dict:
        """The JSON contract of ``bayes-scaling compare``."""

        def rec(df: pd.DataFrame) -> list[dict]:
            return [
                {k: (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
                for r in df.to_dict(orient="records")
            ]

        return {
            "factor": self.factor,
            "param": self.param,
            "levels": rec(self.levels),
            "pairs": rec(self.pairs),
        }


def compare_levels(
    fit: Any, factor: str, param: str = "alpha", prob: float = 0.9
) -> LevelComparison:
    """Posterior of ``param`` per level of ``factor`` and of every pairwise difference.

    Parameters
    ----------
    fit : ScalingFit
        A partially pooled fit with ``factor`` among its grouping columns.
    factor : str
        Grouping column to compare.
    param : str
        Law parameter (natural scale), e.g. ``alpha``, ``E``, ``A`` (amplitudes relative to the
        fit's reference scale).
    prob : float
        Central interval probability.
    """
    (prob,) = check_probs(prob)
    fit = getattr(fit, "main", fit)
    draws = level_draws(fit, factor, param)
    lo, med, hi = central_interval(draws, prob)
    names = fit.levels[factor]
    levels = pd.DataFrame({"level": names, "median": med, "lower": lo, "upper": hi})
    rows = []
    for i, j in combinations(range(len(names)), 2):
        d = draws[:, i] - draws[:, j]
        dlo, dmed, dhi = central_interval(d, prob)
        rows.append(
            {
                "a": names[i],
                "b": names[j],
                "median": dmed,
                "lower": dlo,
                "upper": dhi,
                "p_greater": float((d > 0).mean()),
            }
        )
    pairs = pd.DataFrame(rows, columns=["a", "b", "median", "lower", "upper", "p_greater"])
    return LevelComparison(factor, param, levels, pairs, draws)


def factor_spread(fit: Any, prob: float = 0.9) -> pd.DataFrame:
    """How much each factor (and the per-curve residual) moves each parameter.

    The posterior of each effect scale ``sd`` on the linked scale (e.g. ``log alpha``): a spread
    of 0.3 on ``log_alpha`` means levels' exponents typically differ by a factor ``e^0.3``.
    """
    (prob,) = check_probs(prob)
    fit = getattr(fit, "main", fit)
    st = fit.structure
    if st.pooling != "partial":
        raise ValueError(f"effect spreads need pooling='partial'; this fit has {st.pooling!r}")
    sources = list(fit.group_cols) + (["curve"] if st.curve_term else [])
    rows = []
    for plan in st.plans:
        if not st.hierarchical(plan):
            continue
        for f in sources:
            lo, med, hi = central_interval(fit.draws(f"sd_{plan.name}_{f}"), prob)
            scale = "log" if st.priors[plan.name].positive else "linear"
            rows.append({"param": plan.name, "scale": scale, "source": f, "median": med,
                         "lower": lo, "upper": hi})
    return pd.DataFrame(rows)


def crossover(
    fit: Any,
    a: Mapping[str, str],
    b: Mapping[str, str],
    x_range: tuple[float, float],
    *,
    prob: float = 0.9,
    n_grid: int = 400,
    seed: int = 0,
) -> dict:
    """Where the expected curve of ``a`` overtakes that of ``b`` (a one-input law).

    Parameters
    ----------
    fit : ScalingFit
        A fit of a one-input law.
    a, b : mapping
        Group labels of the two curves (``{"architecture": "LSTM"}``; all grouping columns).
    x_range : (float, float)
        Scales searched.
    prob : float
        Interval probability for the crossover scale.
    n_grid : int
        Grid resolution (log-spaced).
    seed : int
        Seed for unseen-level draws.

    Returns
    -------
    dict
        ``p_cross``: probability that the curves cross inside the range; ``x_median``,
        ``x_lower``, ``x_upper``: the crossover scale among draws that cross (first crossing);
        ``p_a_better_at_end``: P(a's loss < b's at the top of the range).
    """
    check_probs(prob)  # fail before drawing
    grid, ca, cb = crossover_curves(fit, a, b, x_range, n_grid=n_grid, seed=seed)
    return crossover_from_curves(grid, ca, cb, prob)


def crossover_curves(
    fit: Any,
    a: Mapping[str, str],
    b: Mapping[str, str],
    x_range: tuple[float, float],
    *,
    n_grid: int = 400,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The log-spaced grid and draws of the expected curves of ``a`` and ``b`` on it."""
    if fit.law.n_inputs != 1:
        raise ValueError("crossover needs a one-input law")
    lo, hi = (float(v) for v in x_range)
    if not 0 < lo < hi:
        raise ValueError(f"x_range must be two increasing positive scales, got {x_range!r}")
    grid = np.geomspace(lo, hi, n_grid)
    x = fit.x_cols[0]

    def curve(labels: Mapping[str, str]) -> np.ndarray:
        missing = [g for g in fit.group_cols if g not in labels]
        if missing:
            raise ValueError(f"give labels for every group column; missing {missing}")
        frame = pd.DataFrame({**{g: labels[g] for g in fit.group_cols}, x: grid})
        return predictive_draws(fit, frame, seed=seed, max_decades=np.inf).curve

    return grid, curve(a), curve(b)


def crossover_from_curves(
    grid: np.ndarray, curve_a: np.ndarray, curve_b: np.ndarray, prob: float = 0.9
) -> dict:
    """:func:`crossover`'s summary from curve draws ``(draws, len(grid))`` of ``a`` and ``b``."""
    (prob,) = check_probs(prob)
    diff = np.log(curve_a) - np.log(curve_b)  # < 0: a better
    sign = np.sign(diff)
    change = np.diff(sign, axis=1) != 0
    crosses = change.any(axis=1)
    first = np.argmax(change, axis=1)
    out = {"p_cross": float(crosses.mean()), "p_a_better_at_end": float((diff[:, -1] < 0).mean())}
    if crosses.any():
        xs = np.sqrt(grid[first[crosses]] * grid[first[crosses] + 1])
        qlo, qmed, qhi = central_interval(xs, prob)
        out.update(x_median=float(qmed), x_lower=float(qlo), x_upper=float(qhi))
    else:
        out.update(x_median=None, x_lower=None, x_upper=None)
    return out
