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
"""

from __future__ import annotations

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

__all__ = ["tune", "lr_penalty", "HYPER_INPUTS"]

#: Input names tuned by :func:`tune`.
HYPER_INPUTS = ("lr", "batch_size")
_GRID = 33


def _positions(fit: Any) -> tuple[int, int]:
    law = fit.law
    missing = [h for h in HYPER_INPUTS if h not in law.inputs]
    if missing:
        raise ValueError(
            f"tune needs a law with inputs {list(HYPER_INPUTS)} (e.g. lr_batch); law "
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
        The requested rows plus ``lr_opt_median/_lower/_upper``,
        ``batch_size_opt_median/_lower/_upper``, ``loss_opt_median/_lower/_upper`` (with the
        drift), ``extrapolation_decades``; with planned values also ``loss_planned_*``,
        ``excess_*`` and ``p_within`` = P(excess < tolerance).
    """
    fit = getattr(fit, "main", fit)
    (prob,) = check_probs(prob)
    k_lr, k_bs = _positions(fit)
    frame = _request(fit, data)
    lr_col, bs_col = fit.x_cols[k_lr], fit.x_cols[k_bs]
    planned = lr_col in frame.columns and bs_col in frame.columns
    probe = frame.copy()
    ref = np.exp(fit.log_x_ref)
    probe[lr_col] = ref[k_lr]
    probe[bs_col] = ref[k_bs]
    sites, info = parameter_draws(fit, probe, seed=seed)
    theta = {p: sites[f"theta_{p}"] for p in fit.law.params}
    x = np.column_stack([numeric_column(probe, c, "input") for c in fit.x_cols])
    cond = fit.conditioning
    off = jnp.asarray(cond.input_offset)
    y_off = jnp.asarray(cond.log_y_ref if fit.structure.output_scaled else 0.0)
    centre = jnp.asarray(np.log(ref[[k_lr, k_bs]]))
    minimise = _minimiser(fit)
    n_draws = next(iter(theta.values())).shape[0]
    rows = []
    for i in range(len(frame)):
        th = {p: jnp.asarray(v[:, i]) for p, v in theta.items()}
        best, log_l = (np.asarray(a) for a in minimise(th, jnp.asarray(x[i]), centre, off, y_off))
        lr_opt, bs_opt = np.exp(best[:, 0]), np.exp(best[:, 1])
        x_opt = np.repeat(x[i][None], n_draws, axis=0)
        x_opt[:, k_lr], x_opt[:, k_bs] = lr_opt, bs_opt
        log_reached = _with_drift(fit, sites, th, info, i, x_opt, log_l)
        row = {"extrapolation_decades": float(info["decades"][i])}
        for name, v in (("lr_opt", lr_opt), ("batch_size_opt", bs_opt),
                        ("loss_opt", np.exp(log_reached))):
            lo, med, hi = central_interval(v, prob)
            row.update({f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi})
        if planned:
            xp = x_opt.copy()
            xp[:, k_lr] = float(numeric_column(frame.iloc[[i]], lr_col, "input")[0])
            xp[:, k_bs] = float(numeric_column(frame.iloc[[i]], bs_col, "input")[0])
            log_p = _evaluate(fit, {k: np.asarray(v) for k, v in th.items()}, xp)
            planned_loss = np.exp(_with_drift(fit, sites, th, info, i, xp, log_p))
            excess = planned_loss - np.exp(log_reached)
            for name, v in (("loss_planned", planned_loss), ("excess", excess)):
                lo, med, hi = central_interval(v, prob)
                row.update({f"{name}_median": med, f"{name}_lower": lo, f"{name}_upper": hi})
            row["p_within"] = float((excess < tolerance).mean())
        rows.append(row)
    return pd.concat([frame.reset_index(drop=True), pd.DataFrame(rows)], axis=1).set_axis(
        frame.index
    )


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
    k_lr, k_bs = _positions(fit)
    frame = _request(fit, data)
    probe = frame.copy()
    ref = np.exp(fit.log_x_ref)
    probe[fit.x_cols[k_lr]] = ref[k_lr]
    probe[fit.x_cols[k_bs]] = ref[k_bs]
    sites, _ = parameter_draws(fit, probe, seed=seed)
    theta = {p: sites[f"theta_{p}"] for p in fit.law.params}
    x = np.column_stack([numeric_column(probe, c, "input") for c in fit.x_cols])
    cond = fit.conditioning
    off = jnp.asarray(cond.input_offset)
    y_off = jnp.asarray(cond.log_y_ref if fit.structure.output_scaled else 0.0)
    minimise = _minimiser(fit)
    out = []
    for i in range(len(frame)):
        th = {p: jnp.asarray(v[:, i]) for p, v in theta.items()}
        best, log_l = (np.asarray(a) for a in minimise(th, jnp.asarray(x[i]),
                                                       jnp.asarray(np.log(ref[[k_lr, k_bs]])),
                                                       off, y_off))
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
