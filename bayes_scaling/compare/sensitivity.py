"""Prior sensitivity: how much the intervals at the target scale depend on the exponent priors.

Refit with the exponent priors (population mean and spread of every exponent-like parameter,
e.g. ``alpha``, ``beta``, ``alpha_N``) widened or narrowed by a factor, and compare the intervals
at the requested rows. If the intervals barely move, the data speak; if they scale with the prior,
the prior does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from os import PathLike

import numpy as np
import pandas as pd

from bayes_scaling.fit import ScalingLaw
from bayes_scaling.intervals import check_probs
from bayes_scaling.laws import Law, detect_covariance, get_law

__all__ = ["prior_sensitivity", "exponent_prior_names", "exponent_params"]


def exponent_params(law: Law) -> list[str]:
    """The law's exponents.

    Parameters that scale an input's reference amplitude (``alpha`` in ``B / N**alpha``), found
    from the law's scale covariance, or else positive parameters that are never moved to the
    reference point (unit-free).
    """
    cov = detect_covariance(law)
    mult = {s.multiplier for v in cov.shifts.values() for s in v if s.multiplier}
    if mult:
        return [p for p in law.params if p in mult]
    return [p for p in law.params if law.positive(p) and p not in cov.shifts]


def exponent_prior_names(model: ScalingLaw, data: pd.DataFrame, x, y, groups) -> list[str]:  # noqa: ANN001
    """Prior names of the exponent parameters (population means and effect spreads)."""
    law = get_law(model.law)
    exps = exponent_params(law)
    priors = model.prior_names(data, x, y, groups)
    return [n for n in priors if any(n == e or n.startswith(e + "_sd") for e in exps)]


def prior_sensitivity(
    model: ScalingLaw,
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None,
    at: pd.DataFrame,
    *,
    factors: Sequence[float] = (0.5, 2.0),
    prob: float = 0.9,
    chains: int = 2,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
) -> pd.DataFrame:
    """Intervals at ``at`` under the default exponent priors and under priors scaled by ``factors``.

    Returns a long table: the rows of ``at`` repeated per ``prior_scale`` (1 = the model's own
    priors), with ``median``, ``lower``, ``upper``, ``log_width`` and ``width_ratio`` (log width
    relative to ``prior_scale = 1``).
    """
    (prob,) = check_probs(prob)
    names = exponent_prior_names(model, data, x, y, groups)
    base = model.prior_names(data, x, y, groups)
    out = []
    for f in (1.0, *factors):
        if isinstance(f, bool) or not isinstance(f, int | float) or f <= 0:
            raise ValueError(f"factors must be positive numbers, got {f!r}")
        priors = dict(model.priors or {})
        if f != 1.0:
            priors.update({n: base[n].widen(float(f)) for n in names})
        fit = replace(model, priors=priors).fit(
            data, x, y, groups, chains=chains, warmup=warmup, draws=draws, seed=seed, warn=False
        )
        p = fit.predict(at, prob, seed=seed)
        out.append(p.assign(prior_scale=float(f), log_width=np.log(p["upper"] / p["lower"])))
    table = pd.concat(out, ignore_index=True)
    ref = table.loc[table["prior_scale"] == 1.0, "log_width"].to_numpy()
    table["width_ratio"] = table["log_width"] / np.tile(ref, len(factors) + 1)
    return table
