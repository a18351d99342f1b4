"""Derive the three comparison datasets bundled in ``bayes_scaling/datasets`` from ``shared/data``.

Run from the repository root: ``python benchmarks/data_prep/make_comparison_sets.py [SHARED]``
(``SHARED`` defaults to ``../shared/data``). The selections are documented in
``bayes_scaling/datasets/SOURCES.md``; this script is the exact recipe.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[2] / "bayes_scaling" / "datasets"


def clip_mammut(shared: Path) -> pd.DataFrame:
    """Best run per (family, vision tower, samples seen), then each family's compute frontier."""
    d = pd.read_csv(shared / "laion_clip_vs_mammut" / "clip_mammut_runs_tidy.csv")
    d["error"] = 1.0 - d["miou"]
    best = d.loc[d.groupby(["arch_family", "model_simple", "samples_seen"])["error"].idxmin()]
    rows = []
    for _, g in best.groupby("arch_family", sort=True):
        g = g.sort_values(["total_gflops", "error"], kind="stable")
        run_min = np.minimum.accumulate(g["error"].to_numpy())
        keep = np.r_[True, g["error"].to_numpy()[1:] < run_min[:-1]]
        rows.append(g[keep])
    fr = pd.concat(rows, ignore_index=True)
    return pd.DataFrame(
        {
            "architecture": fr["arch_family"],
            "vision_tower": fr["model_simple"],
            "samples_seen": fr["samples_seen"].astype(float),
            "gflops": fr["total_gflops"].astype(float),
            "miou": fr["miou"].round(6),
            "error": fr["error"].round(6),
        }
    )


def openclip_imagenet(shared: Path) -> pd.DataFrame:
    """Final LAION models, ImageNet-1k zero-shot top-1 error."""
    d = pd.read_csv(shared / "openclip_cherti" / "zeroshot_results.csv")
    d = d[(d["downstream_dataset"] == "imagenet1k") & (d["upstream_dataset"] != "CLIP-WIT")]
    d = d.sort_values(["arch", "upstream_dataset", "samples_seen"], kind="stable")
    return pd.DataFrame(
        {
            "architecture": d["arch"],
            "data": d["upstream_dataset"],
            "samples_seen": d["samples_seen"].astype(float),
            "gmacs": d["gmacs_total"].astype(float),
            "error": (1.0 - d["acc1"]).round(6),
        }
    ).reset_index(drop=True)


def _steplaw(shared: Path) -> pd.DataFrame:
    """Both Step Law files, dense then MoE, with family and active/total parameter columns."""
    dense = pd.read_csv(shared / "steplaw_lr_bs" / "dense_lr_bs_loss.csv")
    moe = pd.read_csv(shared / "steplaw_lr_bs" / "moe_lr_bs_loss.csv")
    dense = dense.assign(family="dense", N_active=dense["N"], N_total=dense["N"])
    moe = moe.assign(family="moe", N_active=moe["Na"], N_total=moe["N"])
    return pd.concat([dense, moe], ignore_index=True)


def steplaw_dense_moe(shared: Path) -> pd.DataFrame:
    """Best smoothed loss over the (lr, batch) sweep per (family, active params, tokens) cell."""
    cols = ["family", "N_active", "N_total", "D", "lr", "bs", "smooth loss"]
    a = _steplaw(shared)[cols]
    a = a[a["smooth loss"] < 4.0]  # diverged runs (181 of 2619)
    g = a.groupby(["family", "N_active", "D"], sort=True)
    best = a.loc[g["smooth loss"].idxmin()].reset_index(drop=True)
    best["n_runs"] = g.size().to_numpy()
    size = (best["N_active"] / 1e6).round().astype(int).astype(str)
    return pd.DataFrame(
        {
            "family": best["family"],
            "model": best["family"] + "-" + size + "M",
            "N_active": best["N_active"].astype(float),
            "N_total": best["N_total"].astype(float),
            "D": best["D"].astype(float),
            "C": 6.0 * best["N_active"].astype(float) * best["D"].astype(float),
            "loss": best["smooth loss"].round(6),
            "lr": best["lr"],
            "batch": best["bs"],
            "n_runs": best["n_runs"],
        }
    )


def steplaw_runs(shared: Path) -> pd.DataFrame:
    """Every Step Law run (dense and MoE), diverged ones kept and flagged, in the source order."""
    a = _steplaw(shared)
    size = (a["N_active"] / 1e6).round().astype(int).astype(str)
    return pd.DataFrame(
        {
            "family": a["family"],
            "model": a["family"] + "-" + size + "M",
            "N": a["N_active"].astype(float),
            "N_total": a["N_total"].astype(float),
            "D": a["D"].astype(float),
            "lr": a["lr"].astype(float),
            "batch_size": (a["bs"] * 2048).astype(float),
            "loss": a["smooth loss"].round(6),
            "loss_last": a["loss"].round(6),
            "diverged": a["smooth loss"] >= 4.0,
            "exp_name": a["exp_name"],
        }
    )


def main(argv: list[str]) -> None:
    shared = Path(argv[0]) if argv else Path("../shared/data")
    for name, fn in [
        ("clip_mammut", clip_mammut),
        ("openclip_imagenet", openclip_imagenet),
        ("steplaw_dense_moe", steplaw_dense_moe),
        ("steplaw_runs", steplaw_runs),
    ]:
        df = fn(shared)
        if name == "steplaw_runs":  # 2,619 rows: compressed, byte-stable (no gzip timestamp)
            df.to_csv(OUT / f"{name}.csv.gz", index=False,
                      compression={"method": "gzip", "mtime": 0})
            print(f"{name}: {len(df)} rows -> {OUT / (name + '.csv.gz')}")
            continue
        df.to_csv(OUT / f"{name}.csv", index=False)
        print(f"{name}: {len(df)} rows -> {OUT / (name + '.csv')}")


if __name__ == "__main__":
    main(sys.argv[1:])
