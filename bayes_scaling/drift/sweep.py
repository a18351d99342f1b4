"""Backtest sweeps: how wrong extrapolations were, study by study, cut-off by cut-off.

:func:`sweep_study` fits a study's smaller runs at several cut-offs with every applicable law
(without drift) and records, per held-out point, the error of the parameter-only prediction, how
far beyond the data it was and how much the law itself predicted the metric to fall from the
data's edge. :data:`BUNDLED_STUDIES` describes the bundled real studies; together their sweeps
are the data of the drift prior (:mod:`bayes_scaling.drift.model`). Add your own studies with
:func:`sweep_study` and refit with :func:`bayes_scaling.drift.model.rebuild_drift_prior`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.compare.forms import lfo_elpd
from bayes_scaling.data import as_columns, curve_label, numeric_column, read_table
from bayes_scaling.drift.prior import law_family
from bayes_scaling.drift.update import backtest_points
from bayes_scaling.evaluation.baselines import fit_least_squares
from bayes_scaling.fit import ScalingLaw
from bayes_scaling.laws import get_law
from bayes_scaling.predict import curve_keys

__all__ = ["StudySpec", "BUNDLED_STUDIES", "sweep_study", "cutoff_values", "N_KEEP_DRAWS"]

#: Thinned predictive draws kept per held-out point (for scoring variants later).
N_KEEP_DRAWS = 200


@dataclass(frozen=True)
class StudySpec:
    """How to backtest one study: data, columns, laws, what the scale measures, which rows."""

    dataset: str
    x: tuple[str, ...]
    y: str
    groups: tuple[str, ...] = ()
    kind: str = "data"
    domain: str = ""
    laws: tuple[str, ...] = ("power", "saturating", "m4")
    select: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    run: str | None = None
    min_points: int | None = None
    fractions: tuple[float, ...] = (0.55, 0.75)
    note: str = ""

    def load(self) -> pd.DataFrame:
        """The study's rows (after ``select``), index reset."""
        from bayes_scaling.datasets import load_dataset

        d = load_dataset(self.dataset)
        if self.select is not None:
            d = self.select(d)
        return d.reset_index(drop=True)


