"""Does pooling pay off? Thinned-level studies and PSIS-LOO across pooling structures.

Two questions a user asks before trusting a hierarchy:

* :func:`pooling_payoff` - "a new architecture measured at 3 sizes borrows from the rest": keep
  only the ``keep`` smallest scales of one level's curves, fit with partial and with no pooling,
  and score each on the level's own exponent interval and on the dropped (larger) runs: held-out
  error, coverage and interval score. Optionally a reference fit on all points says whether the
  thinned intervals contain what the full data later showed.
* :func:`compare_poolings` - which structure the data support: no pooling, complete pooling, and
  partial pooling with each subset of the grouping factors, compared by PSIS-LOO on the same
  observations. A structure that leaves a factor out keeps the curves apart through a per-curve
  effect, so every structure models the same curves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling.data import as_columns, curve_label, numeric_column, read_table
from bayes_scaling.evaluation.backtest import score_log_draws
from bayes_scaling.fit import ScalingFit, ScalingLaw
from bayes_scaling.intervals import check_probs, summarise
from bayes_scaling.laws import get_law
from bayes_scaling.predict import curve_parameters, predictive_draws

__all__ = [
    "PoolingPayoff",
    "pooling_payoff",
    "thin_level",
    "PoolingComparison",
    "compare_poolings",
    "CURVE_ID",
]

#: Column added by :func:`compare_poolings` to keep curves apart when a factor is left out.
CURVE_ID = "curve_id"


def thin_level(
    frame: pd.DataFrame, x: str, groups: Sequence[str], factor: str, level: str, keep: int
) -> np.ndarray:
    """Rows dropped when each curve of ``factor == level`` keeps its ``keep`` smallest ``x``.

    Raises ``ValueError`` if the level is unknown or one of its curves has no more than ``keep``
    points (nothing would be left to score).
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be a positive integer, got {keep!r}")
    if factor not in groups:
        raise ValueError(f"factor {factor!r} is not among the group columns {list(groups)}")
    labels = frame[factor].astype(str)
    if level not in set(labels):
        raise ValueError(
            f"level {level!r} not found in column {factor!r}; levels: {sorted(set(labels))}"
        )
    xs = numeric_column(frame, x, "scale")
    dropped = np.zeros(len(frame), dtype=bool)
    sub = frame[(labels == level).to_numpy()]
    for key, g in sub.groupby(list(groups), sort=False):
        pos = frame.index.get_indexer(g.index)
        if pos.size <= keep:
            raise ValueError(
                f"curve {key!r} of {factor}={level!r} has {pos.size} point(s); thinning to "
                f"keep={keep} would leave nothing to predict"
            )
        order = pos[np.argsort(xs[pos], kind="stable")]
        dropped[order[keep:]] = True
    return dropped


@dataclass(frozen=True)
class PoolingPayoff:
    """Partial vs no pooling on a level thinned to its ``keep`` smallest scales.

    Attributes
    ----------
    table : DataFrame
        One row per (fit, thinned curve): ``fit`` (``partial``, ``none``, and ``reference`` = the
        model fitted on all points), ``curve``, ``n_train``, the parameter's ``median``,
        ``lower``, ``upper``, ``width`` and ``covers_reference`` (the interval contains the
        reference fit's median), and on the dropped runs ``n_heldout``,
        ``median_abs_log_error``, ``coverage`` (of the ``prob`` interval) and
        ``mean_interval_score_90``.
    points : DataFrame
        The dropped runs with each fit's ``<fit>_median``, ``<fit>_lower``, ``<fit>_upper``.
    fits : dict[str, ScalingFit]
        The fits, by name.
    """

    factor: str
    level: str
    param: str
    keep: int
    prob: float
    table: pd.DataFrame
    points: pd.DataFrame
    fits: dict[str, ScalingFit]

    def width_ratio(self) -> float:
        """Median over thinned curves of (partial interval width) / (no-pooling width)."""
        t = self.table.set_index(["fit", "curve"])["width"]
        return float(np.median(t["partial"] / t["none"]))


