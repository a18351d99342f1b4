"""Loss over training that knows the learning-rate schedule (Tissue et al. 2024).

Tissue, Wang & Wang 2024, "Scaling Law with Learning Rate Annealing" (arXiv:2408.11029)::

    L(s) = L0 + A S1^-alpha - C S2,
    S1(s) = sum_{i < s} eta_i                         (forward area: total learning rate)
    S2(s) = sum_{i <= s} m_i,  m_i = lam m_{i-1} + (eta_{i-1} - eta_i)   (annealing area)

with ``eta`` the learning rate at each step and ``lam`` a decay of the annealing momentum (0.999,
the value every public reproduction uses). A constant-LR run has ``S2 = 0``; a cosine run gains
``S2`` as its learning rate falls, so a fit to some schedules predicts the curve of another (a
cooldown, a longer cosine). The law's inputs here are ``S1`` and the *annealing fraction*
``anneal = S2 / S1`` (zero for a constant learning rate), which keeps the published form
(``C S2 = C anneal S1``) while letting the toolkit measure ``S1`` on a log scale and leave the
fraction, which may be zero, in its own units.

:func:`schedule_areas` computes ``S1``, ``S2`` and ``anneal`` for every checkpoint, either from a
named schedule and its parameters (exact: the per-step learning rates are rebuilt) or from a
learning-rate column at the checkpoints (interpolated linearly between checkpoints: approximate
when checkpoints are sparse).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes_scaling.data import read_table
from bayes_scaling.laws._law import law
from bayes_scaling.laws.power import AMPLITUDE
from bayes_scaling.priors import Prior

__all__ = ["schedule", "schedule_lr", "schedule_areas", "SCHEDULES", "ANNEAL_DECAY"]

#: Decay of the annealing momentum (Tissue et al. 2024; every public reproduction uses 0.999).
ANNEAL_DECAY = 0.999
#: Named schedules :func:`schedule_lr` knows.
SCHEDULES = ("cosine", "linear", "constant", "wsd")


@law(
    inputs=("S1", "anneal"),
    scales=("S1",),
    positive=False,
    priors={
        "L0": AMPLITUDE,
        "A": AMPLITUDE,
        "alpha": Prior("LogNormal", loc=math.log(0.5), scale=0.7,
                       note="Luo et al. 2025 fit 0.43-0.51 on Llama-2-style models"),
        "C": Prior("LogNormal", loc=math.log(0.1), scale=1.5, units="data",
                   note="loss recovered per unit of annealing fraction, relative to the metric"),
    },
    spread={"L0": 1.0, "A": 1.0, "alpha": 0.5, "C": 1.0},
)
def schedule(S1, anneal, L0, A, alpha, C):  # noqa: ANN001, ANN201, N803
    """L = L0 + A S1^-alpha - C S2, S2 = anneal S1  (Tissue et al. 2024)."""
    return L0 + A * S1**-alpha - C * anneal * S1


def schedule_lr(
    steps: np.ndarray,
    *,
    peak_lr: float,
    warmup: int,
    total: int,
    final_lr: float = 0.0,
    kind: str = "cosine",
    decay_steps: int | None = None,
) -> np.ndarray:
    """Learning rate at each step of a named schedule.

    Linear warm-up over ``warmup`` steps to ``peak_lr``, then ``cosine`` (to ``final_lr`` at
    ``total``), ``linear`` decay, ``constant``, or ``wsd`` (warm-up, stable, then a linear
    decay over the last ``decay_steps``).
    """
    if kind not in SCHEDULES:
        raise ValueError(f"schedule kind must be one of {SCHEDULES}, got {kind!r}")
    s = np.asarray(steps, dtype=float)
    warm = peak_lr * np.minimum((s + 1) / max(warmup, 1), 1.0)
    frac = np.clip((s - warmup) / max(total - warmup, 1), 0.0, 1.0)
    if kind == "cosine":
        main = final_lr + 0.5 * (1 + np.cos(np.pi * frac)) * (peak_lr - final_lr)
    elif kind == "linear":
        main = peak_lr + (final_lr - peak_lr) * frac
    elif kind == "constant":
        main = np.full_like(s, peak_lr)
    else:
        d = decay_steps if decay_steps is not None else max(int(0.2 * total), 1)
        start = total - d
        t = np.clip((s - start) / max(d, 1), 0.0, 1.0)
        main = peak_lr + (final_lr - peak_lr) * t
    return np.where(s < warmup, warm, main)


def _areas(lr: np.ndarray, decay: float) -> tuple[np.ndarray, np.ndarray]:
    """S1 (before each step) and S2 (through each step) of a per-step learning-rate array."""
    s1 = np.concatenate([[0.0], np.cumsum(lr)[:-1]])
    drop = np.concatenate([[0.0], lr[:-1] - lr[1:]])
    drop = np.maximum(drop, 0.0)  # warm-up raises the LR: no annealing then
    m = np.empty_like(lr)
    acc = 0.0
    for i, dv in enumerate(drop):
        acc = decay * acc + dv
        m[i] = acc
    return s1, np.cumsum(m)


def schedule_areas(
    data: pd.DataFrame,
    *,
    run: str,
    step: str = "step",
    lr: str | None = None,
    peak_lr: str = "peak_lr",
    warmup: str = "warmup_steps",
    total: str = "total_steps",
    final_lr: str | float = "final_lr",
    kind: str | Sequence[str] = "cosine",
    decay: float = ANNEAL_DECAY,
) -> pd.DataFrame:
    """Add ``S1``, ``S2`` and ``anneal`` (= S2 / S1) to a table of checkpoints.

    Parameters
    ----------
    data : DataFrame
        One row per checkpoint; rows are kept in their order.
    run : str
        Column identifying the run (a schedule per run).
    step : str
        Optimiser steps done at the checkpoint.
    lr : str, optional
        A learning-rate column at the checkpoints: the schedule is interpolated linearly between
        checkpoints (approximate). Without it, the named schedule is rebuilt exactly from
        ``peak_lr``, ``warmup``, ``total``, ``final_lr`` (columns, or a number for ``final_lr``)
        and ``kind``.
    kind : str or column name
        Schedule name (:data:`SCHEDULES`) for every run, or a column naming each run's.
    decay : float
        Decay of the annealing momentum.

    Returns
    -------
    DataFrame
        A copy with ``S1``, ``S2`` and ``anneal`` added (``S1`` in learning-rate x steps).
    """
    df = read_table(data).copy()
    for col in [run, step] + ([lr] if lr else [peak_lr, warmup, total]):
        if col not in df.columns:
            raise ValueError(f"schedule_areas: column {col!r} not found; available: "
                             f"{list(map(str, df.columns))}")
    s1 = np.full(len(df), np.nan)
    s2 = np.full(len(df), np.nan)
    for _, g in df.groupby(run, sort=False):
        steps = g[step].to_numpy(dtype=float)
        last = int(np.ceil(steps.max())) + 1
        grid = np.arange(last)
        if lr:
            order = np.argsort(steps)
            rate = np.interp(grid, steps[order], g[lr].to_numpy(float)[order])
        else:
            first = g.iloc[0]
            name = first[kind] if isinstance(kind, str) and kind in df.columns else kind
            fin = float(first[final_lr]) if isinstance(final_lr, str) else float(final_lr)
            rate = schedule_lr(grid, peak_lr=float(first[peak_lr]), warmup=int(first[warmup]),
                               total=int(first[total]), final_lr=fin, kind=str(name))
        a1, a2 = _areas(rate, decay)
        idx = np.minimum(np.round(steps).astype(int), last - 1)
        pos = df.index.get_indexer(g.index)
        s1[pos], s2[pos] = a1[idx], a2[idx]
    if (s1 <= 0).any():
        raise ValueError("schedule_areas: checkpoints at step 0 have no forward area (S1 = 0); "
                         "drop them")
    return df.assign(S1=s1, S2=s2, anneal=s2 / s1)
