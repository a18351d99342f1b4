"""Fit the cross-study drift model to the sweep and ship it as the default discrepancy prior.

``python benchmarks/build_drift_prior.py [--sweep benchmarks/results/drift_sweep]`` reads the sweep
written by ``benchmarks/drift_sweep.py`` and writes

* ``bayes_scaling/datasets/drift_prior.json``: the prior (hyper-parameter draws, per-study
  estimates, provenance: package version, sweep settings, SHA-256 of every dataset and of the
  sweep table);
* ``bayes_scaling/datasets/drift_sweep_points.csv``: the sweep's points (the columns the model
  needs), so users can refit the prior with their own studies added
  (:func:`bayes_scaling.drift.model.rebuild_drift_prior`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path

os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", default=str(ROOT / "benchmarks" / "results" / "drift_sweep"))
    ap.add_argument("--chains", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import pandas as pd

    from bayes_scaling.drift.model import BUNDLED_POINTS, POINT_COLUMNS, fit_drift_prior

    sweep = Path(a.sweep)
    points = pd.read_csv(sweep / "points.csv")
    sweep_prov = json.loads((sweep / "provenance.json").read_text())
    slim = points[[*POINT_COLUMNS[:2], "domain", "law", "fraction", *POINT_COLUMNS[2:]]]
    slim = slim.assign(unit=points["unit"])
    out_points = ROOT / "bayes_scaling" / "datasets" / BUNDLED_POINTS
    slim.to_csv(out_points, index=False, float_format="%.6g")
    t0 = time.time()
    prior = fit_drift_prior(
        points,
        chains=a.chains,
        warmup=a.warmup,
        draws=a.draws,
        seed=a.seed,
        provenance={
            "command": "python benchmarks/drift_sweep.py && python benchmarks/build_drift_prior.py",
            "sweep": {k: sweep_prov[k] for k in ("settings", "studies", "data_sha256", "command")},
            "points_sha256": hashlib.sha256(out_points.read_bytes()).hexdigest(),
            "built": time.strftime("%Y-%m-%d"),
        },
    )
    # ship 1,000 draws per population (enough for the tails; the file stays small)
    path = prior.thinned(1000).save(ROOT / "bayes_scaling" / "datasets" / "drift_prior.json")
    print(f"fitted in {time.time() - t0:.0f}s ({prior.provenance['divergences']} divergences)")
    print(prior.summary())
    print(prior.studies.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(prior.trust_table().to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"wrote {path} and {out_points}")


if __name__ == "__main__":
    main()
