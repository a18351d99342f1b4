"""The peer every prediction is measured against: least squares, multi-start, bootstrap.

What most scaling-law papers do: fit each curve alone by minimising the squared error of
``log y`` (optionally Huber's loss, as Hoffmann et al. 2022), from many starting points, then
resample the curve's points with replacement and refit for intervals. Any law works (built-in or
user-written): the law is evaluated through the same reference-point conditioning as the Bayesian
model, and all starts and bootstrap replicates of a curve are solved together by a vectorised
Levenberg-Marquardt in JAX (one compiled program per law).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayes_scaling.data import curve_label, numeric_column, read_table, validate_runs
from bayes_scaling.inference import _program
from bayes_scaling.intervals import central_interval, check_probs
from bayes_scaling.laws import Law, get_law
from bayes_scaling.laws.conditioning import Conditioning, make_conditioning
from bayes_scaling.predict import curve_keys

__all__ = ["BootstrapFit", "fit_least_squares"]

_ITERS = 80


def _transforms(law: Law) -> list[Any]:
    from bayes_scaling.structure import param_transform as _transform

    return [_transform(law.priors[p]) for p in law.params]


def _starts(law: Law, cond: Conditioning, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` starting points on the sampling scale of the reference parameters."""
    ts = _transforms(law)
    centre = np.empty(law.n_params)
    nat_centre = {p: law.priors[p].center for p in law.params}
    for j, p in enumerate(law.params):
        pr = law.priors[p]
        c = float(np.asarray(ts[j].inv(pr.center)))
        if pr.units != "data":
            for s in cond.covariance.shifts.get(p, ()):
                mult = 1.0 if s.multiplier is None else nat_centre[s.multiplier]
                c -= s.sign * mult * cond.log_ref(s.source)
        centre[j] = c
    sd = np.array([min(law.priors[p].sd, 2.0) for p in law.params])
    out = centre + sd * rng.standard_normal((n, law.n_params))
    out[0] = centre
    return out


def _solver(law: Law) -> Any:
    """Jitted batched Levenberg-Marquardt: (u0 (B, P), xs (n, k), ly (n,), w (B, n)) -> u, cost."""
    ts = _transforms(law)

    def build() -> Any:
        def resid(u: jnp.ndarray, xs: jnp.ndarray, ly: jnp.ndarray, w: jnp.ndarray, off: Any):
            theta = {p: ts[j](u[j]) for j, p in enumerate(law.params)}
            pred = jnp.log(law.evaluate(xs, theta)) + off
            r = jnp.sqrt(w) * (pred - ly)
            return jnp.where(jnp.isfinite(r), r, 1e3)

        def one(u: jnp.ndarray, xs: Any, ly: Any, w: Any, off: Any) -> tuple:
            def cost(v: jnp.ndarray) -> jnp.ndarray:
                r = resid(v, xs, ly, w, off)
                return 0.5 * jnp.sum(r * r) + 1e-8 * jnp.sum(v * v)

            def body(carry: tuple, _: None) -> tuple:
                v, lam, c = carry
                r = resid(v, xs, ly, w, off)
                jac = jax.jacfwd(resid)(v, xs, ly, w, off)
                jtj = jac.T @ jac
                g = jac.T @ r
                a = jtj + lam * (jnp.diag(jnp.diag(jtj)) + 1e-9 * jnp.eye(v.size))
                step = jnp.linalg.solve(a, -g)
                step = jnp.where(jnp.isfinite(step), step, 0.0)
                step = step / jnp.maximum(1.0, jnp.max(jnp.abs(step)) / 2.0)
                new = v + step
                c_new = cost(new)
                better = jnp.isfinite(c_new) & (c_new < c)
                v = jnp.where(better, new, v)
                c = jnp.where(better, c_new, c)
                lam = jnp.where(better, lam * 0.3, lam * 5.0)
                return (v, jnp.clip(lam, 1e-9, 1e9), c), None

            (v, _, c), _ = jax.lax.scan(body, (u, 1e-2, cost(u)), None, length=_ITERS)
            return v, c

        return jax.jit(jax.vmap(one, in_axes=(0, None, None, 0, None)))

    return _program("lm", (law.hash,), build)


