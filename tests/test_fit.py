"""Parameter recovery and calibration on simulated hierarchical data with known truth."""

import warnings

import numpy as np
import pandas as pd
import pytest

from bayes_scaling import (
    FitWarning,
    SamplerWarning,
    ScalingLaw,
    curve_table,
    level_table,
    load_fit,
    save_fit,
)
from tests.conftest import DROPPED, FAST, HELD_OUT_X


def _truth_rows(sim, table):
    for r in sim.truth.itertuples():
        sel = table[(table["architecture"] == r.architecture) & (table["domain"] == r.domain)]
        yield r, sel.set_index("param")


def test_fit_structure(fit, sim):
    assert len(fit.curves) == len(sim.truth) == 5
    assert fit.structure.curve_term  # crossed design: curves are not one factor's levels
    for group in ("posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"):
        assert hasattr(fit.idata, group)
    assert fit.idata.posterior["alpha"].dims == ("chain", "draw", "curve")
    assert fit.idata.posterior["u_alpha"].dims == ("chain", "draw", "curve")
    meta = fit.meta
    assert meta["law"]["name"] == "saturating" and meta["package_version"]
    assert set(meta["levels"]) == {"architecture", "domain"}
    assert "alpha" in meta["structure"]["priors"] and len(meta["conditioning"]["log_x_ref"]) == 1
    assert fit.scale_kind is None  # "x" says nothing about what it measures


def test_parameters_recovered(fit, sim):
    """90% intervals of E, A (user units) and alpha cover the truth at about the nominal rate.

    15 quantities at nominal 90% give 13.5 covered on average; P(Bin(15, 0.9) <= 11) = 0.056.
    Exponent medians are within 0.1 of the truth (posterior sd of alpha is about 0.05 here).
    """
    table = curve_table(fit, 0.9)
    covered = []
    for r, t in _truth_rows(sim, table):
        for name, true in (("E", r.E), ("A", r.A_raw), ("alpha", r.alpha)):
            covered.append(t.loc[name, "lower"] <= true <= t.loc[name, "upper"])
        assert abs(t.loc["alpha", "median"] - r.alpha) < 0.1
    assert sum(covered) >= 12, f"{sum(covered)}/15 covered"


def test_heldout_predictions_calibrated(fit, sim):
    """New runs 10-100x beyond the data fall in their 90% intervals (>= 12 of 15, see above);
    the law's own median is within 10% of the truth, and the drift's bend, a share of the
    law's predicted decline, moves the median by less than that decline."""
    held = sim.at(HELD_OUT_X, seed=10)
    pred = fit.predict(held, prob=0.9)
    inside = (held["loss"] >= pred["lower"]) & (held["loss"] <= pred["upper"])
    assert inside.sum() >= 12
    curve_inside = (held["true_loss"] >= pred["curve_lower"]) & (
        held["true_loss"] <= pred["curve_upper"]
    )
    assert curve_inside.sum() >= 12
    np.testing.assert_array_less(np.abs(np.log(pred["curve_median"] / held["true_loss"])), 0.1)
    assert (pred["extrapolation_decades"] > 0.9).all()


def test_medians_are_monotone_beyond_the_data(fit):
    """A new run's median falls along a falling curve, inside and beyond the data, and so does
    its interval inside the data (rows of a curve share their noise's standard draw, so this
    holds draw by draw, not only up to Monte Carlo error; beyond the data the drift's spread
    may lift the upper bound)."""
    at = pd.DataFrame({"architecture": "architecture0", "domain": "domain0",
                       "x": np.geomspace(1e6, 1e11, 40)})
    pred = fit.predict(at)
    assert (np.diff(pred["median"]) <= 1e-9).all()
    inside = pred[pred["extrapolation_decades"] == 0]
    assert len(inside) >= 10
    for col in ("lower", "upper"):
        assert (np.diff(inside[col]) <= 1e-9).all(), col
    assert (np.diff(pred["curve_median"]) <= 1e-9).all()
    assert ((pred["mean"] >= pred["lower"]) & (pred["mean"] <= pred["upper"])).all()


def test_unseen_combination_and_level_are_wider(fit):
    at = pd.DataFrame(
        {
            "architecture": ["architecture2", DROPPED[0], "architecture-new"],
            "domain": ["domain0", DROPPED[1], "domain0"],
            "x": [1e9] * 3,
        }
    )
    with pytest.warns(UserWarning, match="predicted from the population"):
        pred = fit.predict(at)
    assert list(pred["kind"]) == ["fitted curve", "new combination", "new level"]
    width = np.log(pred["curve_upper"] / pred["curve_lower"])
    assert width[0] < width[1] < width[2]


