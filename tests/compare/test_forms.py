"""Per-curve form uncertainty: law="auto", PSIS-LFO weights, mixtures, compare-laws."""

import numpy as np
import pandas as pd
import pytest

import bayes_scaling.compare.forms as forms
from bayes_scaling import FormFit, compare_laws, fit_least_squares
from bayes_scaling.compare.forms import _assignment, form_weights
from tests.conftest import FAST


def test_auto_is_a_weighted_choice_per_curve(nmt_auto):
    assert isinstance(nmt_auto, FormFit)
    assert nmt_auto.laws == ["power", "saturating", "m4"]
    np.testing.assert_allclose(nmt_auto.weights.sum(axis=1), 1.0)
    assert nmt_auto.global_weights.sum() == pytest.approx(1.0)
    assert set(nmt_auto.table.columns) >= {"curve", "law", "elpd_lfo", "khat", "weight"}
    # NMT curves flatten: the pure power law cannot follow their last points. It gets the least
    # weight; the Dirichlet(2) prior of the stacking keeps a law that loses on all 5 curves near
    # 1 / (5 + 3) instead of 0 (no argmax on a handful of curves)
    w = nmt_auto.global_weights
    assert w[0] == w.min() and w[0] < 0.2


def test_auto_beats_least_squares_on_the_official_nmt_split(nmt_auto, nmt):
    """The benchmark's held-out NMT runs (2x beyond the data): the auto fit's medians are closer
    than per-curve least squares with the saturating law (the usual peer), and its 90%
    intervals cover at least 4 of the 5 runs."""
    held = nmt[~nmt["train"]]
    pred = nmt_auto.predict(held[["architecture", "seen_examples"]])
    err = np.abs(np.log(pred["median"].to_numpy() / held["loss"].to_numpy()))
    ls = fit_least_squares(nmt[nmt["train"]], "seen_examples", "loss", "architecture",
                           law="saturating", n_boot=20)
    ls_err = np.abs(np.log(ls.point(held) / held["loss"].to_numpy()))
    assert np.median(err) < np.median(ls_err)
    inside = (held["loss"].to_numpy() >= pred["lower"]) & (held["loss"].to_numpy() <= pred[
        "upper"])
    assert inside.sum() >= 4


def test_mixture_draws_follow_the_weights():
    a = _assignment(np.array([0.25, 0.75]), 1000, 0, "curve")
    assert (a == 0).sum() == 250 and (a == 1).sum() == 750
    b = _assignment(np.array([0.25, 0.75]), 1000, 0, "curve")
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _assignment(np.array([0.25, 0.75]), 1000, 0, "other"))


def test_weights_shrink_to_the_global_choice():
    elpd = np.array([[0.0, 5.0], [0.0, 4.0], [1.0, 0.0]])
    glob, per = form_weights(elpd, shrink=0.5)
    assert glob[1] > glob[0]
    assert per[0, 1] > per[2, 1] and per[2, 0] > per[0, 0]
    _, own = form_weights(elpd, shrink=1.0)
    assert own[2, 0] > 0.6


def test_learning_curves_weigh_laws_by_the_refitted_backtest(curves):
    """Rows that are checkpoints (``run=``): pointwise densities are one-step-ahead forecasts of
    the run residual, so laws are weighed by the in-study backtest (refitted below the cut, the
    rows above predicted). The curves have a real floor (saturating truth, 2 decades of tokens):
    the pure power law misses their later checkpoints by more than the saturating law and gets
    less weight. The held-out rows reach 0.6 decades past the cut and the drift absorbs part of
    the miss (the densities differ by ~0.5 nats per curve), but it loses on every scored curve,
    and plain stacking (no Dirichlet(2) prior for these exact scores) gives it no weight."""
    fit = compare_laws(curves, "tokens", "loss", "model", laws=["power", "saturating"],
                       run="model", seed=0, warn=False, **FAST)
    assert fit.meta["method"] == "refit-lfo"
    assert fit.table["khat"].isna().all()
    assert fit.global_weights[1] > 0.9
    # every curve with rows above the cut has a score; per-curve weights follow them
    t = fit.table.pivot(index="curve", columns="law", values="elpd_lfo").dropna()
    assert len(t) >= 2 and (t["saturating"] > t["power"]).all()
    # learning curves: the drift's spread is updated by the backtest, its bend is not learned
    for law in fit.components.values():
        disc = law.discrepancy
        assert np.all(disc.bias == 0) and "updated by a backtest" in disc.summary()
        assert "bend b fixed at 0 for learning curves" in disc.summary()


