"""The ``bayes-scaling demo`` job: fit a bundled real dataset and show the extrapolation risk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.datasets import load_dataset
from bayes_scaling.fit import ScalingLaw

__all__ = ["run_demo"]


def run_demo(
    dataset: str = "revisiting_nmt",
    out_dir: Path = Path("demo_out"),
    *,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
    fast: bool = False,
    progress: bool | None = None,
) -> tuple[Any, pd.DataFrame]:
    """Fit the five NMT architectures of the Revisiting benchmark on its official training split.

    Predicts the held-out largest runs (2x beyond the data) and 10x / 100x further, prints the
    intervals and their coverage of the held-out runs, writes ``demo_<dataset>.png`` and the fit.

    Returns
    -------
    (ScalingFit, DataFrame)
        The fit and the prediction table.
    """
    if dataset != "revisiting_nmt":
        raise ValueError(f"demo knows dataset 'revisiting_nmt', got {dataset!r}")
    if fast:
        chains, warmup, draws = min(chains, 2), min(warmup, 300), min(draws, 300)
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = load_dataset(dataset)
    train, held = runs[runs["train"]], runs[~runs["train"]]
    print(
        f"Revisiting Neural Scaling Laws, NMT: {len(train)} training runs of "
        f"{train['architecture'].nunique()} architectures, {len(held)} held out "
        "(official split). Law: auto (power, saturating and M4, weighed per architecture by "
        "how well each predicts the curve's last points), partially pooled over architecture."
    )
    fit = ScalingLaw().fit(
        train,
        x="seen_examples",
        y="loss",
        groups="architecture",
        chains=chains,
        warmup=warmup,
        draws=draws,
        seed=seed,
        progress=progress,
        warn=False,
    )
    print(fit)
    from bayes_scaling.compare import auto_note

    for line in auto_note(fit):
        print(f"auto: {line}")
    report = fit.check(warn=False)
    print(f"checks: {report}")
    if hasattr(fit, "components"):
        print("law weights per architecture:")
        w = fit.table.pivot(index="curve", columns="law", values="weight")
        print(w.to_string(float_format=lambda v: f"{v:.2f}"))
    if fit.discrepancy is not None:
        print(fit.discrepancy.summary())
    print()

    x_max = float(train["seen_examples"].max())
    far = pd.DataFrame(
        [(a, x_max * k) for a in fit.levels["architecture"] for k in (10, 100)],
        columns=["architecture", "seen_examples"],
    )
    at = pd.concat([held[["architecture", "seen_examples", "loss"]], far], ignore_index=True)
    pred = fit.predict(at, prob=0.9, seed=seed)
    pred["x_over_max_train"] = pred["seen_examples"] / x_max
    pred["covered"] = np.where(
        pred["loss"].notna(),
        (pred["loss"] >= pred["lower"]) & (pred["loss"] <= pred["upper"]),
        None,
    )
    cols = [
        "architecture",
        "seen_examples",
        "x_over_max_train",
        "loss",
        "median",
        "lower",
        "upper",
        "covered",
    ]
    print("Posterior predictive for a new run (90% central interval); 'loss' = held-out truth:")
    print(pred[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    obs = pred[pred["loss"].notna()]
    print(
        f"\nheld-out runs inside their 90% interval: {int(obs['covered'].sum())}/{len(obs)}; "
        f"median |log error| = {np.median(np.abs(np.log(obs['median'] / obs['loss']))):.3f}"
    )
    print(level_summary(fit))

    import matplotlib

    matplotlib.use("Agg")
    from bayes_scaling.plots import plot_curves

    ax = plot_curves(fit, held, extend=100.0, seed=seed)
    png = out_dir / f"demo_{dataset}.png"
    ax.figure.savefig(png, dpi=120, bbox_inches="tight")
    fit_path = out_dir / f"demo_{dataset}.nc"
    fit.save(fit_path)
    print(f"\nwrote {png} and {fit_path}")
    return fit, pred


def level_summary(fit: Any) -> str:
    """One line per architecture: the exponent's median and 90% interval."""
    from bayes_scaling.summaries import level_table

    fit = getattr(fit, "main", fit)
    t = level_table(fit, 0.9, "architecture")
    t = t[t["param"] == "alpha"]
    lines = [f"\nexponent alpha by architecture, {fit.law.name} law (median [90% interval]):"]
    lines += [
        f"  {r.level:<28s} {r.median:.3f} [{r.lower:.3f}, {r.upper:.3f}]" for r in t.itertuples()
    ]
    return "\n".join(lines)
