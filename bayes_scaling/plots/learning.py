"""Learning curves over training: each run's checkpoints and its forecast beyond the last one."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from bayes_scaling.data import read_table
from bayes_scaling.decisions.curves import along_column
from bayes_scaling.intervals import check_probs
from bayes_scaling.plots._style import log_axes, new_axes
from bayes_scaling.predict import predict

__all__ = ["plot_learning_curves", "plot_run_grid", "run_grid"]


def _main(fit: Any) -> Any:
    main = getattr(fit, "main", fit)
    if not main.run_col:
        raise ValueError(
            "learning-curve plots need a fit with run=... (--run COL): the column naming each "
            "training run; for finished runs use plot_curves"
        )
    return main


def _pick_runs(main: Any, runs: Sequence[str] | None, limit: int) -> list[str]:
    if runs is None:
        return list(main.runs[:limit])
    unknown = [r for r in runs if str(r) not in main.runs]
    if unknown:
        raise ValueError(f"runs {unknown} are not fitted runs of this fit")
    return [str(r) for r in runs]


def run_grid(fit: Any, data: pd.DataFrame | None, runs: Sequence[str], along: str,
             extend: float, n_grid: int) -> pd.DataFrame:
    """Rows to predict per run: from its first checkpoint to ``extend`` x its last (or ``data``'s).

    The run's other columns (groups, and inputs other than ``along``) are taken from its last
    training checkpoint. For a law of several inputs (e.g. the schedule law's ``S1`` and
    ``anneal``, which move together along a run), when ``data`` holds the run's later checkpoints
    with every input, the band follows the run's own checkpoints (trained, then ``data``'s)
    instead of a grid that would hold the other inputs fixed.
    """
    if not extend >= 1:
        raise ValueError(f"extend must be >= 1, got {extend!r}")
    main = _main(fit)
    train = main.training_data()
    frames = []
    for r in runs:
        tr = train[train[main.run_col].astype(str) == r]
        last = tr.loc[tr[along].astype(float).idxmax()]
        hi = float(tr[along].max())
        if data is not None and main.run_col in data:
            ex = data[data[main.run_col].astype(str) == r]
            cols = [*main.group_cols, main.run_col, *main.x_cols]
            if len(main.x_cols) > 1 and len(ex) and all(c in ex for c in main.x_cols):
                rows = pd.concat([tr[cols], ex[cols]], ignore_index=True)
                frames.append(rows.sort_values(along).drop_duplicates(along))
                continue
            if len(ex):
                hi = max(hi, float(ex[along].max()))
        g = pd.DataFrame({c: [last[c]] * n_grid for c in [*main.group_cols, main.run_col,
                                                           *main.x_cols]})
        g[along] = np.geomspace(float(tr[along].min()), hi * extend, n_grid)
        frames.append(g)
    return pd.concat(frames, ignore_index=True)


def _draw_run(ax: Axes, main: Any, pred: pd.DataFrame, train: pd.DataFrame,
              extra: pd.DataFrame | None, run: str, along: str, color: str, label: str) -> None:
    p = pred[pred[main.run_col].astype(str) == run]
    ax.fill_between(p[along], p["lower"], p["upper"], color=color, alpha=0.15, lw=0)
    ax.plot(p[along], p["median"], color=color, lw=1.5, label=label)
    tr = train[train[main.run_col].astype(str) == run]
    ax.plot(tr[along], tr[main.y_col], "o", color=color, ms=2.5, zorder=3)
    last = float(tr[along].max())
    ax.axvline(last, color=color, lw=0.7, ls=":")
    if extra is not None and main.run_col in extra:
        ex = extra[extra[main.run_col].astype(str) == run]
        ax.scatter(ex[along], ex[main.y_col], facecolors="white", edgecolors=color, s=22,
                   lw=1.1, zorder=4)


def _setup(fit: Any, data: Any, runs: Sequence[str] | None, along: str | None, prob: float,
           limit: int) -> tuple[Any, float, str, pd.DataFrame | None, list[str]]:
    """Checked arguments shared by the learning-curve plots: fit, prob, along, overlay, runs."""
    main = _main(fit)
    (prob,) = check_probs(prob)
    along = along_column(fit, along)
    extra = read_table(data, what="plot data") if data is not None else None
    return main, prob, along, extra, _pick_runs(main, runs, limit)


def _forecast(fit: Any, main: Any, extra: pd.DataFrame | None, chosen: list[str], along: str,
              extend: float, n_grid: int, prob: float, seed: int) -> tuple:
    """Predictions along each chosen run's grid, and the training rows."""
    grid = run_grid(fit, extra, chosen, along, extend, n_grid)
    return predict(fit, grid, prob, seed=seed), main.training_data()


def plot_learning_curves(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str] | None = None,
    *,
    runs: Sequence[str] | None = None,
    along: str | None = None,
    prob: float = 0.9,
    extend: float = 3.0,
    n_grid: int = 60,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """Runs' checkpoints (dots), their forecast median and ``prob`` band past the last checkpoint.

    Parameters
    ----------
    fit : ScalingFit or FormFit
        A fit with ``run=``.
    data : DataFrame or CSV path, optional
        Later checkpoints to overlay as open markers (e.g. the rest of partial runs).
    runs : list of str, optional
        Runs to draw (default: the first 10 fitted runs).
    along : str, optional
        The input training extends along (default: the fit's only input).
    prob, extend, n_grid, seed
        Band probability; draw to ``extend`` x the last checkpoint; grid size; seed.
    ax : Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    main, prob, along, extra, chosen = _setup(fit, data, runs, along, prob, 10)
    pred, train = _forecast(fit, main, extra, chosen, along, extend, n_grid, prob, seed)
    ax = new_axes(ax)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, r in enumerate(chosen):
        _draw_run(ax, main, pred, train, extra, r, along, colors[i % len(colors)], r)
    log_axes(ax)
    ax.set_xlabel(along)
    ax.set_ylabel(main.y_col)
    ax.set_title(f"checkpoints, forecast median and {100 * prob:g}% band of a new checkpoint "
                 "(dotted: last checkpoint fitted)", fontsize=9)
    ax.grid(True, which="both", alpha=0.2)
    if len(chosen) <= 12:
        ax.legend(fontsize=7, frameon=False)
    return ax


def plot_run_grid(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str] | None = None,
    *,
    runs: Sequence[str] | None = None,
    along: str | None = None,
    prob: float = 0.9,
    extend: float = 3.0,
    ncols: int = 4,
    n_grid: int = 40,
    seed: int = 0,
    axes: np.ndarray | None = None,
) -> np.ndarray:
    """Small multiples: one panel per run (default: up to 24 runs), shared metric axis.

    Same content as :func:`plot_learning_curves`; returns the array of Axes.
    """
    main, prob, along, extra, chosen = _setup(fit, data, runs, along, prob, 24)
    if axes is None:
        nrows = int(np.ceil(len(chosen) / ncols))
        _, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.5 * nrows), sharey=True,
                               squeeze=False)
    flat = np.asarray(axes).ravel()
    if flat.size < len(chosen):
        raise ValueError(f"axes has {flat.size} panels for {len(chosen)} runs")
    pred, train = _forecast(fit, main, extra, chosen, along, extend, n_grid, prob, seed)
    for a, r in zip(flat, chosen, strict=False):
        _draw_run(a, main, pred, train, extra, r, along, "C0", r)
        log_axes(a)
        a.set_title(r, fontsize=8)
        a.tick_params(labelsize=7)
        a.grid(True, which="both", alpha=0.2)
    for a in flat[len(chosen):]:
        a.set_visible(False)
    return np.asarray(axes)
