"""Learning curves over training: predict where runs end (Misfitting checkpoints, OpenCLIP).

``python benchmarks/bench_curves.py [--parts early,transfer,checkpoints] [--fast]``

Data: the (Mis)Fitting checkpoints (Li, Kudugunta & Zettlemoyer 2025, bundled as
``misfitting_curves``/``misfitting_targets``): open_lm models 12M-1B, cosine schedules of many
lengths, a few peak learning rates; the true end-of-schedule loss of every run is known.

Three parts, each beside its least-squares peer in the same run:

* **early**: for each target run (``misfitting_targets``: the longest schedule of each model and
  peak LR), fit its checkpoints up to 30% of its schedule plus the complete target runs of the two
  next smaller models (12 checkpoints each), predict its final loss. One fit per model size (its
  1-4 target runs, truncated, share the fit). Methods: the CLI contract with default settings
  (``--x tokens --y value --group model --run run_id``, law auto), the schedule-aware law
  (Tissue et al. 2024: inputs ``S1``,
  ``anneal`` from :func:`bayes_scaling.laws.schedule.schedule_areas`), and per-run least squares
  with the saturating law on the same checkpoints (peer).
* **transfer**: per model and peak LR, fit the complete shorter-schedule runs, predict the end
  loss of the longest run: the schedule-aware law vs least squares of the shorter runs' final
  losses against their length (a saturating law in tokens, the usual recipe).
* **checkpoints**: interval width at the final loss from 10 vs 50 checkpoints of the same partial
  runs (the first half of each long schedule); independent residuals would shrink it ~sqrt(5).

Writes ``benchmarks/results/bench_curves[_fast].{json,md}`` and per-part tables ``.csv``.
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
PROB = 0.9


def load() -> tuple[pd.DataFrame, pd.DataFrame]:
    from bayes_scaling import load_dataset
    from bayes_scaling.laws.schedule import schedule_areas

    c = load_dataset("misfitting_curves")
    c = c[(c["quality"] == "ok") & (c["step"] > 0)].reset_index(drop=True)
    c = schedule_areas(c, run="run_id", step="step", final_lr="final_lr", kind="cosine")
    t = load_dataset("misfitting_targets")
    t = t[t["usable_early_fit"].astype(str) == "True"].reset_index(drop=True)
    t["run_id"] = [f"{m.split('_')[1]}_T{int(T)}_lr{lr:g}" for m, T, lr in
                   zip(t["model"], t["target_T"], t["peak_lr"], strict=True)]
    known = set(c["run_id"])
    t["run_id"] = [r if r in known else _match(c, m, T, lr) for r, m, T, lr in
                   zip(t["run_id"], t["model"], t["target_T"], t["peak_lr"], strict=True)]
    return c, t


def _match(c: pd.DataFrame, model: str, total: int, lr: float) -> str:
    m = c[(c["model"] == model) & (c["total_steps"] == total) & np.isclose(c["peak_lr"], lr)]
    return str(m["run_id"].iloc[0])


def score(name: str, y: np.ndarray, med: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> dict:
    err = np.abs(np.log(med / y))
    return {"method": name, "n": int(len(y)), "coverage_90": float(np.mean((y >= lo) & (y <= hi))),
            "median_abs_log_error": float(np.median(err)), "mean_abs_log_error": float(err.mean()),
            "median_width_90_rel": float(np.median((hi - lo) / med))}


def ls_saturating(x: np.ndarray, y: np.ndarray, x_new: np.ndarray) -> tuple:
    """Per-run least squares (saturating law, log space) with a residual bootstrap 90% band."""
    from bayes_scaling.evaluation.baselines import fit_least_squares

    df = pd.DataFrame({"x": x, "y": y})
    res = fit_least_squares(df, "x", "y", law="saturating", n_boot=200, seed=0)
    pred = res.predict(pd.DataFrame({"x": x_new}), prob=PROB)
    return pred["point"].to_numpy(), pred["lower"].to_numpy(), pred["upper"].to_numpy()


def _thin(run: pd.DataFrame, k: int = 12) -> pd.DataFrame:
    """At most ``k`` checkpoints of one run, evenly spaced in log-steps, the final one kept."""
    run = run.sort_values("step")
    if len(run) <= k:
        return run
    target = np.geomspace(run["step"].iloc[0], run["step"].iloc[-1], k)
    idx = np.unique(np.searchsorted(run["step"].to_numpy(float), target).clip(0, len(run) - 1))
    return run.iloc[np.union1d(idx, [len(run) - 1])]


def part_early(c: pd.DataFrame, t: pd.DataFrame, sampler: dict, fast: bool) -> pd.DataFrame:
    """Targets truncated at 30% of their schedule, with the complete targets of smaller models."""
    import bayes_scaling as bs

    sizes = t.groupby("model")["N"].first().sort_values()
    targets = sizes.iloc[[2, 6]] if fast else sizes
    rows = []
    for model, n_params in targets.items():
        tg = t[t["model"] == model]
        partial = c[c["run_id"].isin(tg["run_id"]) & (c["frac_elapsed"] <= 0.3 + 1e-9)]
        # the complete target runs of the two next smaller sizes, each thinned to 12 checkpoints
        # spread evenly in log-steps (siblings inform the shape; 12 points carry it)
        below = sizes[sizes < n_params].index[-2:]
        smaller = c[c["run_id"].isin(t.loc[t["model"].isin(below), "run_id"])]
        smaller = smaller.groupby("run_id", group_keys=False)[list(smaller.columns)].apply(_thin)
        train = pd.concat([smaller, partial], ignore_index=True)
        final = c[c["run_id"].isin(tg["run_id"]) & c["is_final"].astype(bool)]
        final = final.drop_duplicates("run_id").set_index("run_id").loc[tg["run_id"]].reset_index()
        y = final["value"].to_numpy(float)
        t0 = time.time()
        default = bs.ScalingLaw().fit(train, "tokens", "value", "model", run="run_id",
                                      seed=0, **sampler)
        rep_default = default.check(warn=False)
        p = default.predict(final[["model", "run_id", "tokens"]], PROB)
        t1 = time.time()
        sched = bs.ScalingLaw("schedule").fit(train, ["S1", "anneal"], "value", "model",
                                              run="run_id", seed=0, **sampler)
        rep_sched = sched.check(warn=False)
        q = sched.predict(final[["model", "run_id", "S1", "anneal"]], PROB)
        t2 = time.time()
        for i, run in enumerate(final["run_id"]):
            own = partial[partial["run_id"] == run]
            ls = ls_saturating(own["tokens"].to_numpy(float), own["value"].to_numpy(float),
                               final["tokens"].to_numpy(float)[[i]])
            base = {"model": model, "run_id": run, "y": y[i], "n_ckpt": len(own),
                    "n_train_rows": len(train)}
            rows.append({**base, "method": "bayes default (tokens, auto)",
                         "median": p["median"].iloc[i], "lower": p["lower"].iloc[i],
                         "upper": p["upper"].iloc[i], "seconds": t1 - t0,
                         "sampler": rep_default.sampler.line()})
            rows.append({**base, "method": "bayes schedule law (S1, anneal)",
                         "median": q["median"].iloc[i], "lower": q["lower"].iloc[i],
                         "upper": q["upper"].iloc[i], "seconds": t2 - t1,
                         "sampler": rep_sched.sampler.line()})
            rows.append({**base, "method": "least squares per run (saturating)",
                         "median": ls[0][0], "lower": ls[1][0], "upper": ls[2][0],
                         "seconds": np.nan, "sampler": ""})
        print(f"early  {model:18s} {len(final)} target(s)  default {t1 - t0:5.0f}s  "
              f"schedule {t2 - t1:5.0f}s", flush=True)
    return pd.DataFrame(rows)


def part_transfer(c: pd.DataFrame, t: pd.DataFrame, sampler: dict, fast: bool) -> pd.DataFrame:
    """Shorter complete runs of the same model and LR -> the end of the longest run."""
    import bayes_scaling as bs
    from bayes_scaling.evaluation.baselines import fit_least_squares

    tg = t[t["shorter_T_same_model_lr"].notna()]
    groups = [(m, lr) for m, lr in zip(tg["model"], tg["peak_lr"], strict=True)]
    if fast:
        groups = groups[:2]
    rows = []
    for model, lr in groups:
        target = tg[(tg["model"] == model) & (tg["peak_lr"] == lr)].iloc[0]
        same = c[(c["model"] == model) & np.isclose(c["peak_lr"], lr)]
        train = same[same["total_steps"] < target["target_T"]]
        if train["run_id"].nunique() < 3:
            continue
        final = same[(same["run_id"] == target["run_id"]) & same["is_final"].astype(bool)].iloc[[0]]
        y = float(final["value"].iloc[0])
        t0 = time.time()
        fit = bs.ScalingLaw("schedule").fit(train, ["S1", "anneal"], "value", run="run_id",
                                            seed=0, **sampler)
        rep = fit.check(warn=False)
        p = fit.predict(final[["run_id", "S1", "anneal"]].assign(run_id="target"), PROB)
        ends = train[train["is_final"].astype(bool)].drop_duplicates("run_id")
        ls = fit_least_squares(ends, "tokens", "value", law="saturating", n_boot=200, seed=0)
        lp = ls.predict(final[["tokens"]], prob=PROB)
        base = {"model": model, "peak_lr": lr, "run_id": target["run_id"], "y": y,
                "n_shorter_runs": int(train["run_id"].nunique()),
                "longest_trained_T": int(train["total_steps"].max()),
                "target_T": int(target["target_T"])}
        rows.append({**base, "method": "bayes schedule law (S1, anneal)",
                     "median": p["median"].iloc[0], "lower": p["lower"].iloc[0],
                     "upper": p["upper"].iloc[0], "seconds": time.time() - t0,
                     "sampler": rep.sampler.line()})
        rows.append({**base, "method": "least squares on final losses vs tokens (saturating)",
                     "median": lp["point"].iloc[0], "lower": lp["lower"].iloc[0],
                     "upper": lp["upper"].iloc[0], "seconds": np.nan, "sampler": ""})
        print(f"transfer {model:16s} lr={lr:g}: {base['n_shorter_runs']} shorter runs",
              flush=True)
    return pd.DataFrame(rows)


def part_checkpoints(c: pd.DataFrame, t: pd.DataFrame, sampler: dict, fast: bool) -> pd.DataFrame:
    """Width of the final-loss interval from 10 vs 50 checkpoints of the first half of a run."""
    import bayes_scaling as bs

    long = t[t["n_ckpt_total"] >= 100]
    if fast:
        long = long.iloc[:2]
    rows = []
    for _, target in long.iterrows():
        run = c[c["run_id"] == target["run_id"]].sort_values("step")
        half = run[run["frac_elapsed"] <= 0.5]
        final = run[run["is_final"].astype(bool)].iloc[[0]]
        for k in (10, 50):
            idx = np.unique(np.round(np.linspace(0, len(half) - 1, min(k, len(half)))).astype(int))
            sub = half.iloc[idx]
            fit = bs.ScalingLaw().fit(sub, "tokens", "value", run="run_id", seed=0,
                                      **sampler)
            p = fit.predict(final[["run_id", "tokens"]], PROB)
            rows.append({"run_id": target["run_id"], "checkpoints": len(sub),
                         "y": float(final["value"].iloc[0]), "median": p["median"].iloc[0],
                         "lower": p["lower"].iloc[0], "upper": p["upper"].iloc[0],
                         "width": p["upper"].iloc[0] - p["lower"].iloc[0],
                         "sampler": fit.check(warn=False).sampler.line()})
        print(f"checkpoints {target['run_id']}: widths "
              f"{rows[-2]['width']:.4f} (10) vs {rows[-1]['width']:.4f} (50)", flush=True)
    return pd.DataFrame(rows)


def summarise(table: pd.DataFrame) -> list[dict]:
    return [score(m, g["y"].to_numpy(), g["median"].to_numpy(), g["lower"].to_numpy(),
                  g["upper"].to_numpy()) for m, g in table.groupby("method", sort=False)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parts", default="early,transfer,checkpoints")
    ap.add_argument("--fast", action="store_true", help="two cases per part, short chains")
    a = ap.parse_args()
    sampler = dict(chains=2, warmup=300, draws=300) if a.fast else \
        dict(chains=2, warmup=400, draws=400)
    c, t = load()
    RESULTS.mkdir(parents=True, exist_ok=True)
    report: dict = {"sampler": sampler, "prob": PROB}
    tag = "_fast" if a.fast else ""
    cmd = f"python benchmarks/bench_curves.py --parts {a.parts}" + (" --fast" if a.fast else "")
    lines = ["# Learning curves (Misfitting checkpoints)", "",
             f"`{cmd}`; sampler {sampler}; 90% intervals; errors are |log(pred/actual)| "
             "of the final loss.", ""]
    for part in a.parts.split(","):
        t0 = time.time()
        table = {"early": part_early, "transfer": part_transfer,
                 "checkpoints": part_checkpoints}[part](c, t, sampler, a.fast)
        table.to_csv(RESULTS / f"bench_curves_{part}{tag}.csv", index=False)
        report[part] = {"seconds": time.time() - t0}
        lines.append(f"## {part}")
        lines.append("")
        if part == "checkpoints":
            w = table.pivot(index="run_id", columns="checkpoints", values="width")
            cols = sorted(w.columns)
            ratio = (w[cols[0]] / w[cols[-1]]).to_numpy()
            report[part].update(width_ratio_10_over_50=ratio.tolist(),
                                median_ratio=float(np.median(ratio)),
                                max_ratio=float(ratio.max()),
                                coverage_90=float(np.mean((table["y"] >= table["lower"])
                                                          & (table["y"] <= table["upper"]))))
            lines.append(f"interval width at the final loss, 10 / 50 checkpoints: median "
                         f"{np.median(ratio):.2f}, max {ratio.max():.2f} over {len(ratio)} runs "
                         f"(target <= 1.5); coverage {report[part]['coverage_90']:.2f}")
        else:
            summ = summarise(table)
            report[part]["methods"] = summ
            body = pd.DataFrame(summ).to_string(index=False, float_format=lambda v: f"{v:.4f}")
            lines.append("```\n" + body + "\n```")
        lines.append("")
        print("\n".join(lines[-3:]), flush=True)
    (RESULTS / f"bench_curves{tag}.json").write_text(json.dumps(report, indent=1))
    (RESULTS / f"bench_curves{tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
