"""Backtest sweep over every bundled real study (data of the drift prior).

``python benchmarks/drift_sweep.py [--workers 2] [--draws 400] [--studies a,b]`` writes
``benchmarks/results/drift_sweep/``: ``points.csv`` (one row per held-out point, law and cut-off),
``draws.npz`` (thinned parameter-only log predictive draws, aligned with the rows),
``fits.csv`` (one row per fit, with its sampler and fit checks) and
``provenance.json`` (versions, settings, SHA-256 of every dataset file used).
Each finished fit is also kept under ``jobs/``, so an interrupted sweep resumes where it stopped.
Then ``python benchmarks/build_drift_prior.py`` fits and ships the prior.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import platform
import sys
import time
from importlib import resources
from pathlib import Path

OUT = Path(__file__).parent / "results" / "drift_sweep"


def _job(args: tuple) -> tuple:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
    import warnings

    warnings.simplefilter("ignore")
    from bayes_scaling.drift.sweep import BUNDLED_STUDIES, sweep_study

    name, frac, law, settings, cache = args
    import numpy as np
    import pandas as pd

    part = Path(cache) / f"{name}__{frac:g}__{law}"
    if (part / "done").exists():  # resumable: a finished job is read back, not refitted
        pts = pd.read_csv(part / "points.csv")
        fits = pd.read_csv(part / "fits.csv")
        draws = np.load(part / "draws.npy")
        return name, frac, law, pts, draws, fits
    spec = BUNDLED_STUDIES[name]
    t0 = time.time()
    pts, draws, fits = sweep_study(
        spec.load(),
        spec.x,
        spec.y,
        spec.groups or None,
        study=name,
        kind=spec.kind,
        domain=spec.domain,
        laws=(law,),
        fractions=(frac,),
        run=spec.run,
        min_points=spec.min_points,
        **settings,
    )
    print(
        f"{name:22s} f={frac:<5g} {law:11s} {len(pts):4d} points  {time.time() - t0:6.1f}s",
        flush=True,
    )
    part.mkdir(parents=True, exist_ok=True)
    pts.to_csv(part / "points.csv", index=False)
    fits.to_csv(part / "fits.csv", index=False)
    np.save(part / "draws.npy", np.asarray(draws, dtype=np.float32))
    (part / "done").write_text("")
    return name, frac, law, pts, draws, fits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chains", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--draws", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--studies", default="", help="comma-separated subset (default: all)")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    import numpy as np
    import pandas as pd

    from bayes_scaling import __version__
    from bayes_scaling.drift.sweep import BUNDLED_STUDIES

    names = [s for s in a.studies.split(",") if s] or list(BUNDLED_STUDIES)
    settings = dict(chains=a.chains, warmup=a.warmup, draws=a.draws, seed=a.seed)
    out = Path(a.out)
    cache = out / "jobs"
    jobs = [
        (n, f, law, settings, str(cache))
        for n in names
        for f in BUNDLED_STUDIES[n].fractions
        for law in BUNDLED_STUDIES[n].laws
    ]
    # longest first (the largest studies), so two workers finish together
    jobs.sort(key=lambda j: -len(BUNDLED_STUDIES[j[0]].load()))
    t0 = time.time()
    ctx = mp.get_context("spawn")
    with ctx.Pool(a.workers) as pool:
        results = pool.map(_job, jobs, chunksize=1)
    results.sort(key=lambda r: (names.index(r[0]), r[1], r[2]))
    pts = pd.concat([r[3] for r in results if len(r[3])], ignore_index=True)
    draws = np.vstack([r[4] for r in results if len(r[3])])
    fits = pd.concat([r[5] for r in results if len(r[5])], ignore_index=True)
    out.mkdir(parents=True, exist_ok=True)
    pts.to_csv(out / "points.csv", index=False)
    np.savez_compressed(out / "draws.npz", log_pred=draws.astype(np.float32))
    fits.to_csv(out / "fits.csv", index=False)
    data_files = {}
    for n in names:
        from bayes_scaling.datasets import dataset_file

        file = dataset_file(BUNDLED_STUDIES[n].dataset)
        blob = resources.files("bayes_scaling.datasets").joinpath(file).read_bytes()
        data_files[file] = hashlib.sha256(blob).hexdigest()
    prov = {
        "command": "python benchmarks/drift_sweep.py " + " ".join(sys.argv[1:]),
        "package_version": __version__,
        "python": platform.python_version(),
        "settings": settings,
        "studies": {
            n: {
                "dataset": BUNDLED_STUDIES[n].dataset,
                "domain": BUNDLED_STUDIES[n].domain,
                "kind": BUNDLED_STUDIES[n].kind,
                "laws": list(BUNDLED_STUDIES[n].laws),
                "x": list(BUNDLED_STUDIES[n].x),
                "y": BUNDLED_STUDIES[n].y,
                "note": BUNDLED_STUDIES[n].note,
            }
            for n in names
        },
        "data_sha256": data_files,
        "points_sha256": hashlib.sha256((out / "points.csv").read_bytes()).hexdigest(),
        "n_points": int(len(pts)),
        "n_fits": int(len(fits)),
        "wall_s": round(time.time() - t0, 1),
    }
    (out / "provenance.json").write_text(json.dumps(prov, indent=1))
    print(f"{len(pts)} points from {len(fits)} fits in {time.time() - t0:.0f}s -> {out}")


if __name__ == "__main__":
    main()
