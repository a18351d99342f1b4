"""Compute extrapolation on the Llama 3 IsoFLOP ladder, through the CLI contract.

``python benchmarks/bench_llama3.py [--loso-prior PRIOR.json]``

Data: the Llama 3 IsoFLOP points (Llama Team 2024, Fig. 2, digitised; bundled as
``llama3_isoflop``). Fit the Chinchilla law to the budgets C <= 1e21 FLOP (109 runs) and predict
the 12 runs at 3e21 and 1e22 (0.5-1 decade of compute beyond the data), then the compute-optimal
loss at 3.8e25 FLOP (the budget of the 405B model). Side by side in one run:

* ``bayes-scaling fit --law chinchilla`` then ``predict`` and ``optimal`` with default settings;
* the same with the drift prior learned *without* the Llama 3 study (``--loso-prior``, written by
  ``benchmarks/bench_drift.py`` under ``loso_priors/``): the shipped prior has seen this study;
* least squares (multi-start, log space) with 200 bootstrap refits: the peer.

Writes ``benchmarks/results/bench_llama3.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
CUT = 1e21
BIG = 3.8e25


def score(name: str, y: np.ndarray, med: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> dict:
    err = np.abs(np.log(med / y))
    return {"method": name, "n": int(len(y)), "coverage_90": float(np.mean((y >= lo) & (y <= hi))),
            "median_abs_log_error": float(np.median(err)),
            "median_rel_width_90": float(np.median((hi - lo) / med))}


def cli(*args: str) -> None:
    r = subprocess.run([sys.executable, "-m", "bayes_scaling.cli", *args], capture_output=True,
                       text=True)
    if r.returncode:
        raise RuntimeError(r.stderr)
    print(r.stderr.strip()[-2000:], flush=True)


def bayes(train: pd.DataFrame, test: pd.DataFrame, tmp: Path, tag: str,
          prior: str | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    train.to_csv(tmp / "train.csv", index=False)
    test[["N", "D"]].to_csv(tmp / "at.csv", index=False)
    fit = tmp / f"{tag}.nc"
    if prior is None:
        cli("fit", str(tmp / "train.csv"), "--x", "N", "--x", "D", "--y", "loss",
            "--law", "chinchilla", "--seed", "0", "--out", str(fit))
    else:  # the CLI has no option for another drift prior: the API, same defaults otherwise
        import bayes_scaling as bs

        f = bs.ScalingLaw("chinchilla", discrepancy_prior=bs.load_drift_prior(prior)).fit(
            train, x=["N", "D"], y="loss", seed=0)
        f.save(fit)
    cli("predict", str(fit), str(tmp / "at.csv"), "--out", str(tmp / f"{tag}_pred.csv"))
    cli("optimal", str(fit), "--compute", f"{BIG:g}", "--out", str(tmp / f"{tag}_opt.csv"))
    return pd.read_csv(tmp / f"{tag}_pred.csv"), pd.read_csv(tmp / f"{tag}_opt.csv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loso-prior", default=None)
    a = ap.parse_args()
    import bayes_scaling as bs

    d = bs.load_dataset("llama3_isoflop")
    train, test = d[d["C"] <= CUT].reset_index(drop=True), d[d["C"] > CUT].reset_index(drop=True)
    y = test["loss"].to_numpy()
    rows, opts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        variants = [("bayes default (CLI)", None)]
        if a.loso_prior:
            variants.append(("bayes, drift prior without Llama 3", a.loso_prior))
        for i, (name, prior) in enumerate(variants):
            p, o = bayes(train, test, tmp, f"v{i}", prior)
            rows.append(score(name, y, p["median"].to_numpy(), p["lower"].to_numpy(),
                              p["upper"].to_numpy()))
            rows.append(score(name + ", parameter-only", y, p["curve_median"].to_numpy(),
                              p["curve_lower"].to_numpy(), p["curve_upper"].to_numpy()))
            opts.append({"method": name, **{k: float(o[k].iloc[0]) for k in
                                            ("loss_median", "loss_lower", "loss_upper",
                                             "N_opt_median", "D_opt_median")}})
    ls = bs.fit_least_squares(train, ["N", "D"], "loss", law="chinchilla", n_starts=48,
                              n_boot=200, seed=0)
    lp = ls.predict(test[["N", "D"]], prob=0.9)
    rows.append(score("least squares + bootstrap", y, lp["point"].to_numpy(),
                      lp["lower"].to_numpy(), lp["upper"].to_numpy()))
    table = pd.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_llama3.json").write_text(json.dumps({"predict": rows, "optimal": opts},
                                                          indent=1))
    md = ["# Llama 3 IsoFLOP: fit C <= 1e21, predict the 12 runs at 3e21 and 1e22", "",
          "`python benchmarks/bench_llama3.py --loso-prior DIR/loso_priors/llama3_isoflop.json`",
          "", "```\n" + table.to_string(index=False, float_format=lambda v: f"{v:.4f}")
          + "\n```", "",
          f"## Compute-optimal loss at {BIG:g} FLOP (90%)", "",
          "```\n" + pd.DataFrame(opts).to_string(index=False, float_format=lambda v: f"{v:.4g}")
          + "\n```"]
    (RESULTS / "bench_llama3.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
