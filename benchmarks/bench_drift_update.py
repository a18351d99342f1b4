"""Leave one study out: the drift prior alone against the prior updated by the study's own backtest.

``python benchmarks/bench_drift_update.py [--sweep DIR] [--priors DIR] [--temper 0.5]``

For every study of the drift sweep and every law, the fit at the 0.75 cut-off is scored on its
held-out rows twice, with the drift drawn from the leave-one-study-out prior (fitted without the
study; ``bench_drift.py`` keeps them under ``results/loso_priors``):

* ``prior``: the population unchanged (``drift_update=False``);
* ``updated``: the population weighted by the study's own earlier backtest, exactly as
  :mod:`bayes_scaling.drift.update` does inside a fit: the 0.55 cut-off fit's held-out rows that
  lie below the 0.75 cut-off are the in-study evidence (they were known when the 0.75 fit was
  made).

Per study and law: 90% coverage, median relative width and median |log error| of the median,
beside per-curve least squares with the same law on the same rows (the sweep's ``ls_median``).
Writes ``benchmarks/results/bench_drift_update.{json,md}``.
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
INPUTS = ("seen_examples", "N", "D", "gflops", "samples_seen", "data")


def main() -> None:
    from bayes_scaling.drift import load_drift_prior
    from bayes_scaling.drift.update import TEMPER, Evidence, updated_draws
    from bayes_scaling.evaluation.backtest import score_log_draws

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(RESULTS / "drift_sweep"))
    ap.add_argument("--priors", default=str(RESULTS / "loso_priors"))
    ap.add_argument("--temper", type=float, default=TEMPER)
    ap.add_argument("--out", default=str(RESULTS))
    a = ap.parse_args()
    t0 = time.time()
    sweep = Path(a.sweep)
    p = pd.read_csv(sweep / "points.csv")
    draws = np.load(sweep / "draws.npz")["log_pred"].astype(float)
    fits = pd.read_csv(sweep / "fits.csv")
    p["order"] = np.nansum([np.log(p[c].to_numpy()) for c in INPUTS if c in p], axis=0)
    rows = []
    for study, gs in p.groupby("study", sort=False):
        path = Path(a.priors) / f"{study}.json"
        if not path.exists():
            print(f"{study}: no leave-one-study-out prior at {path}; skipped")
            continue
        prior = load_drift_prior(path)
        cut = fits[(fits.study == study) & (fits.fraction == 0.75)].cutoff_order
        if cut.empty:
            continue
        for law, gl in gs.groupby("law", sort=False):
            tgt = gl[gl.fraction == 0.75]
            ev_rows = gl[(gl.fraction == 0.55) & (gl.order <= cut.iloc[0] + 1e-9)]
            if tgt.empty:
                continue
            family, kind = tgt["group"].iloc[0].split("|")
            pop = prior.population(family, kind)
            n = draws.shape[1]
            ev = None
            if len(ev_rows) >= 3:
                ii = ev_rows.index.to_numpy()
                ev = Evidence.from_points(ev_rows["unit"].to_numpy(), ev_rows["error"].to_numpy(),
                                          ev_rows["decline"].to_numpy(),
                                          ev_rows["decades"].to_numpy(), draws[ii])
            rng = np.random.default_rng(0)
            xi = {u: rng.standard_normal(n) for u in tgt["unit"].unique()}
            y = np.log(tgt["y"].to_numpy())
            for variant, evidence in (("prior", None), ("updated", ev)):
                tau, bias, info = updated_draws(pop, evidence, n, 0, temper=a.temper)
                arr = np.stack([draws[i] + bias * r.decline + tau * xi[r.unit] * r.decades
                                for i, r in tgt.iterrows()], axis=1)
                s = score_log_draws(arr, y, (0.9,))
                rows.append({
                    "study": study, "law": law, "variant": variant, "n": len(tgt),
                    "evidence_rows": len(ev_rows), "ess": info.get("ess", np.nan),
                    "cov90": float(s["covered_90"].mean()),
                    "rel_width90": float(((s["upper_90"] - s["lower_90"]) / s["median"]).median()),
                    "abs_log_error": float(s["abs_log_error"].median()),
                    "ls_abs_log_error": float(np.abs(np.log(tgt["ls_median"] / tgt["y"])).median()),
                    "tau_median": float(np.median(tau)), "bias_median": float(np.median(bias)),
                })
    table = pd.DataFrame(rows)
    over = []
    for variant, g in table.groupby("variant", sort=False):
        over.append({
            "variant": variant, "pairs": len(g),
            "mean_cov90": float(g["cov90"].mean()),
            "pairs_cov90_ge_0.85": int((g["cov90"] >= 0.85).sum()),
            "pairs_cov90_ge_0.99": int((g["cov90"] >= 0.99).sum()),
            "median_rel_width90": float(g["rel_width90"].median()),
            "median_abs_log_error": float(g["abs_log_error"].median()),
            "pairs_err_le_ls": int((g["abs_log_error"] <= g["ls_abs_log_error"]).sum()),
        })
    over = pd.DataFrame(over)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = "python benchmarks/bench_drift_update.py" + (
        f" --temper {a.temper:g}" if a.temper != TEMPER else "")
    body = {"command": cmd, "seconds": round(time.time() - t0, 1),
            "overall": over.to_dict("records"), "per_pair": table.to_dict("records")}
    suffix = "" if a.temper == TEMPER else f"_t{a.temper:g}"
    (out / f"bench_drift_update{suffix}.json").write_text(json.dumps(body, indent=1))
    fmt = dict(index=False, float_format=lambda v: f"{v:.3f}")
    md = ["# The drift prior alone vs updated by the study's own backtest (leave one study out)",
          "", f"`{cmd}` ({body['seconds']:.0f} s); temper {a.temper:g}. Study/law pairs scored "
          "on the 0.75 cut-off's held-out rows.", "", "## Overall", "```", over.to_string(**fmt),
          "```", "", "## Per study and law", "```", table.to_string(**fmt), "```"]
    (out / f"bench_drift_update{suffix}.md").write_text("\n".join(md) + "\n")
    print(table.to_string(**fmt))
    print(over.to_string(**fmt))


if __name__ == "__main__":
    main()
