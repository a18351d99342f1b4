"""The study's own drift: the prior population updated by a backtest inside the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal, norm

from bayes_scaling import ScalingLaw
from bayes_scaling.drift.prior import Population
from bayes_scaling.drift.update import Evidence, in_study_evidence, updated_draws
from bayes_scaling.inference import SamplerSettings
from tests.conftest import FAST


def _units(rng: np.random.Generator, n_units: int, k: int, tau: float, bias: float,
           noise: float = 0.01):
    """Held-out points of ``n_units`` units drawn from the drift model with known tau, b."""
    unit, err, dec, dist, draws = [], [], [], [], []
    for u in range(n_units):
        delta = np.linspace(0.05, 0.4, k)
        decline = 0.5 * delta
        xi = rng.standard_normal()
        e = bias * decline + tau * xi * delta + noise * rng.standard_normal(k)
        unit += [u] * k
        err.append(e)
        dec.append(decline)
        dist.append(delta)
        draws.append(noise * rng.standard_normal((k, 400)))
    return (np.array(unit), np.concatenate(err), np.concatenate(dec), np.concatenate(dist),
            np.vstack(draws))


def test_likelihood_is_the_normal_with_the_drift_direction_integrated_out():
    rng = np.random.default_rng(0)
    unit, e, d, delta, draws = _units(rng, 1, 5, 0.1, 0.2)
    ev = Evidence.from_points(unit, e, d, delta, draws)
    cov = np.cov(draws)
    cov = 0.8 * cov + 0.2 * np.diag(np.diag(cov)) + 1e-10 * np.eye(5)

    def exact(tau: float, b: float) -> float:
        return multivariate_normal(b * d, cov + tau**2 * np.outer(delta, delta)).logpdf(e)

    pairs = [(0.01, 0.0), (0.3, 0.5), (0.05, -0.4)]
    ours = [float(ev.loglik(np.array(t), np.array(b))) for t, b in pairs]
    ref = [exact(t, b) for t, b in pairs]
    # constants (log det of the noise covariance, 2 pi) cancel in differences
    assert np.allclose(np.diff(ours), np.diff(ref), rtol=1e-8, atol=1e-8)


def test_unit_score_is_the_farthest_row_with_the_drift_integrated_out():
    """Per unit, the normal density of the error at its farthest held-out row with the drift's
    variance at that distance added; the elpd is its log average over the population's draws."""
    rng = np.random.default_rng(4)
    unit, e, d, delta, draws = _units(rng, 2, 4, 0.05, 0.1)
    ev = Evidence.from_points(unit, e, d, delta, draws)
    assert ev.units.tolist() == [0, 1]
    taus, biases = np.array([0.01, 0.2, 0.05]), np.array([0.0, 0.4, -0.3])
    ours = ev.unit_logpdf(taus, biases)
    assert ours.shape == (2, 3)
    for u in (0, 1):
        j = np.flatnonzero(unit == u)[-1]  # delta grows along each unit
        ref = [norm(b * d[j], np.sqrt(np.var(draws[j]) + (t * delta[j]) ** 2)).logpdf(e[j])
               for t, b in zip(taus, biases, strict=True)]
        np.testing.assert_allclose(ours[u], ref, rtol=1e-8)
    np.testing.assert_allclose(ev.unit_elpd(taus, biases),
                               np.log(np.mean(np.exp(ours), axis=1)), rtol=1e-10)


POP = Population("test", {
    "mu_log_tau": np.full(50, np.log(0.05)), "sd_log_tau": np.full(50, 1.0),
    "mu_bias": np.zeros(50), "sd_bias": np.full(50, 0.3), "nu": np.full(50, 30.0),
}, n_studies=10)


@pytest.mark.parametrize("tau_true, bias_true", [(0.002, 0.0), (0.5, 0.0), (0.01, 0.6)])
def test_update_moves_the_population_towards_the_study(tau_true, bias_true):
    rng = np.random.default_rng(1)
    ev = Evidence.from_points(*_units(rng, 40, 6, tau_true, bias_true))
    tau0, bias0, _ = updated_draws(POP, None, 4000, seed=0)
    tau, bias, info = updated_draws(POP, ev, 4000, seed=0)
    assert info["units"] == 40 and info["points"] == 240
    assert [u for u, _ in info["unit_elpd"]] == list(range(40))
    assert 10 < info["ess"] < 20000
    # the prior's median tau is 0.05 and its bend is centred at 0: the 40 units move both
    # clearly past a quarter of the way from the prior's median towards the truth (log scale for
    # tau); tempered at 0.2 the update is softened, never reversed
    shift = np.log(np.median(tau)) - np.log(np.median(tau0))
    target = np.log(tau_true) - np.log(np.median(tau0))
    assert shift / target > 0.25
    if bias_true:
        assert np.median(bias) - np.median(bias0) > 0.25 * bias_true
    # draws are distinct after resampling (jittered), not a handful of repeated values
    assert len(np.unique(tau)) > 1000


