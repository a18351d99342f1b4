"""The one place where user data enters: validation of a tidy table of runs.

One row per measured run or checkpoint. The caller names the input column(s) (parameters, data,
compute, steps, learning rate: any positive numeric column), the metric column (loss or error,
lower is better), any number of grouping columns (domain, architecture, dataset...) and, for
learning curves, the column that identifies a training run. A *curve* is a unique combination of
group labels; a *run* is a series of checkpoints inside one curve. Rows are never dropped or
reordered, and labels keep the text the user wrote ("01" and "1" are two labels; "NA" is a label).
Problems raise ``ValueError`` (or ``TypeError`` for a wrong argument type) naming the column, the
problem and where: file line numbers for a CSV, index labels for a DataFrame.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "RunData",
    "validate_runs",
    "read_table",
    "as_columns",
    "numeric_column",
    "group_labels",
    "label_text",
    "RESERVED_NAMES",
    "where",
    "curve_label",
]

#: Names that cannot be used as grouping or run columns because they name model dimensions.
RESERVED_NAMES = frozenset(
    {"curve", "point", "chain", "draw", "input", "factor", "level", "param", "sigma",
     "log_y", "nu"}
)
_SOURCE = "bayes_scaling_source"


@dataclass(frozen=True)
class RunData:
    """Validated runs, in the caller's row order.

    Attributes
    ----------
    frame : pandas.DataFrame
        A copy of the caller's table (all columns, original order and index).
    x_cols, y_col, group_cols : column roles
    run_col : str or None
        Column identifying training runs (learning curves), if any.
    x : ndarray ``(n, k)``
        Inputs, float64.
    y : ndarray ``(n,)``
        Metric, float64.
    levels : dict[str, list[str]]
        Level labels of each grouping column (text as written), in order of first appearance.
    numeric_groups : dict[str, bool]
        Whether a grouping column was numeric in a DataFrame (labels canonicalised by value).
    level_idx : ndarray ``(n, factors)``
        Level index of each row for each grouping column.
    curves : list[tuple[str, ...]]
        Curve labels, in order of first appearance.
    curve_idx : ndarray ``(n,)``
        Curve index of each row.
    curve_levels : ndarray ``(curves, factors)``
        Level index of each curve for each grouping column.
    runs : list[str]
        Run labels (one per curve when there is no run column).
    run_idx : ndarray ``(n,)``
        Run index of each row.
    run_curve : ndarray ``(runs,)``
        Curve of each run.
    """

    frame: pd.DataFrame
    x_cols: tuple[str, ...]
    y_col: str
    group_cols: tuple[str, ...]
    run_col: str | None
    x: np.ndarray
    y: np.ndarray
    levels: dict[str, list[str]]
    numeric_groups: dict[str, bool]
    level_idx: np.ndarray
    curves: list[tuple[str, ...]]
    curve_idx: np.ndarray
    curve_levels: np.ndarray
    runs: list[str]
    run_idx: np.ndarray
    run_curve: np.ndarray

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.y.shape[0])

    @property
    def n_curves(self) -> int:
        """Number of curves."""
        return len(self.curves)


def _sniff(text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t").delimiter
    except csv.Error:
        return ","


def read_table(data: pd.DataFrame | str | PathLike[str], *, what: str = "data") -> pd.DataFrame:
    """A DataFrame from a DataFrame (returned as is) or a CSV path.

    CSV files are read with every column as text (labels keep what was written, "NA" included;
    only empty cells are missing); numeric columns are converted where they are used. A UTF-8
    byte-order mark and semicolon or tab separators are accepted.
    """
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, str | PathLike):
        path = Path(data)
        if not path.exists():
            raise ValueError(f"{what}: file {str(path)!r} does not exist")
        if path.is_dir():
            raise ValueError(f"{what}: {str(path)!r} is a directory, not a CSV file")
        try:
            raw = path.read_bytes()
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError(f"{what}: {str(path)!r} is not a UTF-8 text (CSV) file") from None
        except OSError as e:
            raise ValueError(f"{what}: cannot read {str(path)!r} ({e.strerror})") from None
        if not text.strip():
            raise ValueError(f"{what}: {str(path)!r} is empty (expected a CSV with a header row)")
        try:
            df = pd.read_csv(
                io.StringIO(text),
                sep=_sniff(text),
                dtype=str,
                keep_default_na=False,
                na_values=[""],
            )
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ValueError(f"{what}: cannot read {str(path)!r} as CSV ({first})") from None
        dup = [c for c in df.columns if "." in str(c) and str(c).rsplit(".", 1)[0] in df.columns]
        if dup:
            raise ValueError(f"{what}: {str(path)!r} repeats column name(s) in its header: {dup}")
        df.attrs[_SOURCE] = str(path)
        return df
    raise TypeError(f"{what} must be a pandas DataFrame or a CSV path, got {type(data).__name__}")


def where(df: pd.DataFrame, mask: np.ndarray, limit: int = 5) -> str:
    """Human description of the rows in ``mask``: file lines for a CSV, index labels otherwise."""
    pos = np.flatnonzero(mask)
    more = len(pos) - min(len(pos), limit)
    src = df.attrs.get(_SOURCE)
    if src is not None:
        # line 1 is the header; data row i (0-based position) is on line i + 2
        lines = ", ".join(str(int(p) + 2) for p in pos[:limit])
        out = f"line{'s' if len(pos) > 1 else ''} {lines} of {Path(src).name}"
    else:
        labels = ", ".join(str(v) for v in df.index[pos[:limit]])
        out = f"row{'s' if len(pos) > 1 else ''} with index {labels}"
    return out + (f" and {more} more" if more > 0 else "")


def as_columns(value: str | Sequence[str] | None, arg: str) -> tuple[str, ...]:
    """Normalise a column argument (one name or several) to a tuple of names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise TypeError(f"{arg} must be a column name or a list of column names, got {value!r}")


