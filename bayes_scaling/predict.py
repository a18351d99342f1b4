"""Posterior predictive at new scales: for fitted curves, unseen combinations and unseen levels.

For a requested row the curve's parameters are

* a fitted curve: its posterior draws;
* an unseen combination of seen levels (an architecture measured in language, never in speech):
  population mean + the seen levels' effects + a new per-curve residual drawn from its posterior
  spread;
* an unseen level of a factor (a new architecture): a new effect drawn from ``Normal(0, sd_f)``
  for every posterior draw of ``sd_f``: the population's answer, as wide as the levels differ.

New effects and noise are drawn with generators seeded from ``seed`` and the labels (and scales)
involved, so a row's prediction does not depend on which other rows were requested with it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike

import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling.data import group_labels, numeric_column, read_table
from bayes_scaling.discrepancy import extrapolation_decades
from bayes_scaling.distributions import huber_standard_draws
from bayes_scaling.estimator import ScalingFit

__all__ = [
    "PredictiveDraws",
    "predictive_draws",
    "predict",
    "summarise",
    "check_probs",
    "curve_theta",
    "curve_kind",
    "curve_label",
    "group_keys",
]

KIND_FITTED = "fitted curve"
KIND_COMBINATION = "new combination"
KIND_NEW_LEVEL = "new level"


@dataclass(frozen=True)
class PredictiveDraws:
    """Posterior predictive draws at requested rows.

    Attributes
    ----------
    frame : pandas.DataFrame
        The requested rows (a copy, original order).
    curve : numpy.ndarray
        Draws of the expected curve (parameter uncertainty), shape ``(draws, rows)``, in the
        metric's original units.
    observed : numpy.ndarray
        Draws of a new observation (curve plus noise), same shape.
        With an extrapolation discrepancy, it includes the drift ``(bias + tau * xi) * decades``.
    curve_label, kind : list[str]
        Per row: the curve it belongs to and whether that curve was fitted, is a new combination
        of seen levels, or involves a new level.
    decades : ndarray
        Per row: decades beyond the curve's largest training scale (0 inside the data).
    drift : ndarray
        Multiplicative drift ``exp((bias + tau * xi) * decades)`` of each draw (ones without a
        discrepancy); ``curve * drift`` is the expected loss of the true curve.
    """

    frame: pd.DataFrame
    curve: np.ndarray
    observed: np.ndarray
    curve_label: list[str]
    kind: list[str]
    decades: np.ndarray
    drift: np.ndarray


def check_probs(prob: float | Sequence[float]) -> list[float]:
    """Validate central-interval probabilities."""
    probs = [prob] if isinstance(prob, int | float) else list(prob)
    if not probs:
        raise ValueError("prob: give at least one probability")
    for p in probs:
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 < float(p) < 1.0:
            raise ValueError(f"prob must be in (0, 1), got {p!r}")
    return [float(p) for p in probs]


def _rng(seed: int, *parts: object) -> np.random.Generator:
    key = zlib.crc32(repr(parts).encode())
    return np.random.default_rng([int(seed), key])


class _Posterior:
    """Stacked posterior arrays of a fit, read once."""

    def __init__(self, fit: ScalingFit):
        self.fit = fit
        self._cache: dict[str, np.ndarray] = {}
        self.n_draws = int(np.prod(_arviz.n_chains_draws(fit.idata)))

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = _arviz.stacked(self.fit.idata, name)
        return self._cache[name]


def _curve_params(post: _Posterior, key: tuple[str, ...], seed: int) -> tuple[dict, np.ndarray]:
    """Linked parameter draws and noise-scale draws of one curve, by its labels."""
    fit, design = post.fit, post.fit.design
    n = post.n_draws
    if design.pooling == "complete" or key in fit.curves:
        c = 0 if design.pooling == "complete" else fit.curves.index(key)
        theta = {}
        for p in fit.law.params:
            v = post[p.name][:, c]
            theta[p.linked] = np.log(v) if p.link == "log" else v
        return theta, post["sigma"][:, c]

    level = [
        fit.levels[f].index(lab) if lab in fit.levels[f] else -1
        for f, lab in zip(fit.group_cols, key, strict=True)
    ]
    theta = {}
    for p in fit.law.params:
        name = p.linked
        if design.pooling == "none":  # no population to borrow from: the prior is all we have
            theta[name] = np.asarray(
                fit.priors[name].to_numpyro().sample(_jax_key(seed, "prior", name, key), (n,)),
                dtype=np.float64,
            )
            continue
        val = post[f"mu_{name}"].copy()
        for j, f in enumerate(fit.group_cols):
            z = (
                post[f"z_{name}_{f}"][:, level[j]]
                if level[j] >= 0
                else _rng(seed, "level", name, f, key[j]).standard_normal(n)
            )
            val += post[f"sd_{name}_{f}"] * z
        if design.curve_term:
            val += post[f"sd_{name}_curve"] * _rng(seed, "curve", name, key).standard_normal(n)
        theta[name] = val

    log_sigma = post["mu_log_sigma"].copy()
    if design.noise == "curve":
        log_sigma += post["sd_log_sigma"] * _rng(seed, "noise", key).standard_normal(n)
    elif design.noise != "shared":
        j = fit.group_cols.index(design.noise)
        z = (
            post["z_log_sigma"][:, level[j]]
            if level[j] >= 0
            else _rng(seed, "noise", design.noise, key[j]).standard_normal(n)
        )
        log_sigma += post["sd_log_sigma"] * z
    return theta, np.exp(log_sigma)


def curve_kind(fit: ScalingFit, key: tuple[str, ...]) -> str:
    """Whether ``key`` is a fitted curve, a new combination of seen levels, or has a new level."""
    if fit.design.pooling == "complete" or key in fit.curves:
        return KIND_FITTED
    if all(lab in fit.levels[g] for g, lab in zip(fit.group_cols, key, strict=True)):
        return KIND_COMBINATION
    return KIND_NEW_LEVEL


def curve_label(fit: ScalingFit, key: tuple[str, ...]) -> str:
    """Readable label of a curve key (``architecture=LSTM / domain=speech``)."""
    if not fit.group_cols:
        return "all"
    return " / ".join(f"{g}={v}" for g, v in zip(fit.group_cols, key, strict=True))


def group_keys(
    fit: ScalingFit, frame: pd.DataFrame, allow_new_levels: bool = True
) -> list[tuple[str, ...]]:
    """Curve keys (tuples of group labels as strings) of the rows of ``frame``."""
    labels = [group_labels(frame, g) for g in fit.group_cols]
    keys = [tuple(str(lab[i]) for lab in labels) for i in range(len(frame))]
    unknown = {
        (g, lab)
        for key in keys
        for g, lab in zip(fit.group_cols, key, strict=True)
        if lab not in fit.levels[g]
    }
    if unknown and not allow_new_levels:
        g, lab = sorted(unknown)[0]
        raise ValueError(
            f"group column {g!r} has label {lab!r} not seen in training; known labels: "
            f"{fit.levels[g]} (allow_new_levels=True predicts it as a new level)"
        )
    return keys


def curve_theta(
    fit: ScalingFit, keys: list[tuple[str, ...]], seed: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Posterior draws of the linked law parameters and noise scale of each curve key.

    Returns ``({linked_name: array(draws, len(keys))}, sigma: array(draws, len(keys)))``; fitted
    curves use their posterior, unseen ones are drawn from the hierarchy (see module docstring).
    """
    return _curve_theta(_Posterior(fit), keys, seed)


