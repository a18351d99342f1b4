"""Which curve each requested row belongs to: fitted, a new combination of levels, or new.

A row's curve is the tuple of its group labels (compared as text). Rows of fitted curves use
their posterior; a new combination of fitted levels and a new level are drawn from the
population by :mod:`bayes_scaling.predict`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.data import curve_label, group_labels

__all__ = ["KIND_FITTED", "KIND_COMBINATION", "KIND_NEW_LEVEL", "Rows", "curve_keys", "map_rows"]

KIND_FITTED = "fitted curve"
KIND_COMBINATION = "new combination"
KIND_NEW_LEVEL = "new level"


@dataclass(frozen=True)
class Rows:
    """Requested rows mapped to curves: keys, curve index, each curve's levels, what is new."""

    keys: list[tuple[str, ...]]
    curve_all: np.ndarray  # (rows,) index into fitted + new curves
    curve_levels: np.ndarray  # (all curves, factors)
    new_curves: list[tuple[str, ...]]
    new_levels: list[list[str]]
    kinds: list[str]


def curve_keys(fit: Any, frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """Curve key (tuple of label texts) of every row of ``frame``."""
    labels = []
    for g in fit.group_cols:
        lab, _ = group_labels(frame, g)
        labels.append(lab)
    return [tuple(str(lab[i]) for lab in labels) for i in range(len(frame))]


def map_rows(fit: Any, frame: pd.DataFrame, allow_new_levels: bool) -> Rows:
    """Map each row to a fitted curve or a new one (new curves and levels indexed after them).

    Raises
    ------
    ValueError
        For a new label when ``allow_new_levels`` is False, or for any curve not fitted by a
        fit without a population (``pooling='none'``).
    """
    keys = curve_keys(fit, frame)
    st = fit.structure
    if st.pooling == "complete":
        n = len(keys)
        return Rows(keys, np.zeros(n, dtype=np.int64), np.zeros((1, 0), dtype=np.int64), [],
                     [[] for _ in fit.group_cols], [KIND_FITTED] * n)
    unknown = sorted({(g, k[j]) for k in keys for j, g in enumerate(fit.group_cols)
                      if k[j] not in fit.levels[g]})
    if unknown and not allow_new_levels:
        g, lab = unknown[0]
        raise ValueError(
            f"group column {g!r} has label {lab!r} not seen in training; known labels: "
            f"{fit.levels[g]} (allow new levels to predict it from the population)"
        )
    if unknown and st.pooling == "none":
        g, lab = unknown[0]
        raise ValueError(
            f"group column {g!r} has label {lab!r} not seen in training, and a fit with "
            "pooling='none' has no population to draw a new level from"
        )
    index = {c: i for i, c in enumerate(fit.curves)}
    new_levels: list[list[str]] = [[] for _ in fit.group_cols]
    for g, lab in unknown:
        new_levels[fit.group_cols.index(g)].append(lab)
    level_pos = [
        {lab: i for i, lab in enumerate(list(fit.levels[g]) + new_levels[j])}
        for j, g in enumerate(fit.group_cols)
    ]
    new_curves: list[tuple[str, ...]] = []
    curve_all = np.empty(len(keys), dtype=np.int64)
    kinds = []
    for i, k in enumerate(keys):
        if k in index:
            curve_all[i] = index[k]
            kinds.append(KIND_FITTED)
            continue
        if k not in new_curves:
            if st.pooling == "none":
                raise ValueError(
                    f"curve {curve_label(fit.group_cols, k)} was not fitted, and a fit with "
                    "pooling='none' cannot predict curves it did not fit"
                )
            new_curves.append(k)
        curve_all[i] = len(fit.curves) + new_curves.index(k)
        new = any(k[j] in new_levels[j] for j in range(len(k)))
        kinds.append(KIND_NEW_LEVEL if new else KIND_COMBINATION)
    fitted_levels = np.asarray(
        [[level_pos[j][c[j]] for j in range(len(c))] for c in fit.curves], dtype=np.int64
    ).reshape(len(fit.curves), len(fit.group_cols))
    extra = np.asarray(
        [[level_pos[j][c[j]] for j in range(len(c))] for c in new_curves], dtype=np.int64
    ).reshape(len(new_curves), len(fit.group_cols))
    return Rows(keys, curve_all, np.vstack([fitted_levels, extra]), new_curves, new_levels,
                 kinds)
