"""The cross-study drift prior: recovery on simulated families of studies, populations,
leave-one-study-out coverage, the shipped file and its validation."""

import json

import numpy as np
import pytest

from bayes_scaling import ScalingLaw
from bayes_scaling.drift.model import bundled_sweep, fit_drift_prior
from bayes_scaling.drift.prior import SCHEMA_VERSION, DriftPrior, load_drift_prior
from bayes_scaling.evaluation.simulate import simulate_drift_studies

FAST = dict(chains=2, warmup=300, draws=300)
GROUPS = ("saturating|data", "chinchilla|compute")


@pytest.fixture(scope="module")
def family():
    return simulate_drift_studies(12, seed=0)


@pytest.fixture(scope="module")
def learned(family):
    return fit_drift_prior(family[0], seed=0, **FAST)


def test_recovers_the_drift_law_by_group(learned, family):
    """12 studies in two groups with opposite bends (+0.2, -0.1): each group's population
    learns its own sign, and its mean covers the mean of the studies' actual bends (6 studies
    per group: the hyper-mean itself is only known to +-0.1); per-study spreads are ordered
    like the truth."""
    truth = family[1]
    for g in GROUPS:
        b = learned.populations[g].hyper["mu_bias"]
        lo, hi = np.quantile(b, [0.025, 0.975])
        realised = truth.loc[truth["group"] == g, "bias"].mean()
        assert lo <= realised <= hi, g
    b_sat = np.median(learned.populations["saturating|data"].hyper["mu_bias"])
    b_ch = np.median(learned.populations["chinchilla|compute"].hyper["mu_bias"])
    assert b_sat > 0 > b_ch
    est = learned.studies.set_index("study")
    truth = truth.set_index("study")
    rho = np.corrcoef(np.log(est["tau_median"]), np.log(truth["tau"]))[0, 1]
    assert rho > 0.6
    inside = (est["bias_lower"] <= truth["bias"]) & (truth["bias"] <= est["bias_upper"])
    assert inside.mean() >= 0.75  # 90% intervals, 12 studies
    assert learned.provenance["n_points"] == len(family[0])
    assert {"all", "*|data", "chinchilla|*"} <= set(learned.populations)


def test_population_choice_falls_back():
    prior = load_drift_prior()
    assert prior.population("no-such-law", "no-such-kind").name == "all"


@pytest.mark.slow  # > 1 min on 2 cores: run with --run-slow
def test_leave_one_study_out_coverage_is_near_nominal(family):
    """A prior learned without a study predicts that study's errors: 90% intervals of
    error = b decline + tau xi Delta + noise cover about 90% of its points. Points share a study
    and a curve, so over 2 held-out studies (60 points) anything in [0.75, 1] is consistent."""
    points, truth = family
    covered = []
    for s in ("study0", "study5"):
        prior = fit_drift_prior(points[points["study"] != s], seed=1, **FAST)
        held = points[points["study"] == s]
        group = truth.set_index("study").loc[s, "group"]
        tau, bias = prior.sample(4000, seed=2, family=group.split("|")[0],
                                 kind=group.split("|")[1])
        rng = np.random.default_rng(3)
        for _, g in held.groupby("unit"):
            xi = rng.standard_normal(tau.size)
            d = g["decades"].to_numpy()
            sim = bias[:, None] * g["decline"].to_numpy() + (tau * xi)[:, None] * d + (
                rng.standard_normal((tau.size, d.size)) * np.sqrt(g["pred_var"].to_numpy()))
            lo, hi = np.quantile(sim, [0.05, 0.95], axis=0)
            covered.extend((g["error"].to_numpy() >= lo) & (g["error"].to_numpy() <= hi))
    assert 0.75 <= np.mean(covered) <= 1.0


def test_save_load_round_trip(learned, tmp_path):
    path = learned.save(tmp_path / "p.json")
    back = load_drift_prior(path)
    assert back.source == str(path) and set(back.populations) == set(learned.populations)
    for name, pop in learned.populations.items():
        for k, v in pop.hyper.items():
            np.testing.assert_allclose(back.populations[name].hyper[k], v, rtol=1e-5)
    assert list(back.studies["study"]) == list(learned.studies["study"])


def test_shipped_prior_loads_and_is_the_default():
    p = load_drift_prior()
    assert p.source == "shipped" and "all" in p.populations
    tau, bias = p.sample(1000)
    assert (tau > 0).all() and np.isfinite(bias).all() and (bias < 1).all()
    t = p.trust_table((1.0, 2.0))
    assert (t["drift_upper_90"] > 1).all() and (t["drift_lower_90"] < 1).all()
    assert t["half_width_pct"].is_monotonic_increasing
    sweep = bundled_sweep()
    assert {"study", "group", "decline"} <= set(sweep.columns)


def _bad(d, change):
    d = json.loads(json.dumps(d))
    change(d)
    return d


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: "{not json", "not valid JSON"),
        (lambda d: _bad(d, lambda x: x.update(schema_version=SCHEMA_VERSION + 1)),
         "schema_version"),
        (lambda d: _bad(d, lambda x: x.update(kind="something")), "not a drift-prior file"),
        (lambda d: _bad(d, lambda x: x["populations"]["all"]["hyper"].pop("sd_bias")),
         "'sd_bias' missing"),
        (lambda d: _bad(d, lambda x: x["populations"]["all"]["hyper"].update(
            sd_log_tau=[-1.0] * len(x["populations"]["all"]["hyper"]["sd_log_tau"]))),
         "sd_log_tau must be positive"),
        (lambda d: _bad(d, lambda x: x["populations"]["all"]["hyper"].update(mu_bias=["x"])),
         "must be a list of numbers"),
        (lambda d: _bad(d, lambda x: x["populations"]["all"]["hyper"].update(mu_bias=[0.0])),
         "equally long"),
        (lambda d: _bad(d, lambda x: x["populations"].pop("all")), "population 'all' missing"),
        (lambda d: [1, 2], "expected a JSON object"),
    ],
)
def test_corrupted_or_mismatched_file_is_a_clear_error(learned, tmp_path, mutate, match):
    d = mutate(learned.to_dict())
    path = tmp_path / "bad.json"
    path.write_text(d if isinstance(d, str) else json.dumps(d))
    with pytest.raises(ValueError, match=match):
        load_drift_prior(path)


def test_fit_drift_prior_validates_table(family):
    with pytest.raises(ValueError, match="lacks column"):
        fit_drift_prior(family[0].drop(columns="pred_var"))
    with pytest.raises(ValueError, match="'error' has NaN"):
        fit_drift_prior(family[0].assign(error=np.nan))


def test_discrepancy_prior_type_is_checked(power_runs):
    with pytest.raises(TypeError, match="discrepancy_prior must be a DriftPrior"):
        ScalingLaw("power", discrepancy_prior="wide").fit(power_runs, x="N", y="loss")
    assert isinstance(load_drift_prior(), DriftPrior)
