"""Predictions: row order, columns, independence of rows, seeds, drift and its distance."""

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling import predictive_draws
from bayes_scaling.intervals import central_interval, check_probs, summarise
from bayes_scaling.predict import parameter_draws


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
    for col in ("mean", "median", "lower", "upper", "lower_50", "upper_90", "curve_median",
                "curve_lower", "curve_upper", "curve", "kind", "extrapolation_decades",
                "mean_note"):
        assert col in pred.columns
    assert (pred["lower"] == pred["lower_50"]).all()
    assert (pred["lower_90"] < pred["lower_50"]).all()
    # noise and drift widen the interval (the drift's bend may also shift it)
    assert ((pred["upper"] - pred["lower"]) >= (pred["curve_upper"] - pred["curve_lower"])).all()
    assert pred.loc[7, "median"] < pred.loc[5, "median"]


def test_row_prediction_independent_of_other_rows(fit):
    a = pd.DataFrame(
        {"architecture": ["new", "architecture0", "architecture1"],
         "domain": ["domain1"] * 3, "x": [1e9, 1e9, 2e9]}
    )
    with pytest.warns(bs.NewLevelWarning, match="architecture=new"):
        both = predictive_draws(fit, a, seed=3)
    with pytest.warns(bs.NewLevelWarning, match="architecture=new"):
        alone = predictive_draws(fit, a.iloc[[0]], seed=3)
    np.testing.assert_array_equal(both.observed[:, 0], alone.observed[:, 0])
    second = predictive_draws(fit, a.iloc[[2, 1]], seed=3)
    np.testing.assert_array_equal(both.observed[:, 1], second.observed[:, 1])
    again = predictive_draws(fit, a.iloc[[1]], seed=3)
    np.testing.assert_array_equal(again.observed[:, 0], both.observed[:, 1])
    other = predictive_draws(fit, a.iloc[[1]], seed=4)
    assert not np.array_equal(other.observed[:, 0], both.observed[:, 1])


def test_drift_grows_with_distance_and_is_zero_inside(fit):
    x = np.array([1e7, 1e8, 1e9, 1e10, 1e11])
    at = pd.DataFrame({"architecture": "architecture0", "domain": "domain0", "x": x})
    d = predictive_draws(fit, at, seed=0)
    np.testing.assert_allclose(d.decades, np.maximum(np.log10(x / 1e8), 0), atol=1e-9)
    np.testing.assert_array_equal(d.expected[:, :2], d.curve[:, :2])
    spread = np.log(d.expected / d.curve).std(axis=0)
    assert spread[0] == 0 and np.all(np.diff(spread[1:]) > 0)


def test_compute_extrapolation_counts_for_two_inputs():
    """Inside each input's range, a 3x larger product (compute) is 0.48 decades out."""
    from bayes_scaling.drift.distance import distance_table, extrapolation_distance

    train = np.log10(np.array([[1e8, 1e10], [1e9, 1e9], [1e7, 1e11]]))
    table = distance_table(train, np.zeros(3, dtype=int), 1)
    row = np.log10(np.array([[3e8, 1e11]]))  # N and D each inside; N*D 3x the max
    dec, back = extrapolation_distance(table, row, np.array([0]))
    assert dec[0] == pytest.approx(np.log10(3e19 / 1e18), abs=1e-12)
    np.testing.assert_allclose(back[0], [-dec[0] / 2, -dec[0] / 2])
    inside = np.log10(np.array([[1e8, 1e9]]))
    assert extrapolation_distance(table, inside, np.array([0]))[0][0] == 0.0
    below = np.log10(np.array([[1e6, 1e9]]))  # smaller model than any
    assert extrapolation_distance(table, below, np.array([0]))[0][0] == pytest.approx(1.0)


def test_units_mismatch_and_prob_errors(fit):
    at = pd.DataFrame({"architecture": ["architecture0"], "domain": ["domain0"], "x": [1e20]})
    with pytest.raises(ValueError, match="decades outside the fitted range"):
        fit.predict(at)
    with pytest.raises(ValueError, match="probability strictly between 0 and 1"):
        check_probs(1.5)
    with pytest.raises(ValueError, match="probability strictly between 0 and 1"):
        check_probs(0)
    clash = pd.DataFrame({"architecture": ["architecture0"], "domain": ["domain0"],
                          "x": [1e9], "median": [1.0]})
    with pytest.raises(ValueError, match="already has column\\(s\\) \\['median'\\]"):
        fit.predict(clash)


def test_central_interval_and_summaries():
    d = np.random.default_rng(0).standard_normal((20000, 2))
    lo, med, hi = central_interval(d, 0.9)
    np.testing.assert_allclose(lo, -1.645, atol=0.05)
    np.testing.assert_allclose(hi, 1.645, atol=0.05)
    s = summarise(d, [0.9, 0.5])
    assert {"mean", "median", "lower_90", "upper_50"} <= set(s)


