"""Parameter tables: per curve (in the user's units) and per factor level."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling.estimator import ScalingFit
from bayes_scaling.predict import summarise

__all__ = ["curve_table", "level_table"]


def _natural_draws(fit: ScalingFit) -> dict[str, np.ndarray]:
    return {p.name: _arviz.stacked(fit.idata, p.name) for p in fit.law.params}


def curve_table(fit: ScalingFit, prob: float = 0.9) -> pd.DataFrame:
    """Posterior of every law parameter of every curve, in the user's original units.

    One row per (curve, parameter): the group columns, ``param``, ``mean``, ``median``, ``lower``,
    ``upper`` (central ``prob`` interval), ``r_hat`` and ``ess_bulk`` of the curve's parameter.
    ``sigma`` is the log-space noise scale (a multiplicative error of about ``100*sigma`` %).
    """
    nat = _natural_draws(fit)
    orig = fit.law.original_units(nat, fit.log_x_ref, fit.log_y_ref)
    orig["sigma"] = _arviz.stacked(fit.idata, "sigma")
    rows = []
    for c, key in enumerate(fit.curves):
        for name, draws in orig.items():
            stats = summarise(draws[:, c], [prob])
            row = dict(zip(fit.group_cols, key, strict=True))
            row.update(param=name, **{k: float(v) for k, v in stats.items()})
            rows.append(row)
    table = pd.DataFrame(rows)
    _add_curve_diagnostics(fit, table)
    return table


def _add_curve_diagnostics(fit: ScalingFit, table: pd.DataFrame) -> None:
    names = [p.name for p in fit.law.params if p.name in table["param"].unique()] + ["sigma"]
    diag = _arviz.diagnostic_table(fit.idata, names)
    r_hat, ess = [], []
    labels = fit.curve_labels
    for _, row in table.iterrows():
        c = (
            labels.index(" / ".join(f"{g}={row[g]}" for g in fit.group_cols))
            if fit.group_cols
            else 0
        )
        key = f"{row['param']}[{labels[c]}]"
        if key in diag.index:
            r_hat.append(diag.loc[key, "r_hat"])
            ess.append(diag.loc[key, "ess_bulk"])
        else:  # derived original-unit parameter: report its source's diagnostics when known
            r_hat.append(np.nan)
            ess.append(np.nan)
    table["r_hat"] = r_hat
    table["ess_bulk"] = ess


def level_draws(fit: ScalingFit, factor: str, param: str) -> np.ndarray:
    """Draws of ``param`` (natural scale) for each level of ``factor``: shape ``(draws, levels)``.

    A level's value is the population mean plus that level's effect, with the other factors at
    their population average (effect zero) and no per-curve residual: the level's typical curve.
    Only available under partial pooling.
    """
    if fit.design.pooling != "partial":
        raise ValueError(
            f"level effects need pooling='partial'; this fit has {fit.design.pooling!r}"
        )
    if factor not in fit.group_cols:
        raise ValueError(
            f"factor {factor!r} is not a group column of this fit: {list(fit.group_cols)}"
        )
    spec = {p.name: p for p in fit.law.params}
    if param not in spec:
        raise ValueError(
            f"param {param!r} is not a parameter of law {fit.law.name!r}: {list(spec)}"
        )
    p = spec[param]
    mu = _arviz.stacked(fit.idata, f"mu_{p.linked}")
    sd = _arviz.stacked(fit.idata, f"sd_{p.linked}_{factor}")
    z = _arviz.stacked(fit.idata, f"z_{p.linked}_{factor}")
    return p.to_natural(mu[:, None] + sd[:, None] * z)


def level_table(fit: ScalingFit, prob: float = 0.9, factor: str | None = None) -> pd.DataFrame:
    """Posterior of each law parameter for each level of each factor (or of ``factor`` only).

    Parameters are on the normalised scale of the fit (exponents are unit-free; amplitudes are
    relative to ``y_ref`` at the reference scale). Columns: ``factor``, ``level``, ``param``,
    ``mean``, ``median``, ``lower``, ``upper``, and ``sd`` (the posterior median spread of that
    factor's effects on the linked scale: how much the factor matters).
    """
    factors = fit.group_cols if factor is None else (factor,)
    rows = []
    for f in factors:
        for p in fit.law.params:
            draws = level_draws(fit, f, p.name)
            sd = float(np.median(_arviz.stacked(fit.idata, f"sd_{p.linked}_{f}")))
            stats = summarise(draws, [prob])
            for j, lev in enumerate(fit.levels[f]):
                rows.append(
                    {
                        "factor": f,
                        "level": lev,
                        "param": p.name,
                        **{k: float(v[j]) for k, v in stats.items()},
                        "sd": sd,
                    }
                )
    return pd.DataFrame(rows)