def test_a_law_without_a_score_does_not_win_by_default():
    """Laws 0 and 1 were scored on every curve (the first loses by 3 nats, both negative); law 2
    was scored on one curve only (NaN elsewhere). Where unscored it gets the curve's mean score,
    so it ranks between them and never above the best scored law; a curve nobody could score
    falls back to the global weights."""
    elpd = np.array([[-8.0, -5.0, np.nan]] * 4 + [[-7.0, -6.0, -6.5],
                                                   [np.nan, np.nan, np.nan]])
    glob, per = form_weights(elpd, shrink=0.5, concentration=1.0)
    assert glob[1] > 0.9 and glob[2] < 0.1
    assert np.all(per[:4, 1] > per[:4, 2]) and np.all(per[:4, 2] > per[:4, 0])
    assert per[5, 1] == per[5].max()


def test_a_law_without_a_backtest_leaves_the_others_scored_by_theirs():
    """Learning curves: with 10 checkpoints M4's in-study backtest cannot run (too few rows above
    the cut for its parameters), the other laws' can. The laws with a backtest are scored by it
    and M4 is unscored (NaN, so it takes the curve's mean score), instead of every law falling
    back to PSIS-LFO on one-step-ahead checkpoint densities."""
    from types import SimpleNamespace

    def stand_in(unit_elpd):
        update = {"unit_elpd": unit_elpd} if unit_elpd is not None else {}
        return SimpleNamespace(run_col="run", curves=[("a",), ("b",)], run_curve=[0, 1],
                               discrepancy=SimpleNamespace(info={"update": update}))

    fits = {"power": stand_in([(0, -4.0), (1, -6.0)]), "saturating": stand_in([(0, -1.0)]),
            "m4": stand_in(None)}
    method, elpd, khat = forms._elpd(fits)
    assert method == "refit-lfo" and np.isnan(khat).all()
    np.testing.assert_array_equal(elpd[:, :2], [[-4.0, -1.0], [-6.0, np.nan]])
    assert np.isnan(elpd[:, 2]).all()


def test_a_law_scored_nowhere_keeps_its_prior_share():
    """No evidence either way: M4 keeps 1 / 3 on every curve, globally and per curve, and the
    scored laws share the other 2 / 3 by their scores (saturating wins on every curve)."""
    elpd = np.array([[-4.0, -1.0, np.nan], [-6.0, -2.0, np.nan], [-5.0, np.nan, np.nan]])
    glob, per = form_weights(elpd, concentration=1.0)
    assert glob[2] == pytest.approx(1 / 3) and np.allclose(per[:, 2], 1 / 3)
    assert glob.sum() == pytest.approx(1.0) and np.allclose(per.sum(axis=1), 1.0)
    assert glob[1] > 0.6 and per[0, 1] > per[0, 0] and per[1, 1] > per[1, 0]


def test_plain_stacking_drops_a_law_that_loses_everywhere():
    """Dirichlet(2) (PSIS-LFO scores) keeps a law that loses on all 4 curves by 3 nats near
    1 / (4 + 2); plain stacking (refitted scores of learning curves) sends it to 0."""
    elpd = np.array([[0.0, 3.0]] * 4)
    kept, _ = form_weights(elpd, concentration=2.0)
    dropped, per = form_weights(elpd, concentration=1.0)
    assert 0.05 < kept[0] < 0.25
    assert dropped[0] < 1e-3 and np.all(per[:, 0] < 1e-3)


def test_compare_laws_prefers_the_true_form(sim):
    """Curves with a real floor: the saturating law extrapolates their last third better than
    the pure power law, so it gets most of the weight."""
    one = sim.runs[sim.runs["domain"] == "domain0"]
    result = compare_laws(one, "x", "loss", "architecture", laws=["power", "saturating"],
                          seed=0, **FAST)
    w = dict(zip(result.laws, result.global_weights, strict=True))
    assert w["saturating"] > 0.7
    at = pd.DataFrame({"architecture": ["architecture0"], "x": [1e9]})
    table = result.law_predictions(at)
    assert {"power_median", "saturating_median", "median"} <= set(table.columns)
    with pytest.raises(ValueError, match="compare at least two laws"):
        compare_laws(one, "x", "loss", laws=["power"])
