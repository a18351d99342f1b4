"""Leave-one-study-out evaluation of the learned drift prior.

``python benchmarks/bench_drift.py [--sweep DIR]``: for every study in the sweep, fit the
cross-study drift model *without* it, then score that study's held-out points (all cut-offs and
laws) under four kinds of interval, all from the same parameter-only predictive draws:

* ``parameter-only``: the posterior of the law's parameters and the noise, no discrepancy;
* ``within-study LFO``: drift spread learned by leave-future-out inside the fit's own training
  runs, weak ``HalfNormal(0.05)`` prior (the previous default);
* ``learned prior``: ``(tau, b)`` drawn from the leave-one-study-out population prior;
* ``learned prior + LFO``: that prior updated with the fit's own leave-future-out errors
  (the package default).

Coverage of 50/80/90/95% intervals, the 90% interval score, and the median relative width of the
90% interval ((upper - lower) / median) per study and overall; also coverage by distance.
Writes ``benchmarks/results/bench_drift.{json,md}`` and ``drift_coverage.png``.
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
VARIANTS = ("parameter-only", "within-study LFO", "learned prior", "learned prior + LFO")
PROBS = (0.5, 0.8, 0.9, 0.95)
BINS = (0.0, 0.25, 0.5, 1.0, 2.0, np.inf)


def _variant_draws(variant, inner, prior, n, seed):
    from bayes_scaling.discrepancy import DEFAULT_TAU_PRIOR, drift_posterior, tau_posterior

    e = np.asarray(inner.get("errors", []), float)
    v = np.asarray(inner.get("variances", []), float)
    d = np.asarray(inner.get("decades", []), float)
    if variant == "parameter-only":
        return np.zeros(n), np.zeros(n)
    if variant == "within-study LFO":
        return tau_posterior(e, v, d, DEFAULT_TAU_PRIOR, n_draws=n, seed=seed), np.zeros(n)
    if variant == "learned prior":
        return prior.sample(n, seed)
    return drift_posterior(e, v, d, prior, n_draws=n, seed=seed)


def score_study(points, draws, fits, prior, seed=0):
    """Per-point scores of every variant for one study's rows."""
    from bayes_scaling.backtest import score_log_draws

    out = []
    for (law, frac), rows in points.groupby(["law", "fraction"], sort=False):
        fit = fits[(fits["law"] == law) & (fits["fraction"] == frac)].iloc[0]
        inner = json.loads(fit["lfo_inner"])
        base = draws[rows.index.to_numpy()].T.astype(np.float64)  # (draws, points)
        n = base.shape[0]
        log_y = np.log(rows["y"].to_numpy(float))
        dec = rows["decades"].to_numpy(float)
        curves = rows["curve"].astype(str).to_numpy()
        rng = np.random.default_rng(seed)
        xi = {c: rng.standard_normal(n) for c in dict.fromkeys(curves)}
        xi_m = np.stack([xi[c] for c in curves], axis=1)
        for variant in VARIANTS:
            tau, bias = _variant_draws(variant, inner, prior, n, seed)
            log_obs = base + (bias[:, None] + tau[:, None] * xi_m) * dec[None, :]
            s = score_log_draws(log_obs, log_y, PROBS)
            s["rel_width_90"] = (s["upper_90"] - s["lower_90"]) / s["median"]
            s["variant"] = variant
            s["decades"] = dec
            s["study"] = rows["study"].to_numpy()
            out.append(s)
    return pd.concat(out, ignore_index=True)


