"""NUTS via numpyro, and conversion of the run to InferenceData."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np
from numpyro.infer import MCMC, NUTS, init_to_uniform

from bayes_scaling import _arviz
from bayes_scaling.model import Design

__all__ = ["SamplerSettings", "run_nuts", "build_idata", "curve_coord"]


def _check_int(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return int(value)


class SamplerSettings(dict):
    """Validated NUTS settings: chains, warmup, draws, seed, target_accept."""

    def __init__(self, chains: int, warmup: int, draws: int, seed: int, target_accept: float):
        if isinstance(target_accept, bool) or not isinstance(target_accept, int | float):
            raise TypeError(f"target_accept must be a number in (0, 1), got {target_accept!r}")
        if not 0.0 < float(target_accept) < 1.0:
            raise ValueError(f"target_accept must be in (0, 1), got {target_accept}")
        super().__init__(
            chains=_check_int("chains", chains, 1),
            warmup=_check_int("warmup", warmup, 0),
            draws=_check_int("draws", draws, 1),
            seed=_check_int("seed", seed, 0),
            target_accept=float(target_accept),
        )


def run_nuts(
    model: Callable[..., None],
    model_kwargs: Mapping[str, Any],
    settings: SamplerSettings,
    *,
    progress: bool | None = None,
) -> MCMC:
    """Run NUTS; chains go in parallel over devices when there are enough, else vectorised.

    Parameters
    ----------
    model : callable
        NumPyro model.
    model_kwargs : mapping
        Keyword arguments of the model.
    settings : SamplerSettings
        Chains, warmup, draws, seed, target_accept.
    progress : bool, optional
        Show a progress bar; by default only when stderr is a terminal.
    """
    chains = settings["chains"]
    method = "parallel" if chains > 1 and jax.local_device_count() >= chains else "vectorized"
    if progress is None:
        progress = sys.stderr.isatty()
    kernel = NUTS(
        model,
        target_accept_prob=settings["target_accept"],
        init_strategy=init_to_uniform(radius=1.0),
    )
    mcmc = MCMC(
        kernel,
        num_warmup=settings["warmup"],
        num_samples=settings["draws"],
        num_chains=chains,
        chain_method=method,
        progress_bar=bool(progress),
    )
    mcmc.run(jax.random.PRNGKey(settings["seed"]), **model_kwargs)
    return mcmc


def curve_coord(group_cols: tuple[str, ...], curves: list[tuple[str, ...]]) -> list[str]:
    """Readable coordinate labels of the curves (``arch=LSTM / domain=speech``)."""
    if not group_cols:
        return ["all"] * len(curves)
    return [" / ".join(f"{g}={v}" for g, v in zip(group_cols, c, strict=True)) for c in curves]


def build_idata(
    mcmc: MCMC,
    *,
    law_params: list[tuple[str, str]],
    design: Design,
    levels: Mapping[str, list[str]],
    curve_labels: list[str],
    x: np.ndarray,
    y: np.ndarray,
    x_cols: tuple[str, ...],
    level_idx: np.ndarray,
    curve_idx: np.ndarray,
    meta: Mapping[str, Any],
) -> _arviz.InferenceData:
    """InferenceData with named dims, constant data and the fit's metadata as JSON attrs."""
    coords: dict[str, list] = {
        "curve": curve_labels,
        "point": list(range(len(y))),
        "input": list(x_cols),
        "factor": list(design.factors),
    }
    coords.update({f: list(levels[f]) for f in design.factors})
    dims: dict[str, list[str]] = {"log_y": ["point"], "sigma": ["curve"]}
    for natural, linked in law_params:
        dims[natural] = ["curve"]
        if design.pooling == "none":
            dims[f"mu_{linked}"] = ["curve"]
        for f in design.factors:
            dims[f"z_{linked}_{f}"] = [f]
        dims[f"z_{linked}_curve"] = ["curve"]
    if design.noise != "shared":
        dims["z_log_sigma"] = ["curve" if design.noise == "curve" else design.noise]
    dims.update(
        x=["point", "input"], y=["point"], curve_idx=["point"], level_idx=["point", "factor"]
    )
    constant = {
        "x": np.asarray(x, dtype=np.float64),
        "y": np.asarray(y, dtype=np.float64),
        "curve_idx": np.asarray(curve_idx, dtype=np.int64),
        "level_idx": np.asarray(level_idx, dtype=np.int64).reshape(len(y), -1),
    }
    return _arviz.from_numpyro(
        mcmc,
        coords=coords,
        dims=dims,
        constant_data=constant,
        attrs={"bayes_scaling": json.dumps(meta)},
    )
