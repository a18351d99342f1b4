"""Save and load fits (netCDF through ArviZ; the fit's metadata travels as JSON attrs)."""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from bayes_scaling import _arviz
from bayes_scaling.estimator import ScalingFit

__all__ = ["save_fit", "load_fit"]


def save_fit(fit: ScalingFit, path: str | PathLike[str]) -> None:
    """Write ``fit`` to a netCDF file (posterior, sample stats, log-likelihood, data, metadata)."""
    if not isinstance(fit, ScalingFit):
        raise TypeError(f"save_fit needs a ScalingFit, got {type(fit).__name__}")
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise ValueError(f"directory {str(path.parent)!r} does not exist")
    _arviz.to_netcdf(fit.idata, path)


def load_fit(path: str | PathLike[str]) -> ScalingFit:
    """Read a fit written by :func:`save_fit`; predictions from it are identical to the original's.

    Raises
    ------
    ValueError
        If the file is missing, is not netCDF, or was not written by bayes_scaling.
    """
    path = Path(path)
    if not path.exists():
        raise ValueError(f"fit file {str(path)!r} does not exist")
    try:
        idata = _arviz.from_netcdf(path)
    except (OSError, ValueError) as e:
        raise ValueError(f"cannot read {str(path)!r} as a saved fit: {e}") from None
    return ScalingFit.from_idata(idata)
