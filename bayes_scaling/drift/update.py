"""The study's own drift: update the cross-study prior with a backtest inside the user's data.

The drift prior (:mod:`bayes_scaling.drift.prior`) says how far *a new study* drifts off its law
beyond the data; studies differ a lot (a clean language-model ladder drifts by a fraction of a
percent per decade, a task with a phase transition by tens of percent). A user's own runs carry
evidence about *their* study: fitted on its smaller part, how well does the law reach its larger
part? :func:`in_study_evidence` answers that with one extra fit: the training rows are cut at
:data:`SELF_FRACTION` of their range on the ordering scale (the sum of the log scale inputs: log
compute for an ``(N, D)`` law), the same law and hierarchy are fitted without drift to the rows
below, and each row above is scored as the drift sweep scores held-out points (error of the
parameter-only prediction ``e``, distance beyond the sub-fit's data ``Delta``, the law's own
decline ``d``). Under the drift model (:mod:`bayes_scaling.drift.model`), per unit ``u`` (a curve,
or a run)::

    e_u ~ Normal(b d_u, Sigma_u + tau^2 Delta_u Delta_u^T)

with ``Sigma_u`` the covariance of the sub-fit's log predictive draws at the unit's held-out rows
(parameter uncertainty, shared along the unit, plus noise) and ``xi`` integrated out (a rank-one
term). :func:`updated_draws` weights many candidate ``(tau, b)`` of the prior population by this
likelihood raised to :data:`TEMPER` and resamples: the study's posterior drift.

Why a tempered likelihood: the evidence is a short extrapolation (a third of the data's range),
its rows are correlated beyond the rank-one drift, and the drift's growth with distance is assumed
linear; a power posterior (Bissiri et al. 2016) keeps a few well-fitted held-out rows from
shrinking the drift to nothing. The power was chosen on the leave-one-study-out backtest
(``benchmarks/bench_drift_update.py --temper T``, 27 study/law pairs scored at the 0.75 cut-off
with priors fitted without the study): mean 90% coverage 0.862 with the prior alone; updated with
T = 0.5: 0.829, T = 0.3: 0.839, T = 0.2: 0.857, while the median relative width fell from 0.205 to
0.125-0.146 and the pairs whose median error is no worse than least squares rose from 15 to 16-19.
0.2 keeps the prior's coverage and takes most of the sharpening. Without enough rows above the cut
(fewer than :data:`MIN_POINTS`) or when the sub-fit cannot be made, the prior population is used
unchanged and the reason is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Evidence",
    "in_study_evidence",
    "updated_draws",
    "backtest_points",
    "SELF_FRACTION",
    "TEMPER",
    "MIN_POINTS",
]

#: Where the in-study backtest cuts the training rows (fraction of the ordering scale's range).
SELF_FRACTION = 0.7
#: Power of the evidence's likelihood (module docstring).
TEMPER = 0.2
#: Fewest held-out rows for an update.
MIN_POINTS = 3
#: Why learning curves (rows that are checkpoints of runs) get no systematic bend. The in-study
#: backtest of a run extrapolates its early checkpoints, whose shape is set by warm-up and the
#: peak learning rate; the later part of a decaying schedule falls faster again (annealing), so a
#: bend learned from the early part points the wrong way there. Measured on the three bundled
#: curve sets through #12's CLI contract (``benchmarks/bench_curve_contract.py --fast``, the
#: same fits scored with and without the learned bend): median |log error| (Mis)Fitting 0.0068
#: with it vs 0.0018 without, Pythia 0.093 vs 0.083, OpenCLIP 0.0136 vs 0.0230; per-run least
#: squares 0.0071, 0.090, 0.035. Without it the median beats least squares on all three.
SYSTEMATIC_NOTE = ("bend b fixed at 0 for learning curves: a run's early checkpoints do not "
                   "show how its schedule shapes the later part")
#: Candidate ``(tau, b)`` draws weighted by the evidence.
N_CANDIDATES = 20000
#: Floor of tau in the resampling kernel (the population's heavy tails reach 0 in float64).
TAU_MIN = 1e-8
#: Sampler settings of the sub-fit are capped at these (it only needs predictive moments).
SUBFIT_MAX = {"warmup": 500, "draws": 500}


@dataclass(frozen=True)
class Evidence:
    """Backtest errors of one study, reduced to the scalars the drift likelihood needs.

    Per unit (curve or run) ``u`` with ``L_u L_u^T = Sigma_u``: the inner products of
    ``L_u^-1 e``, ``L_u^-1 d`` and ``L_u^-1 Delta`` (``log det Sigma_u`` does not depend on
    ``(tau, b)`` and is dropped).
    """

    stats: np.ndarray  # (units, 6): ee, de, dd, De, Dd, DD
    n_points: int
    fraction: float
    #: Per unit: its label, and its farthest held-out row's error, predictive variance, decline
    #: and decades (for :meth:`unit_logpdf`).
    units: np.ndarray | None = None
    far: np.ndarray | None = None

    @classmethod
    def from_points(
        cls,
        unit: Sequence[Any],
        error: np.ndarray,
        decline: np.ndarray,
        decades: np.ndarray,
        log_draws: np.ndarray,
        fraction: float = SELF_FRACTION,
        shrink: float = 0.2,
    ) -> Evidence:
        """Build from held-out points.

        Unit labels, errors, declines, decades and ``(points, draws)`` log predictive draws
        (their covariance within a unit is shrunk by ``shrink`` towards its diagonal since draws
        are few).
        """
        unit = np.asarray(unit)
        rows, labels, far = [], pd.unique(unit), []
        for u in labels:
            ii = np.flatnonzero(unit == u)
            cov = np.atleast_2d(np.cov(log_draws[ii]))
            cov = (1 - shrink) * cov + shrink * np.diag(np.diag(cov))
            cov += 1e-10 * np.eye(len(ii))
            chol = np.linalg.cholesky(cov)
            a_e, a_d, a_D = (np.linalg.solve(chol, v[ii]) for v in (error, decline, decades))
            rows.append([a_e @ a_e, a_d @ a_e, a_d @ a_d, a_D @ a_e, a_D @ a_d, a_D @ a_D])
            j = ii[np.argmax(decades[ii])]
            far.append([error[j], np.var(log_draws[j]), decline[j], decades[j]])
        return cls(np.asarray(rows, float).reshape(-1, 6), len(unit), fraction,
                   np.asarray(labels), np.asarray(far, float).reshape(-1, 4))

    @property
    def n_units(self) -> int:
        """Number of units (curves or runs) with held-out rows."""
        return int(self.stats.shape[0])

    def loglik(self, tau: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """Log likelihood of the evidence for each ``(tau, b)`` (constants dropped)."""
        tau, bias = np.asarray(tau, float), np.asarray(bias, float)
        ll = np.zeros(np.broadcast(tau, bias).shape)
        t2 = tau * tau
        for ee, de, dd, De, Dd, DD in self.stats:
            quad = ee - 2 * bias * de + bias * bias * dd
            proj = De - bias * Dd
            den = 1.0 + t2 * DD
            ll += -0.5 * (quad - t2 * proj * proj / den) - 0.5 * np.log(den)
        return ll

    def unit_logpdf(self, tau: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """Log density of each unit's farthest held-out error, ``(units, *shape of tau)``.

        ``log N(e; b d, v + tau^2 Delta^2)`` at the row farthest beyond the sub-fit's data, with
        ``v`` its predictive variance. One row per unit, not the unit's joint density: a run's
        held-out checkpoints are strongly correlated, and their joint density is dominated by how
        smoothly the law follows the checkpoints (measured on the (Mis)Fitting curves: M4's
        tighter draws won the joint density by 25 nats although its errors at the farthest rows
        were twice saturating's), not by how far off the extrapolation lands.
        """
        if self.far is None:
            raise ValueError("this evidence was built without its farthest rows")
        tau, bias = np.asarray(tau, float), np.asarray(bias, float)
        e, v, d, dec = (c.reshape((-1,) + (1,) * tau.ndim) for c in self.far.T)
        var = v + (tau * dec) ** 2
        return -0.5 * ((e - bias * d) ** 2 / var + np.log(2 * np.pi * var))

    def unit_elpd(self, tau: np.ndarray, bias: np.ndarray) -> np.ndarray:
        """Per unit, the log predictive density of its farthest held-out row, drift integrated out.

        ``log mean_k p(e_u | tau_k, b_k)`` over draws ``(tau_k, b_k)`` of the drift population:
        the exact (refitted) leave-future-out score of the law on the unit, which
        :func:`~bayes_scaling.compare.forms.combine` weighs laws by for learning curves.
        """
        from scipy.special import logsumexp

        lp = self.unit_logpdf(np.ravel(tau), np.ravel(bias))
        return logsumexp(lp, axis=1) - np.log(lp.shape[1])


def backtest_points(fit: Any, test: pd.DataFrame, seed: int = 0) -> dict[str, np.ndarray]:
    """Score held-out rows under a fit without drift, as the drift sweep does.

    Returns ``error`` (log y minus the mean log prediction), ``pred_var``, ``pred_median``,
    ``decades`` beyond the fit's data, ``decline`` (the law's mean log fall from the reference
    point on the data to the row) and ``log_pred`` ``(draws, rows)``; ``seed`` keys the
    predictive draws' noise.

    Under a heavy-tailed likelihood (:data:`HEAVY_TAILED`) the noise has no usable variance, so
    ``log_pred`` is the expected value's draws plus Gaussian noise whose variance is the row's
    conditional one given its error (:func:`_heavy_noise_var`: the E-step of the likelihood's
    scale-mixture form), and ``error`` is measured from the expected value.
    """
    from bayes_scaling.data import numeric_column
    from bayes_scaling.predict import parameter_draws, predictive_draws

    d = predictive_draws(fit, test, seed=seed, max_decades=np.inf)
    ref = test.copy()
    for j, c in enumerate(fit.x_cols):
        ref[c] = d.reference[:, j]
    d0 = predictive_draws(fit, ref, seed=seed, max_decades=np.inf)
    log_y = np.log(numeric_column(test, fit.y_col, "metric"))
    if fit.structure.likelihood in HEAVY_TAILED:
        log_mu = np.log(d.expected)
        error = log_y - log_mu.mean(axis=0)
        sites, _ = parameter_draws(fit, test, seed=seed)
        var = _heavy_noise_var(fit, error, np.median(sites["sigma_row"], axis=0))
        rng = np.random.default_rng([seed, 0x7E57])
        log_pred = log_mu + rng.standard_normal(log_mu.shape) * np.sqrt(var)
    else:
        log_pred = np.log(d.observed)
        error = log_y - log_pred.mean(axis=0)
    return {
        "error": error,
        "pred_var": log_pred.var(axis=0),
        "pred_median": np.median(d.observed, axis=0),
        "decades": np.asarray(d.decades, float),
        "decline": np.log(d0.curve).mean(axis=0) - np.log(d.curve).mean(axis=0),
        "log_pred": log_pred,
    }


#: Likelihoods whose predictive draws can have tails too heavy for moments (Student-t with
#: nu < 2 has no variance; at nu ~ 0.6, as on the Step Law sweep, a few draws in a thousand
#: leave float64; a contaminated normal's broad component dwarfs its core). Their drift evidence
#: uses each row's conditional noise variance instead (:func:`_heavy_noise_var`).
HEAVY_TAILED = ("student_t", "contaminated")


def _heavy_noise_var(fit: Any, error: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Per row, the noise variance of the likelihood's scale mixture given the row's error.

    Student-t(nu, scale) is a normal whose precision is scaled by ``w ~ Gamma(nu/2, nu/2)``;
    given an error ``e`` the expected ``w`` is ``(nu + 1) / (nu + (e / scale)^2)`` (the E-step
    of the t's EM fit), so the row's variance is ``scale^2 / E[w]``. A contaminated normal's
    row is the core (variance ``scale^2``) or the broad component (``scale^2 + extra^2``) with
    its posterior probability, and gets the inverse of the expected precision. A diverged run
    (an error of hundreds of scales) so weighs like an ordinary residual in the evidence
    instead of setting its variance for every row, as clipped predictive draws did (their
    variance, fixed by the tails, made the evidence blind to a bend of a percent).
    Posterior medians of ``nu`` / ``outlier_share`` / ``outlier_scale``.
    """
    z2 = (error / scale) ** 2
    if fit.structure.likelihood == "student_t":
        nu = float(np.median(fit.draws("nu")))
        return scale**2 * (nu + z2) / (nu + 1.0)
    share = float(np.median(fit.draws("outlier_share")))
    wide2 = scale**2 + float(np.median(fit.draws("outlier_scale"))) ** 2
    core = (1 - share) * np.exp(-0.5 * z2) / scale
    broad = share * np.exp(-0.5 * error**2 / wide2) / np.sqrt(wide2)
    p_core = core / np.maximum(core + broad, 1e-300)
    return 1.0 / (p_core / scale**2 + (1 - p_core) / wide2)


