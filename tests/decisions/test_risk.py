import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bayes_scaling import ScalingLaw
from bayes_scaling.cli import main
from bayes_scaling.decisions.risk import (
    check_fitted,
    check_runs,
    expected_gain,
    prob_below,
    scale_for_target,
)

SIGMA = 0.02


@pytest.fixture(scope="module")
def curve():
    """One well-measured power law L = 3 (x/1e7)^-0.25 with 2% log noise."""
    rng = np.random.default_rng(0)
    x = np.geomspace(1e6, 1e9, 40)
    y = 3.0 * (x / 1e7) ** -0.25 * np.exp(SIGMA * rng.standard_normal(x.size))
    df = pd.DataFrame({"x": x, "y": y})
    fit = ScalingLaw("power", drift_update=False).fit(
        df, x="x", y="y", chains=2, warmup=300, draws=500, seed=0, warn=False
    )
    return df, fit


def test_prob_below_matches_known_distribution(curve):
    """Inside the data the predictive is ~ lognormal(true curve, sigma): P(y < t) = Phi(...)."""
    _, fit = curve
    at = pd.DataFrame({"x": [1e8, 1e8, 1e8]})
    true_log = np.log(3.0 * 10**-0.25)
    thresholds = np.exp(true_log + np.array([-1.0, 0.0, 1.0]) * SIGMA)
    got = [prob_below(fit, at.iloc[[i]], t)["p_below"].iloc[0] for i, t in enumerate(thresholds)]
    np.testing.assert_allclose(got, norm.cdf([-1.0, 0.0, 1.0]), atol=0.06)


def test_expected_gain_and_target(curve):
    _, fit = curve
    g = expected_gain(fit, pd.DataFrame({"x": [1e8]}), 10)
    true_gain = 3.0 * (10**-0.25 - 100**-0.25)
    assert g["gain_lower"].iloc[0] < true_gain < g["gain_upper"].iloc[0]
    assert g["p_gain"].iloc[0] > 0.95
    target = 3.0 * 300**-0.25  # reached at 3e9 on the true curve: 30x beyond 1e8
    t = scale_for_target(fit, pd.DataFrame({"x": [1e8]}), target, p=0.5)
    assert 10 < t["scale_factor"].iloc[0] < 100 and t["p_reached"].iloc[0] >= 0.5
    never = scale_for_target(fit, pd.DataFrame({"x": [1e8]}), 0.01, p=0.9, max_factor=100)
    assert np.isnan(never["scale_factor"].iloc[0])
    with pytest.raises(ValueError, match="target must be > 0"):
        scale_for_target(fit, pd.DataFrame({"x": [1e8]}), -1.0)


def test_surprise_flags_planted_runs(curve, tmp_path, capsys):
    df, fit = curve
    rng = np.random.default_rng(1)
    x = np.geomspace(1e6, 1e9, 20)
    new = pd.DataFrame(
        {"x": x, "y": 3.0 * (x / 1e7) ** -0.25 * np.exp(SIGMA * rng.standard_normal(20))}
    )
    new.loc[[5, 12], "y"] *= 1.25  # two mis-tuned runs, 25% worse
    out = check_runs(fit, new, 0.95)
    assert list(out.index[out["flag"] == "above"]) == [5, 12]
    assert (out["flag"] != "").sum() <= 3
    assert out.loc[5, "percentile"] > 0.99

    fitted = check_fitted(fit)
    assert {"loo_pit", "pareto_k", "flag"} <= set(fitted.columns) and len(fitted) == len(df)
    # a well-specified fit: leave-one-out percentiles spread over (0, 1), none flagged en masse
    inner = fitted["loo_pit"].between(0.05, 0.95).mean()
    assert 0.75 <= inner <= 1.0 and (fitted["flag"] == "improbable").sum() <= 4

    fit.save(tmp_path / "f.nc")
    new.to_csv(tmp_path / "new.csv", index=False)
    assert (
        main(
            [
                "check",
                str(tmp_path / "f.nc"),
                str(tmp_path / "new.csv"),
                "--out",
                str(tmp_path / "c.csv"),
            ]
        )
        == 0
    )
    c = pd.read_csv(tmp_path / "c.csv", keep_default_na=False)
    assert list(c.loc[c["flag"] != "", "flag"]) == ["above", "above"]
    assert {"percentile", "flag"} <= set(c.columns)
    assert (
        main(
            [
                "risk",
                str(tmp_path / "f.nc"),
                str(tmp_path / "new.csv"),
                "--below",
                "2.1",
                "--out",
                str(tmp_path / "r.json"),
            ]
        )
        == 0
    )
    r = pd.read_json(tmp_path / "r.json")
    assert len(r) == 20 and r["p_below"].between(0, 1).all()
    assert main(["risk", str(tmp_path / "f.nc"), str(tmp_path / "new.csv"), "--below", "-2"]) == 2
    assert "threshold must be > 0" in capsys.readouterr().err
