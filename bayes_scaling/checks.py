"""Checks after every fit, reported with concrete advice and never hidden.

* **Sampler** (:func:`check_sampler`): divergences, R-hat (rank-normalised split, <= 1.01), bulk
  and tail ESS (>= 100 per chain), following Vehtari et al. 2021.
* **Fit quality** (:func:`check_fit_quality`): does the law follow its own data? Leave-one-out
  predictive percentiles (LOO-PIT by Pareto-smoothed importance sampling), a residual trend at the
  largest scales (a law that already bends away from its data at the top will be wrong beyond
  it), the size of the misfit against the noise, points the law cannot reach, Student-t noise
  with tails so heavy that every interval is very wide, and break points or transition scales
  fitted outside the data.
* **The law at the data** (:func:`check_law_at_data`): before sampling, the law must be finite,
  positive and differentiable at the data for typical parameter values.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling import _arviz

__all__ = [
    "Diagnostics",
    "FitChecks",
    "FitReport",
    "CombinedReport",
    "SamplerWarning",
    "FitWarning",
    "check_sampler",
    "check_diagnostics",
    "check_fit_quality",
    "check_law_at_data",
    "RHAT_MAX",
    "ESS_PER_CHAIN",
]

#: Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021).
RHAT_MAX = 1.01
#: Smallest acceptable bulk/tail ESS per chain (Vehtari et al. 2021 suggest 100 per chain).
ESS_PER_CHAIN = 100


class SamplerWarning(UserWarning):
    """The sampler did not converge cleanly; the message says what to do."""


class FitWarning(UserWarning):
    """The law does not follow its own data; the message says what to do."""


@dataclass(frozen=True)
class Diagnostics:
    """Convergence summary of a fit.

    Attributes
    ----------
    n_divergent : int
        Divergent transitions after warm-up.
    max_rhat : float
        Largest R-hat over all sampled parameters.
    min_ess_bulk, min_ess_tail : float
        Smallest bulk and tail effective sample sizes.
    n_draws : int
        Total post-warm-up draws (all chains).
    table : DataFrame
        R-hat and ESS of every parameter element.
    problems : list[str]
        One message (with advice) per failed check; empty when all pass.
    """

    n_divergent: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    n_draws: int
    table: pd.DataFrame
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        """One-row summary table."""
        return pd.DataFrame([{
            "divergences": self.n_divergent, "max_r_hat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk, "min_ess_tail": self.min_ess_tail,
            "draws": self.n_draws, "ok": self.ok,
        }])

    def line(self) -> str:
        """The one-line numeric summary."""
        return (
            f"divergences={self.n_divergent}  max R-hat={self.max_rhat:.3f}  "
            f"min ESS bulk/tail={self.min_ess_bulk:.0f}/{self.min_ess_tail:.0f}  "
            f"draws={self.n_draws}"
        )

    def __str__(self) -> str:
        if self.ok:
            return self.line() + "  (sampler checks passed)"
        return self.line() + "\n" + "\n".join(f"  - {p}" for p in self.problems)


def _worst(table: pd.DataFrame, col: str, largest: bool, k: int = 3) -> str:
    s = table[col].dropna()
    s = s.nlargest(k) if largest else s.nsmallest(k)
    return ", ".join(f"{i} ({v:.3g})" for i, v in s.items())


def _target_accept(idata: _arviz.InferenceData) -> float | None:
    """The target acceptance the fit was sampled at, when it recorded one."""
    try:
        meta = json.loads(_arviz.attrs(idata).get("bayes_scaling", "{}"))
        return float(meta["sampler"]["target_accept"])
    except (ValueError, KeyError, TypeError):
        return None


def check_sampler(
    idata: _arviz.InferenceData, var_names: list[str], *, warn: bool = True
) -> Diagnostics:
    """Sampler diagnostics; with ``warn``, one :class:`SamplerWarning` listing the problems."""
    chains, draws = _arviz.n_chains_draws(idata)
    table = _arviz.diagnostic_table(idata, var_names)
    n_div = _arviz.n_divergent(idata)
    max_rhat = float(table["r_hat"].max()) if chains > 1 else float("nan")
    ess_b = float(table["ess_bulk"].min())
    ess_t = float(table["ess_tail"].min())
    problems = []
    if n_div > 0:
        ta = _target_accept(idata)
        advice = (
            "Raise target_accept (0.95-0.99); if they persist, tighten"
            if ta is None or ta < 0.95
            else f"They persist at target_accept {ta:g}: tighten"
        )
        problems.append(
            f"{n_div} divergent transition(s) ({100 * n_div / (chains * draws):.1f}% of draws): "
            f"NUTS could not follow the posterior's curvature, so intervals may be biased. "
            f"{advice} the spread priors (<param>_sd) or use a law with fewer parameters."
        )
    if chains < 2:
        problems.append("only one chain: R-hat cannot be computed; run at least 2 chains")
    elif not max_rhat <= RHAT_MAX:
        problems.append(
            f"R-hat up to {max_rhat:.3f} > {RHAT_MAX} ({_worst(table, 'r_hat', True)}): the "
            "chains disagree. Run longer (more warmup and draws) or more chains; persistent "
            "disagreement means several modes (e.g. a floor traded against an exponent), where "
            "a more informative prior or a simpler law helps."
        )
    need = ESS_PER_CHAIN * chains
    if not min(ess_b, ess_t) >= need:
        problems.append(
            f"low effective sample size (bulk {ess_b:.0f}, tail {ess_t:.0f}; want >= {need}) "
            f"for {_worst(table, 'ess_bulk', False)}: interval ends are noisy. Draw more "
            "samples, or raise target_accept if divergences are also reported."
        )
    diag = Diagnostics(n_div, max_rhat, ess_b, ess_t, chains * draws, table, problems)
    if warn and problems:
        warnings.warn(
            "sampler diagnostics failed:\n" + "\n".join(f"  - {p}" for p in problems),
            SamplerWarning,
            stacklevel=3,
        )
    return diag


#: Name used by bayes_scaling 0.1.
check_diagnostics = check_sampler


@dataclass(frozen=True)
class FitChecks:
    """Whether the law follows its own data.

    Attributes
    ----------
    table : DataFrame
        Per training row: ``loo_pit``, ``pareto_k``, ``residual`` (log y minus the median of
        the law), ``z`` (residual over the noise scale), ``flag``.
    stats : dict
        ``pit_outside_95`` (share of rows outside their central 95% LOO interval),
        ``median_abs_misfit`` (median |log error| of the law on its data), ``median_sigma``,
        ``top_trend_z`` (mean standardised residual of each curve's largest third, as a z-score).
    problems : list[str]
        One message (with advice) per failed check.
    """

    table: pd.DataFrame
    stats: dict[str, float]
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    def __str__(self) -> str:
        s = self.stats
        head = (
            f"misfit median |log err| {s.get('median_abs_misfit', np.nan):.3g} (noise "
            f"{s.get('median_sigma', np.nan):.3g}), LOO-PIT outside 95%: "
            f"{100 * s.get('pit_outside_95', np.nan):.0f}%"
        )
        if self.ok:
            return head + "  (fit checks passed)"
        return head + "\n" + "\n".join(f"  - {p}" for p in self.problems)


@dataclass(frozen=True)
class FitReport:
    """Sampler diagnostics and fit-quality checks together."""

    sampler: Diagnostics
    fit: FitChecks

    @property
    def ok(self) -> bool:
        """True when every sampler and fit check passed."""
        return self.sampler.ok and self.fit.ok

    @property
    def problems(self) -> list[str]:
        """Every problem, sampler first."""
        return list(self.sampler.problems) + list(self.fit.problems)

    def warn(self) -> None:
        """Emit one warning per failed group of checks."""
        if self.sampler.problems:
            warnings.warn(
                "sampler diagnostics failed:\n" + "\n".join(f"  - {p}" for p in
                                                            self.sampler.problems),
                SamplerWarning,
                stacklevel=3,
            )
        if self.fit.problems:
            warnings.warn(
                "the law does not follow its data:\n" + "\n".join(f"  - {p}" for p in
                                                                  self.fit.problems),
                FitWarning,
                stacklevel=3,
            )

    def __str__(self) -> str:
        verdict = "all checks passed" if self.ok else f"{len(self.problems)} problem(s)"
        return f"sampler: {self.sampler}\nfit: {self.fit}\n=> {verdict}"


@dataclass(frozen=True)
class CombinedReport:
    """Reports of several laws fitted to the same runs (``law="auto"``)."""

    reports: dict[str, FitReport]

    @property
    def ok(self) -> bool:
        """True when every law's checks passed."""
        return all(r.ok for r in self.reports.values())

    @property
    def problems(self) -> list[str]:
        """Every problem, prefixed with its law."""
        return [f"[{k}] {p}" for k, r in self.reports.items() for p in r.problems]

    @property
    def sampler(self) -> Diagnostics:
        """The diagnostics of the law with the worst R-hat (for one-line summaries)."""
        return max((r.sampler for r in self.reports.values()),
                   key=lambda d: (d.n_divergent, d.max_rhat if np.isfinite(d.max_rhat) else 0))

    def warn(self) -> None:
        """Warn per law and group of checks."""
        for k, r in self.reports.items():
            for cls, probs in ((SamplerWarning, r.sampler.problems), (FitWarning, r.fit.problems)):
                if probs:
                    warnings.warn(f"[{k}] " + "\n".join(f"  - {p}" for p in probs), cls,
                                  stacklevel=3)

    def __str__(self) -> str:
        lines = []
        for k, r in self.reports.items():
            lines.append(f"[{k}] sampler: {r.sampler.line()}  fit: {str(r.fit).splitlines()[0]}")
            lines += [f"  - {p}" for p in r.problems]
        verdict = "all checks passed" if self.ok else f"{len(self.problems)} problem(s)"
        return "\n".join(lines + [f"=> {verdict}"])


def check_law_at_data(structure: Any, cond: Any, run: Any) -> None:
    """The law must be finite, positive and differentiable at the data for typical values.

    Raises
    ------
    LawError
        Naming the law and the problem.
    """
    import jax
    import jax.numpy as jnp

    from bayes_scaling.laws import LawError
    from bayes_scaling.structure import param_transform as _transform

    law = structure.law
    theta = {}
    for p in law.params:
        pr = structure.priors[p]
        c = pr.center
        if pr.units == "data" or p not in cond.covariance.shifts:
            theta[p] = c
        else:  # user units: move to the reference point
            t = _transform(pr)
            v = float(np.asarray(t.inv(c)))
            for s in cond.covariance.shifts[p]:
                mult = 1.0 if s.multiplier is None else float(structure.priors[s.multiplier].center)
                v -= s.sign * mult * cond.log_ref(s.source)
            theta[p] = float(np.asarray(t(v)))
    xs = jnp.asarray(run.x) * jnp.exp(-jnp.asarray(cond.input_offset))

    def f(th: dict) -> jnp.ndarray:
        return law.evaluate(xs, th)

    try:
        val = np.asarray(f({k: jnp.asarray(v) for k, v in theta.items()}))
    except Exception as err:  # noqa: BLE001 - user code
        first = str(err).splitlines()[0] if str(err) else ""
        raise LawError(
            f"law {law.name!r} fails at the data: {type(err).__name__}: {first} (write it with "
            "jax.numpy, without Python if/for on values)"
        ) from None
    if val.shape != (run.n,):
        raise LawError(
            f"law {law.name!r} returns shape {val.shape} for {run.n} rows; it must return one "
            "value per row (element-wise operations on its inputs)"
        )
    try:
        grads = jax.grad(lambda th: jnp.sum(jnp.log(f(th))))(
            {k: jnp.asarray(v, dtype=float) for k, v in theta.items()}
        )
    except Exception as err:  # noqa: BLE001 - user code
        first = str(err).splitlines()[0] if str(err) else ""
        raise LawError(
            f"law {law.name!r} is not differentiable at the data ({type(err).__name__}: "
            f"{first}); use jax.numpy functions only (no numpy, no rounding, no Python branches "
            "on values)"
        ) from None
    bad = [k for k, g in grads.items() if not np.isfinite(np.asarray(g)).all()]
    positive_or_nan = np.isfinite(val) & (val > 0)
    if not positive_or_nan.all() or bad:
        # values at the prior centre may be legitimately odd; a failure is only an error when the
        # law cannot be evaluated for any parameter values we try: let the sampler's start-point
        # search decide, but say where the centre fails
        i = int(np.flatnonzero(~positive_or_nan)[0]) if not positive_or_nan.all() else 0
        if not positive_or_nan.any():
            raise LawError(
                f"law {law.name!r} returns non-positive or non-finite values at every row for "
                f"the priors' central values (e.g. {val.ravel()[i]!r} at row {i}); a law must "
                "return the metric (positive, lower is better): check the formula and priors"
            )
    zero = [k for k, g in grads.items() if np.all(np.asarray(g) == 0)]
    if zero and positive_or_nan.all():
        raise LawError(
            f"law {law.name!r}: parameter(s) {zero} do not change the law at the data (zero "
            "gradient): remove them or check that they enter the formula"
        )


def check_fit_quality(fit: Any, prob: float = 0.95) -> FitChecks:
    """Fit-quality checks on the training rows (see module docstring)."""
    from bayes_scaling.predict import predictive_draws

    train = fit.training_data()
    y = train[fit.y_col].to_numpy(dtype=float)
    d = predictive_draws(fit, train, seed=0, allow_new_levels=False, max_decades=np.inf)
    log_lik = _arviz.stacked(fit.idata, "log_y", group="log_likelihood")
    log_w = _arviz.psis_log_weights(-log_lik)
    loo = _arviz.loo(fit.idata)
    k = np.asarray(loo.pareto_k).ravel()
    pit = (np.exp(log_w) * (d.observed <= y)).sum(axis=0)
    log_med = np.median(np.log(d.curve), axis=0)
    resid = np.log(y) - log_med
    sigma_draws = fit.draws("sigma")
    if fit.structure.residual == "ou":  # a run's residual: checkpoint noise plus its OU path
        ou = fit.draws("ou_scale").reshape(-1, *([1] * (sigma_draws.ndim - 1)))
        sigma_draws = np.sqrt(sigma_draws**2 + ou**2)
    cidx = _arviz.group_var(fit.idata, "constant_data", "curve_idx")
    sigma = np.median(sigma_draws, axis=0)[cidx]
    z = resid / sigma
    lo, hi = (1 - prob) / 2, (1 + prob) / 2
    outside = (pit < lo) | (pit > hi)
    robust = fit.structure.likelihood != "normal"
    unreachable = np.abs(z) > 4
    problems = []
    n = len(y)
    share = float(outside.mean())
    expect = 1 - prob
    if outside.sum() >= 3 and share > 2.5 * expect:
        problems.append(
            f"{int(outside.sum())} of {n} training points ({100 * share:.0f}%; {100 * expect:.0f}"
            f"% expected) fall outside their central {100 * prob:g}% leave-one-out predictive "
            "interval: the noise model or the law is wrong for these data (compare laws with "
            "bayes-scaling compare-laws; a robust likelihood handles a few bad runs)"
        )
    misfit = float(np.median(np.abs(resid)))
    med_sigma = float(np.median(np.median(sigma_draws, axis=0)))
    if misfit > 0.05 and med_sigma > 0.05:
        problems.append(
            f"the law misses its own data by {100 * (np.exp(misfit) - 1):.0f}% (median; noise "
            f"scale {100 * med_sigma:.0f}%): a law that cannot follow its data cannot be trusted "
            "beyond it; try another law (bayes-scaling compare-laws) or check the data"
        )
    if unreachable.sum() and not robust:
        rows = ", ".join(str(i) for i in np.flatnonzero(unreachable)[:5])
        problems.append(
            f"{int(unreachable.sum())} point(s) more than 4 noise scales from the law (rows "
            f"{rows}): diverged or mis-tuned runs? check them, or fit with likelihood='huber'"
        )
    trend_z = _top_trend(fit, train, resid, sigma, cidx)
    rho, n_pairs = _serial_correlation(fit, train, resid, cidx)
    if fit.run_col is None and n_pairs >= 8 and rho > 0.5 and rho * np.sqrt(n_pairs) > 2.5:
        problems.append(
            f"the residuals follow a systematic pattern along the scale (lag-1 correlation "
            f"{rho:.2f} over {n_pairs} neighbouring points): the law's shape does not match the "
            "data's, and extrapolation will carry that error; compare forms (bayes-scaling "
            "compare-laws)"
        )
    if np.isfinite(trend_z) and abs(trend_z) > 3:
        direction = "above" if trend_z > 0 else "below"
        problems.append(
            f"at the largest scales of each curve the data lie systematically {direction} the "
            f"law (z = {trend_z:+.1f}): the curve bends away from this form already inside the "
            "data, so extrapolation will be biased; compare forms (bayes-scaling compare-laws)"
        )
    problems += _heavy_tails(fit)
    problems += _parameters_outside_data(fit)
    flag = np.where(outside, "improbable", np.where(k > 0.7, "influential", ""))
    flag = np.where(unreachable & ~robust, "unreachable", flag)
    table = train.assign(loo_pit=pit, pareto_k=k, residual=resid, z=z, flag=flag)
    stats = {
        "residual_lag1": float(rho),
        "pit_outside_95": share,
        "median_abs_misfit": misfit,
        "median_sigma": med_sigma,
        "top_trend_z": float(trend_z),
    }
    return FitChecks(table, stats, problems)


def _top_trend(fit: Any, train: pd.DataFrame, resid: np.ndarray, sigma: np.ndarray,
               cidx: np.ndarray) -> float:
    """z-score of the mean standardised residual in each curve's largest third of scales."""
    law = fit.law
    pos = [law.inputs.index(s) for s in law.scales]
    x = np.column_stack([train[c].to_numpy(float) for c in fit.x_cols])
    order = np.log(x[:, pos]).sum(axis=1)
    picked = []
    for c in np.unique(cidx):
        rows = np.flatnonzero(cidx == c)
        if rows.size < 6:
            continue
        cut = np.quantile(order[rows], 2 / 3)
        top = rows[order[rows] >= cut]
        picked.extend(top.tolist())
    if len(picked) < 4:
        return float("nan")
    zs = resid[picked] / sigma[picked]
    return float(zs.mean() * np.sqrt(len(zs)) / max(zs.std(ddof=1), 1.0))


def _serial_correlation(fit: Any, train: pd.DataFrame, resid: np.ndarray,
                        cidx: np.ndarray) -> tuple[float, int]:
    """Lag-1 correlation of residuals ordered by scale within each curve (pooled)."""
    pos = [fit.law.inputs.index(s) for s in fit.law.scales]
    x = np.column_stack([train[c].to_numpy(float) for c in fit.x_cols])
    order = np.log(x[:, pos]).sum(axis=1)
    num = den = 0.0
    pairs = 0
    for c in np.unique(cidx):
        rows = np.flatnonzero(cidx == c)
        if rows.size < 4:
            continue
        r = resid[rows[np.argsort(order[rows])]]
        r = r - r.mean()
        num += float(np.sum(r[1:] * r[:-1]))
        den += float(np.sum(r * r))
        pairs += rows.size - 1
    return (num / den if den > 0 else 0.0), pairs


#: Student-t degrees of freedom below which the noise's tails are reported (infinite variance).
NU_HEAVY = 2.0


def _heavy_tails(fit: Any) -> list[str]:
    """A Student-t noise whose tails are so heavy that every predictive interval is very wide."""
    from scipy.stats import t as student_t

    if fit.structure.likelihood != "student_t":
        return []
    nu = float(np.median(fit.draws("nu")))
    if not nu < NU_HEAVY:
        return []
    half = float(student_t.ppf(0.95, nu))
    no_mean = "the predictive distribution has no mean and " if nu <= 1 else ""
    return [
        f"the Student-t noise has nu = {nu:.2g} (posterior median): with tails this heavy "
        f"{no_mean}every 90% predictive interval reaches {half:.0f} noise scales on each side; "
        "a few extreme rows (diverged runs?) set the tails of every prediction. Drop or flag "
        "rows that are not the law's business, or fit with likelihood='huber'"
    ]


def _parameters_outside_data(fit: Any) -> list[str]:
    """Scale parameters (breaks, transitions) fitted more than half a decade outside the data."""
    out = []
    cond = fit.conditioning
    x = _arviz.group_var(fit.idata, "constant_data", "x")
    for plan in fit.structure.plans:
        shifts = [s for s in plan.shifts if s.source != "y"]
        if len(shifts) != 1 or shifts[0].multiplier is not None or shifts[0].sign != 1:
            continue
        k = fit.law.inputs.index(shifts[0].source)
        med = np.median(fit.draws(plan.name), axis=0)
        lx = np.log10(x[:, k])
        beyond = (np.log10(med) > lx.max() + 0.5) | (np.log10(med) < lx.min() - 0.5)
        if beyond.any():
            out.append(
                f"{plan.name} (a scale on {fit.x_cols[k]!r}) is fitted outside the data for "
                f"{int(beyond.sum())} curve(s) (e.g. {med[beyond][0]:.3g}, data "
                f"{10 ** lx.min():.3g}-{10 ** lx.max():.3g}): the data do not locate it, so its "
                "effect beyond the data is the prior's guess; prefer a simpler law"
            )
    del cond
    return out
