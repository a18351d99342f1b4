import json

import numpy as np
import pandas as pd
import pytest

from bayes_scaling import predictive_draws


def test_rows_kept_in_order_with_index(fit):
    at = pd.DataFrame(
        {
            "architecture": ["architecture1", "architecture0", "architecture1"],
            "domain": ["domain1", "domain0", "domain1"],
            "x": [1e10, 1e9, 1e9],
            "note": ["a", "b", "c"],
        },
        index=[7, 3, 5],
    )
    pred = fit.predict(at, prob=[0.5, 0.9])
    assert list(pred.index) == [7, 3, 5]
    assert list(pred["note"]) == ["a", "b", "c"]
    for col in (
        "mean",
        "median",
        "lower",
        "upper",
        "lower_50",
        "upper_90",
        "curve_median",
        "curve_lower",
        "curve_upper",
        "curve",
        "kind",
    ):
        assert col in pred.columns
    assert (pred["lower"] == pred["lower_50"]).all()
    assert (pred["lower_90"] < pred["lower_50"]).all()
    assert (pred["curve_lower"] >= pred["lower"]).all()  # noise widens the interval
    # larger scale -> lower predicted loss on the same curve
    assert pred.loc[7, "median"] < pred.loc[5, "median"]


def test_row_prediction_independent_of_other_rows(fit):
    a = pd.DataFrame(
        {"architecture": ["new", "architecture0"], "domain": ["domain1"] * 2, "x": [1e9, 1e9]}
    )
    both = predictive_draws(fit, a, seed=3)
    alone = predictive_draws(fit, a.iloc[[0]], seed=3)
    np.testing.assert_array_equal(both.observed[:, 0], alone.observed[:, 0])
    other_seed = predictive_draws(fit, a.iloc[[0]], seed=4)
    assert not np.array_equal(other_seed.observed[:, 0], alone.observed[:, 0])


@pytest.mark.parametrize(
    "at, kwargs, match",
    [
        (
            pd.DataFrame({"architecture": ["architecture0"], "x": [1e9]}),
            {},
            "group column 'domain' not found",
        ),
        (
            pd.DataFrame({"architecture": ["architecture0"], "domain": ["domain0"], "x": [0.0]}),
            {},
            "scale column 'x' must be > 0",
        ),
        (
            pd.DataFrame({"architecture": ["architecture0"], "domain": ["domain0"], "x": [1e20]}),
            {},
            "decades outside the fitted range.*units",
        ),
        (
            pd.DataFrame({"architecture": ["archtecture0"], "domain": ["domain0"], "x": [1e9]}),
            {"allow_new_levels": False},
            "label 'archtecture0' not seen in training",
        ),
        (
            pd.DataFrame({"architecture": ["architecture0"], "domain": ["domain0"], "x": [1e9]}),
            {"prob": 1.2},
            "prob must be in \\(0, 1\\)",
        ),
    ],
)
def test_prediction_errors(fit, at, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit.predict(at, **kwargs)


def test_draws_available_for_custom_questions(fit):
    at = pd.DataFrame({"architecture": ["architecture0"], "domain": ["domain0"], "x": [1e10]})
    d = predictive_draws(fit, at)
    assert d.observed.shape == d.curve.shape == (600, 1)
    p_below = float((d.observed[:, 0] < 2.0).mean())
    assert 0.0 <= p_below <= 1.0
    json.dumps({"p": p_below})
