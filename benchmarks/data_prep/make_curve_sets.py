#!/usr/bin/env python
"""Build tidy learning-curve tables for bayes_scaling (schedule-aware laws).

Outputs (bundled, gzip-compressed, in bayes_scaling/datasets/):
  misfitting_curves.csv      every checkpoint of every Misfitting (Li et al. 2025) run, cleaned,
                             with reconstructed per-checkpoint LR and cumulative LR (S1)
  misfitting_targets.csv     benchmark targets: for each (model, peak_lr) the longest run and
                             what is available to predict its final loss
  openclip_curves.csv        ImageNet zero-shot learning curves (Cherti et al. 2023), 29 runs
  pythia_lambada.csv  LAMBADA (zero-shot) NLL/acc over checkpoints, 8 deduped Pythia sizes
  SOURCE_*.md                how each file was derived

Common core columns (every curve file):
  dataset, run_id, model, N, step, tokens, frac_elapsed, total_steps, warmup_steps, peak_lr,
  final_lr, schedule, lr, lr_sum, metric, value, is_final, quality
  - step: optimizer steps completed at the checkpoint; tokens/samples seen = step * batch
  - lr: scheduler LR at `step` (the LR the next update would use); lr_sum = sum_{i<step} lr_i
    (the "forward area" S1 of Tissue et al. / Luo et al., in raw LR units, warmup included)
  - peak_lr, warmup_steps, total_steps, final_lr, schedule fully determine the per-step LR
    sequence, so MPL-style LD(t) terms can be rebuilt exactly from these columns.
  - value: the loss-like target (lower is better); metric names it.

Usage: python benchmarks/data_prep/make_curve_sets.py (needs ../shared/data)
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "data")
OUT = os.path.join(ROOT, "bayes_scaling", "datasets")


# ----------------------------------------------------------------------------- schedules
def lr_openlm_cosine(steps, peak, warmup, total, min_lr):
    """open_lm/scheduler.py::cosine_lr (also open_clip's, with min_lr=0).

    step < warmup: peak*(step+1)/warmup ; else min_lr + 0.5*(1+cos(pi*e/es))*(peak-min_lr),
    e = step-warmup, es = total-warmup.
    """
    s = np.asarray(steps, dtype=float)
    warm = peak * (s + 1) / warmup
    e = s - warmup
    es = total - warmup
    cos = min_lr + 0.5 * (1 + np.cos(np.pi * e / es)) * (peak - min_lr)
    return np.where(s < warmup, warm, cos)


def lr_neox_clamped(steps, peak, warmup, total, min_lr):
    """gpt-neox megatron/learning_rates.py::AnnealingLR (cosine), version found at commit 0535bfb:
    warmup peak*s/w; then peak/2*(cos(pi*(min(s,T-w)-w)/T)+1), clamped below at min_lr."""
    s = np.asarray(steps, dtype=float)
    n = np.minimum(s, total - warmup)
    warm = peak * n / warmup
    cos = peak / 2.0 * (np.cos(np.pi * (n - warmup) / total) + 1)
    return np.where(s <= warmup, warm, np.maximum(cos, min_lr))


def lr_cosine_to_floor(steps, peak, warmup, total, min_lr):
    """Linear warmup peak*s/w, then cosine from peak to min_lr over [w, T] (paper description)."""
    s = np.asarray(steps, dtype=float)
    warm = peak * s / warmup
    frac = np.clip((s - warmup) / (total - warmup), 0, 1)
    cos = min_lr + 0.5 * (1 + np.cos(np.pi * frac)) * (peak - min_lr)
    return np.where(s <= warmup, warm, cos)


def cum_lr(fn, steps, **kw):
    """lr_sum at each requested step = sum of fn(i) for i in 0..step-1."""
    steps = np.asarray(steps, dtype=int)
    smax = int(steps.max())
    seq = fn(np.arange(max(smax, 1)), **kw)
    cs = np.concatenate([[0.0], np.cumsum(seq)])
    return cs[steps]


# ----------------------------------------------------------------------------- Misfitting
MISFIT_WARMUP = 50  # open_lm/constants/slurm_constants.py NUM_WARMUP_STEPS (hadasah/scaling_laws)
MISFIT_END_RATIO = 0.1  # END_LR_RATIO -> --lr-cooldown-end-ratio -> min_lr = 0.1*peak
MISFIT_TOK_PER_STEP = 512 * 2048


def build_misfitting():
    src = f"{SHARED}/misfitting_li2025/original/scaling_results.csv"
    d = pd.read_csv(src)
    n_raw = len(d)
    key = ["model", "total_steps", "peak_lr"]
    log = []

    # (1) impossible checkpoint steps (current_steps > total_steps; parse_results.py bug when the
    #     checkpoint interval exceeds the run length) -> drop
    bad = d.current_steps > d.total_steps
    log.append(
        f"dropped {int(bad.sum())} rows with current_steps > total_steps "
        f"(misfitting_70m T=250, lr 1e-3/2e-3: step 256 > 250, loss inconsistent)"
    )
    d = d[~bad].copy()

    # (2) runs mixing several launches (different total_epochs): keep the launch whose
    #     checkpoint count equals the planned count (T-1)//128+1; the other rows duplicate
    #     losses of *other* runs (verified: e.g. 17m T=1500 lr2e-3 te=2 rows equal the
    #     1408/1500-step losses of the lr4e-3 run). Only 17m sweep 2024_11_10-23_08_29.
    n_te = d.groupby(key).total_epochs.transform("nunique")
    planned = (d.total_steps - 1) // 128 + 1
    drop2 = (n_te > 1) & (d.total_epochs != planned)
    log.append(
        f"dropped {int(drop2.sum())} rows from mixed launches (runs with >1 total_epochs; "
        f"kept total_epochs == (T-1)//128+1)"
    )
    d = d[~drop2].copy()

    # (3) exact duplicates -> keep one; conflicting duplicates -> keep both, flag
    before = len(d)
    d = d.drop_duplicates(subset=key + ["current_steps", "loss"])
    log.append(f"dropped {before - len(d)} exact duplicate rows")
    dup = d.duplicated(subset=key + ["current_steps"], keep=False)
    d["quality"] = np.where(dup, "ambiguous_duplicate", "ok")
    amb = d[dup].groupby(key).size()
    log.append(
        f"flagged {int(dup.sum())} rows 'ambiguous_duplicate' (same run & step, different loss) in runs: "
        + "; ".join(f"{m} T={t} lr={lr:g}" for (m, t, lr) in amb.index)
    )

    rows = []
    for (m, T, lr), g in d.groupby(key):
        g = g.sort_values("current_steps")
        steps = g.current_steps.to_numpy()
        kw = dict(peak=lr, warmup=MISFIT_WARMUP, total=T, min_lr=MISFIT_END_RATIO * lr)
        out = pd.DataFrame(
            {
                "dataset": "misfitting_li2025",
                "run_id": f"{m.replace('misfitting_', '')}_T{T}_lr{lr:g}",
                "model": m,
                "N": g.N.to_numpy(),
                "N_non_embedding": g.N_no_emb.to_numpy(),
                "step": steps,
                "tokens": steps * MISFIT_TOK_PER_STEP,
                "frac_elapsed": steps / T,
                "total_steps": T,
                "warmup_steps": MISFIT_WARMUP,
                "peak_lr": lr,
                "final_lr": MISFIT_END_RATIO * lr,
                "schedule": "cosine_openlm",
                "lr": lr_openlm_cosine(steps, **kw),
                "lr_sum": cum_lr(lr_openlm_cosine, steps, **kw),
                "metric": "val_loss",
                "value": g.loss.to_numpy(),
                "is_final": steps == T,
                "quality": g.quality.to_numpy(),
                "sweep": g.sweep.to_numpy(),
            }
        )
        rows.append(out)
    out = pd.concat(rows, ignore_index=True)
    out = out.sort_values(["N", "peak_lr", "total_steps", "step"]).reset_index(drop=True)
    log.append(f"{n_raw} raw rows -> {len(out)} rows, {out.run_id.nunique()} runs")
    return out, log


def misfitting_targets(c, early_frac=0.3):
    """For each (model, peak_lr): the longest run is the target; list what may be used."""
    fin = c[c.is_final & (c.quality == "ok")]
    recs = []
    for (m, lr), g in c.groupby(["model", "peak_lr"]):
        Ts = sorted(g.total_steps.unique())
        Tt = Ts[-1]
        tg = g[g.total_steps == Tt]
        f = tg[tg.is_final]
        if f.empty:
            continue
        N = float(tg.N.iloc[0])
        early = tg[(tg.frac_elapsed <= early_frac) & ~tg.is_final]
        smaller = fin[(fin.N < N)]
        recs.append(
            {
                "model": m,
                "N": int(N),
                "peak_lr": lr,
                "target_T": Tt,
                "target_final_loss": float(f.value.iloc[0]),
                "n_ckpt_total": len(tg),
                "n_ckpt_le_30pct": len(early),
                "shorter_T_same_model_lr": ";".join(str(t) for t in Ts[:-1]),
                "n_complete_runs_smaller_models": len(smaller),
                "usable_early_fit": len(early) >= 3,
            }
        )
    return pd.DataFrame(recs).sort_values(["N", "peak_lr"])


# ----------------------------------------------------------------------------- OpenCLIP
def build_openclip():
    src = f"{SHARED}/openclip_cherti/imagenet_zeroshot_learning_curves_tidy.csv"
    t = pd.read_csv(src)
    info = pd.read_csv(f"{SHARED}/openclip_cherti/trained_models_info.csv")[
        ["name", "gpus", "local_bs", "detailed_training_info"]
    ]
    t = t.merge(info, on="name", how="left")
    rows = []
    for name, g in t.groupby("name"):
        g = g.sort_values("epoch")
        gbs = int(g.gpus.iloc[0] * g.local_bs.iloc[0])
        spe = int(g.samples_per_epoch.iloc[0])
        steps_per_epoch = math.ceil(spe / gbs)
        T = steps_per_epoch * int(g.epochs.iloc[0])
        steps = g.epoch.to_numpy() * steps_per_epoch
        peak = float(g.lr.iloc[0])
        W = int(g.warmup.iloc[0])
        kw = dict(peak=peak, warmup=W, total=T, min_lr=0.0)
        arch = g.arch.iloc[0]
        # production runs (own HF model card in detailed_training_info): L/14 2B 34B, H/14, g/14
        q = "schedule_unverified" if pd.notna(g.detailed_training_info.iloc[0]) else "ok"
        if len(g) < g.epochs.iloc[0]:
            q = q + ";missing_epochs"
        rows.append(
            pd.DataFrame(
                {
                    "dataset": "openclip_cherti",
                    "run_id": name.replace(".pt", ""),
                    "model": arch,
                    "N": (g.mparams.to_numpy() * 1e6).round().astype(np.int64),
                    "data": g.data.iloc[0],
                    "samples_seen_target": g.samples_seen_pretty.iloc[0],
                    "global_batch": gbs,
                    "epoch": g.epoch.to_numpy(),
                    "n_epochs": int(g.epochs.iloc[0]),
                    "step": steps,
                    "tokens": g.samples_seen.to_numpy(),  # samples seen (image-text pairs), not tokens
                    "frac_elapsed": g.epoch.to_numpy() / g.epochs.iloc[0],
                    "total_steps": T,
                    "warmup_steps": W,
                    "peak_lr": peak,
                    "final_lr": 0.0,
                    "schedule": "cosine_openclip",
                    "lr": lr_openlm_cosine(steps, **kw),
                    "lr_sum": cum_lr(lr_openlm_cosine, steps, **kw),
                    "metric": "imagenet_zeroshot_err_top1",
                    "value": 1.0 - g["imagenet-zeroshot-val-top1"].to_numpy(),
                    "err_top5": 1.0 - g["imagenet-zeroshot-val-top5"].to_numpy(),
                    "gmacs_per_sample": g.gmacs.to_numpy(),
                    "is_final": g.epoch.to_numpy() == g.epochs.iloc[0],
                    "quality": q,
                }
            )
        )
    out = pd.concat(rows, ignore_index=True).sort_values(["N", "data", "n_epochs", "epoch"])
    return out.reset_index(drop=True)


# ----------------------------------------------------------------------------- Pythia
PYTHIA_T = 143000
PYTHIA_WARM = 1430  # warmup 0.01 * train-iters
PYTHIA_PEAK = {  # models/<size>/pythia-<size>-deduped.yml (EleutherAI/pythia), min_lr = 0.1*peak
    "70m": 1e-3,
    "160m": 6e-4,
    "410m": 3e-4,
    "1b": 2.5e-4,
    "1.4b": 2e-4,
    "2.8b": 1.6e-4,
    "6.9b": 1.2e-4,
    "12b": 1.2e-4,
}


def build_pythia():
    p = pd.read_csv(f"{SHARED}/pythia_checkpoint_evals/pythia_evals_long.csv")
    x = p[(p.variant == "deduped") & (p.shots == 0) & (p.task == "lambada_openai")]
    ppl = x[x.metric == "ppl"].set_index(["model", "step"])
    acc = x[x.metric == "acc"].set_index(["model", "step"])
    rows = []
    for model, g in ppl.groupby(level=0):
        g = g.reset_index().sort_values("step")
        size = g["size"].iloc[0]
        peak = PYTHIA_PEAK[size]
        steps = g.step.to_numpy()
        kw = dict(peak=peak, warmup=PYTHIA_WARM, total=PYTHIA_T, min_lr=0.1 * peak)
        a = acc.loc[model].reindex(steps)
        rows.append(
            pd.DataFrame(
                {
                    "dataset": "pythia_checkpoint_evals",
                    "run_id": model,
                    "model": model,
                    "N": g.N.to_numpy(),
                    "N_non_embedding": g.N_non_embedding.to_numpy(),
                    "step": steps,
                    "tokens": g.tokens.to_numpy(),
                    "frac_elapsed": steps / PYTHIA_T,
                    "total_steps": PYTHIA_T,
                    "warmup_steps": PYTHIA_WARM,
                    "peak_lr": peak,
                    "final_lr": 0.1 * peak,
                    "schedule": "cosine_neox_clamped",
                    "lr": lr_neox_clamped(steps, **kw),
                    "lr_sum": cum_lr(lr_neox_clamped, steps, **kw),
                    "lr_alt": lr_cosine_to_floor(steps, **kw),
                    "metric": "lambada_openai_nll",
                    "value": np.log(g.value.to_numpy()),
                    "lambada_ppl": g.value.to_numpy(),
                    "lambada_ppl_stderr": g.stderr.to_numpy(),
                    "lambada_acc": a.value.to_numpy(),
                    "lambada_acc_stderr": a.stderr.to_numpy(),
                    "is_final": steps == PYTHIA_T,
                    "quality": np.where(steps <= 512, "early_untrained", "ok"),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True).sort_values(["N", "step"]).reset_index(drop=True)
    return out


# ----------------------------------------------------------------------------- main
def fmt(df):
    # compact float formatting to keep files small
    return df.to_csv(index=False, float_format="%.6g")


def write(df, name):
    import gzip

    path = os.path.join(OUT, name + ".gz")
    with gzip.GzipFile(path, "wb", mtime=0) as f:  # mtime 0: the same bytes on every run
        f.write(fmt(df).encode())
    return path, os.path.getsize(path)


SOURCE_MISFIT = """# misfitting_curves.csv / misfitting_targets.csv

Derived by `benchmarks/data_prep/make_curve_sets.py` from
`../shared/data/misfitting_li2025/original/scaling_results.csv` (hadasah/scaling_laws @1f3708c, `data/`).
Paper: Li, Kudugunta, Zettlemoyer, "(Mis)Fitting: A Survey of Scaling Laws", ICLR 2025 (arXiv:2502.18969).

Cleaning:
{log}

Columns: see module docstring. `value` = eval cross-entropy (nats/token; column "C4 Eval Loss" in the
source, FineWeb-dedup per run_train_scale.sh). `step` = `current_steps` as computed by the authors'
parse_results.py (checkpoint k at k*interval with interval 128/256/512 steps, last one at T).
`tokens` = step*512*2048. `run_id` = <size>_T<total_steps>_lr<peak_lr>; `sweep` kept for provenance
((model,T,peak_lr) maps to exactly one sweep).

LR reconstruction (moderate confidence): open_lm `cosine_lr` with warmup {warm} steps
(lr = peak*(s+1)/{warm} for s<{warm}), then cosine from peak to min_lr = {ratio}*peak over [{warm}, T];
from `open_lm/constants/slurm_constants.py` (NUM_WARMUP_STEPS=50, END_LR_RATIO=0.1) +
`open_lm/ds/scripts/train.sh` (`--lr-cooldown-end-ratio`) + `open_lm/params.py`
(lr_cooldown_end = ratio*lr) + `open_lm/main.py` (scheduler "cosine" default) in hadasah/scaling_laws.
Caveat: that constants file is a cleaned/later version (its EPOCH_STEPS=64 does not match the
128-step checkpoint spacing seen in the data), so warmup/end-ratio are not verified for every sweep.
`lr_sum` = sum of the reconstructed per-step LR over steps 0..step-1 (warmup included).

misfitting_targets.csv: per (model, peak_lr) the longest run (target_T) with its final loss,
number of its checkpoints with frac_elapsed <= 0.3 (excluding the final), shorter schedule lengths
for the same (model, lr), and number of complete (is_final, quality ok) runs of smaller models.
"""

SOURCE_OPENCLIP = """# openclip_curves.csv

Derived by `benchmarks/data_prep/make_curve_sets.py` from
`../shared/data/openclip_cherti/imagenet_zeroshot_learning_curves_tidy.csv` (+ `trained_models_info.csv`
for gpus/local_bs). Origin: LAION-AI/scaling-laws-openclip; Cherti et al., CVPR 2023 (arXiv:2212.07143).

One row per (run, epoch) with an ImageNet zero-shot evaluation: 29 runs, 3,359 rows.
`value` = 1 - top-1 zero-shot accuracy (metric imagenet_zeroshot_err_top1); `err_top5` = 1 - top-5 (NaN for
758 rows). `tokens` here = samples seen (image-text pairs) = epoch * samples_per_epoch. `N` = total params
(image+text towers) from arch_info. `global_batch` = gpus*local_bs (matches the bs-XXk in run names).
`step` = epoch * ceil(samples_per_epoch / global_batch) (approximate; open_clip rounds batches per worker).
LR: open_clip `cosine_lr` (src/training/scheduler.py): linear warmup peak*(s+1)/warmup for s<warmup, then
0.5*(1+cos(pi*(s-warmup)/(T-warmup)))*peak -> decays to 0 at T = n_epochs*steps_per_epoch. In 2022 open_clip
had only this scheduler, so confidence is fairly high for the B/32, B/16, L/14 grid; ViT-H/14, ViT-g/14 (and the
L/14 2B 34B model) were large production runs whose exact schedule (restarts, batch changes) is not verified ->
quality "schedule_unverified". "missing_epochs" marks runs with fewer evaluated epochs than n_epochs
(B-32 2B 34B: epoch 1 missing; H-14: 250/256; L-14 2B 34B: 133/160; g-14: 88/90; L-14 2B 13B: 64 of 64 ok).
Checkpoints are mid-training evaluations of cosine runs (LR not annealed), not finished runs.
"""

SOURCE_PYTHIA = """# pythia_lambada.csv

Derived by `benchmarks/data_prep/make_curve_sets.py` from
`../shared/data/pythia_checkpoint_evals/pythia_evals_long.csv` (EleutherAI/pythia evals/pythia-v1,
lm-evaluation-harness). Subset: variant == deduped, shots == 0, task == lambada_openai; the 8 deduped
models (70m ... 12b), 27 checkpoints each (steps 0,1,2,4,...,512,1000,3000,13000,...,143000) = 216 rows.

`value` = ln(lambada_openai perplexity) = mean negative log-likelihood of the target last word
(per example, not per token), metric lambada_openai_nll; raw ppl, acc and stderrs kept.
`tokens` = step * 2,097,152. quality "early_untrained" for steps <= 512 (ppl in the 1e5-1e6 range).
LR (peak from models/<size>/pythia-<size>-deduped.yml in EleutherAI/pythia; min_lr = 0.1*peak,
warmup = 0.01*143000 = 1430 steps, cosine, lr-decay-iters = 143000):
 - `lr` = gpt-neox AnnealingLR as found in megatron/learning_rates.py (commit 0535bfb):
   warmup peak*s/1430, then max(peak/2*(cos(pi*(s-1430)/143000)+1), 0.1*peak) -> hits the 10% floor near
   step ~115k and stays there. `lr_sum` uses this variant.
 - `lr_alt` = cosine from peak to 0.1*peak over [1430, 143000] (the usual reading of "cosine decay to 10%").
 Which formula the Pythia runs actually used depends on the gpt-neox version; unverified. The two agree
 to within 3% of peak LR before step ~60k and differ by up to ~8% of peak (around step 110k) afterwards.
Peak LRs: 70m 1e-3, 160m 6e-4, 410m 3e-4, 1b 2.5e-4 (config; verify against paper table), 1.4b 2e-4,
2.8b 1.6e-4, 6.9b 1.2e-4, 12b 1.2e-4.
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    sizes = {}
    mis, log = build_misfitting()
    sizes["misfitting_curves"] = write(mis, "misfitting_curves.csv")[1]
    tg = misfitting_targets(mis)
    sizes["misfitting_targets"] = write(tg, "misfitting_targets.csv")[1]
    oc = build_openclip()
    sizes["openclip_curves"] = write(oc, "openclip_curves.csv")[1]
    py = build_pythia()
    sizes["pythia_lambada"] = write(py, "pythia_lambada.csv")[1]
    notes = [
        SOURCE_MISFIT.format(
            log="\n".join("- " + entry for entry in log), warm=MISFIT_WARMUP, ratio=MISFIT_END_RATIO
        ),
        SOURCE_OPENCLIP,
        SOURCE_PYTHIA,
    ]
    with open(os.path.join(OUT, "SOURCES_CURVES.md"), "w") as f:
        f.write("# Bundled learning curves: sources and derivation\n\n" + "\n\n".join(notes))
    print("\n".join(log))
    print(
        f"misfitting: {len(mis)} rows, {mis.run_id.nunique()} runs; "
        f"openclip: {len(oc)} rows, {oc.run_id.nunique()} runs; pythia: {len(py)} rows, "
        f"{py.run_id.nunique()} runs"
    )
    for k, v in sizes.items():
        print(f"{k}: {v} bytes (gzip)")


if __name__ == "__main__":
    main()
