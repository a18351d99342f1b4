"""Compute-optimal allocation on a simulated N x D grid with known Chinchilla-form truth."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bayes_scaling import ScalingLaw, curve_table  # noqa: E402
from bayes_scaling.cli import main  # noqa: E402
from bayes_scaling.decisions.allocation import optimal_allocation, parse_budgets  # noqa: E402
from bayes_scaling.plots import plot_allocation, plot_frontier  # noqa: E402

TRUTH = {"E": 1.8, "A": 480.0, "B": 2000.0, "alpha": 0.34, "beta": 0.37}
E_BY_DATASET = {"web": 1.8, "code": 1.5}
BUDGET = 1e23

# the module fit is shared: keep these tests on one xdist worker
pytestmark = pytest.mark.xdist_group("optimal_fit")


def closed_form(p, c, k=6.0):
    """Hoffmann et al. 2022 eq. 4: N_opt = G (C/k)^(beta/(alpha+beta))."""
    a, b = p["alpha"], p["beta"]
    g = (a * p["A"] / (b * p["B"])) ** (1 / (a + b))
    n = g * (c / k) ** (b / (a + b))
    return n, c / k / n


@pytest.fixture(scope="module")
def grid_fit():
    rng = np.random.default_rng(0)
    rows = []
    for ds, e in E_BY_DATASET.items():
        for n in np.geomspace(2e7, 2e9, 5):
            for tpp in (2, 5, 15, 40, 120, 300):
                d = n * tpp
                loss = e + TRUTH["A"] * n ** -TRUTH["alpha"] + TRUTH["B"] * d ** -TRUTH["beta"]
                rows.append(
                    {
                        "dataset": ds,
                        "N": n,
                        "D": d,
                        "loss": loss * np.exp(0.01 * rng.standard_normal()),
                    }
                )
    runs = pd.DataFrame(rows)
    fit = ScalingLaw("chinchilla", discrepancy="none").fit(
        runs,
        x=["N", "D"],
        y="loss",
        groups="dataset",
        chains=2,
        warmup=300,
        draws=300,
        seed=0,
        warn=False,
    )
    return runs, fit


def test_parameters_recovered(grid_fit):
    """10 quantities at 95%: P(8 or more covered) = 0.999 when calibrated."""
    _, fit = grid_fit
    t = curve_table(fit, 0.95).set_index(["dataset", "param"])
    covered = []
    for ds, e in E_BY_DATASET.items():
        truth = dict(TRUTH, E=e)
        for name, value in truth.items():
            lo, hi = t.loc[(ds, name), ["lower", "upper"]]
            covered.append(lo <= value <= hi)
    assert sum(covered) >= 8, covered


def test_allocation_recovers_truth(grid_fit):
    _, fit = grid_fit
    res = optimal_allocation(fit, [BUDGET, 1e25], prob=0.95)
    n_true, d_true = closed_form(TRUTH, BUDGET)
    t = res.table[res.table["compute"] == BUDGET].set_index("dataset")
    for ds in E_BY_DATASET:
        row = t.loc[ds]
        assert row["N_opt_lower"] <= n_true <= row["N_opt_upper"]
        assert row["D_opt_lower"] <= d_true <= row["D_opt_upper"]
        assert row["tokens_per_param_lower"] <= d_true / n_true <= row["tokens_per_param_upper"]
        loss_true = (
            E_BY_DATASET[ds]
            + TRUTH["A"] * n_true ** -TRUTH["alpha"]
            + TRUTH["B"] * (d_true ** -TRUTH["beta"])
        )
        assert row["loss_lower"] <= loss_true <= row["loss_upper"]
    a_true = TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"])
    for _, ex in res.exponents.iterrows():
        assert ex["a_lower"] <= a_true <= ex["a_upper"]
        assert ex["b_lower"] <= 1 - a_true <= ex["b_upper"]


def test_numeric_optimum_matches_closed_form_per_draw(grid_fit):
    """The grid + parabola minimiser agrees with eq. 4 of Hoffmann et al. on every draw."""
    _, fit = grid_fit
    res = optimal_allocation(fit, [BUDGET])
    nat = {p: fit.draws(p) for p in fit.law.params}  # user units, (draws, curves)
    n_cf, _ = closed_form(nat, BUDGET)
    np.testing.assert_allclose(res.draws["N_opt"][:, :, 0], n_cf, rtol=2e-3)


def test_new_level_is_wider(grid_fit):
    _, fit = grid_fit
    with pytest.warns(UserWarning, match="edge of the searched range|predicted"):
        res = optimal_allocation(
            fit, [BUDGET], groups=pd.DataFrame({"dataset": ["web", "books"]})
        )
    t = res.table.set_index("dataset")
    assert list(t["kind"]) == ["fitted curve", "new level"]
    width = np.log(t["loss_upper"] / t["loss_lower"])
    assert width["books"] > 3 * width["web"]


@pytest.mark.parametrize(
    "budgets, match",
    [
        (0, "finite and > 0"),
        ([-1e20, 1e21], "finite and > 0"),
        ("1e21,abc", "numbers like"),
        ([], "at least one budget"),
        (["x"], "must be numbers"),
    ],
)
def test_bad_budgets(budgets, match):
    with pytest.raises(ValueError, match=match):
        parse_budgets(budgets)


def test_one_input_fit_is_rejected(fit):
    with pytest.raises(ValueError, match="needs a law over \\(parameters, tokens\\)"):
        optimal_allocation(fit, 1e21)


def test_loss_reached_carries_the_drift(grid_fit):
    """With the drift prior, the loss at a budget 100x beyond the data is wider than the law's
    own (parameter-only) interval, and the distance counts compute, not each input alone."""
    runs, fit = grid_fit
    drift_fit = fit.with_drift(*_prior_draws(fit))
    c_max = float((6 * runs["N"] * runs["D"]).max())
    res = optimal_allocation(drift_fit, [c_max * 100], prob=0.9)
    row = res.table.iloc[0]
    assert row["extrapolation_decades"] == pytest.approx(2.0, abs=0.05)
    width = np.log(row["loss_upper"] / row["loss_lower"])
    width_curve = np.log(row["loss_curve_upper"] / row["loss_curve_lower"])
    assert width > 3 * width_curve


def _prior_draws(fit):
    from bayes_scaling.drift.prior import drift_population, load_drift_prior

    tau, bias, info = drift_population(load_drift_prior(), fit.law, "compute").draws(
        fit.n_draws, 0
    )
    return tau, bias, info


def test_plots(grid_fit):
    _, fit = grid_fit
    ax = plot_frontier(fit, n_grid=8)
    assert len(ax.lines) == 2 + 1  # one frontier per dataset + extrapolation marker
    plt.close(ax.figure)
    ax = plot_allocation(fit, n_grid=8)
    assert len(ax.lines) == 4 + 1 and "N_opt" in ax.get_title()
    plt.close(ax.figure)


def test_cli_fit_with_derived_tokens_and_optimal(grid_fit, tmp_path, capsys):
    runs, _ = grid_fit
    runs.assign(C=6 * runs["N"] * runs["D"]).drop(columns="D").to_csv(
        tmp_path / "r.csv", index=False
    )
    assert (
        main(
            [
                "fit",
                str(tmp_path / "r.csv"),
                "--x",
                "N",
                "--x",
                "D",
                "--compute-col",
                "C",
                "--y",
                "loss",
                "--group",
                "dataset",
                "--law",
                "chinchilla",
                "--no-drift-update",
                "--chains",
                "1",
                "--warmup",
                "200",
                "--draws",
                "200",
                "--out",
                str(tmp_path / "f.nc"),
            ]
        )
        == 0
    )
    assert "derived 'D' = 'C' / (6 * 'N')" in capsys.readouterr().err
    assert (
        main(
            [
                "optimal",
                str(tmp_path / "f.nc"),
                "--compute",
                "1e21,1e22,1e23",
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 0
    )
    out = pd.read_csv(tmp_path / "o.csv")
    assert len(out) == 6 and list(out.columns[:2]) == ["dataset", "curve"]
    for q in ("N_opt", "D_opt", "tokens_per_param", "loss"):
        for s in ("median", "lower", "upper"):
            assert f"{q}_{s}" in out.columns
    assert (out["N_opt_lower"] < out["N_opt_median"]).all()
    assert main(["optimal", str(tmp_path / "f.nc"), "--compute", "0"]) == 2
    assert "compute budgets must be finite and > 0" in capsys.readouterr().err
