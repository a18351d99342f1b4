"""Learning curves in the form issue #12 judges them: each run's later checkpoints from its earlier.

``python benchmarks/bench_curve_contract.py [--studies misfit@0.3,pythia,openclip@0.3] [--fast]``

The contract (what a user types, default settings)::

    bayes-scaling fit CURVES.csv --x tokens --y value --group model --run model
    bayes-scaling predict FIT.nc LATER.csv

run here through the Python API with the same defaults (``ScalingLaw()`` = law ``auto``, the
drift prior with its in-study update, OU run residuals), on three sets of real curves bundled
with the package, one run per model:

* ``misfit@F``: (Mis)Fitting checkpoints (Li et al. 2025), the longest cosine schedule of each
  model size at its most common peak learning rate; checkpoints up to fraction ``F`` of each
  schedule are the training rows, every later checkpoint is predicted.
* ``pythia``: Pythia (deduped) LAMBADA evaluations, checkpoints up to 1e11 tokens -> later.
* ``openclip@F``: OpenCLIP ImageNet zero-shot error curves (Cherti et al. 2023), the longest
  run of each model, checkpoints up to fraction ``F`` of the run -> later.

Beside the default, from the same fit: the drift with its systematic part removed (``b = 0``,
"no bias") and without drift ("no drift": parameter and residual uncertainty only), and the
usual peer, per-run least squares with the saturating law in log space on the same checkpoints.
Scores: 90% coverage, median |log error| of the median, median relative width of the 90%
interval, median signed log error (positive: predicted too high).

Writes ``benchmarks/results/bench_curve_contract[_fast].{json,md}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import curve_fit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PROB = 0.9


def least_squares(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    """Per-run saturating law E + A x^-alpha by least squares on log y (test-row order)."""
    out = np.full(len(test), np.nan)

    def law(lx: np.ndarray, log_e: float, log_a: float, alpha: float) -> np.ndarray:
        return np.log(np.exp(log_e) + np.exp(log_a - alpha * lx))

    for run, g in train.groupby("model"):
        at = (test["model"] == run).to_numpy()
        lx, ly = np.log(g["tokens"].to_numpy() / 1e9), np.log(g["value"].to_numpy())
        lt = np.log(test.loc[at, "tokens"].to_numpy() / 1e9)
        y = np.exp(ly)
        try:
            p, _ = curve_fit(law, lx, ly, p0=[np.log(y.min() / 2), np.log(y.max()), 0.5],
                             maxfev=20000)
            out[at] = np.exp(law(lt, *p))
        except RuntimeError:  # no convergence: a straight line in log-log
            out[at] = np.exp(np.polyval(np.polyfit(lx, ly, 1), lt))
    return out


def _one_run_per_model(d: pd.DataFrame, pick: Any) -> pd.DataFrame:
    return pd.concat([pick(g) for _, g in d.groupby("model")], ignore_index=True)


def study(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training and later rows (``model``, ``tokens``, ``value``) of one named study."""
    import bayes_scaling as bs

    kind, _, frac = name.partition("@")
    cols = ["model", "tokens", "value"]
    if kind == "pythia":
        d = bs.load_dataset("pythia_lambada")
        d = d[d["quality"] == "ok"][cols]
        return d[d["tokens"] <= 1e11], d[d["tokens"] > 1e11]
    f = float(frac)
    if kind == "misfit":
        c = bs.load_dataset("misfitting_curves")
        c = c[(c["quality"] == "ok") & (c["step"] > 0)]

        def pick(g: pd.DataFrame) -> pd.DataFrame:
            g = g[g["total_steps"] == g["total_steps"].max()]
            return g[np.isclose(g["peak_lr"], g["peak_lr"].mode().iloc[0])]
    elif kind == "openclip":
        c = bs.load_dataset("openclip_curves")
        c = c[c["quality"] == "ok"]

        def pick(g: pd.DataFrame) -> pd.DataFrame:
            return g[g["run_id"] == g.groupby("run_id")["tokens"].max().idxmax()]
    else:
        raise SystemExit(f"unknown study {name!r}")
    d = _one_run_per_model(c, pick)
    early = d["frac_elapsed"] <= f + 1e-9
    return d.loc[early, cols], d.loc[~early, cols]