def _split(spec: Any, law: Any, run: Any, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Training and held-out row masks of the in-study backtest."""
    from bayes_scaling.fit import ordering_scale

    order = ordering_scale(law, run.x)
    lo, hi = float(order.min()), float(order.max())
    below = order <= lo + fraction * (hi - lo) + 1e-12
    need = spec.min_points or law.n_params
    counts = np.bincount(run.curve_idx[below], minlength=len(run.curves))
    usable = counts[run.curve_idx] >= need
    return below & usable, ~below & usable


def in_study_evidence(
    spec: Any, law: Any, run: Any, settings: Any, fraction: float = SELF_FRACTION
) -> tuple[Evidence | None, str]:
    """Backtest the study inside its own training rows (module docstring).

    Returns ``(evidence, note)``; ``evidence`` is ``None`` (with the reason in ``note``) when
    there are too few held-out rows or the sub-fit cannot be made.
    """
    train, test = _split(spec, law, run, fraction)
    if test.sum() < MIN_POINTS:
        return None, (f"not updated: {int(test.sum())} row(s) above {fraction:.0%} of the "
                      f"data's range in curves with enough rows below (need {MIN_POINTS})")
    held = np.flatnonzero(test)
    sub_spec = replace(spec, law=law, discrepancy="none")
    s = dict(settings)
    try:
        sub = sub_spec.fit(
            run.frame.iloc[np.flatnonzero(train)], list(run.x_cols), run.y_col,
            list(run.group_cols) or None, run=run.run_col, chains=s["chains"],
            warmup=min(s["warmup"], SUBFIT_MAX["warmup"]),
            draws=min(s["draws"], SUBFIT_MAX["draws"]), seed=s["seed"],
            target_accept=s["target_accept"], max_tree_depth=s["max_tree_depth"],
            progress=False, warn=False,
        )
        pts = backtest_points(sub, run.frame.iloc[held], seed=s["seed"])
    except (ValueError, FloatingPointError) as err:  # the smaller part cannot be fitted alone
        return None, f"not updated: the backtest below {fraction:.0%} could not be fitted ({err})"
    ok = np.isfinite(pts["error"]) & np.isfinite(pts["log_pred"]).all(axis=0)
    if ok.sum() < MIN_POINTS:
        return None, "not updated: the backtest's predictions were not finite"
    unit = (run.run_idx if run.run_col else run.curve_idx)[held][ok]
    ev = Evidence.from_points(unit, pts["error"][ok], pts["decline"][ok], pts["decades"][ok],
                              pts["log_pred"][:, ok].T, fraction)
    return ev, (f"updated by a backtest inside the data: {ev.n_points} row(s) of {ev.n_units} "
                f"unit(s) above {fraction:.0%} of the range, fitted on the rows below")


def updated_draws(
    population: Any, evidence: Evidence | None, n: int, seed: int, temper: float = TEMPER,
    *, systematic: bool = True,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``n`` draws of ``(tau, b)``: the population's, weighted by the evidence when there is some.

    Candidates are resampled in proportion to ``likelihood ** temper`` (systematic resampling)
    and jittered with a Liu-West kernel (shrunk towards the weighted mean so the variance is
    kept) in ``(log tau, b)`` so that a sharp update does not leave a handful of repeated values.
    Returns ``(tau, bias, info)`` with the effective sample size of the weights in ``info``
    and, per unit, the log predictive density of its farthest held-out row under the population
    (``info["unit_elpd"]``: ``[unit, elpd]`` pairs, :meth:`Evidence.unit_elpd`).

    ``systematic=False`` keeps the bend ``b`` at 0 and updates ``tau`` alone (what the fit does
    for learning curves: :data:`SYSTEMATIC_NOTE`).
    """
    from bayes_scaling.drift.prior import BIAS_MAX, TAU_MAX

    flat = {} if systematic else {"systematic": SYSTEMATIC_NOTE}
    if evidence is None:
        tau, bias = population.sample(n, seed)
        return tau, bias if systematic else np.zeros_like(bias), flat
    tau, bias = population.sample(N_CANDIDATES, seed, independent=True)
    bias = bias if systematic else np.zeros_like(bias)
    ll = temper * evidence.loglik(tau, bias)
    w = np.exp(ll - ll.max())
    w /= w.sum()
    ess = float(1.0 / np.sum(w * w))
    rng = np.random.default_rng([seed, 0xD21F])
    pos = (rng.random() + np.arange(n)) / n
    idx = np.minimum(np.searchsorted(np.cumsum(w), pos), N_CANDIDATES - 1)
    idx = idx[rng.permutation(n)]
    z = np.column_stack([np.log(np.maximum(tau, TAU_MIN)), bias])
    mean = w @ z
    sd = np.sqrt(np.maximum(w @ (z - mean) ** 2, 0.0))
    h = min(0.5, max(ess, 2.0) ** (-1 / 6))
    a = np.sqrt(1 - h * h)
    new = a * z[idx] + (1 - a) * mean + h * sd * rng.standard_normal((n, 2))
    info = {**flat, "temper": temper, "ess": round(ess, 1), "candidates": N_CANDIDATES,
            "fraction": evidence.fraction,
            "points": evidence.n_points, "units": evidence.n_units}
    if evidence.far is not None and evidence.units is not None:
        info["unit_elpd"] = [[int(u), round(float(v), 6)] for u, v in zip(
            evidence.units, evidence.unit_elpd(tau, bias), strict=True)]
    return np.minimum(np.exp(new[:, 0]), TAU_MAX), np.minimum(new[:, 1], BIAS_MAX), info
