"""Simulated runs with known truth, for tests, calibration studies and power analysis."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SimulatedRuns", "simulate_saturating", "simulate_drift_studies"]


@dataclass(frozen=True)
class SimulatedRuns:
    """Simulated runs and the truth behind them.

    Attributes
    ----------
    runs : DataFrame
        Columns: the factor columns, ``x``, ``loss`` (noisy), ``true_loss`` (noise-free).
    truth : DataFrame
        One row per curve: factor labels, ``E``, ``A``, ``alpha`` (with
        ``L = E + A * (x / 1e7)**-alpha``) and ``A_raw`` (the amplitude for raw ``x``:
        ``L = E + A_raw * x**-alpha``, as reported by :func:`bayes_scaling.curve_table`).
    sigma : float
        Log-space noise scale.
    """

    runs: pd.DataFrame
    truth: pd.DataFrame
    sigma: float

    def at(self, x: Sequence[float], seed: int = 1) -> pd.DataFrame:
        """Fresh noisy runs of every curve at scales ``x`` (e.g. held-out larger runs)."""
        return _draw(
            self.truth,
            np.asarray(x, dtype=float),
            self.sigma,
            seed,
            [c for c in self.truth.columns if c not in ("E", "A", "alpha", "A_raw")],
        )


def _draw(
    truth: pd.DataFrame, x: np.ndarray, sigma: float, seed: int, factors: list[str]
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for r in truth.itertuples(index=False):
        d = r._asdict()  # noqa: SLF001 - namedtuple API
        true = d["E"] + d["A"] * (x / 1e7) ** -d["alpha"]
        obs = true * np.exp(sigma * rng.standard_normal(x.size))
        for xi, ti, oi in zip(x, true, obs, strict=True):
            rows.append({**{f: d[f] for f in factors}, "x": xi, "loss": oi, "true_loss": ti})
    return pd.DataFrame(rows)


def simulate_saturating(
    factors: Mapping[str, Sequence[float]] | None = None,
    *,
    x: Sequence[float] = tuple(np.geomspace(1e6, 1e8, 8)),
    mu: Mapping[str, float] | None = None,
    effect_scale: Mapping[str, float] | None = None,
    sigma: float = 0.02,
    drop: Sequence[tuple[str, ...]] = (),
    seed: int = 0,
) -> SimulatedRuns:
    """Crossed hierarchical saturating power laws ``L = E + A (x/1e7)^-alpha`` with known truth.

    Parameters
    ----------
    factors : mapping
        Factor name -> effects on ``log(alpha)`` of its levels (levels are named ``<f>0``,
        ``<f>1``, ...). Default: 3 architectures x 2 domains.
    x : sequence of float
        Scales measured for every curve.
    mu : mapping
        Population means of ``log_E``, ``log_A``, ``log_alpha``.
    effect_scale : mapping
        Per-factor sd of random effects on ``log_E`` and ``log_A`` (drawn with ``seed``).
    sigma : float
        Log-space observation noise.
    drop : sequence of tuples
        Level-label combinations to leave out (unseen combinations).
    seed : int
        Random seed.
    """
    factors = dict(factors or {"architecture": (-0.3, 0.0, 0.3), "domain": (-0.15, 0.15)})
    mu = {"log_E": np.log(1.7), "log_A": 0.0, "log_alpha": np.log(0.3), **(mu or {})}
    effect_scale = {"log_E": 0.1, "log_A": 0.2, **(effect_scale or {})}
    rng = np.random.default_rng(seed)
    names = list(factors)
    levels = {f: [f"{f}{i}" for i in range(len(v))] for f, v in factors.items()}
    eff = {
        f: {
            "log_alpha": np.asarray(factors[f], dtype=float),
            "log_E": effect_scale["log_E"] * rng.standard_normal(len(factors[f])),
            "log_A": effect_scale["log_A"] * rng.standard_normal(len(factors[f])),
        }
        for f in names
    }
    grid = np.array(np.meshgrid(*[np.arange(len(factors[f])) for f in names], indexing="ij"))
    combos = grid.reshape(len(names), -1).T
    rows = []
    for combo in combos:
        labels = tuple(levels[f][i] for f, i in zip(names, combo, strict=True))
        if labels in set(map(tuple, drop)):
            continue
        val = {k: mu[k] + sum(eff[f][k][i] for f, i in zip(names, combo, strict=True)) for k in mu}
        rows.append(
            {
                **dict(zip(names, labels, strict=True)),
                "E": np.exp(val["log_E"]),
                "A": np.exp(val["log_A"]),
                "alpha": np.exp(val["log_alpha"]),
                "A_raw": np.exp(val["log_A"]) * 1e7 ** np.exp(val["log_alpha"]),
            }
        )
    truth = pd.DataFrame(rows)
    runs = _draw(truth, np.asarray(x, dtype=float), sigma, seed + 1, names)
    return SimulatedRuns(runs, truth, sigma)


def simulate_drift_studies(
    n_studies: int = 12,
    *,
    groups: Sequence[str] = ("saturating|data", "chinchilla|compute"),
    mu_log_tau: Sequence[float] = (float(np.log(0.03)), float(np.log(0.01))),
    sd_log_tau: float = 0.4,
    mu_bias: Sequence[float] = (0.2, -0.1),
    sd_bias: float = 0.1,
    curves: int = 6,
    decades: Sequence[float] = (0.2, 0.5, 0.8, 1.2, 1.6),
    slope: tuple[float, float] = (0.05, 0.25),
    pred_sd: tuple[float, float] = (0.005, 0.02),
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A family of studies whose extrapolation errors follow a known drift law.

    Studies alternate between ``groups``; study ``s`` of group ``g`` has
    ``tau_s = exp(mu_log_tau[g] + sd_log_tau z_s)`` and ``b_s = mu_bias[g] + sd_bias w_s``.
    Each curve ``u`` declines at a log-slope drawn from ``slope`` per decade (the law's own
    ``decline``) and drifts as ``b_s decline + tau_s xi_u Delta`` on top of a parameter-only
    prediction with log-space sd drawn uniformly from ``pred_sd``.

    Returns
    -------
    points : DataFrame
        A sweep table (``study``, ``group``, ``unit``, ``curve``, ``decades``, ``decline``,
        ``error``, ``pred_var``).
    truth : DataFrame
        Per study ``group``, ``tau`` and ``bias``.
    """
    rng = np.random.default_rng(seed)
    dec = np.asarray(decades, dtype=float)
    rows, truth = [], []
    for s in range(n_studies):
        g = s % len(groups)
        tau = float(np.exp(mu_log_tau[g] + sd_log_tau * rng.standard_normal()))
        bias = float(mu_bias[g] + sd_bias * rng.standard_normal())
        truth.append({"study": f"study{s}", "group": groups[g], "tau": tau, "bias": bias})
        for c in range(curves):
            xi = rng.standard_normal()
            decline = rng.uniform(*slope) * dec * np.log(10)
            sd = rng.uniform(*pred_sd, size=dec.size)
            err = bias * decline + tau * xi * dec + sd * rng.standard_normal(dec.size)
            for d, dl, e, v in zip(dec, decline, err, sd**2, strict=True):
                rows.append({"study": f"study{s}", "group": groups[g], "unit": f"curve{c}",
                             "curve": f"curve{c}", "decades": d, "decline": dl, "error": e,
                             "pred_var": v})
    return pd.DataFrame(rows), pd.DataFrame(truth)
