import numpy as np
import pandas as pd
import pytest

from bayes_scaling import ScalingLaw, load_fit
from bayes_scaling.data import validate_runs
from bayes_scaling.discrepancy import lfo_split, tau_posterior


def test_tau_posterior_recovers_known_spread():
    """Errors simulated with tau = 0.08 per decade: the grid posterior's 90% interval covers it."""
    rng = np.random.default_rng(0)
    decades = rng.uniform(0.2, 2.0, 200)
    v = np.full(200, 0.01**2)
    errors = rng.normal(0, np.sqrt(v + (0.08 * decades) ** 2))
    tau = tau_posterior(errors, v, decades, n_draws=4000, seed=1)
    lo, med, hi = np.quantile(tau, [0.05, 0.5, 0.95])
    assert lo < 0.08 < hi and abs(med - 0.08) < 0.015


def test_tau_posterior_without_data_is_the_prior():
    tau = tau_posterior(np.array([]), np.array([]), np.array([]), n_draws=20000, seed=0)
    # HalfNormal(0.05): mean 0.05 * sqrt(2/pi)
    assert abs(tau.mean() - 0.05 * np.sqrt(2 / np.pi)) < 0.002 and (tau > 0).all()


def test_lfo_split_keeps_enough_points():
    df = pd.DataFrame(
        {
            "g": ["a"] * 10 + ["b"] * 3,
            "x": list(np.geomspace(1, 1e3, 10)) + [1, 2, 3],
            "y": [1.0] * 13,
        }
    )
    run = validate_runs(df, "x", "y", "g")
    mask = lfo_split(run, 0.3, min_points=3)
    assert mask[:10].sum() == 3 and mask[7:10].all()  # the last 30% of a's log range
    assert not mask[10:].any()  # b has too few points to split
    with pytest.raises(ValueError, match="holdout must be in"):
        lfo_split(run, 1.5, 3)


def test_fit_carries_discrepancy_and_widens_far_intervals(fit, tmp_path):
    disc = fit.discrepancy
    assert disc is not None and disc.method == "prior" and disc.prior["dist"] == "DriftPrior"
    assert disc.bias is not None and disc.bias.shape == disc.tau.shape
    at = pd.DataFrame(
        {"architecture": ["architecture0"] * 2, "domain": ["domain0"] * 2, "x": [1e8, 1e10]}
    )
    p = fit.predict(at)
    assert list(p["extrapolation_decades"]) == pytest.approx([0.0, 2.0])
    width = np.log(p["upper"] / p["lower"]) - np.log(p["curve_upper"] / p["curve_lower"])
    assert width[1] > width[0]
    fit.save(tmp_path / "f.nc")
    back = load_fit(tmp_path / "f.nc")
    np.testing.assert_array_equal(back.discrepancy.tau, disc.tau)
    np.testing.assert_array_equal(back.discrepancy.bias, disc.bias)
    pd.testing.assert_frame_equal(back.predict(at), p)


def test_lfo_updates_the_drift_prior(sim):
    """discrepancy='lfo': an inner fit on the smaller 70% of each curve scores the rest, and
    those errors update (tau, bias) from the learned prior; the inner errors are kept."""
    fit = ScalingLaw("power", discrepancy="lfo").fit(
        sim.runs, x="x", y="loss", groups="architecture", chains=1, warmup=150, draws=150
    )
    disc = fit.discrepancy
    assert disc.method == "lfo" and disc.details["n_points"] > 0
    inner = disc.details["inner"]
    assert len(inner["errors"]) == len(inner["decades"]) == disc.details["n_points"]
    assert (np.asarray(inner["decades"]) > 0).all()
    assert disc.tau.shape == disc.bias.shape == (150,) and (disc.tau > 0).all()


def test_discrepancy_option_errors(sim):
    with pytest.raises(ValueError, match="discrepancy must be 'lfo', 'prior' or 'none'"):
        ScalingLaw(discrepancy="gp").fit(sim.runs, x="x", y="loss")
