"""Backtest sweeps: how wrong extrapolations were, study by study, cut-off by cut-off.

:func:`sweep_study` fits a study's smaller runs at several cut-offs with every applicable law and
records, per held-out point, the error of the parameter-only prediction and how far beyond the
curve's data it was. :data:`BUNDLED_STUDIES` describes the bundled real studies; together their
sweeps are the data of the drift prior (:mod:`bayes_scaling.drift`). Add your own studies with
:func:`sweep_study` and refit the prior with :func:`bayes_scaling.drift.fit_drift_prior`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.data import as_columns, numeric_column, read_table
from bayes_scaling.discrepancy import DEFAULT_TAU_PRIOR
from bayes_scaling.estimator import ScalingLaw
from bayes_scaling.laws import get_law
from bayes_scaling.predict import predictive_draws

__all__ = ["StudySpec", "BUNDLED_STUDIES", "sweep_study", "cutoff_values", "N_KEEP_DRAWS"]

#: Thinned predictive draws kept per held-out point (for scoring variants later).
N_KEEP_DRAWS = 200


@dataclass(frozen=True)
class StudySpec:
    """How to backtest one study: data, columns, laws and which rows to use."""

    dataset: str
    x: tuple[str, ...]
    y: str
    groups: tuple[str, ...] = ()
    domain: str = ""
    laws: tuple[str, ...] = ("power", "saturating")
    select: Callable[[pd.DataFrame], pd.DataFrame] | None = None
    min_points: int | None = None
    fractions: tuple[float, ...] = (0.5, 0.65, 0.8)
    note: str = ""

    def load(self) -> pd.DataFrame:
        """The study's rows (after ``select``), index reset."""
        from bayes_scaling.datasets import load_dataset

        d = load_dataset(self.dataset)
        if self.select is not None:
            d = self.select(d)
        return d.reset_index(drop=True)


