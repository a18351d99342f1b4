"""Extrapolation discrepancy: intervals that include the error of extrapolating itself.

A posterior over one law's parameters is not an honest extrapolation interval: real curves drift
off any fitted form as scale grows (recipes change with size; the form is only approximately
right). We add to every prediction a curve-level drift in log space::

    log y_new = law(theta, z) + tau * Delta * xi_curve + noise,      xi_curve ~ Normal(0, 1)

where ``Delta`` is the distance beyond the data, in decades of scale (the largest over the scale
columns of ``log10(x / x_max)``, with ``x_max`` the curve's largest training value; 0 inside the
data), and ``tau`` is the spread of the drift per decade. ``xi`` is shared by all rows of a curve:
beyond its data a curve drifts in one direction, with the error growing linearly in ``Delta``.

``tau`` is shared by all curves and groups (one well-measured family teaches the others how fast
extrapolation error grows) and learned from the data by **leave-future-out**: refit on the smaller
scales of every curve (the first ``1 - holdout`` of its log-scale range, ordered by the sum of the
log scales, i.e. compute for an (N, D) law), predict its larger runs, and compute the exact
grid posterior of ``tau`` under::

    e_i ~ Normal(0, v_i + tau^2 Delta_i^2)

where ``e_i`` is the log error of the inner prediction and ``v_i`` its predictive variance
(parameters and noise).

The default is the **drift prior learned across many real studies** (:mod:`bayes_scaling.drift`)
used as is (``discrepancy="prior"``): a population distribution of ``(tau, b)``, where ``b`` is a
systematic drift per decade (curves bending away from the law), so the drift becomes
``(b + tau xi) Delta``. With ``discrepancy="lfo"`` the leave-future-out errors update ``(tau, b)``
on an exact 2-d grid (``e_i ~ Normal(b Delta_i, v_i + tau^2 Delta_i^2)``); measured
leave-one-study-out (``benchmarks/bench_drift.py``) that update makes intervals *worse*: the inner
split's drift does not predict the outer one (its sign even flips), so it is not the default.
A plain :class:`~bayes_scaling.Prior` on
``tau`` (e.g. the earlier default ``HalfNormal(0.05)``) keeps ``b = 0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayes_scaling.data import RunData
from bayes_scaling.drift import DriftPrior
from bayes_scaling.priors import Prior

__all__ = [
    "Discrepancy",
    "DEFAULT_TAU_PRIOR",
    "lfo_split",
    "tau_posterior",
    "drift_posterior",
    "prior_info",
    "extrapolation_decades",
]

#: Weakly informative prior of the drift spread alone (``b = 0``); the default is the learned
#: :class:`~bayes_scaling.drift.DriftPrior`.
DEFAULT_TAU_PRIOR = Prior("HalfNormal", scale=0.05, note="log-loss sd per decade beyond the data")


@dataclass(frozen=True)
class Discrepancy:
    """A learned (or prior-only) extrapolation-discrepancy spread.

    Attributes
    ----------
    tau : ndarray
        Draws of ``tau`` (log-loss sd per decade beyond the data).
    method : str
        ``"lfo"`` (learned by leave-future-out), ``"prior"`` (no inner split was possible or
        asked for) or ``"fixed"``.
    prior : dict
        Description of the prior (a :class:`Prior`'s dict, or the drift prior's source and hash).
    details : dict
        Inner split size, holdout fraction, and the inner errors used.
    bias : ndarray, optional
        Draws of the systematic drift ``b`` per decade (``None``: zero).
    """

    tau: np.ndarray
    method: str
    prior: dict[str, Any] = field(default_factory=lambda: DEFAULT_TAU_PRIOR.to_dict())
    details: dict[str, Any] = field(default_factory=dict)
    bias: np.ndarray | None = None

    def summary(self) -> str:
        """One line: median and 90% interval of tau (and bias), and how they were obtained."""
        lo, med, hi = np.quantile(self.tau, [0.05, 0.5, 0.95])
        n = self.details.get("n_points", 0)
        out = f"extrapolation drift tau = {med:.4f} [{lo:.4f}, {hi:.4f}]"
        if self.bias is not None:
            blo, bmed, bhi = np.quantile(self.bias, [0.05, 0.5, 0.95])
            out += f", bias = {bmed:+.4f} [{blo:+.4f}, {bhi:+.4f}]"
        src = self.prior.get("source", self.prior.get("dist", "?"))
        return f"{out} log-loss per decade ({self.method}, {n} inner held-out points; prior: {src})"

    def to_meta(self) -> dict[str, Any]:
        """JSON-serialisable description (the draws travel in the posterior)."""
        return {"method": self.method, "prior": self.prior, "details": self.details}


def prior_info(prior: Prior | DriftPrior) -> dict[str, Any]:
    """JSON description of a discrepancy prior."""
    return prior.describe() if isinstance(prior, DriftPrior) else prior.to_dict()


def lfo_split(run: RunData, holdout: float, min_points: int) -> np.ndarray:
    """Boolean mask of rows held out for the inner leave-future-out fit.

    Per curve, rows whose ordering scale (sum of log scales) lies in the last ``holdout`` of
    the curve's range are held out, provided at least ``min_points`` rows remain; otherwise the
    curve contributes no held-out rows.
    """
    if not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be in (0, 1), got {holdout!r}")
    s = np.log(run.x).sum(axis=1)
    mask = np.zeros(run.n, dtype=bool)
    for c in range(run.n_curves):
        rows = run.curve_idx == c
        lo, hi = s[rows].min(), s[rows].max()
        if hi <= lo:
            continue
        late = rows & (s > hi - holdout * (hi - lo))
        if (rows & ~late).sum() >= min_points and late.any():
            mask |= late
    return mask


def extrapolation_decades(
    x: np.ndarray,
    curve_max: Mapping[tuple[str, ...], np.ndarray],
    global_max: np.ndarray,
    *,
    keys: list,
) -> np.ndarray:
    """Decades beyond each row's curve data: ``max_k log10(x_k / x_max_k)``, floored at 0."""
    out = np.empty(len(keys))
    for i, key in enumerate(keys):
        ref = curve_max.get(key, global_max)
        out[i] = max(0.0, float(np.max(np.log10(x[i] / ref))))
    return out


