"""Curves with posterior bands beyond the data: one panel for many curves, or small multiples."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from bayes_scaling.data import read_table
from bayes_scaling.intervals import check_probs
from bayes_scaling.plots._style import log_axes, mark_extrapolation, new_axes
from bayes_scaling.predict import curve_keys, predict

__all__ = ["plot_curves", "curve_grid"]


def curve_grid(
    fit: Any,
    data: pd.DataFrame | None,
    keys: Sequence[tuple[str, ...]],
    extend: float,
    n_grid: int,
) -> pd.DataFrame:
    """Rows to predict for drawing curves.

    Per curve, log-spaced scales from its smallest training scale to ``extend`` times its
    largest (training or ``data``) scale.
    """
    if extend < 1:
        raise ValueError(f"extend must be >= 1, got {extend!r}")
    xcol = fit.x_cols[0]
    train = fit.training_data()
    tkeys = curve_keys(fit, train)
    ekeys = curve_keys(fit, data) if data is not None else []
    frames = []
    for key in keys:
        xs = train[xcol].to_numpy()[[k == key for k in tkeys]]
        lo = xs.min() if xs.size else float(train[xcol].min())
        hi = xs.max() if xs.size else float(train[xcol].max())
        if data is not None:
            ex = data[xcol].to_numpy(dtype=float)[[k == key for k in ekeys]]
            if ex.size:
                hi = max(hi, float(ex.max()))
        grid = np.geomspace(lo, hi * extend, n_grid)
        frames.append(pd.DataFrame({**dict(zip(fit.group_cols, key, strict=True)), xcol: grid}))
    return pd.concat(frames, ignore_index=True)


def plot_curves(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str] | None = None,
    *,
    curves: Sequence[tuple[str, ...] | str] | None = None,
    prob: float = 0.9,
    extend: float = 10.0,
    n_grid: int = 80,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """Data and posterior predictive bands of one or many curves on log-log axes.

    For each curve: the training points (filled), optional extra points such as held-out runs
    (open markers, from ``data``), the posterior median of the law (line), the central ``prob``
    interval of a new run with the extrapolation drift (light band) and of the law's curve
    (darker band), all taken from :func:`bayes_scaling.predict`. The region beyond the largest
    training scale is shaded.

    Parameters
    ----------
    fit : ScalingFit
        A fit of a one-input law.
    data : DataFrame or CSV path, optional
        Extra runs to overlay (e.g. held-out larger runs) with the fit's columns.
    curves : list, optional
        Curves to draw (label tuples, or a single label when there is one grouping column);
        default all fitted curves.
    prob : float
        Interval probability of the bands.
    extend : float
        Draw the bands up to ``extend`` times the largest scale (training or ``data``).
    n_grid : int
        Grid points per curve.
    seed : int
        Seed of the predictive draws.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is made if omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    law = getattr(fit, "main", fit).law
    if law.n_inputs != 1:
        raise ValueError(
            f"plot_curves draws one-input laws; law {law.name!r} takes {law.n_inputs} inputs "
            f"{list(fit.x_cols)}"
        )
    (prob,) = check_probs(prob)
    xcol, ycol = fit.x_cols[0], fit.y_col
    train = fit.training_data()
    extra = read_table(data, what="plot data") if data is not None else None
    keys = (
        list(fit.curves)
        if curves is None
        else [(c,) if isinstance(c, str) else tuple(str(v) for v in c) for c in curves]
    )
    grid = curve_grid(fit, extra, keys, extend, n_grid)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # new curves are labelled in the legend instead
        pred = predict(fit, grid, prob, seed=seed)
    ax = new_axes(ax)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    tkeys = curve_keys(fit, train)
    ekeys = curve_keys(fit, extra) if extra is not None else []
    gkeys = curve_keys(fit, grid)
    for i, key in enumerate(keys):
        color = colors[i % len(colors)]
        rows = np.array([k == key for k in gkeys])
        p = pred[rows]
        label = ", ".join(key) if key else ycol
        if (p["kind"] != "fitted curve").any():
            label += " (not fitted)"
        ax.fill_between(p[xcol], p["lower"], p["upper"], color=color, alpha=0.12, lw=0)
        ax.fill_between(p[xcol], p["curve_lower"], p["curve_upper"], color=color, alpha=0.3,
                        lw=0)
        ax.plot(p[xcol], p["curve_median"], color=color, lw=1.6, label=label)
        tm = np.array([k == key for k in tkeys])
        if tm.any():
            ax.scatter(train.loc[tm, xcol], train.loc[tm, ycol], color=color, s=18, zorder=3)
        if extra is not None:
            em = np.array([k == key for k in ekeys])
            if em.any():
                ax.scatter(extra.loc[em, xcol], extra.loc[em, ycol], facecolors="white",
                           edgecolors=color, s=30, lw=1.3, zorder=4)
    mark_extrapolation(ax, float(train[xcol].max()), float(grid[xcol].max()))
    log_axes(ax)
    ax.set_xlabel(xcol)
    ax.set_ylabel(ycol)
    ax.set_title(
        f"{getattr(fit, 'law_label', law.name)}: median, {100 * prob:g}% bands "
        "(dark: law, light: new run with drift)",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.2)
    if keys and len(keys) <= 12:
        ax.legend(fontsize=8, frameon=False)
    return ax