def pooling_payoff(
    data: pd.DataFrame | str | PathLike[str],
    x: str,
    y: str,
    groups: str | Sequence[str],
    *,
    factor: str,
    level: str,
    keep: int = 3,
    model: ScalingLaw | None = None,
    param: str = "alpha",
    prob: float = 0.9,
    reference: bool = True,
    chains: int = 2,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
) -> PoolingPayoff:
    """Thin one level to its ``keep`` smallest scales and compare partial with no pooling.

    Parameters
    ----------
    data, x, y, groups
        All runs and their roles, as in :meth:`ScalingLaw.fit` (one scale column).
    factor, level
        The level to thin, e.g. ``factor="architecture", level="LSTM"``.
    keep : int
        Points kept per curve of that level (the smallest scales: a new architecture measured at
        a few small sizes). No pooling needs at least as many as the law has parameters.
    model : ScalingLaw
        Model specification (default ``ScalingLaw("saturating")``); its ``pooling`` is replaced.
    param : str
        Law parameter whose interval is compared (natural scale, per thinned curve).
    prob : float
        Interval probability for the parameter and the held-out coverage.
    reference : bool
        Also fit the full data (partial pooling) and report whether the thinned intervals contain
        its estimate.
    chains, warmup, draws, seed
        NUTS settings shared by every fit.
    """
    (prob,) = check_probs(prob)
    model = model or ScalingLaw("saturating")
    frame = read_table(data)
    group_cols = list(as_columns(groups, "groups"))
    x_cols = as_columns(x, "x")
    if len(x_cols) != 1:
        raise ValueError(f"pooling_payoff needs one scale column, got {list(x_cols)}")
    law = get_law(model.law)
    if param not in law.params:
        raise ValueError(
            f"param {param!r} is not a parameter of law {law.name!r}: {list(law.params)}"
        )
    dropped = thin_level(frame, x_cols[0], group_cols, factor, level, keep)
    train, test = frame[~dropped], frame[dropped]
    kw = dict(chains=chains, warmup=warmup, draws=draws, seed=seed, warn=False)
    thin_model = replace(model, min_points=min(keep, model.min_points or keep))
    fits = {
        p: replace(thin_model, pooling=p).fit(train, x, y, group_cols, **kw)
        for p in ("partial", "none")
    }
    if reference:
        fits["reference"] = replace(model, pooling="partial").fit(frame, x, y, group_cols, **kw)

    def curve_keys(frame: pd.DataFrame) -> list[tuple[str, ...]]:
        return [tuple(str(v) for v in r) for r in frame[group_cols].to_numpy()]

    test_keys = curve_keys(test)
    keys = list(dict.fromkeys(test_keys))
    names = [curve_label(group_cols, k) for k in keys]
    held = {k: np.array([t == k for t in test_keys]) for k in keys}
    train_keys = curve_keys(train)
    n_train = {k: train_keys.count(k) for k in keys}
    log_y = np.log(numeric_column(test, y, "metric"))
    pct = f"{100 * prob:g}"
    rows, points = [], test.copy()
    ref_median = None
    for name in ("reference", "partial", "none") if reference else ("partial", "none"):
        f = fits[name]
        stats = summarise(curve_parameters(f, keys, seed=seed)[param], [prob])
        lo, med, hi = stats["lower"], stats["median"], stats["upper"]
        if name == "reference":
            ref_median = med
        obs = predictive_draws(f, test, seed=seed, max_decades=np.inf).observed
        scores = score_log_draws(np.log(obs), log_y, (prob,))
        points[f"{name}_median"] = scores["median"].to_numpy()
        points[f"{name}_lower"] = scores[f"lower_{pct}"].to_numpy()
        points[f"{name}_upper"] = scores[f"upper_{pct}"].to_numpy()
        for j, k in enumerate(keys):
            m = held[k]
            s = scores[m]
            rows.append(
                {
                    "fit": name,
                    "curve": names[j],
                    "n_train": n_train[k] if name != "reference" else n_train[k] + int(m.sum()),
                    "median": med[j],
                    "lower": lo[j],
                    "upper": hi[j],
                    "width": hi[j] - lo[j],
                    "covers_reference": (
                        bool(lo[j] <= ref_median[j] <= hi[j]) if ref_median is not None else None
                    ),
                    "n_heldout": int(m.sum()),
                    "median_abs_log_error": float(s["abs_log_error"].median()),
                    "coverage": float(s[f"covered_{pct}"].mean()),
                    "mean_interval_score_90": float(s["interval_score_90"].mean()),
                }
            )
    table = pd.DataFrame(rows)
    return PoolingPayoff(factor, str(level), param, keep, prob, table, points, fits)


