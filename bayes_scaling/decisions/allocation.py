"""Compute-optimal allocation with uncertainty: for a budget C, N_opt, D_opt and the loss reached.

For every posterior draw the law ``L(N, D = C / (k N))`` of a fit over (parameters, tokens) is
minimised over ``log N`` on a grid (0.05 e-folds over +-12 e-folds around ``sqrt(C/k)``) refined
by a parabola through the three best points, so any law with those two inputs works, not only
those with a closed form. Draws of the minimiser give the posterior of ``N_opt``, ``D_opt`` and
tokens per parameter (from the law itself: where its optimum is). The **loss reached** carries
the extrapolation drift at the optimum, exactly as :func:`bayes_scaling.predict` does beyond the
data (``loss_curve_*`` keeps the law's parameter-only answer). Unseen group levels are drawn from
the hierarchy with the same draws as :func:`bayes_scaling.predictive_draws`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayes_scaling.data import curve_label
from bayes_scaling.decisions.compute import FLOPS_PER_PARAM_TOKEN, check_k
from bayes_scaling.drift.apply import drift_value
from bayes_scaling.drift.distance import extrapolation_distance
from bayes_scaling.inference import _program
from bayes_scaling.intervals import central_interval, check_probs
from bayes_scaling.predict import parameter_draws

__all__ = ["OptimalAllocation", "optimal_allocation", "parse_budgets", "QUANTITIES"]

#: Quantities reported per budget, in table column order.
QUANTITIES = ("N_opt", "D_opt", "tokens_per_param", "loss", "loss_curve")
_HALF_WIDTH = 12.0
_N_GRID = 481


@dataclass(frozen=True)
class OptimalAllocation:
    """Posterior of the compute-optimal allocation.

    Attributes
    ----------
    table : DataFrame
        One row per (budget, curve): group columns, ``curve``, ``kind``, ``compute``,
        ``extrapolation_decades`` (median distance of the optimum beyond the data) and
        ``<q>_median``, ``<q>_lower``, ``<q>_upper`` for ``q`` in :data:`QUANTITIES`.
    draws : dict[str, ndarray]
        Draws of each quantity, shape ``(draws, curves, budgets)``.
    exponents : DataFrame
        Per curve, the exponents of ``N_opt ~ C^a`` and ``D_opt ~ C^b``.
    budgets : ndarray
        The budgets (FLOP).
    keys : list of tuple
        Curve keys in the order of the ``curves`` axis.
    """

    table: pd.DataFrame
    draws: dict[str, np.ndarray]
    exponents: pd.DataFrame
    budgets: np.ndarray
    keys: list[tuple[str, ...]]


def parse_budgets(compute: float | Sequence[float] | str) -> np.ndarray:
    """Budgets as a float array; accepts a number, a list, or ``"1e21,1e22"``."""
    if isinstance(compute, str):
        parts = [p.strip() for p in compute.split(",") if p.strip()]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(
                f"compute budgets must be numbers like 1e21,1e22; got {compute!r}"
            ) from None
    elif isinstance(compute, int | float) and not isinstance(compute, bool):
        values = [float(compute)]
    else:
        try:
            values = [float(v) for v in compute]
        except (TypeError, ValueError):
            raise ValueError(f"compute budgets must be numbers, got {compute!r}") from None
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("compute: give at least one budget")
    if not np.isfinite(arr).all() or (arr <= 0).any():
        raise ValueError(f"compute budgets must be finite and > 0 FLOP, got {values}")
    return arr


def _minimiser(fit: Any) -> Any:
    """Jitted per-draw minimiser of log L(N, C/(kN)) over log N, cached per law structure."""
    structure = fit.structure
    law = fit.law

    def build() -> Any:
        def run(theta: dict, log_ck: jnp.ndarray, offset: jnp.ndarray, y_off: jnp.ndarray):
            grid = 0.5 * log_ck + jnp.linspace(-_HALF_WIDTH, _HALF_WIDTH, _N_GRID)
            step = grid[1] - grid[0]

            def loss(u: jnp.ndarray) -> jnp.ndarray:  # u broadcast against theta (draws, 1)
                x = jnp.stack(jnp.broadcast_arrays(jnp.exp(u), jnp.exp(log_ck - u)), axis=-1)
                xs = x * jnp.exp(-offset[:2])
                th = {k: v[..., None] if v.ndim else v for k, v in theta.items()}
                return jnp.log(law.evaluate(xs, th)) + y_off

            f = loss(grid[None, :])  # (draws, grid)
            f = jnp.where(jnp.isfinite(f), f, jnp.inf)
            i = jnp.argmin(f, axis=-1)
            edge = (i == 0) | (i == _N_GRID - 1)
            j = jnp.clip(i, 1, _N_GRID - 2)
            f0 = jnp.take_along_axis(f, (j - 1)[:, None], -1)[:, 0]
            f1 = jnp.take_along_axis(f, j[:, None], -1)[:, 0]
            f2 = jnp.take_along_axis(f, (j + 1)[:, None], -1)[:, 0]
            curv = f0 - 2 * f1 + f2
            shift = jnp.where(curv > 0, 0.5 * (f0 - f2) / jnp.where(curv > 0, curv, 1.0), 0.0)
            u = jnp.where(edge, grid[i], grid[j] + jnp.clip(shift, -1.0, 1.0) * step)
            return u, loss(u[:, None])[:, 0], edge

        return jax.jit(run)

    return _program("allocate", (*structure.key(), law.n_inputs), build)


def optimal_allocation(
    fit: Any,
    compute: float | Sequence[float] | str,
    *,
    prob: float = 0.9,
    groups: pd.DataFrame | None = None,
    k: float = FLOPS_PER_PARAM_TOKEN,
    seed: int = 0,
) -> OptimalAllocation:
    """Posterior of the loss-minimising model size and data for each compute budget.

    Parameters
    ----------
    fit : ScalingFit
        A fit of a law whose first two inputs are (parameters, tokens), in that order, with no
        other inputs (for learning rate and batch size, see :func:`bayes_scaling.tune`).
    compute : float, list of float or str
        Budgets in FLOP (``"1e21,1e22"`` is accepted).
    prob : float
        Central interval probability.
    groups : DataFrame, optional
        Group labels to evaluate (one row per curve; unseen labels are drawn from the
        hierarchy). Default: every fitted curve.
    k : float
        FLOP per parameter per token (``C = k N D``).
    seed : int
        Seed (the same seed as ``predict`` gives the same draws of new levels and drift).
    """
    budgets = parse_budgets(compute)
    (prob,) = check_probs(prob)
    k = check_k(k)
    if getattr(fit, "components", None) is not None:
        fit = fit.main
    if fit.law.n_inputs != 2:
        raise ValueError(
            f"compute-optimal allocation needs a law over (parameters, tokens); this fit uses "
            f"{fit.law.name!r} with inputs {list(fit.x_cols)}"
        )
    if groups is None:
        keys = list(fit.curves)
        at = pd.DataFrame(
            {g: [c[j] for c in keys] for j, g in enumerate(fit.group_cols)}
        ) if fit.group_cols else pd.DataFrame(index=range(1))
    else:
        at = groups.drop_duplicates(subset=list(fit.group_cols)).reset_index(drop=True)
    x_ref = np.exp(fit.log_x_ref)
    for j, c in enumerate(fit.x_cols):
        at[c] = x_ref[j]
    sites, info = parameter_draws(fit, at, seed=seed)
    keys = [tuple(str(at[g].iloc[i]) for g in fit.group_cols) for i in range(len(at))]
    theta = {p: sites[f"theta_{p}"] for p in fit.law.params}  # (draws, curves)
    cond = fit.conditioning
    offset = jnp.asarray(cond.input_offset)
    y_off = jnp.asarray(cond.log_y_ref if fit.structure.output_scaled else 0.0)
    minimise = _minimiser(fit)
    n_draws, n_curves = next(iter(theta.values())).shape
    shape = (n_draws, n_curves, budgets.size)
    log_n = np.empty(shape)
    log_l = np.empty(shape)
    log_l0 = np.empty(shape)
    decades = np.zeros(shape)
    edge = np.zeros(shape, dtype=bool)
    unit = np.where(info["curve_all"] < len(fit.curves), info["curve_all"], -1)
    scale_pos = [fit.law.inputs.index(s) for s in fit.law.scales]
    for b, c in enumerate(budgets):
        log_ck = float(np.log(c / k))
        for ci in range(n_curves):
            th = {p: jnp.asarray(v[:, ci]) for p, v in theta.items()}
            u, ll, ed = (np.asarray(a) for a in minimise(th, log_ck, offset, y_off))
            log_n[:, ci, b], log_l[:, ci, b], edge[:, ci, b] = u, ll, ed
            x = np.column_stack([np.exp(u), np.exp(log_ck - u)])
            dec, back = extrapolation_distance(
                fit.distance, np.log10(x[:, scale_pos]), np.full(n_draws, unit[ci])
            )
            x0 = x.copy()
            x0[:, scale_pos] = x[:, scale_pos] * 10.0 ** back
            xs0 = x0 * np.exp(-np.asarray(offset))
            log_l0[:, ci, b] = np.log(np.asarray(fit.law.evaluate(jnp.asarray(xs0), th))) + float(
                y_off
            )
            decades[:, ci, b] = dec
    log_reached = log_l.copy()
    if "tau" in sites:
        xi = sites["xi_row"][:, :, None]
        log_reached = log_l + drift_value(
            sites["bias"][:, None, None], sites["tau"][:, None, None], xi, decades, log_l, log_l0
        )
    if edge.mean() > 0.01:
        warnings.warn(
            f"{100 * edge.mean():.1f}% of posterior draws put the optimum at the edge of the "
            f"searched range (tokens per parameter beyond e^+-{2 * _HALF_WIDTH:g}): the "
            "posterior allows laws with no interior optimum; treat those allocations as unbounded",
            UserWarning,
            stacklevel=2,
        )
    log_ck_all = np.log(budgets / k)
    n_opt = np.exp(log_n)
    d_opt = np.exp(log_ck_all - log_n)
    draws = {
        "N_opt": n_opt,
        "D_opt": d_opt,
        "tokens_per_param": d_opt / n_opt,
        "loss": np.exp(log_reached),
        "loss_curve": np.exp(log_l),
    }
    rows = []
    for b, c in enumerate(budgets):
        for ci, key in enumerate(keys):
            row = dict(zip(fit.group_cols, key, strict=True))
            row.update(curve=curve_label(fit.group_cols, key), kind=info["kinds"][ci], compute=c,
                       extrapolation_decades=float(np.median(decades[:, ci, b])))
            for name in QUANTITIES:
                lo, med, hi = central_interval(draws[name][:, ci, b], prob)
                row.update({f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi})
            rows.append(row)
    return OptimalAllocation(
        pd.DataFrame(rows), draws, _exponents(fit, theta, keys, budgets, k, prob, minimise,
                                              offset, y_off), budgets, keys
    )


def _exponents(
    fit: Any, theta: dict, keys: list, budgets: np.ndarray, k: float, prob: float,
    minimise: Any, offset: Any, y_off: Any,
) -> pd.DataFrame:
    lo_c = float(budgets.min())
    hi_c = float(budgets.max()) if budgets.max() > 10 * lo_c else lo_c * 1e3
    rows = []
    for ci, key in enumerate(keys):
        th = {p: jnp.asarray(v[:, ci]) for p, v in theta.items()}
        u_lo = np.asarray(minimise(th, float(np.log(lo_c / k)), offset, y_off)[0])
        u_hi = np.asarray(minimise(th, float(np.log(hi_c / k)), offset, y_off)[0])
        a = (u_hi - u_lo) / np.log(hi_c / lo_c)
        row = dict(zip(fit.group_cols, key, strict=True))
        row["curve"] = curve_label(fit.group_cols, key)
        for name, v in (("a", a), ("b", 1.0 - a)):
            lo, med, hi = central_interval(v, prob)
            row.update({f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi})
        rows.append(row)
    return pd.DataFrame(rows)
