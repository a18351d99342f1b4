"""Compute-optimal allocation with uncertainty: for a budget C, N_opt, D_opt and the loss reached.

For every posterior draw the loss ``L(N, D = C / (k N))`` of a two-input law (``chinchilla``,
``kaplan``) is minimised over ``log N`` on a fine grid (0.025 e-folds) refined by a parabola through
the three best points, so any two-input law works, not only those with a closed form. Draws of the
minimiser give the posterior of ``N_opt``, ``D_opt``, tokens per parameter and the loss reached
(the expected curve, without run-to-run noise). Unseen group levels are drawn from the hierarchy
exactly as in :mod:`bayes_scaling.predict`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayes_scaling.compute import FLOPS_PER_PARAM_TOKEN, check_k
from bayes_scaling.estimator import ScalingFit
from bayes_scaling.predict import check_probs, curve_kind, curve_label, curve_theta, group_keys

__all__ = ["OptimalAllocation", "optimal_allocation", "parse_budgets", "QUANTITIES"]

#: Quantities reported per budget, in table column order.
QUANTITIES = ("N_opt", "D_opt", "tokens_per_param", "loss")
_HALF_WIDTH = 12.0  # e-folds searched either side of N = sqrt(C/k)
_N_GRID = 961


@dataclass(frozen=True)
class OptimalAllocation:
    """Posterior of the compute-optimal allocation.

    Attributes
    ----------
    table : DataFrame
        One row per (budget, curve): group columns, ``curve``, ``kind``, ``compute``, and
        ``<q>_median``, ``<q>_lower``, ``<q>_upper`` for ``q`` in ``N_opt``, ``D_opt``,
        ``tokens_per_param``, ``loss``.
    draws : dict[str, ndarray]
        Draws of each quantity, shape ``(draws, curves, budgets)``.
    exponents : DataFrame
        Per curve, the exponents of ``N_opt ∝ C^a`` and ``D_opt ∝ C^b`` (median and interval).
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


def _minimise(fit: ScalingFit, theta: dict[str, np.ndarray], log_ck: float) -> tuple:
    """Per draw and curve: (log N_opt, normalised log loss at the optimum, hit-the-edge mask)."""
    grid = 0.5 * log_ck + np.linspace(-_HALF_WIDTH, _HALF_WIDTH, _N_GRID)
    step = grid[1] - grid[0]
    lx = fit.log_x_ref

    def loss(u: np.ndarray) -> np.ndarray:
        z = jnp.stack([u - lx[0], log_ck - u - lx[1]], axis=-1)
        p = {k: jnp.asarray(v)[..., None] for k, v in theta.items()}
        return np.asarray(fit.law(p, z), dtype=np.float64)

    f = loss(jnp.asarray(grid))  # (draws, curves, grid)
    i = np.argmin(f, axis=-1)
    edge = (i == 0) | (i == _N_GRID - 1)
    j = np.clip(i, 1, _N_GRID - 2)
    f0 = np.take_along_axis(f, (j - 1)[..., None], -1)[..., 0]
    f1 = np.take_along_axis(f, j[..., None], -1)[..., 0]
    f2 = np.take_along_axis(f, (j + 1)[..., None], -1)[..., 0]
    curv = f0 - 2 * f1 + f2
    shift = np.where(curv > 0, 0.5 * (f0 - f2) / np.where(curv > 0, curv, 1.0), 0.0)
    u_opt = grid[j] + np.clip(shift, -1.0, 1.0) * step
    u_opt = np.where(edge, grid[i], u_opt)
    return u_opt, loss(jnp.asarray(u_opt)[..., None])[..., 0], edge


def optimal_allocation(
    fit: ScalingFit,
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
        A fit of a two-input law whose scale columns are (parameters, tokens), in that order.
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
        Seed for draws of unseen levels.

    Returns
    -------
    OptimalAllocation
    """
    if fit.law.n_inputs != 2:
        raise ValueError(
            f"compute-optimal allocation needs a two-input law (chinchilla, kaplan); this fit "
            f"uses {fit.law.name!r} with scale columns {list(fit.x_cols)}"
        )
    budgets = parse_budgets(compute)
    (prob,) = check_probs(prob)
    k = check_k(k)
    keys = list(fit.curves) if groups is None else list(dict.fromkeys(group_keys(fit, groups)))
    theta, _ = curve_theta(fit, keys, seed)
    log_n, log_l, edges = [], [], []
    for c in budgets:
        u, ll, edge = _minimise(fit, theta, float(np.log(c / k)))
        log_n.append(u)
        log_l.append(ll)
        edges.append(edge)
    log_n = np.stack(log_n, axis=-1)  # (draws, curves, budgets)
    edge = np.stack(edges, axis=-1)
    if edge.mean() > 0.01:
        warnings.warn(
            f"{100 * edge.mean():.1f}% of posterior draws put the optimum at the edge of the "
            f"searched range (tokens per parameter beyond e^±{2 * _HALF_WIDTH:g}): the posterior "
            "allows curves with no interior optimum; treat those allocations as unbounded",
            UserWarning,
            stacklevel=2,
        )
    log_ck = np.log(budgets / k)
    n_opt = np.exp(log_n)
    d_opt = np.exp(log_ck - log_n)
    draws = {
        "N_opt": n_opt,
        "D_opt": d_opt,
        "tokens_per_param": d_opt / n_opt,
        "loss": np.exp(fit.log_y_ref + np.stack(log_l, axis=-1)),
    }
    q = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
    rows = []
    for b, c in enumerate(budgets):
        for ci, key in enumerate(keys):
            row = dict(zip(fit.group_cols, key, strict=True))
            row.update(curve=curve_label(fit, key), kind=curve_kind(fit, key), compute=c)
            for name in QUANTITIES:
                lo, med, hi = np.quantile(draws[name][:, ci, b], q)
                row.update({f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi})
            rows.append(row)
    return OptimalAllocation(
        pd.DataFrame(rows), draws, _exponents(fit, theta, keys, budgets, k, q), budgets, keys
    )


def _exponents(fit, theta, keys, budgets, k, q) -> pd.DataFrame:  # noqa: ANN001
    lo_c = float(budgets.min())
    hi_c = float(budgets.max()) if budgets.max() > 10 * lo_c else lo_c * 1e3
    u_lo, _, _ = _minimise(fit, theta, float(np.log(lo_c / k)))
    u_hi, _, _ = _minimise(fit, theta, float(np.log(hi_c / k)))
    a = (u_hi - u_lo) / np.log(hi_c / lo_c)
    rows = []
    for ci, key in enumerate(keys):
        row = dict(zip(fit.group_cols, key, strict=True))
        row["curve"] = curve_label(fit, key)
        for name, v in (("a", a[:, ci]), ("b", 1.0 - a[:, ci])):
            lo, med, hi = np.quantile(v, q)
            row.update({f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi})
        rows.append(row)
    return pd.DataFrame(rows)