def _drift_variant(fit: Any, mode: str) -> Any:
    """The same fit with its drift's bias removed (``nobias``) or the drift off (``nodrift``)."""
    def one(f: Any) -> Any:
        tau, bias = f.draws("disc_tau"), f.draws("disc_bias")
        bias = np.zeros_like(bias)
        if mode == "nodrift":
            tau = np.full_like(tau, 1e-12)
        return f.with_drift(tau, bias, f.discrepancy.info)

    comps = getattr(fit, "components", None)
    if comps is None:
        return one(fit)
    return dataclasses.replace(fit, components={k: one(v) for k, v in comps.items()})


def score(y: np.ndarray, med: np.ndarray, lo: np.ndarray | None = None,
          hi: np.ndarray | None = None) -> dict[str, float]:
    err = np.log(med / y)
    out = {"median_abs_log_error": float(np.median(np.abs(err))),
           "median_signed_log_error": float(np.median(err))}
    if lo is not None and hi is not None:
        out["coverage_90"] = float(np.mean((y >= lo) & (y <= hi)))
        out["median_width_90_rel"] = float(np.median((hi - lo) / med))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", default="misfit@0.3,pythia,openclip@0.3")
    ap.add_argument("--fast", action="store_true", help="2 chains x 300 warm-up x 300 draws")
    a = ap.parse_args()
    import bayes_scaling as bs

    sampler = dict(chains=2, warmup=300, draws=300) if a.fast else {}
    rows, notes = [], {}
    for name in a.studies.split(","):
        train, test = study(name)
        test = test.reset_index(drop=True)
        y = test["value"].to_numpy(float)
        t0 = time.time()
        fit = bs.ScalingLaw().fit(train, "tokens", "value", "model", run="model", seed=0,
                                  warn=False, **sampler)
        secs = time.time() - t0
        base = {"study": name, "runs": int(train["model"].nunique()),
                "train_rows": len(train), "test_rows": len(test)}
        for mode in ("default", "nobias", "nodrift"):
            f = fit if mode == "default" else _drift_variant(fit, mode)
            p = f.predict(test[["model", "tokens"]], PROB)
            rows.append({**base, "method": {"default": "bayes default",
                                            "nobias": "bayes, drift without bias",
                                            "nodrift": "bayes, no drift"}[mode],
                         "fit_seconds": secs,
                         **score(y, *(p[c].to_numpy(float) for c in ("median", "lower",
                                                                      "upper")))})
        rows.append({**base, "method": "least squares per run (saturating)",
                     **score(y, least_squares(train, test))})
        comps = getattr(fit, "components", {fit.law.name: fit})
        notes[name] = {
            "check": fit.check(warn=False).sampler.line(),
            "weights": dict(zip(comps, np.round(getattr(fit, "global_weights", [1.0]), 3)
                                .tolist(), strict=True)),
            "drift": {k: {"bias_median": float(np.median(v.draws("disc_bias"))),
                          "tau_median": float(np.median(v.draws("disc_tau"))),
                          "update": v.discrepancy.info.get("update", {}).get("note")}
                      for k, v in comps.items()},
        }
        print(pd.DataFrame(rows[-4:]).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    tag = "_fast" if a.fast else ""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"bench_curve_contract{tag}.json").write_text(
        json.dumps({"sampler": sampler or "defaults", "rows": rows, "fits": notes}, indent=1))
    cmd = "python benchmarks/bench_curve_contract.py" + (" --fast" if a.fast else "")
    md = ["# Learning curves, issue #12's CLI contract (`--group model --run model`)", "",
          f"`{cmd} --studies {a.studies}`; 90% intervals; errors are |log(pred/actual)| over "
          "every later checkpoint.", "",
          "```", table.drop(columns=["fit_seconds"]).to_string(
              index=False, float_format=lambda v: f"{v:.4f}"), "```", "",
          "```", json.dumps(notes, indent=1), "```"]
    (RESULTS / f"bench_curve_contract{tag}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
