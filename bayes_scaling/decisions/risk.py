"""Risk queries a planner asks, answered from the honest predictive draws.

* :func:`prob_below`: probability that a new run at a target scale beats a threshold;
* :func:`expected_gain`: loss reduction (with interval) from scaling a run by ``k``;
* :func:`scale_for_target`: the scale needed to reach a target loss with probability ``p``;
* :func:`check_runs`: how surprising newly observed runs are (predictive percentile and a flag),
  the warning sign of a mis-tuned large run (Metz et al.: runs that fall off the line);
* :func:`check_fitted`: existing points the fit finds improbable (LOO-PIT and Pareto k).
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.data import numeric_column, read_table
from bayes_scaling.intervals import central_interval, check_probs
from bayes_scaling.predict import predictive_draws

__all__ = ["prob_below", "expected_gain", "scale_for_target", "check_runs", "check_fitted"]


def _threshold(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0 (metrics are positive), got {value!r}")
    return float(value)


def prob_below(
    fit: Any, data: pd.DataFrame | str | PathLike[str], threshold: float, *, seed: int = 0
) -> pd.DataFrame:
    """Probability that a new run at each row's scale has a metric below ``threshold``.

    Returns the rows with ``p_below`` (and ``median``), in the caller's order.
    """
    thr = _threshold(threshold, "threshold")
    d = predictive_draws(fit, data, seed=seed)
    out = d.frame.copy()
    out["median"] = np.median(d.observed, axis=0)
    out["p_below"] = (d.observed < thr).mean(axis=0)
    return out


def expected_gain(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    factor: float = 10.0,
    *,
    prob: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Reduction of the expected metric from scaling every scale column of each row by ``factor``.

    The expected metric is the law's curve times the extrapolation drift (no run-to-run noise),
    compared draw by draw at ``x`` and ``factor * x``. Columns: ``loss_now``, ``loss_scaled``
    (medians), ``gain_median``, ``gain_lower``, ``gain_upper`` (absolute) and ``p_gain`` (the
    probability that scaling helps at all).
    """
    f = _threshold(factor, "factor")
    (prob,) = check_probs(prob)
    frame = read_table(data, what="prediction data").copy()
    scaled = frame.copy()
    for c in fit.x_cols:
        scaled[c] = numeric_column(frame, c, "scale") * f
    now = predictive_draws(fit, frame, seed=seed)
    later = predictive_draws(fit, scaled, seed=seed)
    a, b = now.expected, later.expected
    gain = a - b
    lo, med, hi = central_interval(gain, prob)
    return frame.assign(
        factor=f,
        loss_now=np.median(a, axis=0),
        loss_scaled=np.median(b, axis=0),
        gain_median=med,
        gain_lower=lo,
        gain_upper=hi,
        p_gain=(gain > 0).mean(axis=0),
    )


