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
    "build_idata",
    "to_netcdf",
    "from_netcdf",
    "stacked",
    "diagnostic_table",
    "n_divergent",
    "loo",
    "compare",
]

InferenceData = az.InferenceData


def build_idata(
    posterior: Mapping[str, np.ndarray],
    stats: Mapping[str, np.ndarray],
    log_likelihood: np.ndarray,
    *,
    dims: Mapping[str, list[str]],
    coords: Mapping[str, Sequence],
    constant_data: Mapping[str, np.ndarray],
    observed: Mapping[str, np.ndarray],
    attrs: Mapping[str, str],
) -> az.InferenceData:
    """InferenceData from arrays shaped ``(chains, draws, ...)`` with named dims and attrs."""
    post_dims = {k: v for k, v in dims.items() if k in posterior}
    idata = az.from_dict(
        posterior={k: np.asarray(v) for k, v in posterior.items()},
        sample_stats={k: np.asarray(v) for k, v in stats.items()},
        log_likelihood={"log_y": np.asarray(log_likelihood)},
        observed_data={k: np.asarray(v) for k, v in observed.items()},
        constant_data={k: np.asarray(v) for k, v in constant_data.items()},
        coords={k: list(v) for k, v in coords.items()},
        dims={
            **post_dims,
            "log_y": ["point"],
            "x": ["point", "input"],
            "y": ["point"],
            "curve_idx": ["point"],
            "level_idx": ["point", "factor"],
            "run_idx": ["point"],
        },
    )
    idata.attrs.update(attrs)
    return idata


def to_netcdf(idata: az.InferenceData, path: str | PathLike[str]) -> None:
    """Write InferenceData (all groups and attrs) to netCDF."""
    idata.to_netcdf(str(path), engine="h5netcdf")


def from_netcdf(path: str | PathLike[str]) -> az.InferenceData:
    """Read InferenceData written by :func:`to_netcdf` fully into memory."""
    idata = az.from_netcdf(str(path), engine="h5netcdf")
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


def iter_arrays(idata: az.InferenceData):  # noqa: ANN201 - generator of (group, name, ndarray)
    """Every variable and coordinate of every group, in a fixed order."""
    for group in sorted(idata.groups()):
        ds = getattr(idata, group)
        for name in sorted(ds.data_vars):
            yield group, f"var:{name}", np.asarray(ds[name].values)
        for name in sorted(ds.coords):
            yield group, f"coord:{name}", np.asarray(ds[name].values)


def with_attrs(
    idata: az.InferenceData, attrs: Mapping[str, str], drop: Sequence[str] = ()
) -> az.InferenceData:
    """A shallow copy with top-level attributes updated (and ``drop`` removed)."""
    new = idata.copy()
    for k in drop:
        new.attrs.pop(k, None)
    new.attrs.update(attrs)
    return new


def posterior_dict(idata: az.InferenceData) -> dict[str, np.ndarray]:
    """Posterior variables as arrays shaped ``(chains, draws, ...)``."""
    return {k: np.asarray(v.values) for k, v in idata.posterior.data_vars.items()}


def dim_size(idata: az.InferenceData, group: str, dim: str) -> int:
    """Size of a dimension in a group (0 when absent)."""
    ds = getattr(idata, group, None)
    if ds is None or dim not in ds.sizes:
        return 0
    return int(ds.sizes[dim])


def replace_posterior(
    idata: az.InferenceData, posterior: Mapping[str, np.ndarray], attrs: Mapping[str, str]
) -> az.InferenceData:
    """A copy whose posterior group is rebuilt from ``posterior`` (dims kept where they match)."""
    import xarray as xr

    old = idata.posterior
    data_vars = {}
    for k, v in posterior.items():
        v = np.asarray(v)
        extra = v.ndim - 2
        dims = ["chain", "draw"]
        if k in old.data_vars and old[k].ndim == v.ndim:
            dims = list(old[k].dims)
        else:
            dims += [f"{k}_dim_{i}" for i in range(extra)]
            if extra == 1 and "curve" in old.sizes and v.shape[-1] == old.sizes["curve"]:
                dims[-1] = "curve"
        data_vars[k] = (dims, v)
    coords = {k: old.coords[k].values for k in old.coords if k in ("chain", "draw", "curve")}
    new = idata.copy()
    new.posterior = xr.Dataset(data_vars, coords=coords, attrs=dict(old.attrs))
    new.attrs.update(attrs)
    return new


def psis_smooth(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed normalised log weights of one set of draws, and the Pareto k."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # high k is reported by the caller
        lw, k = az.psislw(np.asarray(log_ratios, dtype=float))
    return np.asarray(lw), float(np.asarray(k))


def read_root_attrs(path: str | PathLike[str]) -> dict[str, Any]:
    """Attributes of the root group of a netCDF file (no arrays are read)."""
    import h5netcdf

    with h5netcdf.File(str(path), "r") as f:
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}


def write_groups(
    path: str | PathLike[str], idatas: Mapping[str, az.InferenceData], attrs: Mapping[str, str]
) -> None:
    """Several InferenceData in one netCDF file, each under ``/<name>/``, attrs on the root."""
    import h5netcdf

    for i, (name, idata) in enumerate(idatas.items()):
        idata.to_netcdf(str(path), base_group=f"/{name}", overwrite_existing=(i == 0),
                        engine="h5netcdf")
    with h5netcdf.File(str(path), "a") as f:
        for k, v in attrs.items():
            f.attrs[k] = v


def read_group(path: str | PathLike[str], name: str) -> az.InferenceData:
    """The InferenceData stored under ``/<name>/`` by :func:`write_groups`, in memory."""
    import xarray as xr

    tree = xr.open_datatree(str(path), engine="h5netcdf")
    if name not in tree.children:
        raise ValueError(f"{str(path)!r} has no group {name!r}")
    idata = az.from_datatree(tree[name])
    for group in idata.groups():
        getattr(idata, group).load()
    tree.close()
    return idata