def test_level_table(fit):
    t = level_table(fit, 0.9, "architecture")
    alpha = t[t["param"] == "alpha"].set_index("level")["median"]
    # architecture effects on log(alpha) were -0.3, 0, +0.3: the ordering is recovered
    assert alpha["architecture0"] < alpha["architecture1"] < alpha["architecture2"]


def test_diagnostics_reported(fit):
    diag = fit.diagnostics
    assert diag.n_draws == 600
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(diag.table.columns)
    assert "divergences=" in str(diag)
    report = fit.check(warn=False)
    assert "sampler:" in str(report) and "fit:" in str(report)


def test_bad_sampling_warns_with_advice(power_runs):
    with pytest.warns(SamplerWarning, match="effective sample size.*Draw more samples"):
        ScalingLaw("power", pooling="complete", discrepancy="none").fit(
            power_runs, x="N", y="loss", groups="arch", chains=2, warmup=15, draws=10, seed=0
        )


def test_a_law_that_misses_its_data_is_reported():
    """A pure power law through a curve with a floor misses the trend at its largest scales."""
    x = np.geomspace(1e6, 1e10, 16)
    y = 1.5 + 3.0 * (x / 1e6) ** -0.5
    runs = pd.DataFrame({"x": x, "loss": y * np.exp(0.002 * np.random.default_rng(0)
                                                    .standard_normal(x.size))})
    with pytest.warns(FitWarning, match="does not follow its data"):
        fit = ScalingLaw("power", drift_update=False).fit(runs, x="x", y="loss", seed=0, **FAST)
    report = fit.check(warn=False)
    assert not report.ok and any("systematic pattern" in p for p in report.fit.problems)
    assert report.fit.stats["residual_lag1"] > 0.5


def test_complete_and_no_pooling(power_runs):
    one = ScalingLaw("power", pooling="complete", discrepancy="none").fit(
        power_runs, x="N", y="loss", groups="arch", chains=1, warmup=200, draws=200, seed=0,
        warn=False,
    )
    assert len(one.curves) == 1
    at = pd.DataFrame({"arch": ["a", "zzz"], "N": [1e9, 1e9]})
    p = one.predict(at)
    assert list(p["kind"]) == ["fitted curve"] * 2
    assert p["curve_median"].iloc[0] == p["curve_median"].iloc[1]

    sep = ScalingLaw("power", pooling="none", discrepancy="none").fit(
        power_runs, x="N", y="loss", groups="arch", chains=1, warmup=200, draws=200, seed=0,
        warn=False,
    )
    assert sep.idata.posterior["u_alpha"].dims[-1] == "curve"
    with pytest.raises(ValueError, match="no population to draw a new level"):
        sep.predict(at)


def test_student_t_resists_a_diverged_run():
    """One run at 2x its loss (a diverged run) drags a normal fit; Student-t shrugs it off."""
    rng = np.random.default_rng(0)
    x = np.geomspace(1e6, 1e9, 10)
    y = 5.0 * (x / 1e7) ** -0.3 * np.exp(0.01 * rng.standard_normal(10))
    y[-2] *= 2.0
    df = pd.DataFrame({"x": x, "y": y})
    kw = dict(chains=1, warmup=300, draws=300, seed=0, warn=False)
    normal = ScalingLaw("power", discrepancy="none").fit(df, x="x", y="y", **kw)
    robust = ScalingLaw("power", likelihood="student_t", discrepancy="none").fit(
        df, x="x", y="y", **kw
    )
    huber = ScalingLaw("power", likelihood="huber", discrepancy="none").fit(df, x="x", y="y",
                                                                           **kw)
    a_n = float(np.median(normal.draws("alpha")))
    a_t = float(np.median(robust.draws("alpha")))
    a_h = float(np.median(huber.draws("alpha")))
    assert abs(a_t - 0.3) < 0.02 < abs(a_n - 0.3)
    assert abs(a_h - 0.3) < abs(a_n - 0.3)


