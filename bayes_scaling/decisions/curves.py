"""Decisions on learning curves: is a run worth finishing, and where does it stop paying.

* :func:`prob_beats`: probability that a run ends below a baseline run (or any baseline rows),
  from joint predictive draws, so the two runs' shared uncertainty (exponents, drift) cancels;
* :func:`saturation`: how much further along a curve the gain per doubling stays above a
  tolerance -- the tokens (steps, samples) until more training stops paying.

Both work on any fit; with ``run=`` the rows are checkpoints of named runs, and a partial run's
own residual (its distance from the law at its last checkpoint) carries into the forecast.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.data import numeric_column, read_table
from bayes_scaling.intervals import central_interval, check_probs
from bayes_scaling.predict import predictive_draws

__all__ = ["prob_beats", "saturation", "baseline_rows", "along_column"]


def baseline_rows(fit: Any, data: pd.DataFrame, run: str) -> pd.DataFrame:
    """``data`` with its run (and group columns) replaced by those of the fitted run ``run``."""
    main = getattr(fit, "main", fit)
    if not main.run_col:
        raise ValueError(
            "a baseline run needs a fit with run=... (--run COL); this fit has no run column; "
            "pass baseline rows instead"
        )
    if str(run) not in main.runs:
        shown = ", ".join(main.runs[:8]) + (" ..." if len(main.runs) > 8 else "")
        raise ValueError(f"baseline run {run!r} is not a fitted run; fitted runs: {shown}")
    train = main.training_data()
    row = train[train[main.run_col].astype(str) == str(run)].iloc[0]
    out = data.copy()
    for c in [*main.group_cols, main.run_col]:
        out[c] = row[c]
    return out


def prob_beats(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    baseline: pd.DataFrame | str,
    *,
    prob: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Probability that each row's run ends below a baseline at the same point.

    Parameters
    ----------
    fit : ScalingFit or FormFit
    data : DataFrame or CSV path
        Candidate rows (group, run and input columns), e.g. each partial run at its planned
        final token count.
    baseline : DataFrame or str
        Baseline rows, one per row of ``data`` (or a single row used for all), or the label of a
        fitted run: that run's prediction at each row's inputs.
    prob : float
        Central interval of the difference ``candidate - baseline``.
    seed : int

    Returns
    -------
    DataFrame
        ``data`` with ``median`` (candidate), ``baseline_median``, ``p_beats`` (P(candidate <
        baseline), new runs with their noise) and ``difference_median/lower/upper`` of the
        expected values (no run-to-run noise).
    """
    (prob,) = check_probs(prob)
    frame = read_table(data, what="prediction data").copy()
    if isinstance(baseline, str):
        base = baseline_rows(fit, frame, baseline)
    else:
        base = read_table(baseline, what="baseline rows").copy()
        if len(base) == 1 and len(frame) > 1:
            base = pd.concat([base] * len(frame), ignore_index=True)
        if len(base) != len(frame):
            raise ValueError(
                f"baseline has {len(base)} rows for {len(frame)} candidate rows; give one row "
                "or one per candidate"
            )
    cols = list(dict.fromkeys([*frame.columns, *base.columns]))
    joint = pd.concat([frame.reindex(columns=cols), base.reindex(columns=cols)],
                      ignore_index=True)
    d = predictive_draws(fit, joint, seed=seed)
    n = len(frame)
    cand, ref = d.observed[:, :n], d.observed[:, n:]
    diff = d.expected[:, :n] - d.expected[:, n:]
    lo, med, hi = central_interval(diff, prob)
    return frame.assign(
        median=np.median(cand, axis=0),
        baseline_median=np.median(ref, axis=0),
        p_beats=(cand < ref).mean(axis=0),
        difference_median=med,
        difference_lower=lo,
        difference_upper=hi,
    )


def along_column(fit: Any, along: str | None) -> str:
    """The input a curve extends along: ``along`` checked, or the fit's only input."""
    main = getattr(fit, "main", fit)
    if along is None:
        if len(main.x_cols) != 1:
            raise ValueError(
                f"this law takes {len(main.x_cols)} inputs {list(main.x_cols)}; say which one "
                "training extends with along=... (--along COL)"
            )
        return main.x_cols[0]
    if along not in main.x_cols:
        raise ValueError(f"along={along!r} is not an input of the fit; inputs: {list(main.x_cols)}")
    return along


def saturation(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    tolerance: float,
    *,
    along: str | None = None,
    relative: bool = False,
    prob: float = 0.9,
    max_factor: float = 1e4,
    n_grid: int = 160,
    seed: int = 0,
) -> pd.DataFrame:
    """Where each curve stops paying: the point where one more doubling gains < ``tolerance``.

    From each row's point, the expected metric (the law with its extrapolation drift, per
    posterior draw) is followed along ``along`` up to ``max_factor`` times further; the answer
    per draw is the first point ``x`` where ``m(x) - m(2x) < tolerance`` (metric units, or a
    fraction of ``m(x)`` with ``relative=True``).

    Returns
    -------
    DataFrame
        ``data`` with ``gain_per_doubling`` (median, at the row's point), ``p_saturated`` (share
        of draws saturating before ``max_factor``) and ``<along>_saturation_median/lower/upper``
        (draws that never saturate count as beyond ``max_factor``: an upper bound of ``inf``
        says the interval is open).
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) \
            or not np.isfinite(tolerance) or tolerance <= 0:
        raise ValueError(f"tolerance must be a positive number (metric units), got {tolerance!r}")
    if not (isinstance(max_factor, int | float) and max_factor > 1):
        raise ValueError(f"max_factor must be > 1, got {max_factor!r}")
    (prob,) = check_probs(prob)
    col = along_column(fit, along)
    frame = read_table(data, what="prediction data").copy()
    x0 = numeric_column(frame, col, "input")
    factors = np.geomspace(1.0, 2.0 * float(max_factor), n_grid)
    step = int(round(np.log(2.0) / np.log(factors[1])))
    grids = []
    for i in range(len(frame)):
        g = pd.concat([frame.iloc[[i]]] * n_grid, ignore_index=True)
        g[col] = x0[i] * factors
        grids.append(g)
    d = predictive_draws(fit, pd.concat(grids, ignore_index=True), seed=seed, max_decades=np.inf)
    m = d.expected.reshape(d.expected.shape[0], len(frame), n_grid)
    # gain per doubling on the grid: m(x) - m(x * factors[step]/factors[0]) ~ m(x) - m(2x)
    ratio = factors[step] / factors[0]
    gain = (m[..., :-step] - m[..., step:]) / np.log2(ratio)
    if relative:
        gain = gain / m[..., :-step]
    usable = factors[:-step] <= max_factor
    gain, fx = gain[..., usable], factors[:-step][usable]
    below = gain < tolerance
    hit = below.any(axis=-1)
    first = np.where(hit, below.argmax(axis=-1), -1)
    beyond = 4.0 * float(max_factor)  # finite stand-in for "never", so quantiles stay defined
    sat = np.where(hit, fx[np.maximum(first, 0)], beyond)
    lo, med, hi = (np.where(q > max_factor, np.inf, q) * x0 for q in central_interval(sat, prob))
    return frame.assign(
        gain_per_doubling=np.median(gain[..., 0], axis=0),
        p_saturated=hit.mean(axis=0),
        **{f"{col}_saturation_median": med, f"{col}_saturation_lower": lo,
           f"{col}_saturation_upper": hi},
    )
