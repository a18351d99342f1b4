"""The Revisiting Neural Scaling Laws benchmark: all 92 curves, official split, default settings.

``python benchmarks/bench_revisiting.py [--domains NMT,LM,BB,IC] [--fast]``

Alabdulmohsin, Neyshabur & Zhai 2022 (arXiv:2209.06640): NMT (5 architectures), LM (5 sizes),
BIG-bench (10 tasks) and image classification (12 few-shot tasks x 6 models). Each curve is fitted
on its official training rows and scored on its held-out rows by the per-curve RMSLE of the
median prediction (``sqrt(mean((log pred - log y)^2))``, the benchmark's error) and by the
coverage of 90% intervals. Per domain, one hierarchical fit with the package's defaults
(``law="auto"``; learning curves with ``run=``: every curve of LM, BIG-bench and image
classification is one training run's checkpoints), exactly what
``bayes-scaling fit --x seen_examples --y loss --group ... --run ...`` then ``predict`` does.
Beside it, in the same run: the released M4 estimator (``benchmarks/m4_estimator.py``) and
per-curve least squares with the saturating law (multi-start, the usual peer).

Writes ``benchmarks/results/bench_revisiting.{json,md}`` and the per-curve table ``.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(Path(__file__).parent))

#: Per domain: (dataset, domain filter, group columns, run column).
DOMAINS = {
    "NMT": ("revisiting_lang", "NMT", ["model"], None),
    "LM": ("revisiting_lang", "LM", ["model"], "model"),
    "BB": ("revisiting_lang", "BB", ["task"], "task"),
    "IC": ("revisiting_vision", "IC", ["task", "model"], "run"),
}


def load(domain: str) -> pd.DataFrame:
    from bayes_scaling import load_dataset

    name, dom, groups, run = DOMAINS[domain]
    d = load_dataset(name)
    d = d[d["domain"] == dom].reset_index(drop=True)
    d["curve_id"] = d["task"].astype(str) + " | " + d["model"].astype(str)
    if run == "run":
        d["run"] = d["curve_id"]
    return d


def rmsle(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.log(pred) - np.log(y)) ** 2)))


def m4_predictions(d: pd.DataFrame, domain: str) -> pd.Series:
    from m4_estimator import fit_m4_batched

    curves, keys = [], []
    for _cid, g in d.groupby("curve_id", sort=False):
        tr, te = g[g["train"]], g[~g["train"]]
        curves.append(dict(domain=domain, x_fit=tr["seen_examples"].to_numpy(float),
                           y_fit=tr["loss"].to_numpy(float),
                           x_test=te["seen_examples"].to_numpy(float),
                           y_test=te["loss"].to_numpy(float)))
        keys.append(te.index)
    with np.errstate(all="ignore"):
        ests = fit_m4_batched(curves)
    out = pd.Series(np.nan, index=d.index)
    for est, idx, cv in zip(ests, keys, curves, strict=True):
        with np.errstate(all="ignore"):
            out[idx] = [est.predict_loss(x) for x in cv["x_test"]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domains", default="NMT,LM,BB,IC")
    ap.add_argument("--fast", action="store_true", help="2 chains x 300 + 300 (smoke run)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args()
    import bayes_scaling as bs

    kw = dict(chains=2, warmup=300, draws=300) if a.fast else {}
    rows, fits_info = [], []
    t_all = time.time()
    for domain in a.domains.split(","):
        _, _, groups, run = DOMAINS[domain]
        d = load(domain)
        train, test = d[d["train"]], d[~d["train"]]
        t0 = time.time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = bs.ScalingLaw().fit(train, x="seen_examples", y="loss", groups=groups, run=run,
                                      seed=a.seed, warn=False, **kw)
            pred = fit.predict(test, 0.9, seed=a.seed)
        t_fit = time.time() - t0
        report = fit.check(warn=False)
        t1 = time.time()
        m4 = m4_predictions(d, domain)
        t_m4 = time.time() - t1
        t2 = time.time()
        ls = bs.fit_least_squares(train, "seen_examples", "loss", "curve_id", law="saturating",
                                  n_boot=2, seed=a.seed)
        ls_pred = ls.point(test)
        t_ls = time.time() - t2
        test = test.assign(bayes=pred["median"].to_numpy(), lower=pred["lower"].to_numpy(),
                           upper=pred["upper"].to_numpy(), m4=m4[test.index].to_numpy(),
                           ls=ls_pred)
        for cid, g in test.groupby("curve_id", sort=False):
            y = g["loss"].to_numpy()
            rows.append({
                "domain": domain, "curve": cid, "n_test": len(g),
                "rmsle_bayes": rmsle(g["bayes"].to_numpy(), y),
                "rmsle_m4": rmsle(g["m4"].to_numpy(), y),
                "rmsle_ls": rmsle(g["ls"].to_numpy(), y),
                "coverage90": float(((y >= g["lower"]) & (y <= g["upper"])).mean()),
                "rel_width90": float(np.median((g["upper"] - g["lower"]) / g["bayes"])),
            })
        weights = (dict(zip(fit.laws, np.round(fit.global_weights, 3).tolist(), strict=True))
                   if hasattr(fit, "laws") else {fit.law.name: 1.0})
        fits_info.append({"domain": domain, "seconds_fit_predict": round(t_fit, 1),
                          "seconds_m4": round(t_m4, 1), "seconds_ls": round(t_ls, 1),
                          "law_weights": weights, "checks": str(report).splitlines(),
                          "auto": bs.auto_note(fit)})
        dom = pd.DataFrame([r for r in rows if r["domain"] == domain])
        print(f"{domain}: bayes median {dom['rmsle_bayes'].median():.4f} mean "
              f"{dom['rmsle_bayes'].mean():.4f} | M4 {dom['rmsle_m4'].median():.4f}/"
              f"{dom['rmsle_m4'].mean():.4f} | LS {dom['rmsle_ls'].median():.4f}/"
              f"{dom['rmsle_ls'].mean():.4f} | cov90 {dom['coverage90'].mean():.2f} "
              f"({t_fit:.0f} s)", flush=True)
    table = pd.DataFrame(rows)
    summary = []
    for name, g in [("all", table), *table.groupby("domain", sort=False)]:
        summary.append({
            "domain": name, "curves": len(g),
            **{f"{m}_{s}": float(getattr(g[f"rmsle_{m}"], s)())
               for m in ("bayes", "m4", "ls") for s in ("median", "mean")},
            "coverage90": float(g["coverage90"].mean()),
            "curves_bayes_le_m4": int((g["rmsle_bayes"] <= g["rmsle_m4"]).sum()),
            "median_rel_width90": float(g["rel_width90"].median()),
        })
    summary = pd.DataFrame(summary)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = ("_fast" if a.fast else "") + (
        "_" + a.domains.replace(",", "_") if a.domains != "NMT,LM,BB,IC" else "")
    table.to_csv(out / f"bench_revisiting{suffix}.csv", index=False, float_format="%.6g")
    cmd = "python benchmarks/bench_revisiting.py" + (" --fast" if a.fast else "") + (
        f" --domains {a.domains}" if a.domains != "NMT,LM,BB,IC" else "")
    body = {"command": cmd,
            "seconds": round(time.time() - t_all, 1), "summary": summary.to_dict("records"),
            "fits": fits_info}
    (out / f"bench_revisiting{suffix}.json").write_text(json.dumps(body, indent=1))
    md = ["# Revisiting Neural Scaling Laws: 92 curves, official split", "",
          f"`{body['command']}` ({body['seconds']:.0f} s). Per-curve RMSLE of the median "
          "(mean and median over curves); 90% coverage of held-out points (mean over curves).",
          "", "```", summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"), "```",
          "", "Fits:", ""]
    md += [f"- {f['domain']}: {f['seconds_fit_predict']} s, law weights {f['law_weights']}"
           + "".join(f"; auto: {n}" for n in f.get("auto", [])) + "; "
           f"{f['checks'][-1]}" for f in fits_info]
    (out / f"bench_revisiting{suffix}.md").write_text("\n".join(md) + "\n")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.4f}"))


if __name__ == "__main__":
    main()