def scale_for_target(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    target: float,
    *,
    p: float = 0.9,
    max_factor: float = 1e4,
    n_grid: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Smallest scale at which a new run beats ``target`` with probability at least ``p``.

    Each row gives a curve (group columns) and a starting scale; scales from there up to
    ``max_factor`` times it are searched (all scale columns multiplied together). Columns:
    ``scale_factor`` and the scale columns at the answer (NaN where never reached: the drift
    grows with distance, so far-off targets may be unreachable with confidence ``p``), and
    ``p_reached`` at the answer (or at the largest scale searched).
    """
    thr = _threshold(target, "target")
    (p,) = check_probs(p)
    frame = read_table(data, what="prediction data").copy()
    factors = np.geomspace(1.0, float(max_factor), n_grid)
    out = frame.copy()
    best = np.full(len(frame), np.nan)
    p_at = np.zeros(len(frame))
    for i in range(len(frame)):
        row = frame.iloc[[i]]
        grid = pd.concat([row] * n_grid, ignore_index=True)
        for c in fit.x_cols:
            grid[c] = float(row[c].iloc[0]) * factors
        d = predictive_draws(fit, grid, seed=seed, max_decades=np.inf)
        pb = (d.observed < thr).mean(axis=0)
        hit = np.flatnonzero(pb >= p)
        best[i] = factors[hit[0]] if hit.size else np.nan
        p_at[i] = pb[hit[0]] if hit.size else pb[-1]
    out["scale_factor"] = best
    for c in fit.x_cols:
        out[f"{c}_needed"] = numeric_column(frame, c, "scale") * best
    out["p_reached"] = p_at
    return out


def check_runs(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    prob: float = 0.95,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """How surprising newly observed runs are under the fit.

    Columns added: ``percentile`` (predictive probability of a value at most the observed one),
    ``median``, ``lower``, ``upper`` (central ``prob`` interval) and ``flag``: ``"above"`` (worse
    than expected: a mis-tuned or diverged run, or the law bending), ``"below"`` (better than
    expected) or ``""``.
    """
    (prob,) = check_probs(prob)
    frame = read_table(data, what="new runs").copy()
    y = numeric_column(frame, fit.y_col, "metric")
    d = predictive_draws(fit, frame, seed=seed)
    pct = (d.observed <= y).mean(axis=0)
    lo, med, hi = central_interval(d.observed, prob)
    flag = np.where(y > hi, "above", np.where(y < lo, "below", ""))
    out = frame.assign(percentile=pct, median=med, lower=lo, upper=hi, flag=flag)
    law = getattr(fit, "main", fit).law
    if {"lr", "batch_size"} <= set(law.inputs):
        out = _tuning_diagnosis(fit, frame, out, y, prob, seed)
    return out


def _tuning_diagnosis(fit: Any, frame: pd.DataFrame, out: pd.DataFrame, y: np.ndarray,
                      prob: float, seed: int) -> pd.DataFrame:
    """Whether a surprising run is explained by its learning rate and batch size.

    Each run is also compared with a run at the posterior optimum (lr, batch) of its (N, D): a
    run above *that* interval but inside the interval at its own lr and batch is ``mis-tuned``
    (the law, including its penalty, explains it); a run outside its own interval is a
    ``deviation`` from the law.
    """
    from bayes_scaling.decisions.tuning import tune

    main = getattr(fit, "main", fit)
    k_lr, k_bs = main.law.inputs.index("lr"), main.law.inputs.index("batch_size")
    lr_col, bs_col = main.x_cols[k_lr], main.x_cols[k_bs]
    opt = tune(main, frame.drop(columns=[lr_col, bs_col]), prob, seed=seed)
    at_opt = frame.copy()
    at_opt[lr_col] = opt["lr_opt_median"].to_numpy()
    at_opt[bs_col] = opt["batch_size_opt_median"].to_numpy()
    d_opt = predictive_draws(fit, at_opt, seed=seed)
    _, _, hi_opt = central_interval(d_opt.observed, prob)
    above_opt = y > hi_opt
    own = out["flag"].to_numpy()
    diagnosis = np.where(
        own != "", "deviation from the law",
        np.where(above_opt, "mis-tuned: explained by its lr and batch", ""),
    )
    lr = numeric_column(frame, lr_col, "input")
    bs = numeric_column(frame, bs_col, "input")
    return out.assign(
        lr_opt=opt["lr_opt_median"].to_numpy(), lr_ratio=lr / opt["lr_opt_median"].to_numpy(),
        batch_ratio=bs / opt["batch_size_opt_median"].to_numpy(),
        upper_at_optimum=hi_opt, diagnosis=diagnosis,
    )


def check_fitted(fit: Any) -> pd.DataFrame:
    """Training points the fit finds improbable: the fit-quality table of :func:`fit.check`.

    Returns the training table with ``loo_pit`` (leave-one-out predictive percentile, by Pareto-
    smoothed importance sampling), ``pareto_k``, ``residual``, ``z`` and ``flag``
    (``"improbable"``, ``"influential"`` for ``k > 0.7``, ``"unreachable"``, or ``""``).
    """
    return fit.fit_checks.table
