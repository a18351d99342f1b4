"""Parameter recovery and calibration on simulated hierarchical data with known truth."""

import numpy as np
import pandas as pd
import pytest

from bayes_scaling import SamplerWarning, ScalingLaw, curve_table, level_table
from tests.conftest import DROPPED, HELD_OUT_X


def _truth_rows(sim, table):
    for r in sim.truth.itertuples():
        sel = table[(table["architecture"] == r.architecture) & (table["domain"] == r.domain)]
        yield r, sel.set_index("param")


def test_fit_structure(fit, sim):
    assert len(fit.curves) == len(sim.truth) == 5
    assert fit.design.curve_term  # crossed design: curves are not one factor's levels
    for group in ("posterior", "sample_stats", "log_likelihood", "observed_data", "constant_data"):
        assert hasattr(fit.idata, group)
    assert fit.idata.posterior["alpha"].dims == ("chain", "draw", "curve")
    assert fit.idata.posterior["z_log_alpha_architecture"].dims[-1] == "architecture"
    meta = fit.meta
    assert meta["law"] == "saturating" and meta["package_version"]
    assert set(meta["levels"]) == {"architecture", "domain"}
    assert "log_alpha" in meta["priors"] and len(meta["log_x_ref"]) == 1


def test_parameters_recovered(fit, sim):
    """90% intervals of E, A (raw units) and alpha cover the truth at about the nominal rate.

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
    """New runs 10-100x beyond the data fall in their 90% intervals (>= 12 of 15, see above).

    The law's own median (``curve_median``) is within 10% of the truth; the honest median also
    carries the drift prior's typical bend (about +4% per decade, learned from real curves that
    flatten; this simulation has none), so it may sit up to ~10% higher at 2 decades."""
    held = sim.at(HELD_OUT_X, seed=10)
    pred = fit.predict(held, prob=0.9)
    inside = (held["loss"] >= pred["lower"]) & (held["loss"] <= pred["upper"])
    assert inside.sum() >= 12
    curve_inside = (held["true_loss"] >= pred["curve_lower"]) & (
        held["true_loss"] <= pred["curve_upper"]
    )
    assert curve_inside.sum() >= 12
    np.testing.assert_array_less(np.abs(np.log(pred["curve_median"] / held["true_loss"])), 0.1)
    shift = np.log(pred["median"] / pred["curve_median"])
    assert (shift > -0.02).all() and (shift < 0.15).all()


def test_unseen_combination_and_level_are_wider(fit):
    at = pd.DataFrame(
        {
            "architecture": ["architecture2", DROPPED[0], "architecture-new"],
            "domain": ["domain0", DROPPED[1], "domain0"],
            "x": [1e9] * 3,
        }
    )
    pred = fit.predict(at)
    assert list(pred["kind"]) == ["fitted curve", "new combination", "new level"]
    width = np.log(pred["upper"] / pred["lower"])
    assert width[0] < width[1] < width[2]


def test_level_table(fit, sim):
    t = level_table(fit, 0.9, "architecture")
    alpha = t[t["param"] == "alpha"].set_index("level")["median"]
    # architecture effects on log(alpha) were -0.3, 0, +0.3: the ordering is recovered
    assert alpha["architecture0"] < alpha["architecture1"] < alpha["architecture2"]


def test_diagnostics_reported(fit):
    diag = fit.diagnostics
    assert diag.n_draws == 600
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(diag.table.columns)
    assert "divergences=" in str(diag)


def test_bad_sampling_warns_with_advice(sim):
    with pytest.warns(SamplerWarning, match="effective sample size.*Draw more samples"):
        ScalingLaw("power", pooling="complete", discrepancy="none").fit(
            sim.runs,
            x="x",
            y="loss",
            groups=["architecture", "domain"],
            chains=2,
            warmup=15,
            draws=10,
            seed=0,
        )


def test_complete_and_no_pooling(sim):
    one = ScalingLaw("power", pooling="complete", discrepancy="none").fit(
        sim.runs,
        x="x",
        y="loss",
        groups=["architecture", "domain"],
        chains=1,
        warmup=200,
        draws=200,
        seed=0,
        warn=False,
    )
    assert len(one.curves) == 1
    at = pd.DataFrame(
        {"architecture": ["architecture0", "zzz"], "domain": ["domain0"] * 2, "x": [1e9, 1e9]}
    )
    p = one.predict(at)
    assert list(p["kind"]) == ["fitted curve"] * 2
    assert p["curve_median"].iloc[0] == p["curve_median"].iloc[1]

    sep = ScalingLaw("power", pooling="none", discrepancy="none").fit(
        sim.runs,
        x="x",
        y="loss",
        groups="architecture",
        chains=1,
        warmup=200,
        draws=200,
        seed=0,
        warn=False,
    )
    assert sep.idata.posterior["mu_log_alpha"].dims[-1] == "curve"
    assert len(sep.curves) == 3


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
    a_n = float(np.median(normal.idata.posterior["alpha"]))
    a_t = float(np.median(robust.idata.posterior["alpha"]))
    assert abs(a_t - 0.3) < 0.02 < abs(a_n - 0.3)
