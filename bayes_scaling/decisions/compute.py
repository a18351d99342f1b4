"""Compute accounting: C = k * N * D (k = 6 by default, Kaplan et al. 2020)."""

from __future__ import annotations

from os import PathLike

import numpy as np
import pandas as pd

from bayes_scaling.data import numeric_column, read_table

__all__ = ["FLOPS_PER_PARAM_TOKEN", "complete_compute", "check_k"]

#: Training FLOP per parameter per token (forward + backward), Kaplan et al. 2020, Sec. 2.1.
FLOPS_PER_PARAM_TOKEN = 6.0


def check_k(k: float) -> float:
    """Validate the FLOP-per-parameter-token factor."""
    if isinstance(k, bool) or not isinstance(k, int | float) or not np.isfinite(k) or k <= 0:
        raise ValueError(f"k (FLOP per parameter per token) must be a positive number, got {k!r}")
    return float(k)


def complete_compute(
    data: pd.DataFrame | str | PathLike[str],
    *,
    n: str = "N",
    d: str = "D",
    c: str = "C",
    k: float = FLOPS_PER_PARAM_TOKEN,
    rtol: float = 0.05,
) -> tuple[pd.DataFrame, list[str]]:
    """Fill in whichever of N, D, C is missing from the other two with ``C = k N D``.

    Parameters
    ----------
    data : DataFrame or CSV path
        Runs with at least two of the three columns.
    n, d, c : str
        Column names of parameters, tokens and training FLOP.
    k : float
        FLOP per parameter per token (6 for dense transformers).
    rtol : float
        When all three columns are present, rows whose C differs from k N D by more than this
        relative tolerance raise a ``ValueError`` (mismatched units or a different k).

    Returns
    -------
    (DataFrame, list of str)
        A copy with the missing column added (rows and order untouched), and one note per derived
        column saying what was derived, to show the user.
    """
    k = check_k(k)
    df = read_table(data).copy()
    have = {name: col in df.columns for name, col in (("N", n), ("D", d), ("C", c))}
    if sum(have.values()) < 2:
        missing = [col for name, col in (("N", n), ("D", d), ("C", c)) if not have[name]]
        raise ValueError(
            f"compute accounting needs two of the columns {n!r}, {d!r}, {c!r}; missing {missing}"
        )
    vals = {
        name: numeric_column(df, col, "scale")
        for name, col in (("N", n), ("D", d), ("C", c))
        if have[name]
    }
    notes = []
    if not have["D"]:
        df[d] = vals["C"] / (k * vals["N"])
        notes.append(f"derived {d!r} = {c!r} / ({k:g} * {n!r}) for {len(df)} rows")
    elif not have["N"]:
        df[n] = vals["C"] / (k * vals["D"])
        notes.append(f"derived {n!r} = {c!r} / ({k:g} * {d!r}) for {len(df)} rows")
    elif not have["C"]:
        df[c] = k * vals["N"] * vals["D"]
        notes.append(f"derived {c!r} = {k:g} * {n!r} * {d!r} for {len(df)} rows")
    else:
        rel = np.abs(vals["C"] / (k * vals["N"] * vals["D"]) - 1.0)
        if (rel > rtol).any():
            i = int(np.argmax(rel))
            raise ValueError(
                f"column {c!r} disagrees with {k:g} * {n!r} * {d!r} by {100 * rel[i]:.0f}% at row "
                f"{df.index[i]} (tolerance {100 * rtol:g}%): check units or pass the right k"
            )
    return df, notes
