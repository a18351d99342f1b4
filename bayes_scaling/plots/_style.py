"""Shared look of the plots: log axes with readable metric labels, the extrapolation region."""

from __future__ import annotations

import matplotlib.ticker as mticker
from matplotlib.axes import Axes

__all__ = ["log_axes", "mark_extrapolation", "new_axes"]


def new_axes(ax: Axes | None, size: tuple[float, float] = (7.5, 5.0)) -> Axes:
    """The given axes, or a new figure's."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=size)
    return ax


def log_axes(ax: Axes) -> None:
    """Log-log axes with plain-number labels on the metric axis (losses span < 1 decade)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(mticker.FormatStrFormatter("%g"))
    ax.yaxis.set_minor_formatter(mticker.FormatStrFormatter("%g"))
    ax.tick_params(axis="y", which="minor", labelsize=7)


def mark_extrapolation(ax: Axes, start: float, stop: float) -> None:
    ax.axvspan(start, stop, color="0.5", alpha=0.08, lw=0)
    ax.axvline(start, color="0.4", ls=":", lw=1)
    ax.text(
        start,
        0.98,
        "  extrapolation",
        transform=ax.get_xaxis_transform(),
        va="top",
        ha="left",
        fontsize=8,
        color="0.3",
    )