def _lang(domain: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda d: d[d["domain"] == domain]


#: The bundled real studies and how each is swept.
BUNDLED_STUDIES: dict[str, StudySpec] = {
    "revisiting_nmt": StudySpec(
        "revisiting_nmt", ("seen_examples",), "loss", ("architecture",), "translation"
    ),
    "revisiting_lm": StudySpec(
        "revisiting_lang", ("seen_examples",), "loss", ("model",), "language", select=_lang("LM")
    ),
    "revisiting_bigbench": StudySpec(
        "revisiting_lang",
        ("seen_examples",),
        "loss",
        ("task",),
        "language (downstream)",
        select=_lang("BB"),
    ),
    "chinchilla": StudySpec(
        "chinchilla",
        ("N", "D"),
        "loss",
        (),
        "language",
        ("chinchilla",),
        select=lambda d: d[~d["epoch_excluded_top5_loss"].astype(bool)],
    ),
    "datablations": StudySpec(
        "datablations",
        ("N", "D"),
        "val_loss",
        (),
        "language",
        ("chinchilla",),
        select=lambda d: d[d["epochs"] <= 4],
        note="up to 4 epochs, where repetition barely matters",
    ),
    "porian_isoflop": StudySpec(
        "porian_isoflop", ("N", "D"), "loss", ("dataset",), "language", ("chinchilla",)
    ),
    "gadre_overtraining": StudySpec(
        "gadre_overtraining", ("N", "D"), "loss_c4_val", ("dataset",), "language", ("chinchilla",)
    ),
    "clip_mammut": StudySpec(
        "clip_mammut", ("gflops",), "error", ("architecture",), "vision-language"
    ),
    "openclip_imagenet": StudySpec(
        "openclip_imagenet",
        ("samples_seen",),
        "error",
        ("architecture", "data"),
        "vision-language",
        ("power",),
        select=lambda d: d[d["architecture"].isin(["ViT-B-32", "ViT-B-16", "ViT-L-14"])],
        min_points=2,
    ),
    "steplaw_dense_moe": StudySpec(
        "steplaw_dense_moe", ("D",), "loss", ("family", "model"), "language", min_points=2
    ),
}


def _order(frame: pd.DataFrame, x_cols: Sequence[str]) -> np.ndarray:
    """Ordering scale: sum of log scales (log compute up to a constant for an (N, D) law)."""
    return np.sum([np.log(numeric_column(frame, c, "scale")) for c in x_cols], axis=0)


def cutoff_values(
    frame: pd.DataFrame, x_cols: Sequence[str], fractions: Sequence[float]
) -> list[float]:
    """Cut-offs on the ordering scale at ``fractions`` of its log range."""
    s = _order(frame, x_cols)
    lo, hi = float(s.min()), float(s.max())
    return [lo + f * (hi - lo) for f in fractions]


@dataclass
class _Unit:
    rows: list[dict] = field(default_factory=list)
    draws: list[np.ndarray] = field(default_factory=list)


def sweep_study(
    data: pd.DataFrame | str,
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    study: str,
    domain: str = "",
    laws: Sequence[str] = ("power", "saturating"),
    fractions: Sequence[float] = (0.5, 0.65, 0.8),
    min_points: int | None = None,
    model_kwargs: dict[str, Any] | None = None,
    chains: int = 2,
    warmup: int = 400,
    draws: int = 400,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """Backtest one study at several cut-offs with several laws.

    For each fraction ``f`` the study is cut on its ordering scale (sum of log scales) at ``f``
    of its log range; each law is fitted (with the within-study leave-future-out discrepancy
    under the weak ``HalfNormal(0.05)`` prior, so that variant can be scored too; its inner
    errors are kept in ``fits``) to the rows below, and every row above whose curve has
    enough training points is predicted.

    Returns
    -------
    points : DataFrame
        One row per held-out point and law/cut-off: ``study``, ``domain``, ``law``, ``fraction``,
        ``unit`` (fit and curve: points of one unit share a drift), ``curve``, ``row`` (index in
        ``data``), the scale columns, ``y``, ``decades`` (beyond the curve's data, as the
        package measures it), ``order_decades`` (the ordering scale's log10 beyond the curve's
        largest training value; compute for (N, D) laws), ``error`` (log y minus the mean log
        prediction, parameter-only), ``pred_var``, ``pred_median``.
    draws : ndarray
        ``(len(points), N_KEEP_DRAWS)`` thinned parameter-only log predictive draws.
    fits : DataFrame
        One row per fit: study, law, fraction, cut-off, sizes, diagnostics line, the within-study
        LFO inner errors (JSON) and its tau draws summary.
    """
    frame = read_table(data).reset_index(drop=True)
    x_cols = list(as_columns(x, "x"))
    group_cols = list(as_columns(groups, "groups")) if groups else []
    order = _order(frame, x_cols)
    curve_key = (
        frame[group_cols].astype(str).agg(" / ".join, axis=1)
        if group_cols
        else pd.Series("all", index=frame.index)
    )
    points, kept, fits = [], [], []
    for f, cut in zip(fractions, cutoff_values(frame, x_cols, fractions), strict=True):
        for law_name in laws:
            law = get_law(law_name)
            need = min_points or law.n_params
            train_mask = order <= cut + 1e-12
            counts = curve_key[train_mask].value_counts()
            ok_curves = set(counts[counts >= need].index)
            usable = curve_key.isin(ok_curves).to_numpy()
            train, test = frame[train_mask & usable], frame[~train_mask & usable]
            if len(test) == 0 or len(ok_curves) == 0:
                continue
            kwargs = {"discrepancy_prior": DEFAULT_TAU_PRIOR, **(model_kwargs or {})}
            spec = ScalingLaw(law_name, min_points=min_points, **kwargs)
            fit = spec.fit(
                train,
                x_cols,
                y,
                group_cols or None,
                chains=chains,
                warmup=warmup,
                draws=draws,
                seed=seed,
                warn=False,
            )
            pd_draws = predictive_draws(fit, test, seed=seed, max_decades=np.inf)
            log_pred = np.log(pd_draws.observed) - np.log(pd_draws.drift)
            log_y = np.log(numeric_column(test, y, "metric"))
            train_max = (
                pd.Series(order[train_mask & usable]).groupby(
                    curve_key[train_mask & usable].to_numpy()
                )
            ).max()
            unit_prefix = f"{law_name}@{f:g}"
            thin = log_pred[np.linspace(0, log_pred.shape[0] - 1, N_KEEP_DRAWS).astype(int)]
            for j, (idx, row) in enumerate(test.iterrows()):
                ck = curve_key[idx]
                points.append(
                    {
                        "study": study,
                        "domain": domain,
                        "law": law_name,
                        "fraction": f,
                        "unit": f"{unit_prefix}|{ck}",
                        "curve": ck,
                        "row": int(idx),
                        **{c: float(row[c]) for c in x_cols},
                        "y": float(row[y]),
                        "decades": float(pd_draws.decades[j]),
                        "order_decades": float((order[idx] - train_max[ck]) / np.log(10)),
                        "error": float(log_y[j] - log_pred[:, j].mean()),
                        "pred_var": float(log_pred[:, j].var()),
                        "pred_median": float(np.exp(np.median(log_pred[:, j]))),
                    }
                )
                kept.append(thin[:, j])
            disc = fit.discrepancy
            fits.append(
                {
                    "study": study,
                    "law": law_name,
                    "fraction": f,
                    "cutoff_order": cut,
                    "n_train": int(len(train)),
                    "n_test": int(len(test)),
                    "n_curves": int(len(ok_curves)),
                    "diagnostics": str(fit.diagnostics).splitlines()[0],
                    "lfo_method": disc.method if disc is not None else "none",
                    "lfo_inner": json.dumps(disc.details.get("inner", {})) if disc else "{}",
                    "lfo_tau_median": float(np.median(disc.tau)) if disc else np.nan,
                }
            )
    pts = pd.DataFrame(points)
    arr = np.vstack(kept) if kept else np.empty((0, N_KEEP_DRAWS))
    return pts, arr, pd.DataFrame(fits)
