"""Benchmark: hierarchical NUTS fit vs least squares + bootstrap on the bundled NMT benchmark.

Both run in the same process on the same data (Revisiting Neural Scaling Laws, NMT, official
split). Reports wall time, ESS per second (NUTS), peak memory growth and held-out accuracy /
coverage, prints a table and writes ``benchmarks/results/bench_fit.json``.

    python benchmarks/bench_fit.py            # full settings (4 chains x 1000 draws)
    BAYES_SCALING_FAST=1 python benchmarks/bench_fit.py
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
from bayes_scaling.baselines import fit_least_squares

import bayes_scaling as bs

FAST = os.environ.get("BAYES_SCALING_FAST", "") not in ("", "0")
OUT = Path(__file__).parent / "results" / "bench_fit.json"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score(pred, truth) -> dict:
    err = np.abs(np.log(pred["median"].to_numpy() / truth))
    inside = (truth >= pred["lower"].to_numpy()) & (truth <= pred["upper"].to_numpy())
    return {
        "median_abs_log_err": float(np.median(err)),
        "coverage90": float(inside.mean()),
        "width90_log": float(np.median(np.log(pred["upper"] / pred["lower"]))),
    }


def main() -> None:
    runs = bs.load_dataset("revisiting_nmt")
    train, held = runs[runs["train"]], runs[~runs["train"]]
    args = dict(x="seen_examples", y="loss", groups="architecture")
    chains, warmup, draws = (2, 300, 300) if FAST else (4, 1000, 1000)
    rows = []

    # least squares + bootstrap baseline
    rss0 = peak_rss_mb()
    t = time.perf_counter()
    ls = fit_least_squares(train, law="saturating", n_boot=200 if FAST else 1000, seed=0, **args)
    t_ls = time.perf_counter() - t
    rows.append(
        {
            "method": "least squares + bootstrap",
            "wall_s": t_ls,
            "ess_per_s": None,
            "peak_rss_growth_mb": peak_rss_mb() - rss0,
            **score(ls.predict(held, 0.9), held["loss"].to_numpy()),
        }
    )

    # hierarchical NUTS (compile included: that is what a user waits for)
    rss0 = peak_rss_mb()
    t = time.perf_counter()
    fit = bs.ScalingLaw("saturating").fit(
        train, chains=chains, warmup=warmup, draws=draws, seed=0, warn=False, **args
    )
    t_fit = time.perf_counter() - t
    diag = fit.diagnostics
    rows.append(
        {
            "method": "hierarchical NUTS (partial pooling)",
            "wall_s": t_fit,
            "ess_per_s": diag.min_ess_bulk / t_fit,
            "peak_rss_growth_mb": peak_rss_mb() - rss0,
            **score(fit.predict(held, 0.9), held["loss"].to_numpy()),
            "divergences": diag.n_divergent,
            "max_r_hat": diag.max_rhat,
            "min_ess_bulk": diag.min_ess_bulk,
        }
    )

    ratio = t_fit / t_ls
    print(
        f"NMT (Revisiting benchmark, official split): {len(train)} train, {len(held)} held out; "
        f"NUTS {chains} chains x {draws} draws (+{warmup} warm-up)"
    )
    print(
        f"{'method':38s} {'wall s':>8s} {'ESS/s':>7s} {'RSS+MB':>7s} {'|log err|':>9s} "
        f"{'cov90':>6s} {'width90':>8s}"
    )
    for r in rows:
        ess = f"{r['ess_per_s']:.1f}" if r["ess_per_s"] else "-"
        print(
            f"{r['method']:38s} {r['wall_s']:8.1f} {ess:>7s} {r['peak_rss_growth_mb']:7.0f} "
            f"{r['median_abs_log_err']:9.3f} {r['coverage90']:6.2f} {r['width90_log']:8.3f}"
        )
    print(f"time ratio NUTS / least-squares bootstrap: {ratio:.2f}")
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(
        json.dumps(
            {
                "benchmark": "bench_fit",
                "fast": FAST,
                "rows": rows,
                "time_ratio_nuts_over_ls": ratio,
                "python": sys.version.split()[0],
                "platform": platform.platform(),
                "bayes_scaling": bs.__version__,
                "cpus": os.cpu_count(),
            },
            indent=1,
        )
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
