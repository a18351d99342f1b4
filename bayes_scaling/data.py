"""The one place where user data enters: validation of a tidy table of runs.

One row per measured run or checkpoint. The caller names the scale column(s) (parameters, data,
compute, steps: any positive numeric column), the metric column (loss or error, lower is better) and
any number of grouping columns (domain, architecture, dataset, ...). A *curve* is a unique
combination of group labels. Rows are never dropped or reordered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["RunData", "validate_runs", "read_table", "as_columns", "RESERVED_NAMES"]

#: Names that cannot be used as grouping columns because they name model dimensions.
RESERVED_NAMES = frozenset({"curve", "point", "chain", "draw", "input", "level", "param"})


@dataclass(frozen=True)
class RunData:
    """Validated runs, in the caller's row order.

    Attributes
    ----------
    frame : pandas.DataFrame
        A copy of the caller's table (all columns, original order and index).
    x_cols, y_col, group_cols
        Column roles.
    x : numpy.ndarray
        Scales, shape ``(n, k)``, float64.
    y : numpy.ndarray
        Metric, shape ``(n,)``, float64.
    levels : dict[str, list[str]]
        Level labels of each grouping column, in order of first appearance.
    level_idx : numpy.ndarray
        Level index of each row for each grouping column, shape ``(n, n_factors)``.
    curves : list[tuple[str, ...]]
        Curve labels (one tuple of group labels per curve), in order of first appearance.
    curve_idx : numpy.ndarray
        Curve index of each row, shape ``(n,)``.
    curve_levels : numpy.ndarray
        Level index of each curve for each grouping column, shape ``(n_curves, n_factors)``.
    """

    frame: pd.DataFrame
    x_cols: tuple[str, ...]
    y_col: str
    group_cols: tuple[str, ...]
    x: np.ndarray
    y: np.ndarray
    levels: dict[str, list[str]]
    level_idx: np.ndarray
    curves: list[tuple[str, ...]]
    curve_idx: np.ndarray
    curve_levels: np.ndarray

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.y.shape[0])

    @property
    def n_curves(self) -> int:
        """Number of curves."""
        return len(self.curves)


def read_table(data: pd.DataFrame | str | PathLike[str], *, what: str = "data") -> pd.DataFrame:
    """Return a DataFrame from a DataFrame or a CSV path, with a clear error otherwise."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | PathLike):
        path = Path(data)
        if not path.exists():
            raise ValueError(f"{what}: file {str(path)!r} does not exist")
        try:
            return pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
            raise ValueError(f"{what}: cannot read {str(path)!r} as CSV ({e})") from None
    raise TypeError(f"{what} must be a pandas DataFrame or a CSV path, got {type(data).__name__}")


