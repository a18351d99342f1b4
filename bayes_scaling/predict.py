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
prediction does not depend on which other rows are requested with it. A new run's noise comes
from one key per row, or per curve with ``noise="curve"``, and a vector over the draws
(:func:`bayes_scaling.model.row_noise_streams`), never a key per row and draw. :func:`predict`
reports each row's own distribution, which is the same either way; it draws the noise per curve
(common random numbers: a monotone law's median stays monotone along a curve draw by draw) and
summarises a block of rows at a time, so its memory is bounded by the block.
"""

from __future__ import annotations

import contextvars
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
from bayes_scaling.model import Structure, row_noise_streams, scaling_model
from bayes_scaling.rows import (
    KIND_COMBINATION,
    KIND_FITTED,
    KIND_NEW_LEVEL,
    Rows,
    curve_keys,
    map_rows,
)

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

#: Columns :func:`predict` adds; a request that already has one of them is refused.
OUTPUT_COLUMNS = (
    "curve", "kind", "extrapolation_decades", "mean", "median", "lower", "upper",
    "curve_mean", "curve_median", "curve_lower", "curve_upper", "mean_note",
)
_CHUNK = 2048
#: How new runs' noise is drawn across the rows of one request (:func:`predictive_draws`).
NOISE_MODES = ("row", "curve")
_BLOCK_VALUES = 2**21  # draws x rows summarised at once by predict (16 MB per float64 array)
_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("quiet_new_levels", default=False)
_NOISE_STREAM = 0xFFFFFFFF  # fold-in of the noise streams' key (draw keys use 0..draws-1)


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


def _distance(fit: Any, x: np.ndarray, rows: Rows, frame: pd.DataFrame) -> tuple:
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


def _pred_structure(fit: Any, rows: Rows, drift: bool, params: bool, noise: str) -> Structure:
    return replace(
        fit.structure,
        n_new_levels=tuple(len(v) for v in rows.new_levels),
        n_new_curves=len(rows.new_curves),
        predict=True,
        extras={"drift": drift, "params": params, "noise": noise},
    )


_SITES = ("curve_log_mu", "log_mu", "log_y")


def _prediction_program(structure: Structure) -> Any:
    """Jitted: posterior draws + rows -> dict of per-row sites, each ``(rows, draws)``."""
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
            # noise: one key per row, or per curve (run) when shared, never one per row and
            # draw; apart from the per-draw keys, which fold in draw indices 0..n-1
            key = jax.random.fold_in(base_key, _NOISE_STREAM)
            if structure.extras["noise"] == "curve":
                streams = row_noise_streams(structure, key, pred["curve_hash"], n)
                noise = {k: v[:, pred["row_curve"]] for k, v in streams.items()}
            else:
                noise = row_noise_streams(structure, key, pred["row_hash"], n)
            shared = {k: v for k, v in pred.items() if k != "row_hash"}

            def draw(sample: Any, key: jax.Array, noise_d: Any) -> Any:
                return one(sample, key, data, {**shared, "row_noise": noise_d})

            # rows-major output ``(rows, draws)``: the layout XLA computes the row block in, and
            # the one the summaries sort along (a row's draws contiguous), so neither XLA nor
            # numpy transposes 16 MB per block (predict of 10,000 rows x 1,000 draws: 1.01 s ->
            # 0.93 s on 2 CPU cores; benchmarks/bench_speed.py --parts predict)
            return jax.vmap(draw, out_axes=-1)(samples, keys, noise)

        return jax.jit(run)

    return _program("predict", structure.key(), build)


def _inputs(fit: Any, frame: pd.DataFrame) -> np.ndarray:
    law = fit.law
    pos = [i in law.scales or law.extras.get("positive", True) for i in law.inputs]
    return np.column_stack(
        [numeric_column(frame, c, "input", p) for c, p in zip(fit.x_cols, pos, strict=True)]
    )


def _row_hashes(keys: list, x: np.ndarray) -> np.ndarray:
    """Per row: a hash of its curve's labels and its inputs (keys its independent noise)."""
    return np.array(
        [_hash("|".join(k) + "|" + ",".join(f"{v:.17g}" for v in xi))
         for k, xi in zip(keys, x, strict=True)],
        dtype=np.uint32,
    )


def _run(fit: Any, frame: pd.DataFrame, seed: int, allow_new_levels: bool,
         max_decades: float, params: bool = False, noise: str = "row") -> tuple:
    """Draws of the per-row sites ``(draws, rows)`` by name, and row info."""
    seed = check_seed(seed)
    if len(frame) == 0:
        raise ValueError("prediction data has no rows")
    x = _inputs(fit, frame)
    _check_units(fit, frame, x, max_decades)
    rows = map_rows(fit, frame, allow_new_levels)
    decades, x0, unit = _distance(fit, x, rows, frame)
    drift = _arviz.has_var(fit.idata, "posterior", "disc_tau")
    structure = _pred_structure(fit, rows, drift, params, noise)
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
                # a row's own noise key (noise shared along a curve needs none)
                **({"row_hash": _row_hashes(rows.keys[lo:hi], x[lo:hi])} if noise == "row"
                   else {}),
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
            **({"row_hash": padded["row_hash"].astype(np.uint32)} if noise == "row" else {}),
            "new_curve_hash": new_curve_hash,
            "level_hash": level_hash,
        }
        out = program(posterior, base, data, _static_free(pred))
        outs.append({k: np.asarray(v)[: hi - lo] for k, v in out.items()})
    # ``(draws, rows)`` views of row-major arrays: a row's draws stay contiguous (the
    # concatenation copies, so the arrays are the caller's to write, not JAX's read-only buffers)
    sites = {k: np.concatenate([o[k] for o in outs]).T for k in outs[0]}
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
    noise: str = "row",
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
    noise : {"row", "curve"}
        How a new run's noise is drawn across rows. ``"row"`` (default): independently for
        every row, the joint distribution of separate runs. ``"curve"``: rows of one curve (one
        run for learning curves) share the standard draw of each posterior draw, as they share
        the drift direction; every row's own distribution is the same, and a monotone law's
        quantiles stay monotone along the curve draw by draw (what :func:`predict` uses).
        Either way a row's draws do not depend on the other rows requested.

    Returns
    -------
    PredictiveDraws
    """
    if noise not in NOISE_MODES:
        raise ValueError(f"noise must be one of {NOISE_MODES}, got {noise!r}")
    if hasattr(fit, "components"):
        return fit.predictive_draws(data, seed=seed, allow_new_levels=allow_new_levels,
                                    max_decades=max_decades, noise=noise)
    frame = read_table(data, what="prediction data").copy()
    sites, info = _run(fit, frame, seed, allow_new_levels, max_decades, noise=noise)
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


def _note_new_levels(kinds: Sequence[str], labels: Sequence[str], stacklevel: int = 4) -> None:
    if _QUIET.get():  # predict() notes once for the whole request, not once per block
        return
    new = sorted({lab for lab, k in zip(labels, kinds, strict=True) if k != KIND_FITTED})
    if new:
        shown = ", ".join(new[:5]) + (f" and {len(new) - 5} more" if len(new) > 5 else "")
        warnings.warn(
            f"predicted from the population, not fitted: {shown} (labels are compared as "
            "text: '01' is not '1')",
            NewLevelWarning,
            stacklevel=stacklevel,
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
    # rows are summarised a block at a time: a row's draws do not depend on the other rows
    # requested, so this is the same answer with memory bounded by the block, not the request
    step = _summary_rows(fit)
    parts = []
    token = _QUIET.set(True)
    try:
        for lo in range(0, max(len(frame), 1), step):
            d = predictive_draws(fit, frame.iloc[lo:lo + step], seed=seed,
                                 allow_new_levels=allow_new_levels, max_decades=max_decades,
                                 noise="curve")
            parts.append((d.curve_label, d.kind, d.decades,
                          {**summarise(d.observed, probs), **summarise(d.curve, probs, "curve_")}))
    finally:
        _QUIET.reset(token)
    labels = [lab for p in parts for lab in p[0]]
    kinds = [k for p in parts for k in p[1]]
    _note_new_levels(kinds, labels, stacklevel=3)
    out = frame.copy()
    out["curve"] = labels
    out["kind"] = kinds
    out["extrapolation_decades"] = np.concatenate([p[2] for p in parts])
    for name in parts[0][3]:
        out[name] = np.concatenate([p[3][name] for p in parts])
    outside = (out["mean"] < out["lower"]) | (out["mean"] > out["upper"])
    out["mean_note"] = np.where(
        outside, "heavy upper tail: the mean lies outside the interval; use the median", ""
    )
    return out


def _summary_rows(fit: Any) -> int:
    """Rows per block of :func:`predict`: about ``_BLOCK_VALUES`` draws x rows, a power of 2."""
    n_draws = getattr(fit, "main", fit).n_draws
    return max(64, 2 ** int(np.log2(max(1, _BLOCK_VALUES // n_draws))))


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
