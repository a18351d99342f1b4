"""Backtest benchmark over the bundled real splits: Bayesian model vs baselines, same splits.

Splits
------
* Revisiting Neural Scaling Laws, language half, the benchmark's official split (train = 1):
  NMT (5 architectures), LM (5 sizes), BIG-bench (10 tasks), each fitted hierarchically; per-task
  RMSLE of the median set beside the paper's released M4 estimator (mean 0.035 / median 0.023
  over its whole benchmark, which also includes vision tasks).
* Chinchilla runs (Epoch's 240 points): train on C <= 1e21 FLOP, predict the larger budgets.
* Datablations (runs with <= 4 epochs, where repetition is almost as good as fresh data per
  Muennighoff et al.): train on C = 6ND <= 1e20, predict larger.
* Porian et al. IsoFLOP points (RefinedWeb and OWT2 curves, runs within 10% of each budget's
  best loss): train on C <= 1e18, predict up to 2.56e19.

    python benchmarks/bench_backtest.py        (BAYES_SCALING_FAST=1 for a smoke run)
Writes benchmarks/results/bench_backtest.{md,json} and calibration.png.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bayes_scaling.backtest import PROBS, backtest  # noqa: E402

import bayes_scaling as bs  # noqa: E402

FAST = os.environ.get("BAYES_SCALING_FAST", "") not in ("", "0")
SAMPLER = dict(chains=2, warmup=200, draws=200) if FAST else dict(chains=2, warmup=500, draws=500)
RESULTS = Path(__file__).parent / "results"
M4 = {"mean_rmsle": 0.035, "median_rmsle": 0.023}


def splits() -> list[dict]:
    lang = bs.load_dataset("revisiting_lang")
    out = []
    for dom, group in (("NMT", "model"), ("LM", "model"), ("BB", "task")):
        d = lang[lang["domain"] == dom][[group, "seen_examples", "loss", "train"]]
        out.append(
            dict(
                name=f"revisiting_{dom}",
                data=d,
                x="seen_examples",
                y="loss",
                groups=group,
                split="train",
                law="saturating",
            )
        )
    ch = bs.load_dataset("chinchilla")
    ch = ch[~ch["epoch_excluded_top5_loss"]]
    out.append(
        dict(
            name="chinchilla_C<=1e21",
            data=ch,
            x=["N", "D"],
            y="loss",
            groups=None,
            cutoff=1e21,
            cutoff_col="C",
            law="chinchilla",
            likelihood="student_t",
        )
    )
    db = bs.load_dataset("datablations")
    db = db[db["epochs"] <= 4].assign(C=lambda t: 6 * t["N"] * t["D"])
    out.append(
        dict(
            name="datablations_C<=1e20",
            data=db,
            x=["N", "D"],
            y="val_loss",
            groups=None,
            cutoff=1e20,
            cutoff_col="C",
            law="chinchilla",
            likelihood="student_t",
        )
    )
    po = bs.load_dataset("porian_isoflop")
    best = po.groupby(["dataset", "C"])["loss"].transform("min")
    po = po[po["loss"] <= 1.1 * best]
    out.append(
        dict(
            name="porian_C<=1e18",
            data=po,
            x=["N", "D"],
            y="loss",
            groups="dataset",
            cutoff=1e18,
            cutoff_col="C",
            law="chinchilla",
            likelihood="student_t",
        )
    )
    return out


def rmsle_by_task(points: pd.DataFrame, group: str | None) -> pd.Series:
    err = np.log(points["median"]) - np.log(points["_y"])
    key = points[group] if group else pd.Series("all", index=points.index)
    return err.groupby(key).apply(lambda e: float(np.sqrt(np.mean(e**2))))


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    results, lines = (
        {},
        [
            "| split | method | n | cov50 | cov80 | cov90 | cov95 | int. score 90 "
            "| CRPS | median abs log err | mean task RMSLE |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ],
    )
    for sp in splits():
        t = time.perf_counter()
        model = bs.ScalingLaw(sp["law"], likelihood=sp.get("likelihood", "normal"))
        reports = backtest(
            sp["data"],
            sp["x"],
            sp["y"],
            sp["groups"],
            cutoff=sp.get("cutoff"),
            cutoff_col=sp.get("cutoff_col"),
            split=sp.get("split"),
            model=model,
            seed=0,
            n_boot=200,
            **SAMPLER,
        )
        res = {"seconds": time.perf_counter() - t}
        for name, r in reports.items():
            pts = r.points.assign(_y=r.points[sp["y"]])
            ok = pts["median"].notna()
            rm = rmsle_by_task(pts[ok], sp["groups"])
            s = dict(
                r.summary, mean_task_rmsle=float(rm.mean()), median_task_rmsle=float(rm.median())
            )
            res[name] = s
            lines.append(
                f"| {sp['name']} | {name} | {s['n']} | {s['coverage_50']:.2f} | "
                f"{s['coverage_80']:.2f} | {s['coverage_90']:.2f} | {s['coverage_95']:.2f} | "
                f"{s['mean_interval_score_90']:.3f} | {s['mean_crps']:.4f} | "
                f"{s['median_abs_log_error']:.4f} | {s['mean_task_rmsle']:.4f} |"
            )
        results[sp["name"]] = res
        print(lines[-len(reports) :], flush=True)
    lang = [k for k in results if k.startswith("revisiting_")]
    summary = ["", "Revisiting language tasks (official split), per-task RMSLE of the median:"]
    for m in ("bayes", "least_squares", "no_pooling"):
        vals = [results[k][m]["mean_task_rmsle"] for k in lang if m in results[k]]
        summary.append(f"- {m}: mean over domains {np.mean(vals):.4f}")
    summary.append(
        f"- paper's M4 (whole benchmark): mean {M4['mean_rmsle']}, median {M4['median_rmsle']}"
    )
    text = "\n".join(lines + summary)
    print(text)
    (RESULTS / "bench_backtest.md").write_text(text + "\n")
    (RESULTS / "bench_backtest.json").write_text(
        json.dumps(
            {"fast": FAST, "sampler": SAMPLER, "results": results, "m4": M4}, indent=1, default=str
        )
    )
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for m, marker in (("bayes", "o"), ("least_squares", "s"), ("no_pooling", "^")):
        cov = [
            [results[k][m][f"coverage_{100 * p:g}"] for p in PROBS]
            for k in results
            if m in results[k]
        ]
        ax.plot(PROBS, np.nanmean(cov, axis=0), marker=marker, label=m)
    ax.plot([0.4, 1], [0.4, 1], color="0.5", ls=":")
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("empirical coverage (mean over splits)")
    ax.set_title("Calibration of extrapolation intervals", fontsize=10)
    ax.legend(frameon=False)
    fig.savefig(RESULTS / "calibration.png", dpi=110, bbox_inches="tight")


if __name__ == "__main__":
    main()