@pytest.mark.parametrize("likelihood", ["student_t", "huber"])
def test_robust_likelihoods_predict_one_draw_per_row(power_runs, likelihood):
    """Robust likelihoods give one noise draw per row (regression: Student-t broadcast its
    per-row degrees of freedom into an extra axis) and their fit checks run."""
    fit = bs.ScalingLaw("power", likelihood=likelihood, drift_update=False).fit(
        power_runs, x="N", y="loss", groups="arch", chains=1, warmup=100, draws=100, seed=0,
        warn=False)
    d = bs.predictive_draws(fit, power_runs.head(7))
    assert d.observed.shape == d.curve.shape == (100, 7)
    assert len(fit.check(warn=False).fit.table) == len(power_runs)


def test_predict_summarises_blocks_as_one_request(fit, monkeypatch):
    """predict() summarises a block of rows at a time (bounded memory); with blocks of 64 rows a
    200-row request gives exactly the numbers of one summary of all rows' draws, in order."""
    import sys

    pred_mod = sys.modules["bayes_scaling.predict"]
    at = pd.DataFrame({"architecture": ["architecture0", "architecture1"] * 100,
                       "domain": ["domain0"] * 200, "x": np.geomspace(1e8, 1e11, 200)})
    monkeypatch.setattr(pred_mod, "_BLOCK_VALUES", 64 * fit.n_draws)
    assert pred_mod._summary_rows(fit) == 64
    blocks = fit.predict(at, prob=[0.9, 0.5], seed=3)
    d = predictive_draws(fit, at, seed=3, noise="curve")
    whole = {**summarise(d.observed, [0.9, 0.5]), **summarise(d.curve, [0.9, 0.5], "curve_")}
    for name, col in whole.items():
        np.testing.assert_array_equal(blocks[name].to_numpy(), col, err_msg=name)


def test_quantiles_by_sorting_match_numpy():
    """The sort-based quantiles behind every interval equal np.quantile (linear), NaN lanes
    included, along any axis, and leave the caller's array untouched."""
    from bayes_scaling.intervals import quantiles

    rng = np.random.default_rng(1)
    for shape, axis in [((999,), 0), ((1000, 37), 0), ((5, 400, 3), 1), ((1, 5), 0)]:
        a = rng.standard_t(1.5, shape)
        a0 = a.copy()
        for q in ([0.05, 0.5, 0.95], [0.0, 1.0, 0.25]):
            np.testing.assert_array_equal(quantiles(a, q, axis), np.quantile(a, q, axis=axis))
        np.testing.assert_array_equal(a, a0)
    a = rng.normal(size=(100, 3))
    a[3, 1], a[5, 2] = np.nan, np.inf
    q = quantiles(a, [0.05, 0.5, 1.0])
    assert np.isnan(q[:, 1]).all() and q[2, 2] == np.inf  # numpy: NaN from inf - inf
    np.testing.assert_array_equal(q[:2, [0, 2]], np.quantile(a[:, [0, 2]], [0.05, 0.5], axis=0))
    assert q[2, 0] == a[:, 0].max()


def test_noise_per_row_or_shared_along_a_curve(fit):
    """noise='row' draws each row's noise independently (the joint of separate runs);
    noise='curve' shares the standard draw along a curve (common random numbers); a row's own
    distribution is the same either way (two-sample KS on 600 draws)."""
    from scipy.stats import ks_2samp

    at = pd.DataFrame({"architecture": "architecture0", "domain": "domain0",
                       "x": [1e7, 3e7, 1e8]})
    own = predictive_draws(fit, at, seed=2)
    shared = predictive_draws(fit, at, seed=2, noise="curve")
    eps_own = np.log(own.observed / own.expected)
    eps_shared = np.log(shared.observed / shared.expected)
    assert abs(np.corrcoef(eps_own[:, 0], eps_own[:, 2])[0, 1]) < 0.2
    assert np.corrcoef(eps_shared[:, 0], eps_shared[:, 2])[0, 1] > 0.99
    for j in range(3):
        assert ks_2samp(own.observed[:, j], shared.observed[:, j]).pvalue > 1e-3
    with pytest.raises(ValueError, match="noise must be one of"):
        predictive_draws(fit, at, noise="run")


def test_parameter_draws_are_the_callers_arrays(fit):
    """The prediction program's output is row-major; the draws handed out are (draws, rows)
    views of a copy, writable like any numpy array (not JAX's read-only buffers)."""
    at = pd.DataFrame({"architecture": "architecture0", "domain": "domain0", "x": [1e8, 1e9]})
    sites, _ = parameter_draws(fit, at, seed=0)
    for name in ("sigma_row", *(f"theta_{p}" for p in fit.law.params)):
        a = sites[name]
        assert a.shape == (fit.n_draws, 2) and a.flags.writeable
        assert a.T.flags.c_contiguous  # a row's draws are contiguous
