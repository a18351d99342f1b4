"""Plots: free functions ``plot_x(fit, ..., ax=None) -> Axes``."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from bayes_scaling.data import read_table
from bayes_scaling.estimator import ScalingFit
from bayes_scaling.predict import predictive_draws

__all__ = [
    "plot_curves",
    "plot_frontier",
    "plot_allocation",
]


def _curve_mask(frame: pd.DataFrame, fit: ScalingFit, key: tuple[str, ...]) -> np.ndarray:
    mask = np.ones(len(frame), dtype=bool)
    for g, lab in zip(fit.group_cols, key, strict=True):
        mask &= frame[g].astype(str).to_numpy() == lab
    return mask


def plot_curves(
    fit: ScalingFit,
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
    (open markers, from ``data``), the posterior median of the expected curve (line), the central
    ``prob`` interval of a new observation (light band) and of the expected curve (darker band).
    The region beyond the largest training scale is shaded and labelled as extrapolation.

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
    if fit.law.n_inputs != 1:
        raise ValueError(
            f"plot_curves draws one-input laws; law {fit.law.name!r} takes {fit.law.n_inputs} "
            f"scale columns {list(fit.x_cols)}"
        )
    if not 0 < prob < 1:
        raise ValueError(f"prob must be in (0, 1), got {prob!r}")
    if extend < 1:
        raise ValueError(f"extend must be >= 1, got {extend!r}")
    xcol, ycol = fit.x_cols[0], fit.y_col
    train = fit.training_data()
    extra = read_table(data, what="plot data") if data is not None else None
    keys = (
        list(fit.curves)
        if curves is None
        else [(c,) if isinstance(c, str) else tuple(c) for c in curves]
    )
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 5.0))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    x_train_max = float(train[xcol].max())
    x_hi_all = x_train_max
    for i, key in enumerate(keys):
        color = colors[i % len(colors)]
        label = ", ".join(key) if key else ycol
        tmask = _curve_mask(train, fit, key)
        xs = train.loc[tmask, xcol].to_numpy()
        lo = xs.min() if xs.size else float(train[xcol].min())
        hi = xs.max() if xs.size else x_train_max
        emask = None
        if extra is not None:
            emask = _curve_mask(extra, fit, key)
            if emask.any():
                hi = max(hi, float(extra.loc[emask, xcol].max()))
        grid = np.geomspace(lo, hi * extend, n_grid)
        at = pd.DataFrame({**dict(zip(fit.group_cols, key, strict=True)), xcol: grid})
        d = predictive_draws(fit, at, seed=seed)
        q = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
        obs_lo, _, obs_hi = np.quantile(d.observed, q, axis=0)
        cur_lo, cur_med, cur_hi = np.quantile(d.curve, q, axis=0)
        ax.fill_between(grid, obs_lo, obs_hi, color=color, alpha=0.12, lw=0)
        ax.fill_between(grid, cur_lo, cur_hi, color=color, alpha=0.3, lw=0)
        ax.plot(grid, cur_med, color=color, lw=1.6, label=label)
        if xs.size:
            ax.scatter(xs, train.loc[tmask, ycol], color=color, s=18, zorder=3)
        if emask is not None and emask.any():
            ax.scatter(
                extra.loc[emask, xcol],
                extra.loc[emask, ycol],
                facecolors="white",
                edgecolors=color,
                s=30,
                lw=1.3,
                zorder=4,
            )
        x_hi_all = max(x_hi_all, grid[-1])
    _mark_extrapolation(ax, x_train_max, x_hi_all)
    _log_axes(ax)
    ax.set_xlabel(xcol)
    ax.set_ylabel(ycol)
    ax.set_title(
        f"{fit.law.name} law: median, {100 * prob:g}% bands (dark: curve, light: new run)",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.2)
    if keys and len(keys) <= 12:
        ax.legend(fontsize=8, frameon=False)
    return ax


def _budget_grid(
    fit: ScalingFit, k: float, extend: float, n: int
) -> tuple[np.ndarray, pd.DataFrame]:
    if fit.law.n_inputs != 2:
        raise ValueError(
            f"this plot needs a two-input law (chinchilla, kaplan); law {fit.law.name!r} has "
            f"scale columns {list(fit.x_cols)}"
        )
    if extend < 1:
        raise ValueError(f"extend must be >= 1, got {extend!r}")
    train = fit.training_data()
    c = k * train[fit.x_cols[0]] * train[fit.x_cols[1]]
    return np.geomspace(c.min(), c.max() * extend, n), train.assign(_compute=c)


def plot_frontier(
    fit: ScalingFit,
    *,
    prob: float = 0.9,
    k: float = 6.0,
    extend: float = 100.0,
    n_grid: int = 30,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """Loss against training compute with the posterior compute-optimal frontier.

    The runs are drawn IsoFLOP-style (coloured by model size); each curve's frontier is its
    posterior median with a central ``prob`` band.

    Parameters
    ----------
    fit : ScalingFit
        A fit of a two-input law with scale columns (parameters, tokens).
    prob : float
        Band probability.
    k : float
        FLOP per parameter per token (``C = k N D``).
    extend : float
        Draw the frontier up to ``extend`` times the largest training compute.
    n_grid : int
        Number of budgets on the frontier.
    seed : int
        Seed for unseen-level draws.
    ax : matplotlib Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from bayes_scaling.optimal import optimal_allocation

    budgets, train = _budget_grid(fit, k, extend, n_grid)
    res = optimal_allocation(fit, budgets, prob=prob, k=k, seed=seed)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 5.0))
    sc = ax.scatter(
        train["_compute"],
        train[fit.y_col],
        c=np.log10(train[fit.x_cols[0]]),
        cmap="viridis",
        s=14,
        alpha=0.8,
        zorder=3,
    )
    ax.figure.colorbar(sc, ax=ax, label=f"log10 {fit.x_cols[0]}")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    q = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
    for ci, key in enumerate(res.keys):
        lo, med, hi = np.quantile(res.draws["loss"][:, ci, :], q, axis=0)
        color = colors[(ci + 3) % len(colors)]
        label = ", ".join(key) if key else "compute-optimal frontier"
        ax.fill_between(budgets, lo, hi, color=color, alpha=0.25, lw=0)
        ax.plot(budgets, med, color=color, lw=1.8, label=label)
    _mark_extrapolation(ax, float(train["_compute"].max()), float(budgets[-1]))
    _log_axes(ax)
    ax.set_xlabel(f"training compute C = {k:g}·{fit.x_cols[0]}·{fit.x_cols[1]} (FLOP)")
    ax.set_ylabel(fit.y_col)
    ax.set_title(f"{fit.law.name} law: compute-optimal loss, {100 * prob:g}% band", fontsize=10)
    ax.grid(True, which="both", alpha=0.2)
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_allocation(
    fit: ScalingFit,
    *,
    prob: float = 0.9,
    k: float = 6.0,
    extend: float = 100.0,
    n_grid: int = 30,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """Compute-optimal model size ``N_opt(C)`` and tokens ``D_opt(C)`` with posterior bands.

    Parameters are as in :func:`plot_frontier`. The runs' own (C, N) are shown for reference.

    Returns
    -------
    matplotlib.axes.Axes
    """
    from bayes_scaling.optimal import optimal_allocation

    budgets, train = _budget_grid(fit, k, extend, n_grid)
    res = optimal_allocation(fit, budgets, prob=prob, k=k, seed=seed)
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 5.0))
    q = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
    ax.scatter(train["_compute"], train[fit.x_cols[0]], s=8, color="0.6", label="runs (N)")
    for name, style in (("N_opt", "-"), ("D_opt", "--")):
        for ci, key in enumerate(res.keys):
            lo, med, hi = np.quantile(res.draws[name][:, ci, :], q, axis=0)
            color = plt.rcParams["axes.prop_cycle"].by_key()["color"][ci % 10]
            suffix = f" ({', '.join(key)})" if key else ""
            ax.fill_between(budgets, lo, hi, color=color, alpha=0.2, lw=0)
            ax.plot(budgets, med, style, color=color, lw=1.6, label=f"{name}{suffix}")
    _mark_extrapolation(ax, float(train["_compute"].max()), float(budgets[-1]))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("training compute (FLOP)")
    ax.set_ylabel("parameters / tokens")
    ex = res.exponents.iloc[0]
    ax.set_title(
        f"N_opt ∝ C^{ex['a_median']:.2f} [{ex['a_lower']:.2f}, {ex['a_upper']:.2f}], "
        f"D_opt ∝ C^{ex['b_median']:.2f} ({100 * prob:g}% bands)",
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.2)
    ax.legend(fontsize=8, frameon=False)
    return ax


def _log_axes(ax: Axes) -> None:
    """Log-log axes with plain-number labels on the metric axis (losses span < 1 decade)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(mticker.FormatStrFormatter("%g"))
    ax.tick_params(axis="y", which="minor", labelsize=7)


def _mark_extrapolation(ax: Axes, start: float, stop: float) -> None:
    ax.axvspan(start, stop, color="0.5", alpha=0.08, lw=0)
    ax.axvline(start, color="0.4", ls=":", lw=1)
    ax.text(
        start,
        0.98,
        "  extrapolation",
        transform=ax.get_xaxis_transform(),
        va="top",
        ha="left",
        fontsize=8,
        color="0.3",
    )
