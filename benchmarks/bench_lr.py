"""Hyper-parameter-aware scaling on the Step Law sweep: tuned lr, held-out cells, Metz's trap.

``python benchmarks/bench_lr.py [--fast]``

Data: every Step Law run (Li et al. 2025, bundled as ``steplaw_runs``: 2,619 dense and MoE LM
runs over learning rate x batch size x N x D, diverged runs kept). Held out: per family the three
(N, D) cells with the largest compute 6ND. The ``lr_batch`` law (Student-t likelihood, which
absorbs the diverged runs) is fitted to every run of the other cells, hierarchical over the
family (dense vs MoE). Side by side, in the same run:

* **optimum**: each held-out cell's grid-best lr (and batch) against the 90% ``lr_opt``
  (``batch_size_opt``) interval of :func:`bayes_scaling.tune`, beside the law's optimum alone
  (``lr_opt_law``, without the training cells' misfit);
* **runs**: coverage of the held-out runs (diverged excluded) by 90% predictive intervals;
* **surface**: R^2 of log loss over each held-out cell's lr x batch grid, beside a least-squares
  quadratic in (log lr, log batch, log D, log N) with interactions, fitted per family on the
  training cells' converged runs (the usual peer);
* **Metz's trap** (dense): a Chinchilla law fitted by least squares to the best run *at one fixed
  lr* of each training cell, extrapolated to the held-out cells, beside the measured best run
  there and the ``lr_batch`` loss at the tuned optimum.

Writes ``benchmarks/results/bench_lr[_<likelihood>][_fast].{json,md}`` and
``bench_lr_cells[...].csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PROB = 0.9
FIXED_LR = 9.77e-4  # the most common lr of the dense sweep (169 runs)
X = ["N", "D", "lr", "batch_size"]


def split(d: pd.DataFrame) -> pd.Series:
    """True for rows of the three largest-compute (N, D) cells of their family."""
    cells = d.groupby(["family", "N", "D"]).size().reset_index()[["family", "N", "D"]]
    cells["C"] = 6 * cells["N"] * cells["D"]
    top = cells.sort_values("C").groupby("family").tail(3)
    key = set(zip(top["family"], top["N"], top["D"], strict=True))
    return pd.Series([k in key for k in zip(d["family"], d["N"], d["D"], strict=True)],
                     index=d.index)


def quad_features(f: pd.DataFrame) -> np.ndarray:
    u, v = np.log(f["lr"].to_numpy()), np.log(f["batch_size"].to_numpy())
    ld, ln = np.log(f["D"].to_numpy()), np.log(f["N"].to_numpy())
    cols = [np.ones_like(u), u, v, ld, ln, u * u, v * v, u * v, u * ld, u * ln, v * ld, v * ln,
            ld * ld, ln * ln, ld * ln]
    return np.column_stack(cols)


def r2(y: np.ndarray, pred: np.ndarray) -> float:
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def chinchilla_ls(cells: pd.DataFrame) -> callable:
    """Least-squares Chinchilla law (log space, many starts) on (N, D, loss)."""
    from scipy.optimize import least_squares

    ln, ld, ly = (np.log(cells[c].to_numpy()) for c in ("N", "D", "loss"))

    def f(p: np.ndarray, ln: np.ndarray, ld: np.ndarray) -> np.ndarray:
        e, a, al, b, be = p
        return np.log(np.exp(e) + np.exp(a - al * ln) + np.exp(b - be * ld))

    best = None
    rng = np.random.default_rng(0)
    for _ in range(48):
        p0 = [np.log(rng.uniform(1.0, 2.2)), rng.uniform(2, 8), rng.uniform(0.1, 0.6),
              rng.uniform(2, 8), rng.uniform(0.1, 0.6)]
        r = least_squares(lambda p: f(p, ln, ld) - ly, p0, method="lm", max_nfev=4000)
        if best is None or r.cost < best.cost:
            best = r
    return lambda n, d: np.exp(f(best.x, np.log(n), np.log(d)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fast", action="store_true", help="short chains (smoke test)")
    ap.add_argument("--likelihood", default=None,
                    help="observation noise (default: the law's own, see bs.laws.BUILTIN)")
    ap.add_argument("--save", default=None, help="also save the fit to this .nc path")
    ap.add_argument("--nu-low", type=float, default=None,
                    help="Student-t: bound nu below (prior TruncatedNormal(4, 5, low=NU_LOW))")
    a = ap.parse_args()
    import bayes_scaling as bs

    sampler = dict(chains=2, warmup=150, draws=150) if a.fast else \
        dict(chains=2, warmup=500, draws=500)
    runs = bs.load_dataset("steplaw_runs")
    held = split(runs)
    train, test = runs[~held], runs[held]
    t0 = time.time()
    priors = None if a.nu_low is None else {
        "nu": bs.Prior("TruncatedNormal", loc=4.0, scale=5.0, low=a.nu_low)}
    fit = bs.ScalingLaw("lr_batch", likelihood=a.likelihood, priors=priors).fit(
        train, x=X, y="loss", groups="family", seed=0, **sampler)
    wall = time.time() - t0
    rep = fit.check(warn=False)
    ess = float(rep.sampler.min_ess_bulk)
    print(f"fit {len(train)} runs in {wall:.0f}s: {rep.sampler.line()}", flush=True)
    print(fit.discrepancy.summary(), flush=True)
    if a.save:
        fit.save(a.save)

    ok = test[~test["diverged"]]
    pred = fit.predict(ok[["family", *X]], PROB)
    covered = (ok["loss"].to_numpy() >= pred["lower"].to_numpy()) & \
        (ok["loss"].to_numpy() <= pred["upper"].to_numpy())

    # per held-out cell: tuned optimum vs grid best, surface R^2 (bayes vs quadratic LS)
    conv = train[~train["diverged"]]
    coefs = {fam: np.linalg.lstsq(quad_features(g), np.log(g["loss"].to_numpy()), rcond=None)[0]
             for fam, g in conv.groupby("family")}
    cells = ok.assign(pred_median=pred["median"].to_numpy(), covered=covered,
                      law_median=pred["curve_median"].to_numpy())
    at = cells.groupby(["family", "N", "D"]).size().reset_index()[["family", "N", "D"]]
    tuned = bs.tune(fit, at, PROB)
    rows = []
    for i, cell in at.iterrows():
        g = cells[(cells["family"] == cell["family"]) & (cells["N"] == cell["N"])
                  & (cells["D"] == cell["D"])]
        best = g.loc[g["loss"].idxmin()]
        t = tuned.iloc[i]
        y = np.log(g["loss"].to_numpy())
        rows.append({
            "family": cell["family"], "N": cell["N"], "D": cell["D"], "runs": len(g),
            "best_lr": best["lr"], "lr_opt_median": t["lr_opt_median"],
            "lr_opt_lower": t["lr_opt_lower"], "lr_opt_upper": t["lr_opt_upper"],
            "lr_in_interval": bool(t["lr_opt_lower"] <= best["lr"] <= t["lr_opt_upper"]),
            "lr_in_law_interval": bool(t["lr_opt_law_lower"] <= best["lr"]
                                       <= t["lr_opt_law_upper"]),
            "best_batch": best["batch_size"], "batch_opt_median": t["batch_size_opt_median"],
            "batch_in_interval": bool(t["batch_size_opt_lower"] <= best["batch_size"]
                                      <= t["batch_size_opt_upper"]),
            "best_loss": best["loss"], "loss_opt_median": t["loss_opt_median"],
            "loss_opt_lower": t["loss_opt_lower"], "loss_opt_upper": t["loss_opt_upper"],
            "coverage_90": float(g["covered"].mean()),
            "r2_bayes": r2(y, np.log(g["pred_median"].to_numpy())),
            "r2_law_no_drift": r2(y, np.log(g["law_median"].to_numpy())),
            "level_error": float(np.median(np.log(g["pred_median"].to_numpy()) - y)),
            "r2_quadratic_ls": r2(y, quad_features(g) @ coefs[cell["family"]]),
        })
    table = pd.DataFrame(rows)

    # Metz: one fixed lr across sizes, naive Chinchilla law, extrapolated
    dense = runs[(runs["family"] == "dense") & ~runs["diverged"]]
    fixed = dense[np.isclose(dense["lr"], FIXED_LR, rtol=0.01)]
    ladder = fixed[~held.loc[fixed.index]].groupby(["N", "D"])["loss"].min().reset_index()
    naive = chinchilla_ls(ladder)
    metz = table[table["family"] == "dense"][["N", "D", "best_loss", "best_lr", "loss_opt_median",
                                              "loss_opt_lower", "loss_opt_upper"]].copy()
    at_fixed = fixed[held.loc[fixed.index]].groupby(["N", "D"])["loss"].min()
    metz["loss_at_fixed_lr"] = [at_fixed.get((n, d), np.nan) for n, d in
                                zip(metz["N"], metz["D"], strict=True)]
    metz["naive_fixed_lr_law"] = naive(metz["N"].to_numpy(), metz["D"].to_numpy())

    summary = {
        "likelihood": fit.structure.likelihood, "sampler": sampler, "fit_seconds": wall,
        "sampler_line": rep.sampler.line(),
        "min_ess_bulk": ess, "ess_per_second": ess / wall if np.isfinite(ess) else None,
        "train_runs": int(len(train)), "train_diverged": int(train["diverged"].sum()),
        "held_out_cells": int(len(table)), "held_out_runs": int(len(ok)),
        "lr_opt_covered_cells": int(table["lr_in_interval"].sum()),
        "batch_opt_covered_cells": int(table["batch_in_interval"].sum()),
        "lr_opt_law_covered_cells": int(table["lr_in_law_interval"].sum()),
        "optimum_misfit": tuned.attrs.get("optimum_misfit", ""),
        "run_coverage_90": float(covered.mean()),
        "r2_bayes_median": float(table["r2_bayes"].median()),
        "r2_law_no_drift_median": float(table["r2_law_no_drift"].median()),
        "drift": fit.discrepancy.summary(),
        "r2_quadratic_ls_median": float(table["r2_quadratic_ls"].median()),
        "metz_naive_abs_log_error_vs_best": float(np.median(np.abs(np.log(
            metz["naive_fixed_lr_law"] / metz["best_loss"])))),
        "metz_tuned_abs_log_error_vs_best": float(np.median(np.abs(np.log(
            metz["loss_opt_median"] / metz["best_loss"])))),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    opts = [(f"--likelihood {a.likelihood}", f"_{a.likelihood}") if a.likelihood else None,
            (f"--nu-low {a.nu_low:g}", f"_nu{a.nu_low:g}") if a.nu_low is not None else None,
            ("--fast", "_fast") if a.fast else None]
    tag = "".join(t for o in opts if o for t in o[1:])
    cmd = " ".join(["python benchmarks/bench_lr.py", *(o[0] for o in opts if o)])
    table.to_csv(RESULTS / f"bench_lr_cells{tag}.csv", index=False)
    (RESULTS / f"bench_lr{tag}.json").write_text(json.dumps({"summary": summary, "cells": rows,
                                                        "metz": metz.to_dict("records")},
                                                       indent=1, default=float))
    md = ["# lr_batch on the Step Law sweep (largest 3 cells per family held out)", "",
          f"`{cmd}`; likelihood {fit.structure.likelihood}; sampler {sampler}; "
          f"fit {wall:.0f} s on "
          f"{len(train)} runs ({summary['train_diverged']} diverged, kept); "
          f"{rep.sampler.line()}", "",
          f"- grid-best lr inside the 90% lr_opt interval: {summary['lr_opt_covered_cells']}"
          f"/{len(table)} cells; batch: {summary['batch_opt_covered_cells']}/{len(table)} "
          f"(the law's optimum alone, without the in-study misfit: "
          f"{summary['lr_opt_law_covered_cells']}/{len(table)}; {summary['optimum_misfit']})",
          f"- held-out runs covered by 90% intervals: {summary['run_coverage_90']:.3f} "
          f"({len(ok)} runs)",
          f"- R^2 of log loss over each held-out lr x batch grid (median over cells): lr_batch "
          f"{summary['r2_bayes_median']:.3f} vs quadratic least squares "
          f"{summary['r2_quadratic_ls_median']:.3f}", "",
          "```\n" + table.to_string(index=False) + "\n```", "",
          "## Metz's trap (dense): a law fitted at one fixed lr "
          f"({FIXED_LR:g}) vs the tuned prediction", "",
          "```\n" + metz.to_string(index=False) + "\n```", "",
          f"median |log error| against the measured best run: naive fixed-lr law "
          f"{summary['metz_naive_abs_log_error_vs_best']:.4f}, lr_batch at the tuned optimum "
          f"{summary['metz_tuned_abs_log_error_vs_best']:.4f}"]
    (RESULTS / f"bench_lr{tag}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
