"""Backtests: fit the smaller scales, predict the larger ones, and score the predictions.

Scores are computed on the log scale of the metric (errors are multiplicative) from predictive
draws, identically for every method:

* coverage of central 50/80/90/95% intervals;
* interval score of the central 90% interval (Gneiting & Raftery 2007): width plus
  ``2/alpha`` times the miss, so narrow-but-wrong intervals are penalised;
* CRPS (continuous ranked probability score, from the draws);
* log predictive density (Gaussian kernel density of the draws, Silverman bandwidth);
* absolute error of the median prediction (``|log median - log y|``).

Methods: the Bayesian model under test, least squares in log space with bootstrap intervals (what
most papers do) and the no-pooling version of the same Bayesian model, on the same split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.data import as_columns, numeric_column, read_table
from bayes_scaling.evaluation.baselines import fit_least_squares
from bayes_scaling.fit import ScalingLaw
from bayes_scaling.intervals import central_interval
from bayes_scaling.predict import predictive_draws

__all__ = ["BacktestReport", "backtest", "split_mask", "score_log_draws", "PROBS"]

PROBS = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class BacktestReport:
    """Scores of one method on one split.

    Attributes
    ----------
    method : str
        Method name.
    points : DataFrame
        One row per held-out point: the caller's columns plus ``median``, ``lower_<pct>``,
        ``upper_<pct>``, ``covered_<pct>``, ``crps``, ``lpd``, ``abs_log_error``,
        ``interval_score_90``.
    summary : dict
        Means over the points (NaN rows, e.g. curves a baseline cannot predict, are counted in
        ``n_missing`` and left out).
    """

    method: str
    points: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"method": self.method, "summary": self.summary, "points": json_records(self.points)}


def json_records(df: pd.DataFrame) -> list[dict]:
    """Records with numpy scalars turned into Python numbers and NaN into None."""
    out = []
    for rec in df.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and not np.isfinite(v):
                v = None
            clean[str(k)] = v
        out.append(clean)
    return out


def split_mask(
    frame: pd.DataFrame,
    x_cols: Sequence[str],
    *,
    cutoff: float | None = None,
    cutoff_col: str | None = None,
    split: str | None = None,
) -> np.ndarray:
    """Boolean mask of training rows: ``split`` column (truthy = train) or ``col <= cutoff``."""
    if (cutoff is None) == (split is None):
        raise ValueError("give exactly one of cutoff (a scale value) or split (a column name)")
    if split is not None:
        if split not in frame.columns:
            raise ValueError(f"split column {split!r} not found; available: {list(frame.columns)}")
        s = frame[split]
        if s.isna().any():
            raise ValueError(f"split column {split!r} has missing values")
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            return s.astype(bool).to_numpy()
        lowered = s.astype(str).str.lower()
        if not lowered.isin(["true", "false", "1", "0"]).all():
            raise ValueError(f"split column {split!r} must be boolean or 0/1")
        return lowered.isin(["true", "1"]).to_numpy()
    col = cutoff_col or x_cols[0]
    if isinstance(cutoff, bool) or not isinstance(cutoff, int | float) or not cutoff > 0:
        raise ValueError(f"cutoff must be a positive number, got {cutoff!r}")
    values = numeric_column(frame, col, "cutoff")
    return values <= cutoff


def score_log_draws(
    log_draws: np.ndarray, log_y: np.ndarray, probs: Sequence[float] = PROBS
) -> pd.DataFrame:
    """Per-point scores of predictive draws ``(draws, points)`` against ``log y``."""
    s = np.sort(log_draws, axis=0)
    n_draws = s.shape[0]
    out: dict[str, np.ndarray] = {"median": np.exp(np.median(s, axis=0))}
    for p in probs:
        pct = f"{100 * p:g}"
        lo, _, hi = central_interval(s, p)
        out[f"lower_{pct}"], out[f"upper_{pct}"] = np.exp(lo), np.exp(hi)
        out[f"covered_{pct}"] = np.where(np.isnan(lo), np.nan, (log_y >= lo) & (log_y <= hi))
    lo, _, hi = central_interval(s, 0.9)
    alpha = 0.1
    out["interval_score_90"] = (hi - lo) + (2 / alpha) * (
        np.clip(lo - log_y, 0, None) + np.clip(log_y - hi, 0, None)
    )
    weights = (2 * np.arange(1, n_draws + 1) - n_draws - 1)[:, None]
    mean_pair = 2 * (weights * s).sum(axis=0) / n_draws**2
    out["crps"] = np.abs(s - log_y).mean(axis=0) - 0.5 * mean_pair
    sd = s.std(axis=0)
    bw = np.maximum(1.06 * sd * n_draws ** (-0.2), 1e-6)
    dens = np.exp(-0.5 * ((s - log_y) / bw) ** 2).mean(axis=0) / (bw * np.sqrt(2 * np.pi))
    out["lpd"] = np.log(np.maximum(dens, 1e-300))
    out["abs_log_error"] = np.abs(np.log(out["median"]) - log_y)
    return pd.DataFrame(out)


def _summarise(points: pd.DataFrame, probs: Sequence[float]) -> dict[str, Any]:
    ok = points["median"].notna()
    p = points[ok]
    summary: dict[str, Any] = {"n": int(ok.sum()), "n_missing": int((~ok).sum())}
    for q in probs:
        summary[f"coverage_{100 * q:g}"] = float(p[f"covered_{100 * q:g}"].mean())
    for k in ("interval_score_90", "crps", "lpd", "abs_log_error"):
        summary[f"mean_{k}"] = float(p[k].mean())
    summary["median_abs_log_error"] = float(p["abs_log_error"].median())
    return summary


def _report(
    name: str, test: pd.DataFrame, log_draws: np.ndarray, log_y: np.ndarray, probs: Sequence[float]
) -> BacktestReport:
    scores = score_log_draws(log_draws, log_y, probs)
    scores.index = test.index
    points = pd.concat([test, scores], axis=1)
    return BacktestReport(name, points, _summarise(points, probs))


def backtest(
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    cutoff: float | None = None,
    cutoff_col: str | None = None,
    split: str | None = None,
    run: str | None = None,
    model: ScalingLaw | None = None,
    baselines: Sequence[str] = ("least_squares", "no_pooling"),
    probs: Sequence[float] = PROBS,
    chains: int = 2,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
    n_boot: int = 300,
) -> dict[str, BacktestReport]:
    """Fit on the smaller scales (or an official split), predict the rest, score every method.

    Parameters
    ----------
    data : DataFrame or CSV path
        All runs.
    x, y, groups
        Column roles, as in :meth:`ScalingLaw.fit`.
    cutoff, cutoff_col
        Train on rows with ``cutoff_col <= cutoff`` (default column: the first scale column).
    split
        Alternatively, a boolean column (truthy = train), e.g. a benchmark's official split.
    run : str, optional
        Column identifying training runs (learning curves).
    model : ScalingLaw
        The Bayesian model to test (default ``ScalingLaw()``: ``law="auto"``).
    baselines : sequence of str
        Any of ``"least_squares"`` (per-curve multi-start least squares in log space +
        bootstrap, with the model's law, or ``saturating`` when the model chooses per curve)
        and ``"no_pooling"``.
    probs : sequence of float
        Central interval probabilities to score.
    chains, warmup, draws, seed, n_boot
        Sampler and bootstrap settings.

    Returns
    -------
    dict[str, BacktestReport]
        By method name: ``"bayes"``, then the baselines.
    """
    frame = read_table(data).copy()
    model = model or ScalingLaw()
    x_cols = as_columns(x, "x")
    train_mask = split_mask(frame, x_cols, cutoff=cutoff, cutoff_col=cutoff_col, split=split)
    if train_mask.all() or not train_mask.any():
        raise ValueError(
            f"the split leaves {int(train_mask.sum())} training and {int((~train_mask).sum())} "
            "held-out rows; both must be non-empty"
        )
    unknown = set(baselines) - {"least_squares", "no_pooling"}
    if unknown:
        raise ValueError(f"unknown baseline(s) {sorted(unknown)}; use least_squares, no_pooling")
    train, test = frame[train_mask], frame[~train_mask]
    log_y = np.log(numeric_column(test, y, "metric"))
    kw = dict(chains=chains, warmup=warmup, draws=draws, seed=seed, warn=False)
    reports = {}

    def model_report(name: str, spec: ScalingLaw) -> tuple[BacktestReport, Any]:
        fitted = spec.fit(train, x=x_cols, y=y, groups=groups, run=run, **kw)
        observed = predictive_draws(fitted, test, seed=seed, max_decades=np.inf).observed
        return _report(name, test, np.log(observed), log_y, probs), fitted

    reports["bayes"], fit = model_report("bayes", model)
    report = fit.check(warn=False)
    reports["bayes"].summary["diagnostics"] = report.sampler.line()
    reports["bayes"].summary["checks"] = "; ".join(report.problems) or "all checks passed"
    disc = getattr(fit, "discrepancy", None)
    if disc is not None:
        reports["bayes"].summary["discrepancy"] = disc.summary()
    if "least_squares" in baselines:
        ls_law = model.law if not (isinstance(model.law, str) and model.law == "auto") else (
            "saturating" if len(x_cols) == 1 else "chinchilla"
        )
        ls = fit_least_squares(train, x_cols, y, groups, law=ls_law, n_boot=n_boot, seed=seed)
        reports["least_squares"] = _report(
            "least_squares", test, ls.log_draws(test, seed)[1], log_y, probs
        )
    if "no_pooling" in baselines and groups:
        reports["no_pooling"], _ = model_report("no_pooling", replace(model, pooling="none"))
    return reports