def numeric_column(df: pd.DataFrame, col: str, role: str, positive: bool = True) -> np.ndarray:
    """Check that ``df[col]`` exists, is numeric, finite and (unless told) > 0; return float64."""
    if col not in df.columns:
        raise ValueError(
            f"{role} column {col!r} not found; available columns: {list(map(str, df.columns))}"
        )
    s = df[col]
    if isinstance(s, pd.DataFrame):
        raise ValueError(f"{role} column {col!r} appears more than once in the table")
    if pd.api.types.is_bool_dtype(s):
        raise ValueError(f"{role} column {col!r} must be numeric, got booleans")
    if pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = s.astype("string").str.strip()
        v = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.isnan(v) & text.notna().to_numpy() & ~text.str.lower().isin(
            ["nan", "inf", "-inf", "+inf", "infinity", "-infinity"]
        ).to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{role} column {col!r} must be numeric; found {s.iloc[i]!r} at "
                f"{where(df, bad, 3)}"
            )
    missing = np.isnan(v) & s.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"{role} column {col!r} has {int(missing.sum())} empty value(s) at "
            f"{where(df, missing)}; fill or remove those runs explicitly"
        )
    nonfinite = ~np.isfinite(v)
    if nonfinite.any():
        raise ValueError(
            f"{role} column {col!r} has {int(nonfinite.sum())} NaN/inf value(s) at "
            f"{where(df, nonfinite)}; fix or remove those runs explicitly"
        )
    nonpos = v <= 0
    if positive and nonpos.any():
        raise ValueError(
            f"{role} column {col!r} must be > 0 (it is modelled on a log scale); found "
            f"{int(nonpos.sum())} value(s) <= 0 at {where(df, nonpos)}"
        )
    tiny = (np.abs(v) > 1e250) | ((v != 0) & (np.abs(v) < 1e-250))
    if tiny.any():
        raise ValueError(
            f"{role} column {col!r} has value(s) beyond 1e+-250 at {where(df, tiny)}: "
            "rescale the column (e.g. billions of tokens)"
        )
    return v