def test_student_t_tails_too_heavy_for_useful_intervals_are_reported():
    """A sweep with many diverged runs drives nu below 1: the check says what that does to every
    interval, and predicting does not leak numpy's overflow message; clean data stay quiet."""
    rng = np.random.default_rng(1)
    x = np.geomspace(1e6, 1e9, 24)
    clean = 5.0 * (x / 1e7) ** -0.3 * np.exp(0.01 * rng.standard_normal(24))
    wild = clean.copy()
    wild[::4] *= rng.uniform(3.0, 30.0, 6)  # a quarter of the runs diverged
    kw = dict(chains=1, warmup=300, draws=300, seed=0, warn=False)
    spec = ScalingLaw("power", likelihood="student_t", discrepancy="none")
    heavy = spec.fit(pd.DataFrame({"x": x, "y": wild}), x="x", y="y", **kw)
    assert float(np.median(heavy.draws("nu"))) < 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        report = heavy.check(warn=False)
        heavy.predict(pd.DataFrame({"x": [1e10]}))
    assert any("Student-t noise has nu" in p and "no mean" in p for p in report.fit.problems)
    calm = spec.fit(pd.DataFrame({"x": x, "y": clean}), x="x", y="y", **kw)
    assert not any("Student-t" in p for p in calm.check(warn=False).fit.problems)


def test_contaminated_normal_separates_diverged_runs_and_keeps_intervals_narrow(tmp_path):
    """A quarter of the runs diverged (3-30x their loss): the contaminated normal recovers the
    exponent and the share of wild runs, and a new run's 90% interval stays within a few noise
    scales of the law where a Student-t's reaches tens (nu < 1 on the same data)."""
    rng = np.random.default_rng(1)
    x = np.geomspace(1e6, 1e9, 24)
    y = 5.0 * (x / 1e7) ** -0.3 * np.exp(0.01 * rng.standard_normal(24))
    y[::8] *= rng.uniform(3.0, 30.0, 3)  # 3 of 24 runs diverged: 12.5%
    df = pd.DataFrame({"x": x, "y": y})
    kw = dict(chains=1, warmup=300, draws=300, seed=0, warn=False)
    fit = ScalingLaw("power", likelihood="contaminated", discrepancy="none").fit(
        df, x="x", y="y", **kw
    )
    assert abs(float(np.median(fit.draws("alpha"))) - 0.3) < 0.01  # posterior sd ~0.002
    share = fit.draws("outlier_share")
    assert np.quantile(share, 0.05) < 3 / 24 < np.quantile(share, 0.95)
    p = fit.predict(pd.DataFrame({"x": [3e8]}), 0.9)
    truth = 5.0 * 30**-0.3
    assert p["lower"].iloc[0] < truth < p["upper"].iloc[0]
    # core noise 1%: the interval is a few percent, not a factor (Student-t here: nu < 1)
    assert p["upper"].iloc[0] / p["lower"].iloc[0] < 1.25
    assert not any("Student-t" in q for q in fit.check(warn=False).fit.problems)
    save_fit(fit, tmp_path / "fit.nc")
    again = load_fit(tmp_path / "fit.nc").predict(pd.DataFrame({"x": [3e8]}), 0.9)
    assert np.array_equal(again[["median", "lower", "upper"]].to_numpy(),
                          p[["median", "lower", "upper"]].to_numpy())


