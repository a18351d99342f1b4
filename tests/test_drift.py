"""The cross-study drift prior: recovery on simulated families of studies, leave-one-study-out
coverage, the shipped file and its validation, and its use as the default discrepancy prior."""

import json

import numpy as np
import pytest

from bayes_scaling import ScalingLaw
from bayes_scaling.discrepancy import drift_posterior
from bayes_scaling.drift import (
    SCHEMA_VERSION,
    DriftPrior,
    bundled_sweep,
    fit_drift_prior,
    load_drift_prior,
)
from bayes_scaling.simulate import simulate_drift_studies

TRUTH = dict(mu_log_tau=float(np.log(0.03)), sd_log_tau=0.5, mu_bias=0.01, sd_bias=0.01)
FAST = dict(chains=1, warmup=300, draws=300)


@pytest.fixture(scope="module")
def family():
    return simulate_drift_studies(12, **TRUTH, seed=0)


@pytest.fixture(scope="module")
def learned(family):
    return fit_drift_prior(family[0], seed=0, **FAST)


def test_recovers_the_drift_law(learned, family):
    """12 studies x 6 curves: the population mean of log tau is known to about +-0.3 and the
    mean bias to about +-0.005, so 95% intervals must contain the truth."""
    h = learned.hyper
    for name in ("mu_log_tau", "mu_bias"):
        lo, hi = np.quantile(h[name], [0.025, 0.975])
        assert lo <= TRUTH[name] <= hi, name
    assert np.quantile(h["sd_log_tau"], 0.975) > TRUTH["sd_log_tau"] * 0.5
    est = learned.studies.set_index("study")
    truth = family[1].set_index("study")
    # per-study spreads are ordered like the truth
    rho = np.corrcoef(np.log(est["tau_median"]), np.log(truth["tau"]))[0, 1]
    assert rho > 0.6
    inside = (est["bias_lower"] <= truth["bias"]) & (truth["bias"] <= est["bias_upper"])
    assert inside.mean() >= 0.75  # 90% intervals, 12 studies
    assert learned.provenance["n_points"] == len(family[0])


def test_leave_one_study_out_coverage_is_near_nominal(family):
    """Prior learned without a study predicts that study's errors: 90% intervals of
    error = (b + tau xi) Delta + noise cover about 90% of its points. Points share a study and
    a curve, so over 2 held-out studies (60 points) anything in [0.75, 1] is consistent."""
    points, _ = family
    covered = []
    for s in ("study0", "study5"):
        prior = fit_drift_prior(points[points["study"] != s], seed=1, **FAST)
        held = points[points["study"] == s]
        tau, bias = prior.sample(4000, seed=2)
        rng = np.random.default_rng(3)
        for _, g in held.groupby("unit"):
            xi = rng.standard_normal(tau.size)
            d = g["decades"].to_numpy()
            sim = (bias + tau * xi)[:, None] * d + rng.standard_normal(
                (tau.size, d.size)
            ) * np.sqrt(g["pred_var"].to_numpy())
            lo, hi = np.quantile(sim, [0.05, 0.95], axis=0)
            covered.extend((g["error"].to_numpy() >= lo) & (g["error"].to_numpy() <= hi))
    assert 0.75 <= np.mean(covered) <= 1.0


def test_drift_posterior_learns_from_inner_errors(learned):
    tau0, bias0 = drift_posterior(np.array([]), np.array([]), np.array([]), learned, n_draws=500)
    assert tau0.shape == bias0.shape == (500,)
    # consistent positive misses of 0.08 per decade: the bias moves up from the prior
    d = np.array([0.3, 0.6, 0.9, 1.2])
    tau1, bias1 = drift_posterior(0.08 * d, np.full(4, 1e-5), d, learned, n_draws=2000)
    assert np.median(bias1) > np.median(bias0) + 0.01
    assert (tau1 > 0).all()


def test_save_load_round_trip(learned, tmp_path):
    path = learned.save(tmp_path / "p.json")
    back = load_drift_prior(path)
    assert back.source == str(path) and back.n_draws == learned.n_draws
    for k, v in learned.hyper.items():
        np.testing.assert_allclose(back.hyper[k], v, rtol=1e-5)
    assert list(back.studies["study"]) == list(learned.studies["study"])


def test_shipped_prior_loads_and_is_the_default():
    p = load_drift_prior()
    assert p.source == "shipped" and p.n_draws >= 500
    assert p.provenance["sweep"]["data_sha256"]  # which data it was learned from
    assert len(p.studies) >= 8
    tau, bias = p.sample(1000)
    assert (tau > 0).all() and np.isfinite(bias).all()
    assert (bundled_sweep()["decades"] > 0).sum() == p.provenance["n_points"]
    t = p.trust_table((1.0, 2.0))
    assert (t["drift_upper_90"] > 1).all() and (t["drift_lower_90"] < 1).all()
    assert t["half_width_pct"].is_monotonic_increasing


def _set(d, name, value):
    return {**d, "hyper": {**d["hyper"], name: [value] * len(d["hyper"][name])}}


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: "{not json", "not valid JSON"),
        (lambda d: {**d, "schema_version": SCHEMA_VERSION + 1}, "schema_version"),
        (lambda d: {**d, "kind": "something"}, "not a drift-prior file"),
        (lambda d: {**d, "hyper": {k: v for k, v in d["hyper"].items() if k != "sd_bias"}},
         "'sd_bias' missing"),
        (lambda d: _set(d, "sd_log_tau", -1.0), "sd_log_tau must be positive"),
        (lambda d: {**d, "hyper": {**d["hyper"], "mu_bias": ["x"]}}, "must be numbers"),
        (lambda d: {**d, "hyper": {**d["hyper"], "mu_bias": [0.0]}}, "equally long"),
    ],
)  # fmt: skip
def test_corrupted_or_mismatched_file_is_a_clear_error(learned, tmp_path, mutate, match):
    d = mutate(learned.to_dict())
    path = tmp_path / "bad.json"
    path.write_text(d if isinstance(d, str) else json.dumps(d))
    with pytest.raises(ValueError, match=match):
        load_drift_prior(path)


def test_fit_drift_prior_validates_table(family):
    with pytest.raises(ValueError, match="lacks column"):
        fit_drift_prior(family[0].drop(columns="pred_var"))
    bad = family[0].assign(error=np.nan)
    with pytest.raises(ValueError, match="'error' has NaN"):
        fit_drift_prior(bad)


def test_discrepancy_prior_type_is_checked(sim):
    with pytest.raises(TypeError, match="discrepancy_prior must be a DriftPrior"):
        ScalingLaw(discrepancy_prior="wide").fit(sim.runs, x="x", y="loss")
    assert isinstance(load_drift_prior(), DriftPrior)