def label_text(value: object, numeric: bool) -> str:
    """Canonical text of a group label: as written, or by value for numeric columns."""
    if numeric and isinstance(value, int | float | np.integer | np.floating):
        f = float(value)
        if np.isfinite(f) and f == int(f) and abs(f) < 2**53:
            return str(int(f))
        return repr(f)
    return str(value)


def group_labels(df: pd.DataFrame, col: str, role: str = "group") -> tuple[np.ndarray, bool]:
    """Labels of grouping column ``col`` as text, and whether the column is numeric."""
    if col not in df.columns:
        raise ValueError(
            f"{role} column {col!r} not found; available columns: {list(map(str, df.columns))}"
        )
    s = df[col]
    if isinstance(s, pd.DataFrame):
        raise ValueError(f"{role} column {col!r} appears more than once in the table")
    missing = s.isna().to_numpy()
    if missing.any():
        raise ValueError(
            f"{role} column {col!r} has {int(missing.sum())} missing label(s) at "
            f"{where(df, missing)}"
        )
    numeric = bool(pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s))
    labels = np.array([label_text(v, numeric) for v in s.to_numpy()], dtype=object)
    blank = np.array([lab.strip() == "" for lab in labels])
    if blank.any():
        raise ValueError(
            f"{role} column {col!r} has {int(blank.sum())} blank label(s) at {where(df, blank)}"
        )
    return labels, numeric


def check_roles(
    x_cols: tuple[str, ...], y_col: str, group_cols: tuple[str, ...], run_col: str | None
) -> None:
    """Reject a column used in two roles, duplicated names, or reserved names."""
    if not x_cols:
        raise ValueError("x: name at least one input column")
    roles = [*x_cols, y_col, *group_cols]
    dup = sorted({c for c in roles if roles.count(c) > 1})
    if dup:
        raise ValueError(f"column(s) {dup} given in more than one role (x, y, group)")
    if run_col is not None and run_col in (*x_cols, y_col):
        raise ValueError(f"run column {run_col!r} is also an input or the metric")
    reserved = sorted((set(group_cols) | {run_col} - {None}) & RESERVED_NAMES)
    if reserved:
        raise ValueError(
            f"column name(s) {reserved} are reserved for model dimensions and cannot be group "
            f"or run columns; rename them (reserved: {sorted(RESERVED_NAMES)})"
        )


