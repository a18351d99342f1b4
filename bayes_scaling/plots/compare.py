"""Comparison plots: levels of a factor, their differences, priors, and where curves cross.

Free functions ``plot_x(fit, ..., ax=None) -> Axes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from bayes_scaling.compare.levels import compare_levels, crossover_curves, crossover_from_curves
from bayes_scaling.intervals import central_interval, check_probs
from bayes_scaling.plots._style import log_axes, new_axes
from bayes_scaling.summaries import level_draws

__all__ = ["plot_forest", "plot_pairwise", "plot_prior_posterior", "plot_crossover"]


def plot_forest(
    fit: Any,
    factor: str,
    param: str = "alpha",
    *,
    prob: float = 0.9,
    ax: Axes | None = None,
) -> Axes:
    """Forest plot of a law parameter by level of ``factor``: median and central interval.

    The population's prior-to-posterior spread is shown as a band (population mean, central
    ``prob`` interval of a new level's value).
    """
    cmp = compare_levels(fit, factor, param, prob)
    ax = new_axes(ax, (6.5, 0.5 * len(cmp.levels) + 1.5))
    y = np.arange(len(cmp.levels))[::-1]
    t = cmp.levels
    ax.errorbar(
        t["median"],
        y,
        xerr=[t["median"] - t["lower"], t["upper"] - t["median"]],
        fmt="o",
        color="C0",
        capsize=3,
        lw=1.5,
    )
    ax.set_yticks(y, t["level"])
    ax.axvline(float(np.median(cmp.draws)), color="0.5", ls=":", lw=1)
    ax.set_xlabel(f"{param} ({100 * prob:g}% interval)")
    ax.set_title(f"{param} by {factor}", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def plot_pairwise(
    fit: Any,
    factor: str,
    param: str = "alpha",
    *,
    prob: float = 0.9,
    ax: Axes | None = None,
) -> Axes:
    """Posterior of every pairwise difference ``param(a) - param(b)``, labelled with P(a > b)."""
    pairs = compare_levels(fit, factor, param, prob).pairs
    ax = new_axes(ax, (7, 0.45 * len(pairs) + 1.5))
    y = np.arange(len(pairs))[::-1]
    colors = np.where(pairs["lower"] > 0, "C2", np.where(pairs["upper"] < 0, "C3", "0.4"))
    for yi, (_, r), c in zip(y, pairs.iterrows(), colors, strict=True):
        ax.plot([r["lower"], r["upper"]], [yi, yi], color=c, lw=2)
        ax.plot(r["median"], yi, "o", color=c)
        ax.text(
            1.01,
            yi,
            f"P>0 = {r['p_greater']:.2f}",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8,
        )
    ax.axvline(0, color="0.3", lw=1)
    ax.set_yticks(y, [f"{a} − {b}" for a, b in zip(pairs["a"], pairs["b"], strict=True)])
    ax.set_xlabel(f"difference in {param} ({100 * prob:g}% interval)")
    ax.set_title(f"pairwise differences of {param} by {factor}", fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def plot_prior_posterior(
    fit: Any,
    param: str = "alpha",
    *,
    factor: str | None = None,
    n_draws: int = 4000,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """Prior and posterior densities of a law parameter.

    The posterior of the population's typical value (or, with ``factor``, of each level's) is
    drawn against the prior of the population mean. Where the posterior is much narrower than
    the prior, the data speak; where they overlap, the prior does.
    """
    from bayes_scaling.structure import natural_values as _natural
    from bayes_scaling.structure import param_transform as _transform

    fit = getattr(fit, "main", fit)
    if param not in fit.law.params:
        raise ValueError(
            f"param {param!r} is not a parameter of law {fit.law.name!r}: {list(fit.law.params)}"
        )
    import jax

    pr = fit.structure.priors[param]
    prior = np.asarray(pr.to_numpyro().sample(jax.random.PRNGKey(seed), (n_draws,)), float)
    ax = new_axes(ax, (6.5, 4.0))
    data_units = pr.units == "data" and param in fit.conditioning.covariance.shifts
    if factor is None:
        mu = {pl.name: fit.draws(f"mu_{pl.name}") for pl in fit.structure.plans}
        if data_units:  # compare on the prior's own scale: the value at the reference point
            value = np.asarray(_transform(pr)(mu[param]))
        else:
            cond = fit.conditioning
            refs = {n: cond.log_x_ref[k] for k, n in enumerate(fit.law.inputs)}
            refs["y"] = cond.log_y_ref
            value = np.asarray(_natural(fit.structure, mu, refs)[param])
        post = {"population": value}
    else:
        if data_units:
            raise ValueError(
                f"the prior of {param!r} is in data units; compare levels on the population "
                "scale (factor=None) or use compare_levels"
            )
        draws = level_draws(fit, factor, param)
        post = {lev: draws[:, j] for j, lev in enumerate(fit.levels[factor])}
    allv = np.concatenate([*post.values()])
    lo, hi = np.quantile(allv, [0.001, 0.999])
    span = hi - lo
    lo, hi = lo - 0.5 * span, hi + 0.5 * span
    bins = np.linspace(lo, hi, 80)
    inside = prior[(prior >= lo) & (prior <= hi)]  # the prior's mass in the window, true density
    ax.hist(
        inside,
        bins=bins,
        weights=np.full(inside.size, 1 / (prior.size * (bins[1] - bins[0]))),
        color="0.75",
        label="prior",
    )
    for j, (name, v) in enumerate(post.items()):
        ax.hist(v, bins=bins, density=True, histtype="step", lw=1.6, color=f"C{j % 10}", label=name)
    ax.set_xlabel(f"{param} (reference-point value, data units)" if data_units else param)
    ax.set_ylabel("density")
    ax.set_title(f"{param}: prior vs posterior", fontsize=10)
    ax.legend(fontsize=8, frameon=False)
    return ax


def plot_crossover(
    fit: Any,
    a: Mapping[str, str],
    b: Mapping[str, str],
    x_range: tuple[float, float],
    *,
    prob: float = 0.9,
    n_grid: int = 120,
    seed: int = 0,
    data: pd.DataFrame | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Two curves' expected values with bands, and where one overtakes the other.

    Each curve's posterior median and central ``prob`` band of the expected metric over
    ``x_range``; the crossover scale's median (dashed line) and interval (shaded span) from
    :func:`~bayes_scaling.compare.crossover`, with the probability that the curves cross inside
    the range in the title. Training points of the two curves are drawn when ``data`` is given.

    Parameters
    ----------
    fit : ScalingFit
        A fit of a one-input law.
    a, b : mapping
        Group labels of the two curves, as in :func:`~bayes_scaling.compare.crossover`.
    x_range : (float, float)
        Scales drawn and searched for a crossing.
    prob : float
        Band and interval probability.
    n_grid, seed
        Grid resolution and seed for unseen-level draws.
    data : DataFrame, optional
        Runs to overlay (rows of other curves are ignored).
    ax : Axes, optional
        Axes to draw on.
    """
    (prob,) = check_probs(prob)
    grid, ca, cb = crossover_curves(fit, a, b, x_range, n_grid=n_grid, seed=seed)
    res = crossover_from_curves(grid, ca, cb, prob)
    x = fit.x_cols[0]
    ax = new_axes(ax, (7, 4.5))
    for j, (labels, curve) in enumerate(((a, ca), (b, cb))):
        lo, med, hi = central_interval(curve, prob)
        name = " / ".join(str(labels[g]) for g in fit.group_cols)
        ax.fill_between(grid, lo, hi, color=f"C{j}", alpha=0.25, lw=0)
        ax.plot(grid, med, color=f"C{j}", lw=1.8, label=name)
        if data is not None:
            mask = np.ones(len(data), dtype=bool)
            for g in fit.group_cols:
                mask &= data[g].astype(str).to_numpy() == str(labels[g])
            ax.scatter(data.loc[mask, x], data.loc[mask, fit.y_col], s=14, color=f"C{j}", zorder=3)
    title = f"P(cross in range) = {res['p_cross']:.2f}"
    if res["x_median"] is not None:
        ax.axvspan(res["x_lower"], res["x_upper"], color="0.5", alpha=0.15, lw=0)
        ax.axvline(res["x_median"], color="0.3", ls="--", lw=1.2, label="crossover (median)")
        title += f"; crossover {res['x_median']:.3g} [{res['x_lower']:.3g}, {res['x_upper']:.3g}]"
    log_axes(ax)
    ax.set_xlabel(x)
    ax.set_ylabel(fit.y_col)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return ax
