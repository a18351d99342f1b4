import numpy as np
import pandas as pd
import pytest

from bayes_scaling import ScalingLaw
from bayes_scaling.averaging import compare_laws
from bayes_scaling.sensitivity import exponent_prior_names, prior_sensitivity


@pytest.fixture(scope="module")
def floored():
    """Two curves with a clear irreducible floor: L = 1.5 + 2 (x/1e6)^-0.5."""
    rng = np.random.default_rng(0)
    x = np.geomspace(1e5, 1e9, 14)
    rows = [
        {"g": g, "x": xi, "y": (e + 2 * (xi / 1e6) ** -0.5) * np.exp(0.01 * rng.standard_normal())}
        for g, e in (("a", 1.5), ("b", 1.2))
        for xi in x
    ]
    return pd.DataFrame(rows)


def test_stacking_favours_the_true_form(floored):
    cmp = compare_laws(
        floored,
        "x",
        "y",
        "g",
        laws=("power", "saturating"),
        chains=1,
        warmup=300,
        draws=300,
        model_kwargs={"discrepancy": "none"},
    )
    assert cmp.weights["saturating"] > 0.9
    assert list(cmp.per_curve["preferred"]) == ["saturating", "saturating"]
    assert set(cmp.table.index) == {"power", "saturating"}
    pred = cmp.predict(pd.DataFrame({"g": ["a"], "x": [1e10]}))
    assert {"median", "lower", "upper", "power_median", "saturating_upper", "widening"} <= set(
        pred.columns
    )
    assert pred["lower"].iloc[0] < 1.5 * 1.03 < pred["upper"].iloc[0] * 1.05
    with pytest.raises(ValueError, match="at least two laws"):
        compare_laws(floored, "x", "y", laws=("power",))


def test_prior_sensitivity_shows_when_the_prior_speaks():
    """Four noisy points over 0.11 decades: the exponent is barely identified by the data
    (slope sd ~ 0.04 / 0.25 ~ 0.15), so a 100x extrapolation leans on the exponent prior."""
    x = np.geomspace(1e6, 1.3e6, 4)
    df = pd.DataFrame({"x": x, "y": 3 * (x / 1e6) ** -0.2 * np.exp([0.04, -0.04, 0.02, -0.02])})
    model = ScalingLaw("power", discrepancy="none")
    assert exponent_prior_names(model, df, "x", "y", None) == ["log_alpha"]
    at = pd.DataFrame({"x": [3e8]})
    t = prior_sensitivity(
        model, df, "x", "y", None, at, factors=(0.25, 4.0), chains=1, warmup=300, draws=400
    )
    assert list(t["prior_scale"]) == [1.0, 0.25, 4.0]
    ratio = dict(zip(t["prior_scale"], t["width_ratio"], strict=True))
    assert ratio[1.0] == pytest.approx(1.0)
    # a 4x tighter exponent prior narrows the interval: here the prior speaks ...
    assert ratio[0.25] < 0.9
    # ... while widening the (weakly informative) default changes it little
    assert 0.8 < ratio[4.0] < 1.25