@dataclass(frozen=True)
class PoolingComparison:
    """Fits of several pooling structures to the same runs and their PSIS-LOO comparison.

    Attributes
    ----------
    fits : dict[str, ScalingFit]
        By structure name (``none``, ``complete``, ``partial: a``, ``partial: a + b``, ...).
    table : DataFrame
        ArviZ comparison (``elpd_loo``, ``p_loo``, ``elpd_diff``, ``weight``, ``se``, ``dse``),
        best first, plus ``structure`` details: ``pooling`` and ``factors``.
    """

    fits: dict[str, ScalingFit]
    table: pd.DataFrame

    @property
    def best(self) -> str:
        """Name of the structure with the highest expected log predictive density."""
        return str(self.table.index[0])


def _structures(group_cols: Sequence[str]) -> dict[str, tuple[str, tuple[str, ...]]]:
    out: dict[str, tuple[str, tuple[str, ...]]] = {
        "none": ("none", ()),
        "complete": ("complete", ()),
    }
    for r in range(1, len(group_cols) + 1):
        for subset in combinations(group_cols, r):
            out["partial: " + " + ".join(subset)] = ("partial", subset)
    return out


def compare_poolings(
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str],
    *,
    model: ScalingLaw | None = None,
    structures: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    method: str = "stacking",
    chains: int = 2,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
) -> PoolingComparison:
    """Compare pooling structures by PSIS-LOO on the same observations.

    Parameters
    ----------
    data, x, y, groups
        As in :meth:`ScalingLaw.fit`; ``groups`` define the curves in every structure.
    model : ScalingLaw
        Specification shared by all fits (default ``ScalingLaw("saturating",
        discrepancy="none")``; the discrepancy does not change the in-sample LOO).
    structures : mapping, optional
        ``name -> (pooling, factors)``; default: ``none``, ``complete`` and ``partial`` with every
        non-empty subset of ``groups``. Under partial pooling with a subset, the curves are kept
        apart by an extra per-curve factor (column ``curve_id``).
    method : str
        ArviZ weighting (``stacking``, ``BB-pseudo-BMA``, ``pseudo-BMA``).
    chains, warmup, draws, seed
        NUTS settings.
    """
    model = model or ScalingLaw("saturating", discrepancy="none")
    frame = read_table(data).copy()
    group_cols = list(as_columns(groups, "groups"))
    if CURVE_ID in frame.columns:
        raise ValueError(f"column {CURVE_ID!r} is reserved by compare_poolings; rename it")
    specs = dict(structures) if structures is not None else _structures(group_cols)
    if len(specs) < 2:
        raise ValueError(f"compare at least two structures, got {list(specs)}")
    frame[CURVE_ID] = frame[list(group_cols)].astype(str).agg(" / ".join, axis=1)
    kw: dict[str, Any] = dict(chains=chains, warmup=warmup, draws=draws, seed=seed, warn=False)
    fits, rows = {}, {}
    for name, (pooling, factors) in specs.items():
        factors = tuple(factors)
        unknown = set(factors) - set(group_cols)
        if unknown:
            raise ValueError(f"structure {name!r} names factors {sorted(unknown)} not in groups")
        cols = list(group_cols)
        if pooling == "partial" and set(factors) != set(group_cols):
            cols = [*factors, CURVE_ID]
        fits[name] = replace(model, pooling=pooling).fit(frame, x, y, cols, **kw)
        rows[name] = {"pooling": pooling, "factors": ", ".join(factors) or "-"}
    table = _arviz.compare({k: f.idata for k, f in fits.items()}, method=method)
    table = table.join(pd.DataFrame.from_dict(rows, orient="index"))
    return PoolingComparison(fits, table)