@dataclass(frozen=True)
class BootstrapFit:
    """Per-curve least-squares fits and their bootstrap replicates.

    Attributes
    ----------
    law : Law
        The law.
    x_cols, group_cols : tuple of str
        Column roles.
    curves : list of tuple
        Curve keys.
    theta : ndarray ``(curves, params)``
        Best fit per curve (sampling scale of the reference parameters).
    boot : ndarray ``(n_boot, curves, params)``
        Bootstrap replicates.
    resid_sd : ndarray ``(curves,)``
        Residual standard deviation of ``log y`` per curve.
    conditioning : Conditioning
        Reference point (as for the Bayesian model).
    """

    law: Law
    x_cols: tuple[str, ...]
    group_cols: tuple[str, ...]
    curves: list[tuple[str, ...]]
    theta: np.ndarray
    boot: np.ndarray
    resid_sd: np.ndarray
    conditioning: Conditioning

    def _log_curve(self, u: np.ndarray, x: np.ndarray) -> np.ndarray:
        ts = _transforms(self.law)
        theta = {p: ts[j](jnp.asarray(u[..., j])) for j, p in enumerate(self.law.params)}
        xs = jnp.asarray(x * np.exp(-self.conditioning.input_offset))
        off = self.conditioning.log_y_ref if self.conditioning.covariance.output else 0.0
        return np.asarray(jnp.log(self.law.evaluate(xs, theta)), dtype=float) + off

    def log_draws(
        self, data: pd.DataFrame | str | PathLike[str], seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap draws of ``log y`` per row: (expected curve, new run with residual noise).

        Rows of curves the baseline never saw get NaN (least squares cannot predict them).
        """
        frame = read_table(data, what="prediction data")
        x = np.column_stack([numeric_column(frame, c, "input") for c in self.x_cols])
        keys = curve_keys(self, frame)
        index = {c: i for i, c in enumerate(self.curves)}
        seen = np.array([k in index for k in keys])
        c = np.array([index.get(k, 0) for k in keys])
        u = self.boot[:, c, :]  # (boot, rows, params)
        log_curve = self._log_curve(u, x[None, :, :])
        rng = np.random.default_rng(seed)
        log_obs = log_curve + self.resid_sd[c] * rng.standard_normal(log_curve.shape)
        log_curve[:, ~seen] = np.nan
        log_obs[:, ~seen] = np.nan
        return log_curve, log_obs

    def point(self, data: pd.DataFrame | str | PathLike[str]) -> np.ndarray:
        """The least-squares prediction itself (best fit, no bootstrap) per row."""
        frame = read_table(data, what="prediction data")
        x = np.column_stack([numeric_column(frame, c, "input") for c in self.x_cols])
        keys = curve_keys(self, frame)
        index = {c: i for i, c in enumerate(self.curves)}
        c = np.array([index.get(k, 0) for k in keys])
        out = np.exp(self._log_curve(self.theta[c], x))
        out[[k not in index for k in keys]] = np.nan
        return out

    def predict(
        self, data: pd.DataFrame | str | PathLike[str], prob: float = 0.9, seed: int = 0
    ) -> pd.DataFrame:
        """Point fit, bootstrap median and central interval per row (new run: plus noise)."""
        (prob,) = check_probs(prob)
        frame = read_table(data, what="prediction data").copy()
        log_curve, log_obs = self.log_draws(frame, seed)
        lo, med, hi = (np.exp(v) for v in central_interval(log_obs, prob))
        clo, cmed, chi = (np.exp(v) for v in central_interval(log_curve, prob))
        return frame.assign(
            point=self.point(frame), median=med, lower=lo, upper=hi, curve_median=cmed,
            curve_lower=clo, curve_upper=chi,
            curve=[curve_label(self.group_cols, k) for k in curve_keys(self, frame)],
        )


def fit_least_squares(
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    law: str | Law = "saturating",
    n_starts: int = 24,
    n_boot: int = 200,
    seed: int = 0,
) -> BootstrapFit:
    """Fit each curve by least squares in log space from many starts, and bootstrap it.

    Parameters
    ----------
    data, x, y, groups
        As in :meth:`~bayes_scaling.ScalingLaw.fit`.
    law : str or Law
        Any law (``"auto"`` is not a law: pick one).
    n_starts : int
        Starting points (the law's prior centre plus random draws around it); the best fit wins.
    n_boot : int
        Bootstrap replicates (points resampled with replacement), each started from the best fit.
    seed : int
        Seed of the starts and of the resampling.
    """
    law = get_law(law)
    run = validate_runs(data, x, y, groups, min_points=1)
    cond = make_conditioning(law, run.x, run.y)
    xs_all = run.x * np.exp(-cond.input_offset)
    off = cond.log_y_ref if cond.covariance.output else 0.0
    ly_all = np.log(run.y)
    solve = _solver(law)
    rng = np.random.default_rng(seed)
    P = law.n_params
    theta = np.empty((run.n_curves, P))
    boot = np.empty((n_boot, run.n_curves, P))
    sd = np.empty(run.n_curves)
    for c in range(run.n_curves):
        m = run.curve_idx == c
        xs, ly = jnp.asarray(xs_all[m]), jnp.asarray(ly_all[m])
        n = int(m.sum())
        starts = _starts(law, cond, n_starts, rng)
        u, cost = solve(jnp.asarray(starts), xs, ly, jnp.ones((n_starts, n)), off)
        cost = np.asarray(cost)
        best = np.asarray(u)[int(np.nanargmin(np.where(np.isfinite(cost), cost, np.inf)))]
        theta[c] = best
        w = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_boot)])
        ub, _ = solve(jnp.asarray(np.repeat(best[None], n_boot, 0)), xs, ly,
                      jnp.asarray(w, dtype=float), off)
        boot[:, c] = np.asarray(ub)
        pred = np.asarray(
            jnp.log(law.evaluate(xs, {p: _transforms(law)[j](best[j])
                                      for j, p in enumerate(law.params)})) + off
        )
        sd[c] = np.sqrt(np.sum((pred - np.asarray(ly)) ** 2) / max(n - P, 1))
    return BootstrapFit(law, run.x_cols, run.group_cols, run.curves, theta, boot, sd, cond)
