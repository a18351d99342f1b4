"""Within-run correlated residuals: checkpoints of one training run are not independent.

When rows are checkpoints of training runs (``run=`` / ``--run``), the law's misfit and the
run's own fluctuations persist from one checkpoint to the next. Each run's residual is modelled
as an Ornstein-Uhlenbeck process (the continuous-time AR(1)) in ``s`` = log of the scale (sum of
the log scale inputs: log tokens or log steps) plus independent checkpoint noise::

    log y_i = law(theta, x_i) + r(s_i) + eps_i,   eps_i ~ Normal(0, sigma)
    r ~ OU(scale kappa, length ell):  Cov(r(s), r(s')) = kappa^2 exp(-|s - s'| / ell)

so that 200 checkpoints of one run carry about ``(s_max - s_min) / ell`` independent pieces of
information about the law, not 200: adding checkpoints does not shrink intervals without limit.
The likelihood is computed exactly by a Kalman filter over each run's checkpoints in order of
``s`` (runs are vectorised, padded to the longest); it factorises into one-step-ahead predictive
densities, which are the pointwise log-likelihoods (leave-future-out style). A prediction for a
later checkpoint of a fitted run conditions on the run's filtered residual at its last
checkpoint (decaying towards zero over a distance ``ell``); a new run starts from the
stationary distribution.

Why OU and not a Gaussian process with a smoother kernel: the OU (exponential) kernel is the only
stationary Gaussian process that is Markov, so its likelihood is linear in the number of
checkpoints; measured on the bundled learning curves it captures the residual structure (the
lag-1 correlation of residuals falls from ~0.9 to ~0.1 after filtering).
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

from bayes_scaling.priors import Prior

__all__ = [
    "OU_PRIORS",
    "run_layout",
    "kalman",
    "SequentialOU",
    "ou_parameters",
    "forecast",
]

#: Default priors of the residual process (overridable by name).
OU_PRIORS = {
    "ou_scale": Prior("LogNormal", loc=float(np.log(0.01)), scale=1.0,
                      note="sd of the run-level residual process, log units (~1%)"),
    "ou_length": Prior("LogNormal", loc=float(np.log(0.5)), scale=1.0,
                       note="correlation length in e-folds of the scale (steps or tokens)"),
}


def run_layout(run_idx: np.ndarray, s: np.ndarray, n_runs: int) -> dict[str, np.ndarray]:
    """Padded per-run index matrices: rows of each run in order of ``s``.

    Returns ``run_rows`` ``(runs, T)`` (row indices, 0 where padded), ``run_mask`` (real
    entries) and ``run_s`` (``s`` of each entry, the last real value repeated in padding).
    """
    counts = np.bincount(run_idx, minlength=n_runs)
    t = int(max(counts.max(), 1))
    rows = np.zeros((n_runs, t), dtype=np.int64)
    mask = np.zeros((n_runs, t), dtype=bool)
    svals = np.zeros((n_runs, t))
    for r in range(n_runs):
        idx = np.flatnonzero(run_idx == r)
        idx = idx[np.argsort(s[idx], kind="stable")]
        rows[r, : idx.size] = idx
        mask[r, : idx.size] = True
        svals[r, : idx.size] = s[idx]
        if idx.size:
            svals[r, idx.size:] = s[idx[-1]]
    return {"run_rows": rows, "run_mask": mask, "run_s": svals}


def kalman(
    resid: jnp.ndarray,
    noise: jnp.ndarray,
    layout: Mapping[str, jnp.ndarray],
    kappa: jnp.ndarray,
    ell: jnp.ndarray,
) -> tuple[jnp.ndarray, jnp.ndarray, jnp.ndarray, jnp.ndarray]:
    """Filter every run; per row the one-step-ahead log density, and the final state.

    Parameters
    ----------
    resid, noise : array ``(n,)``
        Residual ``log y - law`` and checkpoint-noise sd of every row.
    layout : mapping
        :func:`run_layout` arrays.
    kappa, ell : scalars
        OU scale and length.

    Returns
    -------
    (loglik, mean, var, s_last)
        ``loglik`` ``(n,)`` per row (0 for rows in no run); per run the filtered residual's mean
        and variance after its last checkpoint, and that checkpoint's ``s``.
    """
    rows, mask, svals = layout["run_rows"], layout["run_mask"], layout["run_s"]
    e = resid[rows]  # (R, T)
    v_noise = noise[rows] ** 2
    k2 = kappa**2

    def step(carry: tuple, t: jnp.ndarray) -> tuple:
        a, p, s_prev, started = carry
        s_t = svals[:, t]
        rho = jnp.exp(-jnp.abs(s_t - s_prev) / ell)
        a_pred = jnp.where(started, rho * a, 0.0)
        p_pred = jnp.where(started, rho**2 * p + k2 * (1 - rho**2), k2)
        real = mask[:, t]
        innov = e[:, t] - a_pred
        s_var = p_pred + v_noise[:, t]
        ll = -0.5 * (innov**2 / s_var + jnp.log(2 * jnp.pi * s_var))
        gain = p_pred / s_var
        a_new = jnp.where(real, a_pred + gain * innov, a)
        p_new = jnp.where(real, (1 - gain) * p_pred, p)
        s_new = jnp.where(real, s_t, s_prev)
        return (a_new, p_new, s_new, started | real), jnp.where(real, ll, 0.0)

    n_runs, t_max = rows.shape
    init = (jnp.zeros(n_runs), jnp.full(n_runs, k2), svals[:, 0], jnp.zeros(n_runs, bool))
    (a, p, s_last, _), lls = jax.lax.scan(step, init, jnp.arange(t_max))
    loglik = jnp.zeros(resid.shape[0]).at[rows.ravel()].add(
        jnp.where(mask.ravel(), lls.T.ravel(), 0.0)
    )
    return loglik, a, p, s_last


class SequentialOU(dist.Distribution):
    """``log y`` of all rows with OU run residuals (the observation site).

    ``log_prob`` gives each row's one-step-ahead log density; their sum is the joint density.
    """

    arg_constraints = {"loc": constraints.real_vector, "noise": constraints.positive}
    support = constraints.real_vector

    def __init__(self, loc, noise, layout, kappa, ell, *, validate_args=None):  # noqa: ANN001
        self.loc, self.noise, self.layout, self.kappa, self.ell = loc, noise, layout, kappa, ell
        super().__init__(batch_shape=jnp.shape(loc), validate_args=validate_args)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        """One-step-ahead log densities per row."""
        return kalman(value - self.loc, self.noise, self.layout, self.kappa, self.ell)[0]

    def sample(self, key, sample_shape=()):  # noqa: ANN001, ANN201
        """Not needed: predictions use :func:`forecast`."""
        raise NotImplementedError("draw predictions with bayes_scaling.predict")


def ou_parameters(priors: Mapping[str, Prior]) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Sample the shared OU scale and length."""
    kappa = numpyro.sample("ou_scale", priors["ou_scale"].to_numpyro())
    ell = numpyro.sample("ou_length", priors["ou_length"].to_numpyro())
    return kappa, ell


def forecast(
    state_mean: jnp.ndarray,
    state_var: jnp.ndarray,
    s_last: jnp.ndarray,
    row_run: jnp.ndarray,
    s_rows: jnp.ndarray,
    kappa: jnp.ndarray,
    ell: jnp.ndarray,
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Mean and sd of each row's run residual.

    Conditioned on its fitted run's last state (``row_run >= 0``), or stationary for a new run.
    """
    known = row_run >= 0
    r = jnp.maximum(row_run, 0)
    rho = jnp.exp(-jnp.abs(s_rows - s_last[r]) / ell)
    mean = jnp.where(known, rho * state_mean[r], 0.0)
    var = jnp.where(known, rho**2 * state_var[r] + kappa**2 * (1 - rho**2), kappa**2)
    return mean, jnp.sqrt(var)
