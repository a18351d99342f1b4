"""Plots of compute-optimal allocation: the frontier of loss against compute, N_opt and D_opt."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from bayes_scaling.intervals import central_interval
from bayes_scaling.plots._style import log_axes, mark_extrapolation, new_axes

__all__ = ["plot_frontier", "plot_allocation"]


def _budget_grid(
    fit: Any, k: float, extend: float, n: int
) -> tuple[np.ndarray, pd.DataFrame]:
    fit = getattr(fit, "main", fit)
    if fit.law.n_inputs != 2:
        raise ValueError(
            f"this plot needs a law over (parameters, tokens); law {fit.law.name!r} has "
            f"inputs {list(fit.x_cols)}"
        )
    if extend < 1:
        raise ValueError(f"extend must be >= 1, got {extend!r}")
    train = fit.training_data()
    c = k * train[fit.x_cols[0]] * train[fit.x_cols[1]]
    return np.geomspace(c.min(), c.max() * extend, n), train.assign(_compute=c)


def plot_frontier(
    fit: Any,
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
    from bayes_scaling.decisions.allocation import optimal_allocation

    budgets, train = _budget_grid(fit, k, extend, n_grid)
    res = optimal_allocation(fit, budgets, prob=prob, k=k, seed=seed)
    ax = new_axes(ax)
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
    for ci, key in enumerate(res.keys):
        lo, med, hi = central_interval(res.draws["loss"][:, ci, :], prob)
        color = colors[(ci + 3) % len(colors)]
        label = ", ".join(key) if key else "compute-optimal frontier"
        ax.fill_between(budgets, lo, hi, color=color, alpha=0.25, lw=0)
        ax.plot(budgets, med, color=color, lw=1.8, label=label)
    mark_extrapolation(ax, float(train["_compute"].max()), float(budgets[-1]))
    log_axes(ax)
    ax.set_xlabel(f"training compute C = {k:g}·{fit.x_cols[0]}·{fit.x_cols[1]} (FLOP)")
    ax.set_ylabel(fit.y_col)
    ax.set_title(f"{fit.law.name} law: compute-optimal loss, {100 * prob:g}% band", fontsize=10)
    ax.grid(True, which="both", alpha=0.2)
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_allocation(
    fit: Any,
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
    from bayes_scaling.decisions.allocation import optimal_allocation

    budgets, train = _budget_grid(fit, k, extend, n_grid)
    res = optimal_allocation(fit, budgets, prob=prob, k=k, seed=seed)
    ax = new_axes(ax)
    ax.scatter(train["_compute"], train[fit.x_cols[0]], s=8, color="0.6", label="runs (N)")
    for name, style in (("N_opt", "-"), ("D_opt", "--")):
        for ci, key in enumerate(res.keys):
            lo, med, hi = central_interval(res.draws[name][:, ci, :], prob)
            color = plt.rcParams["axes.prop_cycle"].by_key()["color"][ci % 10]
            suffix = f" ({', '.join(key)})" if key else ""
            ax.fill_between(budgets, lo, hi, color=color, alpha=0.2, lw=0)
            ax.plot(budgets, med, style, color=color, lw=1.6, label=f"{name}{suffix}")
    mark_extrapolation(ax, float(train["_compute"].max()), float(budgets[-1]))
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