def _curve_theta(
    post: _Posterior, keys: list[tuple[str, ...]], seed: int
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    fit = post.fit
    uniq = list(dict.fromkeys(keys))
    params = {k: _curve_params(post, k, seed) for k in uniq}
    rows = [uniq.index(k) for k in keys]
    theta = {
        p.linked: np.stack([params[k][0][p.linked] for k in uniq], axis=1)[:, rows]
        for p in fit.law.params
    }
    sigma = np.stack([params[k][1] for k in uniq], axis=1)[:, rows]
    return theta, sigma


def _jax_key(seed: int, *parts: object):  # noqa: ANN202 - jax key type
    import jax

    return jax.random.PRNGKey(zlib.crc32(repr((seed, *parts)).encode()) % (2**31))


def predictive_draws(
    fit: ScalingFit,
    data: pd.DataFrame | str | PathLike[str],
    *,
    seed: int = 0,
    allow_new_levels: bool = True,
    max_decades: float = 6.0,
) -> PredictiveDraws:
    """Draws of the expected curve and of a new observation at each requested row.

    Parameters
    ----------
    fit : ScalingFit
        A fitted model.
    data : DataFrame or CSV path
        Rows with the fit's group and scale columns (other columns are kept and ignored).
    seed : int
        Seed for new-level effects and observation noise.
    allow_new_levels : bool
        If False, a label not seen in training raises instead of being drawn from the population.
    max_decades : float
        Requested scales further than this many decades outside the training range raise a
        ``ValueError`` (usually a unit mismatch, e.g. billions vs raw counts).

    Returns
    -------
    PredictiveDraws
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    frame = read_table(data, what="prediction data").copy()
    if len(frame) == 0:
        raise ValueError("prediction data has no rows")
    x = np.column_stack([numeric_column(frame, c, "scale") for c in fit.x_cols])
    _check_units(fit, frame, x, max_decades)
    keys = group_keys(fit, frame, allow_new_levels)
    post = _Posterior(fit)
    theta, sigma = _curve_theta(post, keys, seed)
    z = np.log(x) - fit.log_x_ref
    log_mu = np.asarray(
        fit.law({k: jnp.asarray(v) for k, v in theta.items()}, jnp.asarray(z[None])),
        dtype=np.float64,
    )

    eps = np.empty_like(log_mu)
    for i, key in enumerate(keys):
        eps[:, i] = _noise(fit, post, _rng(seed, "obs", key, tuple(x[i])))
    log_obs = log_mu + sigma * eps
    decades = extrapolation_decades(x, *_training_max(fit), keys=keys)
    log_drift = np.zeros_like(log_mu)
    if _arviz.has_var(fit.idata, "posterior", "disc_tau"):
        tau = post["disc_tau"]
        has_bias = _arviz.has_var(fit.idata, "posterior", "disc_bias")
        bias = post["disc_bias"] if has_bias else 0.0
        for i, key in enumerate(keys):
            xi = _rng(seed, "drift", key).standard_normal(post.n_draws)
            log_drift[:, i] = (bias + tau * xi) * decades[i]
    log_obs += log_drift

    kinds = [curve_kind(fit, k) for k in keys]
    label = [curve_label(fit, k) for k in keys]
    y_ref = np.exp(fit.log_y_ref)
    return PredictiveDraws(
        frame,
        y_ref * np.exp(log_mu),
        y_ref * np.exp(log_obs),
        label,
        kinds,
        decades,
        np.exp(log_drift),
    )


def _training_max(fit: ScalingFit) -> tuple[dict, np.ndarray]:
    """Largest training scale per curve key, and over all rows."""
    x = _arviz.group_var(fit.idata, "constant_data", "x")
    if fit.design.pooling == "complete":
        return {}, x.max(axis=0)
    cidx = _arviz.group_var(fit.idata, "constant_data", "curve_idx")
    per = {key: x[cidx == c].max(axis=0) for c, key in enumerate(fit.curves)}
    return per, x.max(axis=0)


def _noise(fit: ScalingFit, post: _Posterior, rng: np.random.Generator) -> np.ndarray:
    """Standardised observation-noise draws of the fit's likelihood (one per posterior draw)."""
    if fit.design.likelihood == "student_t":
        return rng.standard_t(post["nu"])
    if fit.design.likelihood == "huber":
        return huber_standard_draws(rng, post.n_draws, fit.design.huber_delta)
    return rng.standard_normal(post.n_draws)


def _check_units(fit: ScalingFit, frame: pd.DataFrame, x: np.ndarray, max_decades: float) -> None:
    train = np.log10(_arviz.group_var(fit.idata, "constant_data", "x"))
    lo, hi = train.min(axis=0), train.max(axis=0)
    lx = np.log10(x)
    for k, col in enumerate(fit.x_cols):
        out = np.maximum(lx[:, k] - hi[k], lo[k] - lx[:, k])
        if (out > max_decades).any():
            i = int(np.argmax(out))
            raise ValueError(
                f"scale column {col!r} value {x[i, k]:.3g} (row {frame.index[i]}) is "
                f"{out[i]:.1f} decades outside the fitted range "
                f"[{10 ** lo[k]:.3g}, {10 ** hi[k]:.3g}]"
                f"; check that its units match the training data (max_decades={max_decades})"
            )


def summarise(draws: np.ndarray, probs: Sequence[float], prefix: str = "") -> dict[str, np.ndarray]:
    """Mean, median and central intervals of ``draws`` (shape ``(draws, rows)``) per row.

    The first probability gives ``lower``/``upper``; every probability also gives
    ``lower_<pct>``/``upper_<pct>`` when more than one is requested.
    """
    out = {f"{prefix}mean": draws.mean(axis=0), f"{prefix}median": np.median(draws, axis=0)}
    for j, p in enumerate(probs):
        lo, hi = np.quantile(draws, [(1 - p) / 2, (1 + p) / 2], axis=0)
        if j == 0:
            out[f"{prefix}lower"], out[f"{prefix}upper"] = lo, hi
        if len(probs) > 1:
            pct = f"{100 * p:g}"
            out[f"{prefix}lower_{pct}"], out[f"{prefix}upper_{pct}"] = lo, hi
    return out


def predict(
    fit: ScalingFit,
    data: pd.DataFrame | str | PathLike[str],
    prob: float | Sequence[float] = 0.9,
    *,
    seed: int = 0,
    allow_new_levels: bool = True,
    max_decades: float = 6.0,
) -> pd.DataFrame:
    """Posterior predictive summary, one row per requested row in the caller's order.

    Columns: the requested columns, ``curve``, ``kind`` and ``extrapolation_decades``, then for a
    **new observation** ``mean``, ``median``, ``lower``, ``upper`` (central interval at the first
    ``prob``; including the extrapolation discrepancy when the fit has one: the honest interval)
    and for the **expected curve** of the law (parameter uncertainty only) the same with a
    ``curve_`` prefix. With several
    probabilities, ``lower_<pct>``/``upper_<pct>`` columns are added for each.

    Parameters
    ----------
    fit : ScalingFit
        A fitted model.
    data : DataFrame or CSV path
        Rows with the fit's group and scale columns.
    prob : float or list of float
        Central interval probabilities.
    seed, allow_new_levels, max_decades
        See :func:`predictive_draws`.
    """
    probs = check_probs(prob)
    d = predictive_draws(
        fit, data, seed=seed, allow_new_levels=allow_new_levels, max_decades=max_decades
    )
    out = d.frame.copy()
    out["curve"] = d.curve_label
    out["kind"] = d.kind
    out["extrapolation_decades"] = d.decades
    for name, col in {
        **summarise(d.observed, probs),
        **summarise(d.curve, probs, "curve_"),
    }.items():
        out[name] = col
    return out