def _encode(labels: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Labels in order of first appearance and each row's index."""
    uniq, first, inv = np.unique(labels.astype(str), return_index=True, return_inverse=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return [str(u) for u in uniq[order]], rank[inv]


def validate_runs(
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    run: str | None = None,
    min_points: int = 1,
    strict: bool = False,
    positive: Sequence[bool] | None = None,
    spread_per_curve: bool = False,
) -> RunData:
    """Validate a table of runs and encode its groups and runs.

    Parameters
    ----------
    data : DataFrame or path
        One row per run or checkpoint.
    x : str or list of str
        Input column(s); values must be finite and > 0.
    y : str
        Metric column (loss or error, lower is better); values must be finite and > 0.
    groups : str or list of str, optional
        Grouping columns. A curve is a unique combination of their labels.
    run : str, optional
        Column identifying a training run (rows are its checkpoints). A run must sit inside one
        curve; it may be one of the grouping columns.
    min_points : int
        Fewest rows a curve may have.
    strict : bool
        Also reject duplicate rows (same groups, run and inputs).
    positive : sequence of bool, optional
        Per input, whether it must be > 0 (default: all; a law's non-scale inputs such as an
        annealing fraction may be zero or negative).
    spread_per_curve : bool
        Require every curve to span at least two values of each scale input (curves fitted
        alone, ``pooling="none"``, learn nothing from a single scale).

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
    if run is not None and not isinstance(run, str):
        raise TypeError(f"run must be a column name, got {run!r}")
    check_roles(x_cols, y, group_cols, run)
    if len(df) == 0:
        raise ValueError("data has no rows (a header and at least one run are needed)")
    pos = [True] * len(x_cols) if positive is None else list(positive)
    xs = np.column_stack(
        [numeric_column(df, c, "input", p) for c, p in zip(x_cols, pos, strict=True)]
    )
    yv = numeric_column(df, y, "metric")
    for j, c in enumerate(x_cols):
        if pos[j] and len(df) > 1 and np.all(xs[:, j] == xs[0, j]):
            raise ValueError(
                f"input column {c!r} has the same value ({xs[0, j]:g}) in every row: no law can "
                "learn how the metric changes with it; add runs at other scales"
            )

    levels: dict[str, list[str]] = {}
    numeric: dict[str, bool] = {}
    level_idx = np.zeros((len(df), len(group_cols)), dtype=np.int64)
    for j, g in enumerate(group_cols):
        lab, numeric[g] = group_labels(df, g)
        levels[g], level_idx[:, j] = _encode(lab)

    keys = [tuple(r) for r in level_idx] if group_cols else [()] * len(df)
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

    if run is None:
        runs = [curve_label(group_cols, c) for c in curves]
        run_idx = curve_idx.copy()
        run_curve = np.arange(len(curves))
    else:
        rlab, _ = group_labels(df, run, "run")
        runs, run_idx = _encode(rlab)
        run_curve = np.full(len(runs), -1)
        for r in range(len(runs)):
            cs = np.unique(curve_idx[run_idx == r])
            if cs.size > 1:
                bad = (run_idx == r) & (curve_idx != cs[0])
                raise ValueError(
                    f"run {runs[r]!r} (column {run!r}) spans several curves (group labels change "
                    f"within the run at {where(df, bad)}); a run must belong to one curve"
                )
            run_curve[r] = cs[0]

    counts = np.bincount(curve_idx, minlength=len(curves))
    if (counts < min_points).any():
        c = int(np.argmin(counts))
        name = curve_label(group_cols, curves[c])
        raise ValueError(
            f"curve {name} has {counts[c]} point(s) but needs at least {min_points}; add runs, "
            "choose a law with fewer parameters, or lower min_points (partial pooling can fit "
            "curves with fewer points than parameters)"
        )

    if spread_per_curve:
        for j, c in enumerate(x_cols):
            if not pos[j]:
                continue
            lo = np.full(len(curves), np.inf)
            hi = np.full(len(curves), -np.inf)
            np.minimum.at(lo, curve_idx, xs[:, j])
            np.maximum.at(hi, curve_idx, xs[:, j])
            flat = np.flatnonzero(lo == hi)
            if flat.size:
                name = curve_label(group_cols, curves[flat[0]])
                raise ValueError(
                    f"curve {name} has a single value of input column {c!r} ({lo[flat[0]]:g}); "
                    "fitted alone (pooling='none') it cannot learn a slope: add runs at other "
                    "scales or use partial pooling"
                )

    if strict:
        key = pd.DataFrame(np.column_stack([curve_idx, run_idx, xs]))
        dup = key.duplicated(keep=False).to_numpy()
        if dup.any():
            raise ValueError(
                f"duplicate rows (same groups {list(group_cols)} and inputs {list(x_cols)}) at "
                f"{where(df, dup)}; pass strict=False to keep replicates"
            )

    return RunData(
        frame=df,
        x_cols=x_cols,
        y_col=y,
        group_cols=group_cols,
        run_col=run,
        x=xs,
        y=yv,
        levels=levels,
        numeric_groups=numeric,
        level_idx=level_idx,
        curves=curves,
        curve_idx=curve_idx,
        curve_levels=curve_levels,
        runs=runs,
        run_idx=run_idx,
        run_curve=run_curve,
    )


def curve_label(group_cols: Sequence[str], labels: Sequence[str]) -> str:
    """The one readable label of a curve: ``architecture=LSTM / domain=speech`` (``all``)."""
    if not group_cols:
        return "all"
    return " / ".join(f"{g}={v}" for g, v in zip(group_cols, labels, strict=True))