def tau_posterior(
    errors: np.ndarray,
    variances: np.ndarray,
    decades: np.ndarray,
    prior: Prior = DEFAULT_TAU_PRIOR,
    *,
    n_draws: int,
    seed: int = 0,
    n_grid: int = 2000,
) -> np.ndarray:
    """Draws from the exact grid posterior of ``tau`` given inner extrapolation errors.

    Parameters
    ----------
    errors, variances, decades : ndarray
        Per inner held-out point: log error of the predictive mean, predictive variance (without
        discrepancy), and decades beyond the inner training data.
    prior : Prior
        Prior of ``tau`` (a distribution on ``tau >= 0``).
    n_draws : int
        Number of draws to return.
    seed : int
        Random seed.
    """
    import jax.numpy as jnp

    pdist = prior.to_numpyro()
    scale = float(prior.args.get("scale", 0.05))
    spread = np.abs(errors) / np.maximum(decades, 1e-3)
    hi = max(8 * scale, 3 * float(spread.max()) if spread.size else 0.0, 1e-3)
    step = hi / n_grid
    grid = (np.arange(n_grid) + 0.5) * step  # cell midpoints: tau > 0, inside the support
    logp = np.asarray(pdist.log_prob(jnp.asarray(grid)), dtype=np.float64)
    if errors.size:
        var = variances[None, :] + (grid[:, None] * decades[None, :]) ** 2
        logp = logp + (-0.5 * (errors[None, :] ** 2 / var + np.log(2 * np.pi * var))).sum(axis=1)
    logp = np.where(np.isfinite(logp), logp, -np.inf)
    w = np.exp(logp - logp.max())
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    rng = np.random.default_rng(seed)
    u = rng.random(n_draws)
    idx = np.searchsorted(cdf, u)
    return grid[np.minimum(idx, n_grid - 1)] + (rng.random(n_draws) - 0.5) * step


def drift_posterior(
    errors: np.ndarray,
    variances: np.ndarray,
    decades: np.ndarray,
    prior: DriftPrior,
    *,
    n_draws: int,
    seed: int = 0,
    n_grid: int = 160,
) -> tuple[np.ndarray, np.ndarray]:
    """Draws of ``(tau, bias)`` given inner errors, on an exact grid over ``(log tau, bias)``.

    The prior is the learned population distribution; the likelihood is
    ``e_i ~ Normal(b Delta_i, v_i + tau^2 Delta_i^2)``. Without errors, draws from the prior.
    """
    if errors.size == 0:
        return prior.sample(n_draws, seed)
    t, b = prior.sample(20000, seed)
    lt = np.linspace(np.log(np.quantile(t, 0.0005)), np.log(np.quantile(t, 0.9995)), n_grid)
    bg = np.linspace(np.quantile(b, 0.0005), np.quantile(b, 0.9995), n_grid)
    LT, B = np.meshgrid(lt, bg, indexing="ij")
    tau = np.exp(LT)
    logp = prior.log_density(tau, B) + LT  # density in (log tau, b)
    mean = B[..., None] * decades
    var = variances + (tau[..., None] * decades) ** 2
    logp = logp + (-0.5 * ((errors - mean) ** 2 / var + np.log(2 * np.pi * var))).sum(axis=-1)
    w = np.exp(logp - logp.max()).ravel()
    rng = np.random.default_rng(seed)
    idx = rng.choice(w.size, size=n_draws, p=w / w.sum())
    i, j = np.unravel_index(idx, LT.shape)
    dlt, db = lt[1] - lt[0], bg[1] - bg[0]
    tau_d = np.exp(lt[i] + (rng.random(n_draws) - 0.5) * dlt)
    bias_d = bg[j] + (rng.random(n_draws) - 0.5) * db
    return tau_d, bias_d


def inner_errors(pred_draws_log: np.ndarray, log_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Log errors and predictive variances from log-space predictive draws ``(draws, rows)``."""
    mean = pred_draws_log.mean(axis=0)
    return log_y - mean, pred_draws_log.var(axis=0)
