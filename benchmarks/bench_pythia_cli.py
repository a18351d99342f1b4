"""Learning curves through the CLI contract of issue #12, on Pythia's LAMBADA evaluations.

``python benchmarks/bench_pythia_cli.py [--cut 1e11]``

Data: ``bs.load_dataset("pythia_lambada")`` (EleutherAI Pythia deduped suite, 8 model sizes,
LAMBADA negative log-likelihood at checkpoints; source in ``bayes_scaling/datasets``), rows with
``quality == "ok"`` (the untrained first checkpoints dropped). Each run's checkpoints up to
``--cut`` tokens are the training rows; the later checkpoints are predicted. As a user would,
with default settings::

    bayes-scaling fit train.csv --x tokens --y value --group model --run model --out fit.nc
    bayes-scaling predict fit.nc test.csv --out pred.csv

Beside it, in the same run: per-run least squares with the saturating law (E + A x^-alpha, the
usual peer) and a straight line in log-log.
Writes ``benchmarks/results/bench_pythia_cli.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def least_squares(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-run medians of the two least-squares peers at the test rows (test order)."""
    sat = np.full(len(test), np.nan)
    line = np.full(len(test), np.nan)
    for run, g in train.groupby("model"):
        at = (test["model"] == run).to_numpy()
        lx, ly = np.log(g["tokens"].to_numpy() / 1e9), np.log(g["value"].to_numpy())
        lt = np.log(test.loc[at, "tokens"].to_numpy() / 1e9)
        b = np.polyfit(lx, ly, 1)
        line[at] = np.exp(np.polyval(b, lt))

        def model(lx: np.ndarray, log_e: float, log_a: float, alpha: float) -> np.ndarray:
            return np.log(np.exp(log_e) + np.exp(log_a - alpha * lx))

        y = np.exp(ly)
        p, _ = curve_fit(model, lx, ly, p0=[np.log(y.min() / 2), np.log(y.max()), 0.5],
                         maxfev=20000)
        sat[at] = np.exp(model(lt, *p))
    return {"least squares, saturating": sat, "least squares, log-log line": line}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cut", type=float, default=1e11, help="last training token count")
    a = ap.parse_args()
    import bayes_scaling as bs

    d = bs.load_dataset("pythia_lambada")
    d = d[d["quality"] == "ok"][["model", "tokens", "value"]]
    train, test = d[d["tokens"] <= a.cut], d[d["tokens"] > a.cut].reset_index(drop=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train.to_csv(tmp / "train.csv", index=False)
        test.to_csv(tmp / "test.csv", index=False)
        cli = [sys.executable, "-m", "bayes_scaling.cli"]
        t0 = time.perf_counter()
        fit = subprocess.run([*cli, "fit", str(tmp / "train.csv"), "--x", "tokens", "--y",
                              "value", "--group", "model", "--run", "model", "--out",
                              str(tmp / "fit.nc")], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        subprocess.run([*cli, "predict", str(tmp / "fit.nc"), str(tmp / "test.csv"), "--out",
                        str(tmp / "pred.csv")], capture_output=True, text=True, check=True)
        pred = pd.read_csv(tmp / "pred.csv")
    y = test["value"].to_numpy()
    rows = [{
        "method": "bayes_scaling (CLI, defaults)",
        "coverage_90": float(np.mean((y >= pred["lower"]) & (y <= pred["upper"]))),
        "median_abs_log_err": float(np.median(np.abs(np.log(pred["median"] / y)))),
        "median_rel_width": float(np.median((pred["upper"] - pred["lower"]) / pred["median"])),
    }]
    for name, med in least_squares(train, test).items():
        rows.append({"method": name, "coverage_90": None, "median_rel_width": None,
                     "median_abs_log_err": float(np.median(np.abs(np.log(med / y))))})
    table = pd.DataFrame(rows)
    log = [ln for ln in (fit.stdout + fit.stderr).splitlines()
           if ln.startswith(("auto:", "checks:", "warning:", "FormFit", "ScalingFit"))]
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = {"cut": a.cut, "train_rows": len(train), "test_rows": len(test), "fit_seconds": wall,
           "rows": rows, "fit_log": log}
    (RESULTS / "bench_pythia_cli.json").write_text(json.dumps(out, indent=1, default=float))
    md = ["# Pythia LAMBADA learning curves through the CLI (issue #12 contract)", "",
          f"`python benchmarks/bench_pythia_cli.py --cut {a.cut:g}`: {len(train)} training "
          f"checkpoints (<= {a.cut:g} tokens) of {train['model'].nunique()} runs, {len(test)} "
          f"later checkpoints predicted; fit {wall:.0f} s (2-core CPU, defaults)", "",
          table.to_string(index=False, float_format=lambda v: f"{v:.4f}"), "", "fit output:", "",
          "```", *log, "```"]
    (RESULTS / "bench_pythia_cli.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
