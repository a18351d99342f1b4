"""Posterior predictive draws at new rows, through the fit's own model, and their summaries.

A requested row belongs to a fitted curve (its posterior), to a new combination of fitted levels
(population mean + the levels' effects + a fresh per-curve residual) or to a new level (a fresh
effect from ``Normal(0, sd)`` for every draw of ``sd``). The draws come from the same NumPyro
function that was fitted (:func:`bayes_scaling.model.scaling_model` with ``log_y=None``), run for
every posterior draw in one compiled program (cached per model structure and row bucket).

Three quantities per row and draw:

* ``curve``: the law with the curve's parameters (parameter uncertainty only);
* ``expected``: the curve times the extrapolation drift beyond the data (the true curve);
* ``observed``: a new run there (expected plus run-to-run noise) -- the honest interval.

Random draws are keyed by the seed, the draw, and the labels and inputs of the row, so a row's
prediction does not depend on which other rows are requested with it.
"""

from __future__ import annotations

import warnings
import weakref
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from os import PathLike
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from numpyro import handlers

from bayes_scaling import _arviz
from bayes_scaling.data import curve_label, group_labels, numeric_column, read_table
from bayes_scaling.drift.distance import extrapolation_distance
from bayes_scaling.inference import _program, bucket, check_seed, pad_rows
from bayes_scaling.intervals import central_interval, check_probs, summarise
from bayes_scaling.model import Structure, scaling_model

__all__ = [
    "PredictiveDraws",
    "predictive_draws",
    "predict",
    "summarise",
    "central_interval",
    "check_probs",
    "curve_keys",
    "pointwise_loglik",
    "parameter_draws",
    "curve_parameters",
    "KIND_FITTED",
    "KIND_COMBINATION",
    "KIND_NEW_LEVEL",
    "OUTPUT_COLUMNS",
]

KIND_FITTED = "fitted curve"
KIND_COMBINATION = "new combination"
KIND_NEW_LEVEL = "new level"
#: Columns :func:`predict` adds; a request that already has one of them is refused.
OUTPUT_COLUMNS = (
    "curve", "kind", "extrapolation_decades", "mean", "median", "lower", "upper",
    "curve_mean", "curve_median", "curve_lower", "curve_upper", "mean_note",
)
_CHUNK = 2048


@dataclass(frozen=True)
class PredictiveDraws:
    """Posterior predictive draws at requested rows.

    Attributes
    ----------
    frame : DataFrame
        The requested rows (a copy, original order).
    curve : ndarray ``(draws, rows)``
        The law with each draw's parameters (parameter uncertainty only), user's units.
    expected : ndarray
        The curve times the extrapolation drift: the true curve's value.
    observed : ndarray
        A new run: expected value plus run-to-run noise.
    curve_label, kind : list[str]
        Per row: its curve and whether that curve was fitted, is a new combination of fitted
        levels, or involves a new level.
    decades : ndarray ``(rows,)``
        Distance beyond the data (:mod:`bayes_scaling.drift.distance`), 0 inside it.
    reference : ndarray ``(rows, inputs)``
        The point on the data each row is extrapolated from (the row itself inside the data).
    """

    frame: pd.DataFrame
    curve: np.ndarray
    expected: np.ndarray
    observed: np.ndarray
    curve_label: list[str]
    kind: list[str]
    decades: np.ndarray
    reference: np.ndarray | None = None

    @property
    def drift(self) -> np.ndarray:
        """Multiplicative drift of each draw (``expected / curve``)."""
        return self.expected / self.curve


# ----------------------------------------------------------------------- posterior cache
_POSTERIOR: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _posterior(fit: Any) -> dict[str, np.ndarray]:
    """Flattened posterior draws of the sampled sites (and drift), read once per fit."""
    if fit not in _POSTERIOR:
        names = list(fit.sampled_names())
        for extra in ("disc_tau", "disc_bias"):
            if _arviz.has_var(fit.idata, "posterior", extra):
                names.append(extra)
        _POSTERIOR[fit] = {k: _arviz.stacked(fit.idata, k) for k in names}
    return _POSTERIOR[fit]


def _hash(text: str) -> int:
    return zlib.crc32(text.encode()) & 0x7FFFFFFF


# ----------------------------------------------------------------------- row -> curve
@dataclass(frozen=True)
class _Rows:
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


