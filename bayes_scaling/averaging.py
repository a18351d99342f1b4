"""Uncertainty about the functional form: compare laws by PSIS-LOO and combine them.

Several laws (by default the pure power law, the saturating power law and a smoothly broken power
law, Caballero et al. 2022) are fitted to the same runs with the same hierarchy and likelihood.
ArviZ's ``compare`` gives their expected log predictive densities (PSIS-LOO) and stacking (or
pseudo-BMA) weights; predictions mix the laws' predictive draws in proportion to the weights, so
an interval includes the risk that the curve bends. Per curve, the preferred law is the one with
the highest summed pointwise ELPD.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling.estimator import ScalingFit, ScalingLaw
from bayes_scaling.predict import check_probs, predictive_draws

__all__ = ["LawComparison", "compare_laws", "METHODS"]

METHODS = ("stacking", "BB-pseudo-BMA", "pseudo-BMA")


@dataclass(frozen=True)
class LawComparison:
    """Fits of several laws to the same data, their LOO comparison and weights.

    Attributes
    ----------
    fits : dict[str, ScalingFit]
        By law name.
    table : DataFrame
        ArviZ comparison: ``elpd_loo``, ``p_loo``, ``elpd_diff``, ``weight``, ``se``, ``dse``.
    weights : dict[str, float]
        Model weights (sum to 1).
    per_curve : DataFrame
        Per curve: summed pointwise ELPD of each law and the ``preferred`` law.
    """

    fits: dict[str, ScalingFit]
    table: pd.DataFrame
    weights: dict[str, float]
    per_curve: pd.DataFrame

    def _law_draws(self, data: pd.DataFrame | str | PathLike[str], seed: int) -> tuple:
        """The requested rows and each law's new-observation draws (computed once)."""
        draws = {k: predictive_draws(f, data, seed=seed) for k, f in self.fits.items()}
        frame = next(iter(draws.values())).frame
        return frame, {k: d.observed for k, d in draws.items()}

    def _mix(self, per_law: Mapping[str, np.ndarray], seed: int) -> np.ndarray:
        n = min(v.shape[0] for v in per_law.values())
        rng = np.random.default_rng(seed)
        names = list(per_law)
        w = np.array([self.weights[k] for k in names])
        choice = rng.choice(len(names), size=n, p=w / w.sum())
        out = np.empty((n, next(iter(per_law.values())).shape[1]))
        for j, k in enumerate(names):
            rows = np.flatnonzero(choice == j)
            out[rows] = per_law[k][rng.permutation(per_law[k].shape[0])[: rows.size]]
        return out

    def mixture_draws(
        self, data: pd.DataFrame | str | PathLike[str], *, seed: int = 0
    ) -> np.ndarray:
        """Draws of a new observation from the weighted mixture of the laws, ``(draws, rows)``."""
        return self._mix(self._law_draws(data, seed)[1], seed)

    def predict(
        self, data: pd.DataFrame | str | PathLike[str], prob: float = 0.9, *, seed: int = 0
    ) -> pd.DataFrame:
        """Averaged prediction per row, beside each law's own, and how much averaging widens.

        Columns: ``median``, ``lower``, ``upper`` (mixture), ``<law>_median``/``_lower``/
        ``_upper`` for each law, and ``widening``: the mixture's interval width (in log) over
        that of the highest-weighted law.
        """
        (prob,) = check_probs(prob)
        q = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
        frame, per_law = self._law_draws(data, seed)
        out = frame.copy()
        lo, med, hi = np.quantile(self._mix(per_law, seed), q, axis=0)
        out["median"], out["lower"], out["upper"] = med, lo, hi
        best = max(self.weights, key=self.weights.get)
        for k, d in per_law.items():
            klo, kmed, khi = np.quantile(d, q, axis=0)
            out[f"{k}_median"], out[f"{k}_lower"], out[f"{k}_upper"] = kmed, klo, khi
        out["widening"] = np.log(hi / lo) / np.log(out[f"{best}_upper"] / out[f"{best}_lower"])
        return out


def compare_laws(
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    laws: Sequence[str] = ("power", "saturating", "broken"),
    method: str = "stacking",
    model_kwargs: Mapping[str, Any] | None = None,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
) -> LawComparison:
    """Fit every law in ``laws`` to the same runs and weigh them by PSIS-LOO.

    Parameters
    ----------
    data, x, y, groups
        As in :meth:`ScalingLaw.fit`.
    laws : sequence of str
        Laws to compare (at least two, all with the same number of scale columns).
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA"}
        Weighting (Yao et al. 2018).
    model_kwargs : mapping, optional
        Other :class:`ScalingLaw` arguments shared by all laws (pooling, likelihood, ...).
        Every law needs at least as many points per curve as it has parameters unless
        ``min_points`` is given here.
    chains, warmup, draws, seed
        NUTS settings.
    """
    if len(laws) < 2:
        raise ValueError(f"compare at least two laws, got {list(laws)}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    kwargs = dict(model_kwargs or {})
    fits = {
        law: ScalingLaw(law, **kwargs).fit(
            data, x, y, groups, chains=chains, warmup=warmup, draws=draws, seed=seed, warn=False
        )
        for law in laws
    }
    table = _arviz.compare({k: f.idata for k, f in fits.items()}, method=method)
    weights = {k: float(table.loc[k, "weight"]) for k in fits}
    per_curve = _per_curve(fits)
    return LawComparison(fits, table, weights, per_curve)


def _per_curve(fits: Mapping[str, ScalingFit]) -> pd.DataFrame:
    first = next(iter(fits.values()))
    cidx = _arviz.group_var(first.idata, "constant_data", "curve_idx")
    rows = {}
    for k, f in fits.items():
        elpd_i = np.asarray(_arviz.loo(f.idata).loo_i).ravel()
        rows[k] = np.bincount(cidx, weights=elpd_i, minlength=len(first.curves))
    out = pd.DataFrame({"curve": first.curve_labels[: len(first.curves)], **rows})
    out["preferred"] = out[list(fits)].idxmax(axis=1)
    return out