def _where(col: str, value: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda d: d[d[col] == value]


def _vision(d: pd.DataFrame) -> pd.DataFrame:
    """Four 10-shot tasks x 6 models, each curve thinned to at most 30 log-spaced points."""
    d = d[d["task"].isin(["bird_10", "c_10", "cal_10", "inet_10"])]
    keep = []
    for _, g in d.groupby(["task", "model"], sort=False):
        g = g.sort_values("seen_examples")
        idx = np.unique(np.round(np.linspace(0, len(g) - 1, min(30, len(g)))).astype(int))
        keep.append(g.iloc[idx])
    out = pd.concat(keep).sort_index()
    return out.assign(run=out["task"] + " | " + out["model"])


#: The bundled real studies and how each is swept.
BUNDLED_STUDIES: dict[str, StudySpec] = {
    "revisiting_nmt": StudySpec(
        "revisiting_nmt", ("seen_examples",), "loss", ("architecture",), "data", "translation"
    ),
    "revisiting_lm": StudySpec(
        "revisiting_lang", ("seen_examples",), "loss", ("model",), "steps", "language",
        select=_where("domain", "LM"), run="model",
    ),
    "revisiting_bigbench": StudySpec(
        "revisiting_lang", ("seen_examples",), "loss", ("task",), "steps",
        "language (downstream)", select=_where("domain", "BB"), run="task",
    ),
    "revisiting_vision": StudySpec(
        "revisiting_vision", ("seen_examples",), "loss", ("task", "model"), "steps",
        "vision (few-shot)", select=_vision, run="run",
        note="4 ten-shot tasks x 6 models, curves thinned to 30 log-spaced points",
    ),
    "chinchilla": StudySpec(
        "chinchilla", ("N", "D"), "loss", (), "compute", "language", ("chinchilla",),
        select=lambda d: d[~d["epoch_excluded_top5_loss"].astype(bool)],
    ),
    "datablations": StudySpec(
        "datablations", ("N", "D"), "val_loss", (), "compute", "language", ("chinchilla",),
        select=lambda d: d[d["epochs"] <= 4],
        note="up to 4 epochs, where repetition barely matters",
    ),
    "porian_isoflop": StudySpec(
        "porian_isoflop", ("N", "D"), "loss", ("dataset",), "compute", "language", ("chinchilla",)
    ),
    "gadre_overtraining": StudySpec(
        "gadre_overtraining", ("N", "D"), "loss_c4_val", ("dataset",), "compute", "language",
        ("chinchilla",),
    ),
    "llama3_isoflop": StudySpec(
        "llama3_isoflop", ("N", "D"), "loss", (), "compute", "language", ("chinchilla",),
        note="N derived as C / (6 D) from the digitised figure",
    ),
    "clip_mammut": StudySpec(
        "clip_mammut", ("gflops",), "error", ("architecture",), "compute", "vision-language"
    ),
    "openclip_imagenet": StudySpec(
        "openclip_imagenet", ("samples_seen",), "error", ("architecture", "data"), "data",
        "vision-language", ("power", "saturating"),
        select=lambda d: d[d["architecture"].isin(["ViT-B-32", "ViT-B-16", "ViT-L-14"])],
        min_points=2,
    ),
    "steplaw_dense_moe": StudySpec(
        "steplaw_dense_moe", ("D",), "loss", ("family", "model"), "data", "language",
        ("power", "saturating"), min_points=2,
    ),
    "bnsl_addition": StudySpec(
        "bnsl_addition", ("data",), "loss", (), "data", "arithmetic", note="a sharp break"
    ),
}


def _order(frame: pd.DataFrame, x_cols: Sequence[str]) -> np.ndarray:
    """Ordering scale: sum of log scales (log compute up to a constant for an (N, D) law)."""
    return np.sum([np.log(numeric_column(frame, c, "input")) for c in x_cols], axis=0)


def cutoff_values(
    frame: pd.DataFrame, x_cols: Sequence[str], fractions: Sequence[float]
) -> list[float]:
    """Cut-offs on the ordering scale at ``fractions`` of its log range."""
    s = _order(frame, x_cols)
    lo, hi = float(s.min()), float(s.max())
    return [lo + f * (hi - lo) for f in fractions]


def sweep_study(
    data: pd.DataFrame | str,
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    study: str,
    kind: str,
    domain: str = "",
    laws: Sequence[str] = ("power", "saturating", "m4"),
    fractions: Sequence[float] = (0.5, 0.65, 0.8),
    run: str | None = None,
    min_points: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    chains: int = 2,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Backtest one study at several cut-offs with several laws.

    For each fraction ``f`` the study is cut on its ordering scale (sum of log inputs) at ``f``
    of its log range; each law is fitted without drift to the rows below, and every row above
    whose curve has enough training points is predicted.

    Returns
    -------
    points : DataFrame
        One row per held-out point and law/cut-off: ``study``, ``group`` (``family|kind``),
        ``domain``, ``law``, ``fraction``, ``unit`` (fit and curve, or run: points of one unit
        share a drift direction), ``curve``, ``row``, the inputs, ``y``, ``decades``, ``decline``
        (the law's mean log fall from the data's edge to the point), ``error`` (log y minus the
        mean log prediction), ``pred_var``, ``pred_median``, ``elpd_lfo`` (the PSIS-LFO density
        of the point's curve under this law: the weights of ``law="auto"``) and ``ls_median``
        (per-curve least squares with the same law on the same training rows).
    draws : ndarray
        ``(len(points), N_KEEP_DRAWS)`` thinned parameter-only log predictive draws.
    fits : DataFrame
        One row per fit: study, law, fraction, cut-off, sizes and the checks' summary.
    """
    frame = read_table(data).reset_index(drop=True)
    x_cols = list(as_columns(x, "x"))
    group_cols = list(as_columns(groups, "groups")) if groups else []
    order = _order(frame, x_cols)
    label = frame[group_cols].astype(str).agg(" / ".join, axis=1) if group_cols else pd.Series(
        "all", index=frame.index
    )
    unit_label = frame[run].astype(str) if run else label
    points, kept, fits = [], [], []
    for f, cut in zip(fractions, cutoff_values(frame, x_cols, fractions), strict=True):
        for law_name in laws:
            law = get_law(law_name)
            need = min_points or law.n_params
            train_mask = order <= cut + 1e-12
            counts = label[train_mask].value_counts()
            ok = set(counts[counts >= need].index)
            usable = label.isin(ok).to_numpy()
            train, test = frame[train_mask & usable], frame[~train_mask & usable]
            if len(test) == 0 or not ok:
                continue
            spec = ScalingLaw(law_name, min_points=min_points, discrepancy="none",
                              **(model_kwargs or {}))
            fit = spec.fit(train, x_cols, y, group_cols or None, run=run, chains=chains,
                           warmup=warmup, draws=draws, seed=seed, warn=False)
            bt = backtest_points(fit, test, seed=seed)
            elpd, _ = lfo_elpd(fit)
            curve_of = {c: i for i, c in enumerate(fit.curves)}
            ls = fit_least_squares(train, x_cols, y, group_cols or None, law=law_name,
                                   n_boot=2, seed=seed)
            ls_point = ls.point(test)
            log_pred = bt["log_pred"]
            thin = log_pred[np.linspace(0, log_pred.shape[0] - 1, N_KEEP_DRAWS).astype(int)]
            keys = curve_keys(fit, test)
            for j, (idx, row) in enumerate(test.iterrows()):
                points.append({
                    "study": study,
                    "group": f"{law_family(law)}|{kind}",
                    "domain": domain,
                    "law": law_name,
                    "fraction": f,
                    "unit": f"{law_name}@{f:g}|{unit_label[idx]}",
                    "curve": curve_label(group_cols, keys[j]),
                    "row": int(idx),
                    **{c: float(row[c]) for c in x_cols},
                    "y": float(row[y]),
                    **{k: float(bt[k][j]) for k in ("decades", "decline", "error", "pred_var",
                                                    "pred_median")},
                    "elpd_lfo": float(elpd[curve_of[keys[j]]]) if keys[j] in curve_of else np.nan,
                    "ls_median": float(ls_point[j]),
                })
                kept.append(thin[:, j])
            report = fit.check(warn=False)
            fits.append({
                "study": study, "law": law_name, "fraction": f, "cutoff_order": cut,
                "n_train": int(len(train)), "n_test": int(len(test)), "n_curves": len(ok),
                "sampler": report.sampler.line(), "problems": " | ".join(report.problems),
            })
    pts = pd.DataFrame(points)
    arr = np.vstack(kept) if kept else np.empty((0, N_KEEP_DRAWS))
    return pts, arr, pd.DataFrame(fits)