def summarise(scores):
    g = scores.groupby(["study", "variant"], sort=False)
    t = g.agg(
        n=("crps", "size"),
        **{f"cov{int(100 * p)}": (f"covered_{100 * p:g}", "mean") for p in PROBS},
        interval_score=("interval_score_90", "mean"),
        median_rel_width=("rel_width_90", "median"),
        median_abs_log_error=("abs_log_error", "median"),
    ).reset_index()
    return t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(RESULTS / "drift_sweep"))
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    a = ap.parse_args()
    import warnings

    warnings.simplefilter("ignore")
    from bayes_scaling.drift import fit_drift_prior

    sweep = Path(a.sweep)
    points = pd.read_csv(sweep / "points.csv")
    draws = np.load(sweep / "draws.npz")["log_pred"]
    fits = pd.read_csv(sweep / "fits.csv")
    t0 = time.time()
    all_scores, priors = [], {}
    for study in dict.fromkeys(points["study"]):
        held = points["study"] == study
        prior = fit_drift_prior(
            points[~held], chains=a.chains, warmup=a.warmup, draws=a.draws, seed=0
        )
        priors[study] = prior.summary()
        sc = score_study(points[held], draws, fits[fits["study"] == study], prior)
        all_scores.append(sc)
        print(f"{study:22s} {priors[study]}", flush=True)
    scores = pd.concat(all_scores, ignore_index=True)
    per_study = summarise(scores)
    overall = (
        per_study.groupby("variant", sort=False)
        .agg(
            **{c: (c, "mean") for c in ["cov50", "cov80", "cov90", "cov95", "interval_score"]},
            median_rel_width=("median_rel_width", "median"),
            min_cov90=("cov90", "min"),
            studies_in_85_95=("cov90", lambda v: int(((v >= 0.85) & (v <= 0.95)).sum())),
        )
        .reset_index()
    )
    scores["distance"] = pd.cut(scores["decades"], BINS, right=True)
    by_dist = (
        scores.groupby(["variant", "distance"], sort=False, observed=True)
        .agg(
            n=("crps", "size"),
            cov90=("covered_90", "mean"),
            median_rel_width=("rel_width_90", "median"),
            median_abs_log_error=("abs_log_error", "median"),
        )
        .reset_index()
    )
    by_dist["distance"] = by_dist["distance"].astype(str)
    RESULTS.mkdir(exist_ok=True)
    res = {
        "settings": vars(a),
        "wall_s": round(time.time() - t0, 1),
        "n_points": int(len(points)),
        "loso_priors": priors,
        "overall": overall.to_dict(orient="records"),
        "per_study": per_study.to_dict(orient="records"),
        "by_distance": by_dist.to_dict(orient="records"),
    }
    (RESULTS / "bench_drift.json").write_text(json.dumps(res, indent=1, default=float))

    def table(df):
        return "```\n" + df.to_string(index=False, float_format=lambda v: f"{v:.3f}") + "\n```"

    md = [
        "# Leave-one-study-out evaluation of the drift prior",
        "",
        f"`python benchmarks/bench_drift.py` ({len(points)} held-out points, "
        f"{points['study'].nunique()} studies; {res['wall_s']:.0f} s)",
        "",
        "## Overall (mean over studies)",
        table(overall),
        "",
        "## Per study",
        table(per_study),
        "",
        "## By distance beyond the data (decades), all studies pooled",
        table(by_dist),
    ]
    (RESULTS / "bench_drift.md").write_text("\n".join(md) + "\n")
    _plot(per_study)
    print(overall.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(by_dist.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


def _plot(per_study):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    studies = list(dict.fromkeys(per_study["study"]))
    fig, ax = plt.subplots(figsize=(10, 4.2))
    w = 0.2
    for j, v in enumerate(VARIANTS):
        t = per_study[per_study["variant"] == v].set_index("study").loc[studies]
        ax.bar(np.arange(len(studies)) + (j - 1.5) * w, t["cov90"], w, label=v)
    ax.axhspan(0.85, 0.95, color="0.85", zorder=0)
    ax.axhline(0.9, color="0.3", lw=1)
    ax.set_xticks(np.arange(len(studies)), studies, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("coverage of 90% intervals")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, ncol=4, frameon=False, loc="lower center", bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout()
    fig.savefig(RESULTS / "drift_coverage.png", dpi=120)


if __name__ == "__main__":
    main()
