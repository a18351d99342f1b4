import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from bayes_scaling import ScalingLaw
from bayes_scaling.cli import main
from bayes_scaling.evaluation.backtest import backtest, score_log_draws, split_mask


def test_scores_match_closed_forms():
    """On N(0, 1) draws: CRPS(y=0) = (sqrt(2) - 1)/sqrt(pi); the kernel density at 0 is the
    N(0, 1 + h^2) density (Silverman bandwidth h), up to ~0.6% sampling error at 1e5 draws."""
    rng = np.random.default_rng(0)
    n = 100_000
    draws = rng.standard_normal((n, 1))
    s = score_log_draws(draws, np.array([0.0]))
    assert s["crps"][0] == pytest.approx((np.sqrt(2) - 1) / np.sqrt(np.pi), abs=0.01)
    h = 1.06 * n**-0.2
    assert s["lpd"][0] == pytest.approx(norm.logpdf(0, scale=np.sqrt(1 + h**2)), abs=0.02)
    assert s["covered_90"][0] == 1.0
    far = score_log_draws(draws, np.array([3.0]))
    assert far["covered_95"][0] == 0.0
    # interval score = width + 20 * miss for the 90% interval; the sample 95% quantile has sd
    # ~0.007 at 1e5 draws, which the factor 21 turns into ~0.14
    assert far["interval_score_90"][0] == pytest.approx(2 * 1.645 + 20 * (3 - 1.645), abs=0.5)


def test_split_mask():
    df = pd.DataFrame({"N": [1, 10, 100], "train": [True, True, False], "t": ["1", "0", "1"]})
    assert list(split_mask(df, ["N"], cutoff=10)) == [True, True, False]
    assert list(split_mask(df, ["N"], split="train")) == [True, True, False]
    assert list(split_mask(df, ["N"], split="t")) == [True, False, True]
    with pytest.raises(ValueError, match="exactly one of cutoff"):
        split_mask(df, ["N"])
    with pytest.raises(ValueError, match="split column 'nope' not found"):
        split_mask(df, ["N"], split="nope")


@pytest.mark.slow  # > 1 min on 2 cores: run with --run-slow
def test_backtest_end_to_end(sim, tmp_path):
    """Three curves of the simulation, trained to 1.5e8, scored 2-7x beyond."""
    one = sim.runs[sim.runs["domain"] == "domain0"].drop(columns=["true_loss", "domain"])
    held = sim.at([3e8, 1e9], seed=5)
    held = held[held["domain"] == "domain0"].drop(columns=["true_loss", "domain"])
    runs = pd.concat([one, held], ignore_index=True)
    reports = backtest(
        runs,
        "x",
        "loss",
        "architecture",
        cutoff=1.5e8,
        model=ScalingLaw("saturating", discrepancy="prior"),
        chains=1,
        warmup=250,
        draws=300,
        n_boot=40,
    )
    assert set(reports) == {"bayes", "least_squares", "no_pooling"}
    for r in reports.values():
        assert r.summary["n"] == len(held) and r.summary["n_missing"] == 0
        assert len(r.points) == len(held)
    assert "diagnostics" in reports["bayes"].summary and "checks" in reports["bayes"].summary
    # the true law, 2-7x out: the Bayesian 90% intervals cover at least 5 of the 6 points
    assert reports["bayes"].summary["coverage_90"] >= 5 / 6
    json.dumps({k: v.to_dict() for k, v in reports.items()})

    runs.to_csv(tmp_path / "runs.csv", index=False)
    out = tmp_path / "report.json"
    assert (
        main(
            [
                "backtest",
                str(tmp_path / "runs.csv"),
                "--x",
                "x",
                "--y",
                "loss",
                "--group",
                "architecture",
                "--cutoff",
                "1.5e8",
                "--law",
                "power",
                "--discrepancy",
                "prior",
                "--chains",
                "1",
                "--warmup",
                "150",
                "--draws",
                "150",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads(out.read_text())
    assert set(report["methods"]) == {"bayes", "least_squares", "no_pooling"}
    assert report["methods"]["bayes"]["summary"]["n"] == len(held)