def _map_rows(fit: Any, frame: pd.DataFrame, allow_new_levels: bool) -> _Rows:
    keys = curve_keys(fit, frame)
    st = fit.structure
    if st.pooling == "complete":
        n = len(keys)
        return _Rows(keys, np.zeros(n, dtype=np.int64), np.zeros((1, 0), dtype=np.int64), [],
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
    return _Rows(keys, curve_all, np.vstack([fitted_levels, extra]), new_curves, new_levels,
                 kinds)


def _distance(fit: Any, x: np.ndarray, rows: _Rows, frame: pd.DataFrame) -> tuple:
    law = fit.law
    pos = [law.inputs.index(s) for s in law.scales]
    lx = np.log10(x[:, pos])
    if fit.run_col:
        run_lab, _ = group_labels(frame, fit.run_col, "run") if fit.run_col in frame.columns \
            else (np.array([""] * len(frame), dtype=object), False)
        known = {r: i for i, r in enumerate(fit.runs)}
        unit = np.array([known.get(str(r), -1) for r in run_lab])
        curve_of_run = np.asarray(fit.run_curve)
        unit = np.where(
            (unit >= 0) & (curve_of_run[np.maximum(unit, 0)] == rows.curve_all), unit, -1
        )
    else:
        unit = np.where(rows.curve_all < len(fit.curves), rows.curve_all, -1)
    decades, back = extrapolation_distance(fit.distance, lx, unit)
    x0 = x.copy()
    x0[:, pos] = x[:, pos] * 10.0 ** back
    return decades, x0, unit


def _check_units(fit: Any, frame: pd.DataFrame, x: np.ndarray, max_decades: float) -> None:
    pos = [fit.law.inputs.index(s) for s in fit.law.scales]
    train = np.log10(_arviz.group_var(fit.idata, "constant_data", "x")[:, pos])
    lo, hi = train.min(axis=0), train.max(axis=0)
    lx = np.log10(x[:, pos])
    for j, k in enumerate(pos):
        col = fit.x_cols[k]
        lo_k, hi_k = lo[j], hi[j]
        out = np.maximum(lx[:, j] - hi_k, lo_k - lx[:, j])
        if (out > max_decades).any():
            i = int(np.argmax(out))
            raise ValueError(
                f"input column {col!r} value {x[i, k]:.3g} is {out[i]:.1f} decades outside the "
                f"fitted range [{10 ** lo_k:.3g}, {10 ** hi_k:.3g}]; check that its units "
                f"match the training data (max_decades={max_decades:g})"
            )


def _pred_structure(fit: Any, rows: _Rows, drift: bool, params: bool) -> Structure:
    return replace(
        fit.structure,
        n_new_levels=tuple(len(v) for v in rows.new_levels),
        n_new_curves=len(rows.new_curves),
        predict=True,
        extras={"drift": drift, "params": params},
    )


_SITES = ("curve_log_mu", "log_mu", "log_y")


def _prediction_program(structure: Structure) -> Any:
    """Jitted: posterior draws + rows -> dict of per-row sites, each ``(draws, rows)``."""
    names = list(_SITES)
    if structure.extras.get("params"):
        names += [f"theta_{p}" for p in structure.law.params] + ["sigma_row"]
        if structure.extras.get("drift"):
            names += ["xi_row"]

    def build() -> Any:
        model = partial(scaling_model, structure=structure)

        def one(sample: Mapping[str, jnp.ndarray], key: jax.Array, data: Any, pred: Any) -> Any:
            tr = handlers.trace(handlers.seed(handlers.substitute(model, data=sample), key))
            t = tr.get_trace(data=data, pred=pred)
            return {k: t[k]["value"] for k in names}

        def run(samples: Any, base_key: jax.Array, data: Any, pred: Any) -> Any:
            n = jax.tree.leaves(samples)[0].shape[0]
            keys = jax.vmap(lambda i: jax.random.fold_in(base_key, i))(jnp.arange(n))
            return jax.vmap(one, in_axes=(0, 0, None, None))(samples, keys, data, pred)

        return jax.jit(run)

    return _program("predict", structure.key(), build)


def _inputs(fit: Any, frame: pd.DataFrame) -> np.ndarray:
    law = fit.law
    pos = [i in law.scales or law.extras.get("positive", True) for i in law.inputs]
    return np.column_stack(
        [numeric_column(frame, c, "input", p) for c, p in zip(fit.x_cols, pos, strict=True)]
    )


def _row_hashes(keys: list, x: np.ndarray) -> np.ndarray:
    return np.array(
        [_hash("|".join(k) + "|" + ",".join(f"{v:.17g}" for v in xi)) for k, xi in zip(keys, x,
                                                                                        strict=True)],
        dtype=np.uint32,
    )


def _run(fit: Any, frame: pd.DataFrame, seed: int, allow_new_levels: bool,
         max_decades: float, params: bool = False) -> tuple:
    """Draws of the per-row sites ``(draws, rows)`` by name, and row info."""
    seed = check_seed(seed)
    if len(frame) == 0:
        raise ValueError("prediction data has no rows")
    x = _inputs(fit, frame)
    _check_units(fit, frame, x, max_decades)
    rows = _map_rows(fit, frame, allow_new_levels)
    decades, x0, unit = _distance(fit, x, rows, frame)
    drift = _arviz.has_var(fit.idata, "posterior", "disc_tau")
    structure = _pred_structure(fit, rows, drift, params)
    program = _prediction_program(structure)
    labels = [curve_label(fit.group_cols, k) for k in
              (list(fit.curves) + rows.new_curves if fit.structure.pooling != "complete"
               else [("*",) * len(fit.group_cols)])]
    curve_hash = np.array([_hash(lab) for lab in labels], dtype=np.uint32)
    if fit.run_col:  # the drift direction is shared along a run
        run_text = [fit.runs[u] if u >= 0 else f"new run of {labels[c]}"
                    for u, c in zip(unit, rows.curve_all, strict=True)]
        unit_names = list(dict.fromkeys(run_text))
        row_unit = np.array([unit_names.index(t) for t in run_text], dtype=np.int64)
        unit_hash = np.array([_hash(t) for t in unit_names], dtype=np.uint32)
    else:
        row_unit, unit_hash = rows.curve_all, curve_hash
    level_hash = tuple(
        np.array([_hash(f"{g}={lab}") for lab in rows.new_levels[j]], dtype=np.uint32)
        for j, g in enumerate(fit.group_cols)
    )
    new_curve_hash = np.array(
        [_hash(curve_label(fit.group_cols, k)) for k in rows.new_curves], dtype=np.uint32
    )
    posterior = _posterior(fit)
    base = jax.random.PRNGKey(seed % (2**32))
    cond = fit.conditioning
    n = len(frame)
    outs = []
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        size = bucket(hi - lo)
        padded = pad_rows(
            {
                "x": x[lo:hi],
                "x0": x0[lo:hi],
                "curve_idx": rows.curve_all[lo:hi],
                "row_unit": row_unit[lo:hi],
                "decades": decades[lo:hi],
                "row_hash": _row_hashes(rows.keys[lo:hi], x[lo:hi]),
            },
            size,
            {"x": 1.0, "x0": 1.0},
        )
        data = {
            "x": padded["x"],
            "curve_idx": padded["curve_idx"].astype(np.int64),
            "mask": np.ones(size, dtype=bool),
            "curve_levels": rows.curve_levels,
            "log_x_ref": np.asarray(cond.log_x_ref, dtype=np.float64),
            "log_y_ref": np.asarray(cond.log_y_ref, dtype=np.float64),
            "input_offset": cond.input_offset.astype(np.float64),
        }
        pred = {
            "drift": drift,
            **(_ou_block(fit, unit[lo:hi], x[lo:hi], size) if fit.structure.residual == "ou"
               else {}),
            "x0": padded["x0"],
            "decades": padded["decades"],
            "row_curve": padded["row_unit"].astype(np.int64),
            "curve_hash": unit_hash,
            "row_hash": padded["row_hash"].astype(np.uint32),
            "new_curve_hash": new_curve_hash,
            "level_hash": level_hash,
        }
        out = program(posterior, base, data, _static_free(pred))
        outs.append({k: np.asarray(v)[:, : hi - lo] for k, v in out.items()})
    sites = {k: np.concatenate([o[k] for o in outs], axis=1) for k in outs[0]}
    labels_rows = [curve_label(fit.group_cols, k) if fit.structure.pooling != "complete"
                   else "all" for k in rows.keys]
    info = {"labels": labels_rows, "kinds": rows.kinds, "decades": decades, "x0": x0,
            "unit": unit, "curve_all": rows.curve_all}
    if drift and params:
        sites["tau"] = posterior["disc_tau"]
        sites["bias"] = posterior["disc_bias"]
    return sites, info


def _ou_block(fit: Any, unit: np.ndarray, x: np.ndarray, size: int) -> dict:
    """Training checkpoints (to filter each run's residual) and the rows' runs and positions."""
    from bayes_scaling.fit import ordering_scale
    from bayes_scaling.residuals import run_layout

    x_tr = _arviz.group_var(fit.idata, "constant_data", "x")
    ridx = _arviz.group_var(fit.idata, "constant_data", "run_idx")
    train = {
        "x": x_tr,
        "curve_idx": _arviz.group_var(fit.idata, "constant_data", "curve_idx"),
        "log_y": np.log(_arviz.group_var(fit.idata, "constant_data", "y")),
        **run_layout(ridx, ordering_scale(fit.law, x_tr), len(fit.runs)),
    }
    pad = size - len(unit)
    return {
        "train": train,
        "row_run": np.pad(np.asarray(unit, dtype=np.int64), (0, pad), constant_values=-1),
        "s_rows": np.pad(ordering_scale(fit.law, x), (0, pad)),
    }


def _static_free(pred: dict) -> dict:
    """The prediction block without its Python flag (the flag is part of the structure)."""
    return {k: v for k, v in pred.items() if k != "drift"}


def predictive_draws(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    *,
    seed: int = 0,
    allow_new_levels: bool = True,
    max_decades: float = 6.0,
) -> PredictiveDraws:
    """Draws of the curve, the expected value and a new observation at each requested row.

    Parameters
    ----------
    fit : ScalingFit
        A fitted model (or a per-curve choice of laws, :class:`~bayes_scaling.FormFit`).
    data : DataFrame or CSV path
        Rows with the fit's group and input columns (other columns are kept and ignored).
    seed : int
        Seed for new-level effects, drift and observation noise.
    allow_new_levels : bool
        If False, a label not seen in training raises instead of being drawn from the population.
    max_decades : float
        Inputs further than this many decades outside the training range raise a ``ValueError``
        (usually a unit mismatch, e.g. billions vs raw counts).

    Returns
    -------
    PredictiveDraws
    """
    if hasattr(fit, "components"):
        return fit.predictive_draws(data, seed=seed, allow_new_levels=allow_new_levels,
                                    max_decades=max_decades)
    frame = read_table(data, what="prediction data").copy()
    sites, info = _run(fit, frame, seed, allow_new_levels, max_decades)
    _note_new_levels(info["kinds"], info["labels"])
    # Student-t noise with nu < 1 draws the odd observation beyond float64 (inf): quantiles are
    # unaffected, the mean column says so, and the fit checks report such tails with advice
    # (checks._heavy_tails), so numpy's overflow message would add nothing
    with np.errstate(over="ignore"):
        observed = np.exp(sites["log_y"])
    return PredictiveDraws(
        frame,
        np.exp(sites["curve_log_mu"]),
        np.exp(sites["log_mu"]),
        observed,
        info["labels"],
        info["kinds"],
        info["decades"],
        info["x0"],
    )


def parameter_draws(
    fit: Any, data: pd.DataFrame, *, seed: int = 0, allow_new_levels: bool = True
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Per-row draws of the law's reference parameters, noise, drift direction and drift.

    Returns ``(sites, info)``: ``sites`` has ``theta_<param>`` (reference values: evaluate the
    law at ``x * exp(-input_offset)``), ``sigma_row``, and with a drift ``xi_row`` ``(draws,
    rows)`` plus ``tau`` and ``bias`` ``(draws,)``; ``info`` has row labels, kinds, distances.
    Used by the decisions (allocation, tuning) to evaluate the law on their own grids with the
    same draws as :func:`predictive_draws`.
    """
    frame = read_table(data, what="prediction data").copy()
    sites, info = _run(fit, frame, seed, allow_new_levels, np.inf, params=True)
    _note_new_levels(info["kinds"], info["labels"])
    return sites, info


def _note_new_levels(kinds: Sequence[str], labels: Sequence[str]) -> None:
    new = sorted({lab for lab, k in zip(labels, kinds, strict=True) if k != KIND_FITTED})
    if new:
        shown = ", ".join(new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
        warnings.warn(
            f"predicted from the population, not fitted: {shown} (labels are compared as "
            "text: '01' is not '1')",
            NewLevelWarning,
            stacklevel=4,
        )


class NewLevelWarning(UserWarning):
    """Some requested curves were not fitted and are predicted from the population."""


def predict(
    fit: Any,
    data: pd.DataFrame | str | PathLike[str],
    prob: float | Sequence[float] = 0.9,
    *,
    seed: int = 0,
    allow_new_levels: bool = True,
    max_decades: float = 6.0,
) -> pd.DataFrame:
    """Posterior predictive summary, one row per requested row in the caller's order.

    Columns: the requested columns, ``curve``, ``kind``, ``extrapolation_decades``; for a **new
    run** ``mean``, ``median``, ``lower``, ``upper`` (central interval at the first ``prob``,
    with the extrapolation drift: the honest interval); for the **expected curve of the law**
    (parameter uncertainty only) the same with a ``curve_`` prefix; and ``mean_note`` where a
    heavy-tailed predictive puts the mean outside its own interval. With several probabilities,
    ``lower_<pct>``/``upper_<pct>`` columns are added for each.

    Raises
    ------
    ValueError
        If the request already has one of the output columns (they would be overwritten).
    """
    probs = check_probs(prob)
    frame = read_table(data, what="prediction data")
    clash = [c for c in frame.columns if c in OUTPUT_COLUMNS or str(c).startswith(
        ("lower_", "upper_", "curve_lower_", "curve_upper_"))]
    if clash:
        raise ValueError(
            f"prediction data already has column(s) {clash}, which predict writes; rename or "
            "drop them"
        )
    d = predictive_draws(fit, frame, seed=seed, allow_new_levels=allow_new_levels,
                         max_decades=max_decades)
    out = d.frame.copy()
    out["curve"] = d.curve_label
    out["kind"] = d.kind
    out["extrapolation_decades"] = d.decades
    stats = {**summarise(d.observed, probs), **summarise(d.curve, probs, "curve_")}
    for name, col in stats.items():
        out[name] = col
    outside = (out["mean"] < out["lower"]) | (out["mean"] > out["upper"])
    out["mean_note"] = np.where(
        outside, "heavy upper tail: the mean lies outside the interval; use the median", ""
    )
    return out


def curve_parameters(
    fit: Any, keys: Sequence[tuple[str, ...]], *, seed: int = 0
) -> dict[str, np.ndarray]:
    """Law parameters (user's units) of the curves ``keys``: ``{param: (draws, len(keys))}``.

    Fitted curves use their posterior; unseen ones are drawn from the hierarchy, with the same
    draws as :func:`predictive_draws` under the same seed.
    """
    from bayes_scaling.structure import natural_values as _natural
    from bayes_scaling.structure import param_transform as _transform

    frame = pd.DataFrame(
        {g: [k[j] for k in keys] for j, g in enumerate(fit.group_cols)}, index=range(len(keys))
    )
    for j, c in enumerate(fit.x_cols):
        frame[c] = float(np.exp(fit.log_x_ref[j]))
    sites, _ = parameter_draws(fit, frame, seed=seed)
    st = fit.structure
    u = {p: _transform(st.priors[p]).inv(jnp.asarray(sites[f"theta_{p}"])) for p in fit.law.params}
    cond = fit.conditioning
    refs = {name: cond.log_x_ref[k] for k, name in enumerate(fit.law.inputs)}
    refs["y"] = cond.log_y_ref
    return {k: np.asarray(v) for k, v in _natural(st, u, refs).items()}


def pointwise_loglik(
    structure: Structure, posterior: Mapping[str, np.ndarray], data: Any, log_y: np.ndarray
) -> np.ndarray:
    """Log density of every (padded) training row under every draw: ``(chains, draws, rows)``."""
    from numpyro.infer.util import log_likelihood

    names = tuple(sorted(k for k in posterior if not k.startswith("disc_")))

    def build() -> Any:
        model = partial(scaling_model, structure=structure)

        def run(samples: Any, d: Any, ly: Any) -> Any:
            return log_likelihood(model, samples, batch_ndims=2, data=d, log_y=ly)["log_y"]

        return jax.jit(run)

    program = _program("loglik", (*structure.key(), names), build)
    samples = {k: jnp.asarray(posterior[k]) for k in names}
    return np.asarray(program(samples, data, jnp.asarray(log_y)))