def test_without_the_systematic_part_only_tau_is_updated():
    """Learning curves keep b = 0: the evidence of a study that bends (b = 0.6) cannot move it,
    so its errors raise tau instead (above the update that may explain them by b)."""
    rng = np.random.default_rng(1)
    ev = Evidence.from_points(*_units(rng, 40, 6, 0.01, 0.6))
    tau_b, bias_b, _ = updated_draws(POP, ev, 4000, seed=0)
    tau, bias, info = updated_draws(POP, ev, 4000, seed=0, systematic=False)
    assert np.all(bias == 0) and "fixed at 0" in info["systematic"]
    assert np.median(tau) > np.median(tau_b)
    _, bias0, info0 = updated_draws(POP, None, 100, seed=0, systematic=False)
    assert np.all(bias0 == 0) and "systematic" in info0


def test_without_evidence_the_population_is_unchanged():
    tau, bias, info = updated_draws(POP, None, 100, seed=3)
    t2, b2 = POP.sample(100, 3)
    assert info == {} and np.array_equal(tau, t2) and np.array_equal(bias, b2)


@pytest.fixture(scope="module")
def prior_only_fit(power_runs):
    """``power_fit`` (same data, settings and seed: the same parameter draws) without the update."""
    return ScalingLaw("power", drift_update=False).fit(
        power_runs, x="N", y="loss", groups="arch", seed=0, warn=False, **FAST
    )


def test_a_clean_power_law_gets_narrower_honest_intervals(power_fit, prior_only_fit):
    """``power_runs`` follow their law exactly (1% noise): the backtest inside the data finds the
    law reaching its larger runs, so the study's bend is pinned near zero and a decade beyond the
    data the interval is narrower than a new study's, and still covers the truth."""
    disc = power_fit.discrepancy
    up = disc.info["update"]
    assert up["points"] == 9 and up["units"] == 3 and "updated by a backtest" in up["note"]
    assert "updated by a backtest" in disc.summary()
    assert "drift_update=False" in prior_only_fit.discrepancy.summary()
    assert np.quantile(np.abs(disc.bias), 0.9) < np.quantile(
        np.abs(prior_only_fit.discrepancy.bias), 0.9)
    rows = pd.DataFrame({"arch": ["a", "b", "c"], "N": [1e10] * 3})
    truth = np.array([8.0 * 1e3**-0.30, 6.0 * 1e3**-0.20, 7.0 * 1e3**-0.25])
    upd = power_fit.predict(rows, 0.9)
    old = prior_only_fit.predict(rows, 0.9)
    width = lambda p: ((p["upper"] - p["lower"]) / p["median"]).to_numpy()  # noqa: E731
    # the update takes 20-30% off; the ends of 90% intervals from 600 draws carry a few percent
    # of Monte Carlo error each, so "materially narrower" is asserted as at least 15%
    assert np.all(width(upd) < 0.85 * width(old))
    assert np.all((upd["lower"] <= truth) & (truth <= upd["upper"]))


def test_too_few_rows_above_the_cut_keeps_the_prior(power_runs):
    # one curve of 4 points: one row above 70% of the range
    small = power_runs[power_runs["arch"] == "a"].head(4).reset_index(drop=True)
    spec = ScalingLaw("power")
    law, run, _, _ = spec._prepare(small, "N", "loss", None, None, False)  # noqa: SLF001
    ev, note = in_study_evidence(spec, law, run, SamplerSettings(1, 50, 50, 0, 0.9, 6))
    assert ev is None and "not updated" in note


def test_drift_update_must_be_a_bool(power_runs):
    with pytest.raises(TypeError, match="drift_update must be True or False, got 'no'"):
        ScalingLaw("power", drift_update="no").fit(power_runs, x="N", y="loss")


def test_heavy_tailed_backtest_draws_have_finite_moments():
    # Student-t noise with nu = 0.6 (the Step Law sweep's): some draws leave float64 (0 or inf),
    # and raw log moments are not finite; clipped to each row's central 99% they are, and the
    # typical error scale survives (the core's sd is 0.01)
    from bayes_scaling.drift.update import _log_draws

    rng = np.random.default_rng(0)
    log_obs = 0.01 * rng.standard_t(0.6, size=(4000, 5))
    log_obs[0, 0], log_obs[1, 1] = 1e6, -1e6
    with np.errstate(over="ignore"):
        observed = np.exp(log_obs)
    lp = _log_draws(observed, heavy=True)
    assert np.isfinite(lp).all() and np.isfinite(lp.var(axis=0)).all()
    assert np.all(np.abs(np.median(lp, axis=0)) < 0.005)
    assert np.all(np.percentile(np.abs(lp), 50, axis=0) < 0.03)
    # light tails: the log of the draws, untouched
    g = np.exp(0.01 * rng.standard_normal((100, 3)))
    np.testing.assert_array_equal(_log_draws(g, heavy=False), np.log(g))
