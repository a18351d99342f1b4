"""Benchmark: two-input laws against published numbers (issue: compute-optimal allocation).

1. Chinchilla runs (Epoch's digitisation, the 240 points Epoch retains): posterior of E, A, B,
   alpha, beta under three likelihoods beside Hoffmann et al. 2022 and Epoch's replication, and
   tokens per parameter at Chinchilla's budget (5.76e23 FLOP).
2. Gadre et al. 2024 over-training grid: fit the small runs (N <= 4.1e8, all multipliers, three
   corpora partially pooled), predict the 1.4B over-trained runs and the 6.9B runs; coverage of
   90% intervals and relative error of the median, beside least squares (per corpus).

    python benchmarks/bench_chinchilla.py          (BAYES_SCALING_FAST=1 for a smoke run)
Writes benchmarks/results/bench_chinchilla.{json,md}.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bayes_scaling.baselines import fit_least_squares
from bayes_scaling.optimal import optimal_allocation

import bayes_scaling as bs

FAST = os.environ.get("BAYES_SCALING_FAST", "") not in ("", "0")
SAMPLER = dict(chains=2, warmup=300, draws=300) if FAST else dict(chains=4, warmup=1000, draws=1000)
RESULTS = Path(__file__).parent / "results"
PUBLISHED = {
    "Hoffmann et al. 2022": {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28},
    "Epoch (Besiroglu et al. 2024)": {
        "E": 1.82,
        "A": 482.0,
        "B": 2085.0,
        "alpha": 0.348,
        "beta": 0.366,
    },
}
EPOCH_SE = {"E": 0.026, "A": 125.0, "B": 1293.0, "alpha": 0.015, "beta": 0.021}
CHINCHILLA_BUDGET = 5.76e23


def chinchilla() -> tuple[list[dict], list[str]]:
    runs = bs.load_dataset("chinchilla")
    runs = runs[~runs["epoch_excluded_top5_loss"]]
    rows, lines = [], []
    for lik in ("normal", "student_t", "huber"):
        t = time.perf_counter()
        fit = bs.ScalingLaw("chinchilla", likelihood=lik).fit(
            runs, x=["N", "D"], y="loss", seed=0, warn=False, **SAMPLER
        )
        wall = time.perf_counter() - t
        s = fit.summary(0.9).set_index("param")
        opt = optimal_allocation(fit, CHINCHILLA_BUDGET).table.iloc[0]
        row = {
            "likelihood": lik,
            "wall_s": wall,
            "divergences": fit.diagnostics.n_divergent,
            "max_r_hat": fit.diagnostics.max_rhat,
        }
        for p in ("E", "A", "B", "alpha", "beta"):
            row[p] = [float(s.loc[p, k]) for k in ("median", "lower", "upper")]
        row["tokens_per_param"] = [
            float(opt[f"tokens_per_param_{k}"]) for k in ("median", "lower", "upper")
        ]
        rows.append(row)
    lines.append(f"### Chinchilla (Epoch's 240 points), 90% intervals, {SAMPLER}\n")
    lines.append("| fit | E | A | B | alpha | beta | tokens/param at 5.76e23 |")
    lines.append("|---|---|---|---|---|---|---|")
    for name, p in PUBLISHED.items():
        lines.append(
            f"| {name} | "
            + " | ".join(f"{p[k]:g}" for k in ("E", "A", "B", "alpha", "beta"))
            + " | ~20 |"
        )
    lines.append(
        "| Epoch bootstrap SE | " + " | ".join(f"{EPOCH_SE[k]:g}" for k in EPOCH_SE) + " | |"
    )
    for r in rows:
        cells = [
            f"{r[k][0]:.4g} [{r[k][1]:.4g}, {r[k][2]:.4g}]"
            for k in ("E", "A", "B", "alpha", "beta", "tokens_per_param")
        ]
        lines.append(f"| bayes_scaling, {r['likelihood']} | " + " | ".join(cells) + " |")
    return rows, lines


def _gadre_variant(name: str, small: pd.DataFrame, big: pd.DataFrame) -> tuple[dict, list[str]]:
    fit = bs.ScalingLaw("chinchilla").fit(
        small, x=["N", "D"], y="loss_c4_val", groups="dataset", seed=0, warn=False, **SAMPLER
    )
    pred = fit.predict(big, prob=0.9)
    ls = fit_least_squares(
        small,
        ["N", "D"],
        "loss_c4_val",
        "dataset",
        law="chinchilla",
        n_boot=100 if FAST else 500,
        seed=0,
    ).predict(big, prob=0.9)
    lines = [
        f"\n#### {name}: {len(small)} runs fitted; {fit.discrepancy.summary()}\n",
        "| run | truth | bayes median [90%] | err | LS+bootstrap median [90%] | err |",
        "|---|---|---|---|---|---|",
    ]
    recs = []
    for i, r in big.reset_index(drop=True).iterrows():
        p, q = pred.iloc[i], ls.iloc[i]
        truth = float(r["loss_c4_val"])
        recs.append(
            {
                "dataset": r["dataset"],
                "N": r["N"],
                "M": r["M"],
                "truth": truth,
                "bayes": [p["median"], p["lower"], p["upper"]],
                "ls": [q["median"], q["lower"], q["upper"]],
            }
        )
        cells = [
            f"{v['median']:.3f} [{v['lower']:.3f}, {v['upper']:.3f}] | "
            f"{100 * (v['median'] / truth - 1):+.1f}%"
            for v in (p, q)
        ]
        lines.append(
            f"| {r['dataset']} N={r['N']:.2g} M={r['M']:g} | {truth:.3f} | "
            + " | ".join(cells)
            + " |"
        )
    out = {
        "runs": recs,
        "diagnostics": str(fit.diagnostics).splitlines()[0],
        "discrepancy": fit.discrepancy.summary(),
    }
    for key in ("bayes", "ls"):
        cov = np.mean([x[key][1] <= x["truth"] <= x[key][2] for x in recs])
        err = np.mean([abs(x[key][0] / x["truth"] - 1) for x in recs])
        out[key] = {"coverage90": float(cov), "mean_abs_rel_err": float(err)}
        lines.append(f"\n{key}: 90% coverage {cov:.2f}, mean |relative error| {100 * err:.2f}%")
    return out, lines


def gadre() -> tuple[dict, list[str]]:
    runs = bs.load_dataset("gadre_overtraining")
    small, big = runs[runs["N"] < 1e9], runs[runs["N"] > 1e9]
    lines = [
        f"\n### Gadre et al. over-training: predict {len(big)} runs at 1.4B and 6.9B "
        "(C4 val loss) from runs with N <= 4.1e8; 90% intervals"
    ]
    out = {}
    for name, fit_runs in (
        ("all small runs", small),
        ("without the 11M model", small[small["N"] > 5e7]),
    ):
        out[name], more = _gadre_variant(name, fit_runs, big)
        lines += more
    return out, lines


def main() -> None:
    ch_rows, ch_lines = chinchilla()
    ga, ga_lines = gadre()
    text = "\n".join(ch_lines + ga_lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_chinchilla.md").write_text(text + "\n")
    (RESULTS / "bench_chinchilla.json").write_text(
        json.dumps(
            {
                "fast": FAST,
                "sampler": SAMPLER,
                "chinchilla": ch_rows,
                "published": PUBLISHED,
                "epoch_se": EPOCH_SE,
                "gadre": ga,
                "bayes_scaling": bs.__version__,
            },
            indent=1,
            default=float,
        )
    )


if __name__ == "__main__":
    main()
