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


def test_heavy_tailed_evidence_uses_the_conditional_noise_variance():
    """Student-t / contaminated fits: each held-out row's noise variance is its conditional one
    given the error (the E-step of the scale mixture), so a diverged run weighs like an ordinary
    residual instead of blinding the evidence. Checked against the closed forms and by
    simulation: the Student-t's E[w | e] matches the Gamma posterior mean within 2%."""
    from bayes_scaling.drift.update import _heavy_noise_var

    class Fake:
        def __init__(self, likelihood, **draws):
            self.structure = type("S", (), {"likelihood": likelihood})()
            self._d = draws

        def draws(self, name):
            return np.asarray(self._d[name])

    scale = np.full(4, 0.01)
    e = np.array([0.0, 0.01, 0.05, 3.0])  # the last: a diverged run, 300 scales out
    var = _heavy_noise_var(Fake("student_t", nu=[0.7]), e, scale)
    np.testing.assert_allclose(var, scale**2 * (0.7 + (e / scale) ** 2) / 1.7)
    assert var[0] < scale[0] ** 2 and e[3] ** 2 / var[3] < 2.0  # bounded influence
    # E[w | e] by simulation: w ~ Gamma(nu/2, rate nu/2), e | w ~ N(0, scale^2 / w)
    rng = np.random.default_rng(0)
    w = rng.gamma(0.35, 1 / 0.35, 2_000_000)
    for z in (0.5, 2.0):
        lik = np.sqrt(w) * np.exp(-0.5 * w * z * z)
        want = np.sum(w * lik) / np.sum(lik)
        got = 1.7 / (0.7 + z * z)
        assert abs(got / want - 1) < 0.02, (z, got, want)
    cont = _heavy_noise_var(Fake("contaminated", outlier_share=[0.05], outlier_scale=[0.5]),
                            e, scale)
    assert np.isclose(cont[0], scale[0] ** 2, rtol=2e-3)  # a core row
    assert np.isclose(cont[3], scale[3] ** 2 + 0.25, rtol=1e-6)  # the broad component's
    assert np.all(np.diff(cont) > 0)


def test_diverged_runs_do_not_blind_a_heavy_tailed_backtest():
    """A Student-t fit's in-study backtest with two diverged runs (3x the loss) among its
    held-out rows learns the drift the clean study does: each row's noise variance is its
    conditional one given its error, so the two weigh like ordinary residuals. Bend within 0.1
    and tau within 1.5x of the clean study's (the update's own Monte Carlo spread at 20,000
    candidates is a few hundredths); the clean evidence is informative (weights' effective
    sample size under half the candidates)."""
    from bayes_scaling.drift.prior import drift_population, load_drift_prior

    rng = np.random.default_rng(3)
    n = np.geomspace(1e7, 1e10, 16)
    clean = pd.concat([pd.DataFrame({"arch": arch, "N": n, "loss": 3 * a * (n / 1e7) ** -0.15
                                     * np.exp(0.005 * rng.standard_normal(16))})
                       for arch, a in (("a", 1.0), ("b", 1.2))], ignore_index=True)
    dirty = clean.copy()
    dirty.loc[[14, 30], "loss"] *= 3.0
    spec = ScalingLaw("power", likelihood="student_t")
    out = {}
    for tag, data in (("clean", clean), ("dirty", dirty)):
        law, run, _, _ = spec._prepare(data, "N", "loss", "arch", None, False)  # noqa: SLF001
        ev, note = in_study_evidence(spec, law, run, SamplerSettings(1, 300, 300, 0, 0.9, 8))
        assert ev is not None, note
        pop = drift_population(load_drift_prior(), law, "params").population
        tau, bias, info = updated_draws(pop, ev, 4000, 0)
        out[tag] = (np.median(tau), np.median(bias), info["ess"])
    (t_c, b_c, ess_c), (t_d, b_d, _) = out["clean"], out["dirty"]
    assert ess_c < 10_000
    assert abs(b_d - b_c) < 0.1, out
    assert 1 / 1.5 < t_d / t_c < 1.5, out
