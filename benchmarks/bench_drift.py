"""Leave-one-study-out evaluation of the drift prior and of the default predictions.

``python benchmarks/bench_drift.py [--sweep DIR] [--chains 2 --warmup 500 --draws 500]
[--workers 2]``: for
every study in the sweep (``benchmarks/drift_sweep.py``), fit the cross-study drift model
*without* it, then score that study's held-out points (all cut-offs) as the package predicts
them by default (``law="auto"``: the laws' parameter-only draws mixed per curve by their PSIS-LFO
weights, then the drift drawn from the leave-one-study-out prior's population for the law and
the scale kind), beside:

* ``parameter-only``: the same mixture without drift;
* ``least squares``: per-curve least squares with the study's first law (the saturating law for
  one input, chinchilla for two), the peer a researcher writes in ten minutes; bootstrap
  intervals are not scored (they are the parameter-only story), only its point predictions;
* per law with drift (what ``--law <name>`` gives).

Coverage of 50/80/90/95% intervals, the 90% interval score, the median relative width, and the
median |log error| of the median per study and overall; coverage by distance.
Writes ``benchmarks/results/bench_drift.{json,md}``.
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
PROBS = (0.5, 0.8, 0.9, 0.95)
BINS = (0.0, 0.25, 0.5, 1.0, 2.0, np.inf)


def _mixture_rows(points: pd.DataFrame, shrink: float) -> pd.Series:
    """Per point: the weight of its law in the default mixture (per curve, PSIS-LFO)."""
    from bayes_scaling.compare.forms import form_weights

    w = pd.Series(np.nan, index=points.index)
    for (_, _), g in points.groupby(["study", "fraction"], sort=False):
        laws = list(dict.fromkeys(g["law"]))
        if len(laws) == 1:
            w[g.index] = 1.0
            continue
        table = g.groupby(["curve", "law"])["elpd_lfo"].first().unstack("law")[laws]
        table = table.dropna()
        glob, per = form_weights(table.to_numpy(), shrink)
        per = pd.DataFrame(per, index=table.index, columns=laws)
        for idx, row in g.iterrows():
            if row["curve"] in per.index:
                w[idx] = per.loc[row["curve"], row["law"]]
            else:
                w[idx] = glob[laws.index(row["law"])]
    return w


def _drift(prior, group: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    family, kind = group.split("|")
    return prior.sample(n, seed, family=family, kind=kind)


def score_study(points: pd.DataFrame, draws: np.ndarray, prior, seed: int = 0) -> pd.DataFrame:
    """Per-point scores of the mixture with drift, without drift, and per law with drift."""
    from bayes_scaling.evaluation.backtest import score_log_draws

    rng = np.random.default_rng(seed)
    out = []
    n = draws.shape[1]
    drift_cache: dict = {}
    logs = {}
    for idx, row in points.iterrows():
        key = (row["group"], row["unit"])
        if row["group"] not in drift_cache:
            drift_cache[row["group"]] = _drift(prior, row["group"], n, seed)
        if key not in drift_cache:
            drift_cache[key] = rng.standard_normal(n)
        tau, bias = drift_cache[row["group"]]
        xi = drift_cache[key]
        base = draws[points.index.get_loc(idx)]
        logs[idx] = (base, base + bias * row["decline"] + tau * xi * row["decades"])
    y = np.log(points["y"].to_numpy())
    for variant in ("default", "parameter-only"):
        mixed = []
        for (_, _, _), g in points.groupby(["fraction", "curve", "row"], sort=False):
            w = g["mix_weight"].to_numpy()
            w = w / w.sum()
            counts = np.floor(w * n).astype(int)
            counts[np.argmax(w)] += n - counts.sum()
            parts = [logs[i][1 if variant == "default" else 0][:c] for i, c in zip(g.index, counts,
                                                                                  strict=True)]
            mixed.append((g.index[0], np.concatenate(parts)))
        idx = [i for i, _ in mixed]
        arr = np.stack([m for _, m in mixed], axis=1)
        s = score_log_draws(arr, np.log(points.loc[idx, "y"].to_numpy()), PROBS)
        s.index = idx
        s["variant"] = variant
        s["ls_abs_log_error"] = np.abs(np.log(points.loc[idx, "ls_median"].to_numpy()
                                              / points.loc[idx, "y"].to_numpy()))
        s["decades"] = points.loc[idx, "decades"].to_numpy()
        out.append(s)
    for law, g in points.groupby("law", sort=False):
        arr = np.stack([logs[i][1] for i in g.index], axis=1)
        s = score_log_draws(arr, y[[points.index.get_loc(i) for i in g.index]], PROBS)
        s.index = g.index
        s["variant"] = f"{law} + drift"
        s["ls_abs_log_error"] = np.abs(np.log(g["ls_median"].to_numpy() / g["y"].to_numpy()))
        s["decades"] = g["decades"].to_numpy()
        out.append(s)
    return pd.concat(out)


def _loso(job: tuple) -> tuple[str, pd.DataFrame]:
    """Fit the drift model without study ``s`` and score ``s`` (one worker process)."""
    s, sweep, chains, warmup, draws_n, seed, out = job
    import warnings

    warnings.simplefilter("ignore")
    from bayes_scaling.compare.forms import SHRINK
    from bayes_scaling.drift.model import fit_drift_prior

    points = pd.read_csv(Path(sweep) / "points.csv")
    draws = np.load(Path(sweep) / "draws.npz")["log_pred"].astype(float)
    points["mix_weight"] = _mixture_rows(points, SHRINK)
    t0 = time.time()
    # kept for protocol-specific backtests of this study (bench_llama3.py --loso-prior), and read
    # back when the benchmark is rerun (the slow part is these fits)
    keep = Path(out) / "loso_priors"
    if (keep / f"{s}.json").exists():
        from bayes_scaling.drift import load_drift_prior

        prior = load_drift_prior(keep / f"{s}.json")
    else:
        prior = fit_drift_prior(points[points["study"] != s], chains=chains, warmup=warmup,
                                draws=draws_n, seed=seed)
        keep.mkdir(parents=True, exist_ok=True)
        prior.thinned(1000).save(keep / f"{s}.json")
    mask = (points["study"] == s).to_numpy()
    sc = score_study(points[mask], draws[mask], prior, seed)
    sc["study"] = s
    print(f"{s:22s} prior without it fitted in {time.time() - t0:.0f}s", flush=True)
    return s, sc


def summarise(scores: pd.DataFrame) -> dict:
    """Means over points."""
    out = {f"cov{int(100 * p)}": float(scores[f"covered_{100 * p:g}"].mean()) for p in PROBS}
    out["interval_score"] = float(scores["interval_score_90"].mean())
    rel = (scores["upper_90"] - scores["lower_90"]) / scores["median"]
    out["median_rel_width"] = float(rel.median())
    out["median_abs_log_error"] = float(scores["abs_log_error"].median())
    out["ls_median_abs_log_error"] = float(scores["ls_abs_log_error"].median())
    out["n"] = int(len(scores))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(RESULTS / "drift_sweep"))
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS))
    ap.add_argument("--workers", type=int, default=1, help="studies left out in parallel")
    a = ap.parse_args()
    t0 = time.time()
    sweep = Path(a.sweep)
    points = pd.read_csv(sweep / "points.csv")  # the workers read it again with their draws
    studies = list(dict.fromkeys(points["study"]))
    rows, per_point = [], []
    jobs = [(s, str(sweep), a.chains, a.warmup, a.draws, a.seed, a.out) for s in studies]
    if a.workers > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(a.workers) as pool:
            done = dict(pool.map(_loso, jobs, chunksize=1))
    else:
        done = dict(map(_loso, jobs))
    for s in studies:
        sc = done[s]
        per_point.append(sc)
        for variant, g in sc.groupby("variant", sort=False):
            rows.append({"study": s, "variant": variant, **summarise(g)})
        d = rows[-len(sc["variant"].unique())]
        print(f"{s:22s} default cov90 {d['cov90']:.2f} |err| {d['median_abs_log_error']:.4f} "
              f"(LS {d['ls_median_abs_log_error']:.4f})", flush=True)
    per_study = pd.DataFrame(rows)
    allp = pd.concat(per_point, ignore_index=True)
    overall = []
    for variant, g in per_study.groupby("variant", sort=False):
        mean = g.drop(columns=["study", "variant"]).mean(numeric_only=True).to_dict()
        mean["studies_cov90_in_85_95"] = int(g["cov90"].between(0.85, 0.95).sum())
        mean["studies_cov90_ge_80"] = int((g["cov90"] >= 0.8).sum())
        mean["min_cov90"] = float(g["cov90"].min())
        mean["studies_err_le_ls"] = int(
            (g["median_abs_log_error"] <= g["ls_median_abs_log_error"]).sum()
        )
        overall.append({"variant": variant, **mean})
    overall = pd.DataFrame(overall)
    bins = pd.cut(allp["decades"], BINS, include_lowest=True)
    by_dist = allp[allp["variant"] == "default"].groupby(bins, observed=True).agg(
        n=("covered_90", "size"), cov90=("covered_90", "mean"),
        median_abs_log_error=("abs_log_error", "median"),
        ls_median_abs_log_error=("ls_abs_log_error", "median"),
    )
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    body = {
        "command": "python benchmarks/bench_drift.py",
        "seconds": round(time.time() - t0, 1),
        "overall": overall.to_dict(orient="records"),
        "per_study": per_study.to_dict(orient="records"),
        "by_distance": json.loads(by_dist.reset_index().astype({"decades": str}).to_json(
            orient="records")),
    }
    (out / "bench_drift.json").write_text(json.dumps(body, indent=1))
    fmt = dict(index=False, float_format=lambda v: f"{v:.3f}")
    md = [
        "# Leave-one-study-out: the default predictions against least squares",
        "",
        f"`python benchmarks/bench_drift.py` ({len(points)} held-out points, {len(studies)} "
        f"studies; {body['seconds']:.0f} s)",
        "",
        "## Overall (mean over studies)",
        "```",
        overall.to_string(**fmt),
        "```",
        "",
        "## Per study",
        "```",
        per_study.to_string(**fmt),
        "```",
        "",
        "## Default, by distance beyond the data (decades)",
        "```",
        by_dist.to_string(float_format=lambda v: f"{v:.3f}"),
        "```",
    ]
    (out / "bench_drift.md").write_text("\n".join(md) + "\n")
    print(overall.to_string(**fmt))


if __name__ == "__main__":
    main()
