"""Every ArviZ call of the package lives here (ArviZ 0.23 line).

ArviZ 1.x (DataTree based) needs Python 3.12; when the project moves, only this module changes.
Callers pass and receive plain objects: an ``InferenceData`` (opaque to them), numpy arrays and
pandas DataFrames.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    # ArviZ 0.23 announces its 1.x refactor with a FutureWarning on import.
    warnings.simplefilter("ignore", FutureWarning)
    import arviz as az

__all__ = [
    "InferenceData",
    "from_numpyro",
    "to_netcdf",
    "from_netcdf",
    "stacked",
    "diagnostic_table",
    "n_divergent",
    "loo",
    "compare",
]

InferenceData = az.InferenceData


def from_numpyro(
    mcmc: Any,
    *,
    coords: Mapping[str, Sequence],
    dims: Mapping[str, list[str]],
    constant_data: Mapping[str, np.ndarray],
    attrs: Mapping[str, str],
) -> az.InferenceData:
    """Convert a finished numpyro ``MCMC`` to InferenceData with log-likelihood and attrs."""
    idata = az.from_numpyro(
        mcmc,
        coords=dict(coords),
        dims=dict(dims),
        constant_data=dict(constant_data),
        log_likelihood=True,
    )
    idata.attrs.update(attrs)
    return idata


def to_netcdf(idata: az.InferenceData, path: str | PathLike[str]) -> None:
    """Write InferenceData (all groups and attrs) to netCDF."""
    idata.to_netcdf(str(path))


def from_netcdf(path: str | PathLike[str]) -> az.InferenceData:
    """Read InferenceData written by :func:`to_netcdf` fully into memory."""
    idata = az.from_netcdf(str(path))
    for group in idata.groups():
        getattr(idata, group).load()
    return idata


def with_posterior_var(
    idata: az.InferenceData, name: str, draws: np.ndarray, attrs: Mapping[str, str]
) -> az.InferenceData:
    """Copy ``idata`` adding a scalar posterior variable and updating the top-level attrs.

    ``draws`` are in chain-major order (as returned by :func:`stacked`).
    """
    new = idata.copy()
    chains, n = n_chains_draws(idata)
    new.posterior[name] = (("chain", "draw"), np.asarray(draws).reshape(chains, n))
    new.attrs.update(attrs)
    return new


def attrs(idata: az.InferenceData) -> dict[str, Any]:
    """Top-level attributes of the InferenceData."""
    return dict(idata.attrs)


def group_var(idata: az.InferenceData, group: str, name: str) -> np.ndarray:
    """Values of variable ``name`` in ``group`` (no sample dims stacking)."""
    return np.asarray(getattr(idata, group)[name].values)


def has_var(idata: az.InferenceData, group: str, name: str) -> bool:
    """Whether ``group`` exists and holds ``name``."""
    return hasattr(idata, group) and name in getattr(idata, group)


def stacked(idata: az.InferenceData, name: str, group: str = "posterior") -> np.ndarray:
    """Draws of ``name`` with chain and draw flattened first: shape ``(chains*draws, ...)``."""
    v = np.asarray(getattr(idata, group)[name].values, dtype=np.float64)
    return v.reshape((-1, *v.shape[2:]))


def posterior_names(idata: az.InferenceData) -> list[str]:
    """Names of the posterior variables."""
    return list(idata.posterior.data_vars)


def n_chains_draws(idata: az.InferenceData) -> tuple[int, int]:
    """Number of chains and draws per chain."""
    return int(idata.posterior.sizes["chain"]), int(idata.posterior.sizes["draw"])


def n_divergent(idata: az.InferenceData) -> int:
    """Total number of divergent transitions."""
    if not hasattr(idata, "sample_stats") or "diverging" not in idata.sample_stats:
        return 0
    return int(np.asarray(idata.sample_stats["diverging"].values).sum())


def diagnostic_table(idata: az.InferenceData, var_names: Sequence[str]) -> pd.DataFrame:
    """R-hat and bulk/tail ESS of every element of ``var_names`` (rank-normalised)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant draws give nan R-hat
        table = az.summary(idata, var_names=list(var_names), kind="diagnostics", round_to="none")
    return table[["r_hat", "ess_bulk", "ess_tail"]]


def loo(idata: az.InferenceData, var_name: str = "log_y") -> Any:
    """PSIS-LOO of the pointwise log-likelihood ``var_name`` (ELPD and Pareto k per point)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # high Pareto k is reported by the caller
        return az.loo(idata, var_name=var_name, pointwise=True)


def psis_log_weights(log_ratios: np.ndarray) -> np.ndarray:
    """Pareto-smoothed, normalised log importance weights; ``log_ratios`` is ``(draws, points)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lw, _ = az.psislw(log_ratios.T)
    return np.asarray(lw).T


def compare(
    idatas: Mapping[str, az.InferenceData], method: str = "stacking", var_name: str = "log_y"
) -> pd.DataFrame:
    """ArviZ model comparison table (elpd_loo, weights) of several fits of the same data."""
    with warnings.catch_warnings():
        # high Pareto k is reported by the caller; ArviZ 0.23 also uses pandas' deprecated
        # ``inplace=`` (a Pandas4Warning under pandas 3.1), harmless here
        warnings.simplefilter("ignore")
        return az.compare(dict(idatas), ic="loo", method=method, var_name=var_name)
