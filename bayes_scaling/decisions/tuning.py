"""Tuning at scale: the learning rate and batch size a planned run should use, with uncertainty.

For a fit of a law whose inputs include ``lr`` and ``batch_size`` (``lr_batch``, or a user's law
with those input names), :func:`tune` finds, for every posterior draw and every requested
(N, D), the (lr, batch) that minimise the law: a 33 x 33 grid over +-5 e-folds around the swept
values, refined by a second grid over +-0.3 e-folds around the best point (so any such law works,
not only those with closed-form optima). Draws of the minimiser give the posterior of
``lr_opt`` and ``batch_size_opt``; the **loss at the optimum** carries the extrapolation drift
beyond the data along (N, D), as every prediction does. With a planned ``lr`` (and
``batch_size``) in the request, the loss there and the excess over the optimum are reported too,
and :func:`lr_penalty` gives the expected loss paid for a learning rate ``k`` times off.

**Where a sweep's best run lies** (``lr_opt_*``, ``batch_size_opt_*``) is not the law's own
minimiser alone: a quadratic-in-log valley fitted to a whole sweep puts its bottom where the bulk
of the runs says, and the best run of a real sweep scatters around it (flat valleys, a grid that
steps lr by 1.4-2x, a valley shape the law does not have). :func:`optimum_misfit` measures that
in the fit's own data: for every swept cell of the training runs (one group and one value of
each scale input, at least three swept values, best run not at the edge of the sweep), the log
ratio of its best run's lr (batch) to the law's posterior-median optimum there. ``tune`` adds to
every draw of the law's optimum one residual resampled from those cells plus kernel noise
(Silverman's bandwidth), so the interval is a predictive interval for the best lr a sweep would
find, bias included; ``lr_opt_law_*`` keep the law's minimiser alone. With fewer than
:data:`MIN_CELLS` usable cells nothing is added and ``DataFrame.attrs["optimum_misfit"]`` says so.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from os import PathLike
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayes_scaling.data import numeric_column, read_table
from bayes_scaling.drift.apply import drift_value
from bayes_scaling.drift.distance import extrapolation_distance
from bayes_scaling.inference import _program
from bayes_scaling.intervals import central_interval, check_probs
from bayes_scaling.predict import parameter_draws

__all__ = ["tune", "lr_penalty", "optimum_misfit", "HYPER_INPUTS", "MIN_CELLS"]

#: Input names tuned by :func:`tune`.
HYPER_INPUTS = ("lr", "batch_size")
_GRID = 33
#: Fewest usable swept cells for :func:`optimum_misfit` to widen ``tune``'s optimum.
MIN_CELLS = 3
#: Posterior draws used to place the law's optimum in each training cell.
_MISFIT_DRAWS = 400
#: optimum_misfit per fit and seed: one minimisation per training cell, not one per tune call.
_MISFIT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _positions(fit: Any, what: str = "tune") -> tuple[int, int]:
    law = fit.law
    missing = [h for h in HYPER_INPUTS if h not in law.inputs]
    if missing:
        raise ValueError(
            f"{what} needs a law with inputs {list(HYPER_INPUTS)} (e.g. lr_batch); law "
            f"{law.name!r} has inputs {list(law.inputs)}"
        )
    return law.inputs.index("lr"), law.inputs.index("batch_size")


def _minimiser(fit: Any) -> Any:
    """Jitted per-draw minimiser of the law over (log lr, log batch) at fixed other inputs."""
    law = fit.law
    k_lr, k_bs = _positions(fit)

    def build() -> Any:
        def loss(theta: dict, x: jnp.ndarray, off: jnp.ndarray, y_off: Any) -> jnp.ndarray:
            return jnp.log(law.evaluate(x * jnp.exp(-off), theta)) + y_off

        def grid_min(theta, base, centre, half, off, y_off):  # noqa: ANN001, ANN202
            g = jnp.linspace(-half, half, _GRID)
            lr = centre[0] + g[:, None] + 0 * g[None, :]
            bs = centre[1] + 0 * g[:, None] + g[None, :]
            x = jnp.broadcast_to(base, (_GRID, _GRID, base.shape[-1]))
            x = x.at[..., k_lr].set(jnp.exp(lr)).at[..., k_bs].set(jnp.exp(bs))
            th = {k: v[..., None, None] if jnp.ndim(v) else v for k, v in theta.items()}
            f = loss(th, x, off, y_off)
            f = jnp.where(jnp.isfinite(f), f, jnp.inf)
            i = jnp.argmin(f)
            return jnp.stack([lr.ravel()[i], bs.ravel()[i]])

        def one(theta, base, centre, off, y_off):  # noqa: ANN001, ANN202
            first = grid_min(theta, base, centre, 5.0, off, y_off)
            best = grid_min(theta, base, first, 0.3, off, y_off)
            x = base.at[k_lr].set(jnp.exp(best[0])).at[k_bs].set(jnp.exp(best[1]))
            return best, loss(theta, x, off, y_off)

        return jax.jit(jax.vmap(one, in_axes=(0, None, None, None, None)))

    return _program("tune", (*fit.structure.key(), "tune"), build)


def _request(fit: Any, data: Any) -> pd.DataFrame:
    frame = read_table(data, what="tuning request").copy()
    for c in fit.x_cols:
        if fit.law.inputs[fit.x_cols.index(c)] in HYPER_INPUTS:
            continue
        numeric_column(frame, c, "input")
    return frame


def _evaluate(fit: Any, theta: dict, x: np.ndarray) -> np.ndarray:
    cond = fit.conditioning
    y_off = cond.log_y_ref if fit.structure.output_scaled else 0.0
    xs = jnp.asarray(x * np.exp(-cond.input_offset))
    return np.asarray(jnp.log(fit.law.evaluate(xs, {k: jnp.asarray(v) for k, v in
                                                     theta.items()}))) + y_off


def tune(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    prob: float = 0.9,
    *,
    seed: int = 0,
    tolerance: float = 0.005,
) -> pd.DataFrame:
    """Posterior of the loss-minimising learning rate and batch size at each requested row.

    Parameters
    ----------
    fit : ScalingFit
        A fit of a law with inputs ``lr`` and ``batch_size`` (``lr_batch``).
    data : DataFrame or CSV path
        One row per planned run: the group columns and the law's other inputs (N, D). Columns
        for ``lr`` and ``batch_size`` (the fit's column names), if present, are the planned
        values: their loss and excess over the optimum are added.
    prob : float
        Central interval probability.
    seed : int
        Seed (new levels and drift; the same seed as ``predict`` gives the same draws).
    tolerance : float
        Excess loss (in the metric's units) counted as "close enough" for ``p_within``.

    Returns
    -------
    DataFrame
        The requested rows plus ``lr_opt_median/_lower/_upper`` and
        ``batch_size_opt_median/_lower/_upper`` (where a sweep's best run would lie: the law's
        optimum plus the in-study misfit of :func:`optimum_misfit`), ``lr_opt_law_*`` and
        ``batch_size_opt_law_*`` (the law's minimiser alone), ``loss_opt_median/_lower/_upper``
        (the law's minimum, with the drift), ``extrapolation_decades``; with planned values also
        ``loss_planned_*``, ``excess_*`` and ``p_within`` = P(excess < tolerance).
        ``attrs["optimum_misfit"]`` summarises the misfit used.
    """
    fit = getattr(fit, "main", fit)
    (prob,) = check_probs(prob)
    k_lr, k_bs = _positions(fit)
    frame = _request(fit, data)
    lr_col, bs_col = fit.x_cols[k_lr], fit.x_cols[k_bs]
    planned = lr_col in frame.columns and bs_col in frame.columns
    opt = _Optima(fit, frame, seed)
    misfit = optimum_misfit(fit, seed=seed)
    rng = np.random.default_rng([seed, 1729])
    n_draws = opt.n_draws
    rows = []
    for i, (best, log_l, th) in enumerate(opt):
        lr_law, bs_law = np.exp(best[:, 0]), np.exp(best[:, 1])
        x_opt = np.repeat(opt.x[i][None], n_draws, axis=0)
        x_opt[:, k_lr], x_opt[:, k_bs] = lr_law, bs_law
        log_reached = _with_drift(fit, opt.sites, th, opt.info, i, x_opt, log_l)
        row = {"extrapolation_decades": float(opt.info["decades"][i])}
        lr_sweep = lr_law * np.exp(_resample(misfit, "lr", n_draws, rng))
        bs_sweep = bs_law * np.exp(_resample(misfit, "batch_size", n_draws, rng))
        for name, v in (("lr_opt", lr_sweep), ("batch_size_opt", bs_sweep),
                        ("loss_opt", np.exp(log_reached)), ("lr_opt_law", lr_law),
                        ("batch_size_opt_law", bs_law)):
            lo, med, hi = central_interval(v, prob)
            row.update({f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi})
        if planned:
            xp = x_opt.copy()
            xp[:, k_lr] = float(numeric_column(frame.iloc[[i]], lr_col, "input")[0])
            xp[:, k_bs] = float(numeric_column(frame.iloc[[i]], bs_col, "input")[0])
            log_p = _evaluate(fit, {k: np.asarray(v) for k, v in th.items()}, xp)
            planned_loss = np.exp(_with_drift(fit, opt.sites, th, opt.info, i, xp, log_p))
            excess = planned_loss - np.exp(log_reached)
            for name, v in (("loss_planned", planned_loss), ("excess", excess)):
                lo, med, hi = central_interval(v, prob)
                row.update({f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi})
            row["p_within"] = float((excess < tolerance).mean())
        rows.append(row)
    out = pd.concat([frame.reset_index(drop=True), pd.DataFrame(rows)], axis=1).set_axis(
        frame.index
    )
    out.attrs["optimum_misfit"] = _misfit_note(misfit)
    return out


class _Optima:
    """The law's minimiser over (lr, batch) for every posterior draw at each requested row."""

    def __init__(self, fit: Any, frame: pd.DataFrame, seed: int,
                 max_draws: int | None = None) -> None:
        k_lr, k_bs = _positions(fit)
        probe = frame.copy()
        ref = np.exp(fit.log_x_ref)
        probe[fit.x_cols[k_lr]] = ref[k_lr]
        probe[fit.x_cols[k_bs]] = ref[k_bs]
        sites, self.info = parameter_draws(fit, probe, seed=seed)
        keep = slice(None)
        n = next(iter(sites.values())).shape[0]
        if max_draws is not None and n > max_draws:
            keep = np.linspace(0, n - 1, max_draws).astype(int)
        self.sites = {k: v[keep] for k, v in sites.items()}
        self.theta = {p: self.sites[f"theta_{p}"] for p in fit.law.params}
        self.x = np.column_stack([numeric_column(probe, c, "input") for c in fit.x_cols])
        self.n_draws = next(iter(self.theta.values())).shape[0]
        cond = fit.conditioning
        self._args = (jnp.asarray(np.log(ref[[k_lr, k_bs]])), jnp.asarray(cond.input_offset),
                      jnp.asarray(cond.log_y_ref if fit.structure.output_scaled else 0.0))
        self._minimise = _minimiser(fit)

    def __iter__(self) -> Any:
        centre, off, y_off = self._args
        for i in range(self.x.shape[0]):
            th = {p: jnp.asarray(v[:, i]) for p, v in self.theta.items()}
            best, log_l = (np.asarray(a) for a in self._minimise(
                th, jnp.asarray(self.x[i]), centre, off, y_off))
            yield best, log_l, th


def optimum_misfit(fit: Any, *, seed: int = 0) -> pd.DataFrame:
    """How far each swept training cell's best run lies from the law's optimum there.

    A cell is one group and one value of each scale input (``N``, ``D``) of the training runs.
    For each cell: its best run (lowest metric, diverged runs included: they are never best),
    the law's posterior-median optimum there (from up to 400 draws), and the log ratios
    ``lr_residual = ln(best lr / law lr_opt)`` and ``batch_size_residual``. A residual is kept
    (``lr_used``, ``batch_size_used``) only when the cell swept at least three values of it and
    its best run is not at the edge of the sweep (where the optimum may lie outside).

    Parameters
    ----------
    fit : ScalingFit
        A fit of a law with inputs ``lr`` and ``batch_size``.
    seed : int
        Seed of the posterior draws at the cells.

    Returns
    -------
    DataFrame
        One row per cell, in the order of first appearance in the training data.
    """
    fit = getattr(fit, "main", fit)
    _positions(fit, "optimum_misfit")
    cached = _MISFIT.setdefault(fit, {})
    if seed not in cached:
        cached[seed] = _misfit_table(fit, seed)
    return cached[seed].copy()


def _misfit_table(fit: Any, seed: int) -> pd.DataFrame:
    k_lr, k_bs = _positions(fit, "optimum_misfit")
    lr_col, bs_col = fit.x_cols[k_lr], fit.x_cols[k_bs]
    runs = fit.training_data()
    keys = [*fit.group_cols, *(c for c in fit.x_cols if c not in (lr_col, bs_col))]
    cells = runs.groupby(keys, sort=False, dropna=False)
    best = runs.loc[cells[fit.y_col].idxmin()].reset_index(drop=True)
    table = best[keys].copy()
    table["runs"] = cells.size().to_numpy()
    table["best_" + lr_col] = best[lr_col].to_numpy()
    table["best_" + bs_col] = best[bs_col].to_numpy()
    opt = _Optima(fit, table[keys], seed, _MISFIT_DRAWS)
    law_opt = np.array([np.median(b, axis=0) for b, _, _ in opt])
    for j, (col, name) in enumerate(((lr_col, "lr"), (bs_col, "batch_size"))):
        swept = cells[col].agg(["nunique", "min", "max"]).reset_index(drop=True)
        b = best[col].to_numpy(dtype=float)
        table[f"{name}_opt_law"] = np.exp(law_opt[:, j])
        table[f"{name}_residual"] = np.log(b) - law_opt[:, j]
        table[f"{name}_used"] = ((swept["nunique"].to_numpy() >= 3)
                                 & (b > swept["min"].to_numpy()) & (b < swept["max"].to_numpy()))
    return table


def _usable(misfit: pd.DataFrame, name: str) -> np.ndarray:
    """The usable cells' log residuals of ``name`` (``"lr"`` or ``"batch_size"``)."""
    return misfit.loc[misfit[f"{name}_used"], f"{name}_residual"].to_numpy(dtype=float)


def _resample(misfit: pd.DataFrame, name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Residuals resampled from the usable cells plus Gaussian kernel noise (zeros if too few)."""
    r = _usable(misfit, name)
    if r.size < MIN_CELLS:
        return np.zeros(n)
    iqr = np.subtract(*np.percentile(r, [75, 25]))
    spread = min(r.std(ddof=1), iqr / 1.349) if iqr > 0 else r.std(ddof=1)
    h = 0.9 * spread * r.size ** -0.2
    return rng.choice(r, n) + h * rng.standard_normal(n)


def _misfit_note(misfit: pd.DataFrame) -> str:
    parts = []
    for name in ("lr", "batch_size"):
        r = _usable(misfit, name)
        if r.size < MIN_CELLS:
            parts.append(f"{name}: {r.size} usable swept cells (< {MIN_CELLS}), the law's "
                         "optimum alone")
        else:
            parts.append(f"{name}: {r.size} of {len(misfit)} swept cells, best run at "
                         f"{np.exp(np.median(r)):.2f}x the law's optimum (median), log-ratio "
                         f"sd {r.std(ddof=1):.2f}")
    return "; ".join(parts)


def _with_drift(fit: Any, sites: dict, th: dict, info: dict, i: int, x: np.ndarray,
                log_l: np.ndarray) -> np.ndarray:
    """Add the drift beyond the data (along the law's scale inputs) to per-draw log losses."""
    if "tau" not in sites:
        return log_l
    pos = [fit.law.inputs.index(s) for s in fit.law.scales]
    unit = np.full(x.shape[0], -1 if info["unit"][i] < 0 else info["unit"][i])
    dec, back = extrapolation_distance(fit.distance, np.log10(x[:, pos]), unit)
    x0 = x.copy()
    x0[:, pos] = x[:, pos] * 10.0 ** back
    log_l0 = _evaluate(fit, {k: np.asarray(v) for k, v in th.items()}, x0)
    return log_l + drift_value(sites["bias"], sites["tau"], sites["xi_row"][:, i], dec, log_l,
                               log_l0)


def lr_penalty(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    factors: Sequence[float] = (0.25, 0.5, 2.0, 4.0),
    prob: float = 0.9,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """Expected loss paid for a learning rate ``k`` times its optimum (batch at its optimum).

    One row per requested row and factor: ``factor``, ``excess_median/_lower/_upper`` (the
    law's loss at ``k * lr_opt`` minus at ``lr_opt``, per draw; no drift: it cancels).
    """
    fit = getattr(fit, "main", fit)
    (prob,) = check_probs(prob)
    k_lr, k_bs = _positions(fit, "lr_penalty")
    frame = _request(fit, data)
    opt = _Optima(fit, frame, seed)
    x = opt.x
    out = []
    for i, (best, log_l, th) in enumerate(opt):
        for k in factors:
            if isinstance(k, bool) or not isinstance(k, int | float) or not k > 0:
                raise ValueError(f"factors must be positive numbers, got {k!r}")
            xk = np.repeat(x[i][None], best.shape[0], axis=0)
            xk[:, k_lr] = k * np.exp(best[:, 0])
            xk[:, k_bs] = np.exp(best[:, 1])
            excess = np.exp(_evaluate(fit, {p: np.asarray(v) for p, v in th.items()}, xk)) - (
                np.exp(log_l))
            lo, med, hi = central_interval(excess, prob)
            out.append({**frame.iloc[i].to_dict(), "factor": float(k), "excess_median": med,
                        "excess_lower": lo, "excess_upper": hi})
    return pd.DataFrame(out)
