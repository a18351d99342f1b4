"""Baseline used in benchmarks and backtests: least squares in log space with bootstrap intervals.

This is what most scaling-law papers do: fit each curve alone by minimising squared error of
``log(y)``, then resample the curve's points with replacement and refit to get intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from bayes_scaling.data import numeric_column, read_table, validate_runs
from bayes_scaling.laws import Law, get_law

__all__ = ["BootstrapFit", "fit_least_squares"]


@dataclass(frozen=True)
class BootstrapFit:
    """Per-curve least-squares fits and their bootstrap replicates (linked parameters)."""

    law: Law
    x_cols: tuple[str, ...]
    group_cols: tuple[str, ...]
    curves: list[tuple[str, ...]]
    theta: np.ndarray  # (curves, params) point estimates
    boot: np.ndarray  # (n_boot, curves, params)
    resid_sd: np.ndarray  # (curves,)
    log_x_ref: np.ndarray
    log_y_ref: float

    def log_draws(
        self, data: pd.DataFrame | str | PathLike[str], seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap draws of ``log y`` per row: (expected curve, new run with residual noise).

        Rows of curves the baseline never saw get NaN (least squares cannot predict them).
        """
        frame = read_table(data, what="prediction data")
        x = np.column_stack([numeric_column(frame, c, "scale") for c in self.x_cols])
        z = np.log(x) - self.log_x_ref
        keys = [tuple(str(v) for v in r) for r in frame[list(self.group_cols)].to_numpy()]
        seen = np.array([k in self.curves for k in keys])
        c = np.array([self.curves.index(k) if k in self.curves else 0 for k in keys])
        names = self.law.linked_names
        p = {n: jnp.asarray(self.boot[:, c, j]) for j, n in enumerate(names)}
        log_curve = np.asarray(self.law(p, jnp.asarray(z[None])), dtype=np.float64)
        log_curve += self.log_y_ref
        rng = np.random.default_rng(seed)
        log_obs = log_curve + self.resid_sd[c] * rng.standard_normal(log_curve.shape)
        log_curve[:, ~seen] = np.nan
        log_obs[:, ~seen] = np.nan
        return log_curve, log_obs

    def predict(
        self, data: pd.DataFrame | str | PathLike[str], prob: float = 0.9, seed: int = 0
    ) -> pd.DataFrame:
        """Median and central interval per row (curve: bootstrap; new run: plus residual noise)."""
        frame = read_table(data, what="prediction data").copy()
        log_curve, log_obs = self.log_draws(frame, seed)
        q = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
        lo, med, hi = np.exp(np.quantile(log_obs, q, axis=0))
        clo, cmed, chi = np.exp(np.quantile(log_curve, q, axis=0))
        return frame.assign(
            median=med, lower=lo, upper=hi, curve_median=cmed, curve_lower=clo, curve_upper=chi
        )


def fit_least_squares(
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    law: str | Law = "saturating",
    n_boot: int = 500,
    seed: int = 0,
) -> BootstrapFit:
    """Fit each curve by least squares in log space and bootstrap it (resampling points).

    Starts from the law's prior means (on the same normalised scale as the Bayesian model) and
    uses a trust-region solver with a soft-L1-free squared loss, as in most papers.
    """
    law = get_law(law)
    run = validate_runs(data, x, y, groups, min_points=law.n_params)
    log_x_ref = np.log(run.x).mean(axis=0)
    log_y_ref = float(np.log(run.y).mean())
    z_all = np.log(run.x) - log_x_ref
    ly_all = np.log(run.y) - log_y_ref
    names = law.linked_names

    @jax.jit
    def resid(theta: jnp.ndarray, z: jnp.ndarray, ly: jnp.ndarray) -> jnp.ndarray:
        return law({n: theta[j] for j, n in enumerate(names)}, z) - ly

    jac = jax.jit(jax.jacfwd(resid))
    start = np.array([p.prior.args.get("loc", 0.0) for p in law.params])

    def solve(z: np.ndarray, ly: np.ndarray, x0: np.ndarray) -> np.ndarray:
        zj, lyj = jnp.asarray(z), jnp.asarray(ly)
        r = least_squares(
            lambda t: np.asarray(resid(jnp.asarray(t), zj, lyj), dtype=float),
            x0,
            jac=lambda t: np.asarray(jac(jnp.asarray(t), zj, lyj), dtype=float),
            method="trf",
        )
        return r.x

    rng = np.random.default_rng(seed)
    theta = np.empty((run.n_curves, len(names)))
    boot = np.empty((n_boot, run.n_curves, len(names)))
    sd = np.empty(run.n_curves)
    for c in range(run.n_curves):
        m = run.curve_idx == c
        z, ly = z_all[m], ly_all[m]
        theta[c] = solve(z, ly, start)
        r = np.asarray(resid(jnp.asarray(theta[c]), jnp.asarray(z), jnp.asarray(ly)))
        sd[c] = np.sqrt(np.sum(r**2) / max(len(ly) - len(names), 1))
        for b in range(n_boot):
            idx = rng.integers(0, len(ly), len(ly))
            boot[b, c] = solve(z[idx], ly[idx], theta[c])
    return BootstrapFit(
        law, run.x_cols, run.group_cols, run.curves, theta, boot, sd, log_x_ref, log_y_ref
    )