def as_columns(value: str | Sequence[str] | None, arg: str) -> tuple[str, ...]:
    """Normalise a column argument (one name or several) to a tuple of names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"{arg} must be a column name or a list of column names, got {value!r}")


def _rows(mask: np.ndarray, index: pd.Index, limit: int = 5) -> str:
    labels = [str(v) for v in index[np.flatnonzero(mask)][:limit]]
    more = int(mask.sum()) - len(labels)
    return ", ".join(labels) + (f" and {more} more" if more > 0 else "")


def numeric_column(df: pd.DataFrame, col: str, role: str) -> np.ndarray:
    """Check that ``df[col]`` exists, is numeric, finite and strictly positive; return float64."""
    if col not in df.columns:
        raise ValueError(
            f"{role} column {col!r} not found; available columns: {list(map(str, df.columns))}"
        )
    s = df[col]
    if pd.api.types.is_bool_dtype(s) or not pd.api.types.is_numeric_dtype(s):
        bad = pd.to_numeric(s, errors="coerce").isna() & s.notna()
        example = f" (e.g. {s[bad].iloc[0]!r} in row {s.index[bad][0]})" if bad.any() else ""
        raise ValueError(f"{role} column {col!r} must be numeric, got dtype {s.dtype}{example}")
    v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    nonfinite = ~np.isfinite(v)
    if nonfinite.any():
        raise ValueError(
            f"{role} column {col!r} has {int(nonfinite.sum())} NaN/inf value(s) at rows "
            f"{_rows(nonfinite, df.index)}; remove or fix those runs explicitly"
        )
    nonpos = v <= 0
    if nonpos.any():
        raise ValueError(
            f"{role} column {col!r} must be > 0 (it is modelled on a log scale); "
            f"found {int(nonpos.sum())} value(s) <= 0 at rows {_rows(nonpos, df.index)}"
        )
    return v


def group_labels(df: pd.DataFrame, col: str) -> np.ndarray:
    """Return the labels of grouping column ``col`` as strings, rejecting missing labels."""
    if col not in df.columns:
        raise ValueError(
            f"group column {col!r} not found; available columns: {list(map(str, df.columns))}"
        )
    s = df[col]
    missing = s.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"group column {col!r} has {int(missing.sum())} missing label(s) at rows "
            f"{_rows(missing, df.index)}"
        )
    return s.astype(str).to_numpy()


def check_roles(x_cols: tuple[str, ...], y_col: str, group_cols: tuple[str, ...]) -> None:
    """Reject a column used in two roles, duplicated names, or reserved group names."""
    if not x_cols:
        raise ValueError("x: name at least one scale column")
    roles = [*x_cols, y_col, *group_cols]
    dup = sorted({c for c in roles if roles.count(c) > 1})
    if dup:
        raise ValueError(f"column(s) {dup} given in more than one role (x, y, group)")
    reserved = sorted(set(group_cols) & RESERVED_NAMES)
    if reserved:
        raise ValueError(
            f"group column name(s) {reserved} are reserved for model dimensions; rename them "
            f"(reserved: {sorted(RESERVED_NAMES)})"
        )


def validate_runs(
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    min_points: int = 1,
    strict: bool = False,
) -> RunData:
    """Validate a table of runs and encode its groups.

    Parameters
    ----------
    data : DataFrame or path
        One row per run or checkpoint.
    x : str or list of str
        Scale column(s); values must be finite and > 0.
    y : str
        Metric column (loss or error, lower is better); values must be finite and > 0.
    groups : str or list of str, optional
        Grouping columns. A curve is a unique combination of their labels.
    min_points : int
        Fewest rows a curve may have (usually the law's number of free parameters).
    strict : bool
        Also reject duplicate rows (same group labels and scales).

    Returns
    -------
    RunData

    Raises
    ------
    ValueError
        Naming the column and the problem.
    """
    df = read_table(data).copy()
    x_cols = as_columns(x, "x")
    if not isinstance(y, str):
        raise TypeError(f"y must be a column name, got {y!r}")
    group_cols = as_columns(groups, "groups")
    check_roles(x_cols, y, group_cols)
    if len(df) == 0:
        raise ValueError("data has no rows")
    xs = np.column_stack([numeric_column(df, c, "scale") for c in x_cols])
    yv = numeric_column(df, y, "metric")

    labels = [group_labels(df, g) for g in group_cols]
    levels: dict[str, list[str]] = {}
    level_idx = np.zeros((len(df), len(group_cols)), dtype=np.int64)
    for j, (g, lab) in enumerate(zip(group_cols, labels, strict=True)):
        uniq, first, inv = np.unique(lab, return_index=True, return_inverse=True)
        order = np.argsort(first)  # order of first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        levels[g] = [str(u) for u in uniq[order]]
        level_idx[:, j] = rank[inv]

    if group_cols:
        keys = [tuple(r) for r in level_idx]
    else:
        keys = [()] * len(df)
    curve_of_key: dict[tuple, int] = {}
    curve_idx = np.empty(len(df), dtype=np.int64)
    for i, k in enumerate(keys):
        curve_idx[i] = curve_of_key.setdefault(k, len(curve_of_key))
    curve_levels = np.array(list(curve_of_key), dtype=np.int64).reshape(
        len(curve_of_key), len(group_cols)
    )
    curves = [
        tuple(levels[g][curve_levels[c, j]] for j, g in enumerate(group_cols))
        for c in range(len(curve_of_key))
    ]

    counts = np.bincount(curve_idx, minlength=len(curves))
    if (counts < min_points).any():
        c = int(np.argmin(counts))
        name = _curve_name(group_cols, curves[c])
        raise ValueError(
            f"{name} has {counts[c]} point(s) but needs at least {min_points} (one per free "
            f"parameter of the law); add runs, choose a law with fewer parameters, or lower "
            f"min_points under partial pooling"
        )

    if strict:
        key = pd.DataFrame(np.column_stack([curve_idx, xs]))
        dup = key.duplicated(keep=False).to_numpy()
        if dup.any():
            raise ValueError(
                f"duplicate rows (same groups {list(group_cols)} and scales {list(x_cols)}) at "
                f"rows {_rows(dup, df.index)}; pass strict=False to keep replicates"
            )

    return RunData(
        frame=df,
        x_cols=x_cols,
        y_col=y,
        group_cols=group_cols,
        x=xs,
        y=yv,
        levels=levels,
        level_idx=level_idx,
        curves=curves,
        curve_idx=curve_idx,
        curve_levels=curve_levels,
    )


def _curve_name(group_cols: tuple[str, ...], labels: tuple[str, ...]) -> str:
    if not group_cols:
        return "the data"
    return "curve " + ", ".join(f"{g}={v!r}" for g, v in zip(group_cols, labels, strict=True))