@pytest.mark.parametrize(
    "model, kwargs, match",
    [
        (ScalingLaw("chinchilla"), {}, "takes 2 input column"),
        (ScalingLaw("power", pooling="some"), {}, "pooling must be one of"),
        (ScalingLaw("power", likelihood="cauchy"), {}, "likelihood must be one of"),
        (ScalingLaw("power", noise="dataset"), {}, "noise must be 'curve', 'shared' or a group"),
        (ScalingLaw("power", priors={"gamma": {"dist": "Normal", "loc": 0, "scale": 1}}), {},
         "unknown prior name 'gamma'"),
        (ScalingLaw("power"), dict(chains=0), "chains must be between 1"),
        (ScalingLaw("power"), dict(target_accept=1.5), "target_accept must be in \\(0, 1\\)"),
        (ScalingLaw("power", pooling="none", min_points=1), {}, "only pooling='partial'"),
        (ScalingLaw("power", shared=["beta"]), {}, "shared=\\['beta'\\]"),
    ],
)
def test_model_argument_errors(power_runs, model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        model.fit(power_runs, x="N", y="loss", groups="arch", **kwargs)


def test_prior_names_and_overrides(power_runs):
    model = ScalingLaw(
        "power",
        priors={
            "alpha_sd": {"dist": "HalfNormal", "scale": 0.1},
            "log_A": {"dist": "Normal", "loc": -1.0, "scale": 0.3},  # 0.1 name: log scale
        },
    )
    priors = model.prior_names(power_runs, "N", "loss", "arch")
    assert priors["alpha_sd_arch"].args == {"scale": 0.1}
    assert priors["A"].dist == "LogNormal" and priors["A"].args == {"loc": -1.0, "scale": 0.3}
    assert priors["A"].units == "data"
    assert priors["A_sd_arch"].dist == "Gamma"


def test_shared_parameter_is_one_value(power_runs):
    fit = ScalingLaw("power", shared=["alpha"], drift_update=False).fit(
        power_runs, x="N", y="loss", groups="arch", seed=0, warn=False, chains=1, warmup=150,
        draws=100)
    alpha = fit.draws("alpha")
    np.testing.assert_allclose(alpha[:, 0], alpha[:, 1])
    assert "sd_alpha_arch" not in fit.idata.posterior


def test_noncentred_curves_give_the_centred_posterior(fit, sim, tmp_path):
    """The non-centred form (standardised effects and curve residuals, the default from
    NONCENTRED_CURVES curves on) is a reparameterisation: on the same data it gives the session
    fit's posterior. Compared through what users read: each curve's exponent and the 90%
    predictive interval of the unseen combination and of a new level, 10-100x beyond the data.
    Tolerance: 0.35 posterior sd for medians (Monte Carlo error of two fits with bulk ESS >= 100
    each is about 0.14 sd; 0.35 sd is 2.5 of those)."""
    nc = ScalingLaw("saturating", drift_update=False, centring="non-centred").fit(
        sim.runs, x="x", y="loss", groups=["architecture", "domain"], seed=2, warn=False, **FAST
    )
    assert not nc.structure.curve_centered and fit.structure.curve_centered
    post = nc.idata.posterior
    assert post["z_alpha"].dims == ("chain", "draw", "curve")
    assert post["e_alpha_architecture"].dims == ("chain", "draw", "architecture")
    assert post["u_alpha"].dims == ("chain", "draw", "curve")  # recorded, not sampled
    assert nc.check(warn=False).sampler.min_ess_bulk >= 100
    a_c, a_n = fit.draws("alpha"), nc.draws("alpha")
    sd = np.sqrt((a_c.var(axis=0) + a_n.var(axis=0)) / 2)
    assert (np.abs(np.median(a_c, axis=0) - np.median(a_n, axis=0)) / sd).max() < 0.35
    at = pd.DataFrame({"architecture": ["architecture2", "architecture9"],
                       "domain": ["domain1", "domain0"], "x": [1e9, 1e10]})
    with pytest.warns(UserWarning, match="predicted from the population"):
        pc = fit.predict(at, prob=0.9)
    with pytest.warns(UserWarning, match="predicted from the population"):
        pn = nc.predict(at, prob=0.9)
    half = (pc["upper"] - pc["lower"]) / 2
    for col in ("lower", "median", "upper"):
        assert (np.abs(pc[col] - pn[col]) / half).max() < 0.35, col
    # level summaries read the sampled effects of the non-centred fit: the same posterior
    lc = level_table(fit, 0.9, "architecture").set_index(["level", "param"])
    ln = level_table(nc, 0.9, "architecture").set_index(["level", "param"])
    width = (lc["upper"] - lc["lower"]) / 2
    assert ((lc["median"] - ln["median"]).abs() / width).max() < 0.35
    # u_<param> is recorded, not sampled: not among the sampler's checked variables
    assert "u_alpha" not in nc.sampled_names() and "z_alpha" in nc.sampled_names()
    # the non-centred fit round-trips: same form, same predictions
    path = tmp_path / "nc.nc"
    save_fit(nc, path)
    back = load_fit(path)
    assert not back.structure.curve_centered
    with pytest.warns(UserWarning, match="predicted from the population"):
        pb = back.predict(at, prob=0.9)
    pd.testing.assert_frame_equal(pb, pn)


def test_centring_follows_the_number_of_curves():
    """Under partial pooling, 24 curves or more are sampled non-centred, fewer centred; the
    option overrides, and a wrong value is one clear error."""
    from bayes_scaling.structure import NONCENTRED_CURVES

    rows = [{"run": f"r{i}", "x": x, "loss": 2.0 * x**-0.2} for i in range(NONCENTRED_CURVES)
            for x in (1e6, 1e7, 1e8)]
    many = pd.DataFrame(rows)
    few = many[many["run"].isin(["r0", "r1", "r2"])]
    law = ScalingLaw("power")
    assert not law._prepare(many, "x", "loss", "run", None, False)[2].curve_centered
    assert law._prepare(few, "x", "loss", "run", None, False)[2].curve_centered
    forced = ScalingLaw("power", centring="centred")
    assert forced._prepare(many, "x", "loss", "run", None, False)[2].curve_centered
    with pytest.raises(ValueError, match="centring must be one of"):
        ScalingLaw("power", centring="sometimes").fit(few, x="x", y="loss", groups="run")
