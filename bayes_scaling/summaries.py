"""Parameter tables: per curve and per factor level, in the user's units."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling.intervals import check_probs, summarise

__all__ = ["curve_table", "level_table", "level_draws", "level_values"]


def curve_table(fit: Any, prob: float = 0.9) -> pd.DataFrame:
    """Posterior of every law parameter of every curve, in the user's units.

    One row per (curve, parameter): the group columns, ``param``, ``mean``, ``median``,
    ``lower``, ``upper`` (central ``prob`` interval), ``r_hat`` and ``ess_bulk``. ``sigma`` is
    the log-space noise scale (a multiplicative error of about ``100*sigma`` %).
    """
    (prob,) = check_probs(prob)
    if hasattr(fit, "components"):
        return pd.concat(
            [curve_table(c, prob).assign(law=name) for name, c in fit.components.items()],
            ignore_index=True,
        )
    names = [*fit.law.params, "sigma"]
    diag = _arviz.diagnostic_table(fit.idata, names)
    rows = []
    labels = fit.curve_labels
    for name in names:
        draws = fit.draws(name)
        stats = summarise(draws, [prob])
        for c, key in enumerate(fit.curves):
            row = dict(zip(fit.group_cols, key, strict=True))
            row["param"] = name
            row.update({k: float(v[c]) for k, v in stats.items()})
            label = f"{name}[{labels[c]}]"
            row["r_hat"] = float(diag.loc[label, "r_hat"]) if label in diag.index else np.nan
            row["ess_bulk"] = float(diag.loc[label, "ess_bulk"]) if label in diag.index else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def _level_u(fit: Any, p: str, j: int, seed: int) -> np.ndarray:
    """Sampling-scale value of parameter ``p`` at each level of factor ``j``: ``(draws, levels)``.

    The population mean plus the level's effect: the sampled effects of a non-centred fit, or,
    where the model integrated them out, draws from their conditional given the fitted curves.
    """
    import jax

    from bayes_scaling.hierarchy import conditional_effects, effect_design

    st = fit.structure
    plan = next(pl for pl in st.plans if pl.name == p)
    n = st.n_levels[j]
    mu = fit.draws(f"mu_{p}")
    if not st.hierarchical(plan) or n == 1:
        return np.repeat(mu[:, None], n, axis=1)
    levels = np.asarray(_arviz_levels(fit))
    js, u_matrix = effect_design(st, jnp.asarray(levels))
    sds = {k: fit.draws(f"sd_{p}_{f}") for k, f in enumerate(st.factors)}
    s0 = fit.draws(f"sd_{p}_curve") if st.curve_term else sds[st.identifying]
    if not st.curve_centered:  # the sampled standardised effects, as predict uses them
        if j in js:
            return mu[:, None] + sds[j][:, None] * fit.draws(f"e_{p}_{st.factors[j]}")
        out = np.empty((mu.size, n))
        out[:, levels[:, j]] = mu[:, None] + s0[:, None] * fit.draws(f"z_{p}")
        return out
    u_fit = fit.draws(f"u_{p}")
    n_eff = sum(st.n_levels[k] for k in js)
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((mu.size, n_eff))

    def one(u, m, s0_, sd_vec, z):  # noqa: ANN001, ANN202
        umat = u_matrix(dict(zip(js, sd_vec, strict=True))) if js else jnp.zeros((len(u), 0))
        r = u - m
        e = conditional_effects(r, s0_, umat, z) if n_eff else jnp.zeros(0)
        return e, r - (umat @ e if n_eff else 0.0)

    sd_stack = jnp.stack([jnp.asarray(sds[k]) for k in js], axis=1) if js else jnp.zeros(
        (mu.size, 0)
    )
    e, resid = jax.vmap(one)(jnp.asarray(u_fit), jnp.asarray(mu), jnp.asarray(s0), sd_stack,
                            jnp.asarray(noise))
    e, resid = np.asarray(e), np.asarray(resid)
    if j in js:
        offset = sum(st.n_levels[k] for k in js[: js.index(j)])
        return mu[:, None] + sds[j][:, None] * e[:, offset:offset + n]
    # the factor that identifies curves: a level is its curve, minus the other factors' effects
    out = np.empty((mu.size, n))
    out[:, levels[:, j]] = mu[:, None] + resid
    return out


def _arviz_levels(fit: Any) -> np.ndarray:
    """Level index of every fitted curve for every factor: ``(curves, factors)``."""
    return np.asarray(
        [[fit.levels[g].index(c[k]) for k, g in enumerate(fit.group_cols)] for c in fit.curves],
        dtype=np.int64,
    ).reshape(len(fit.curves), len(fit.group_cols))


def level_values(fit: Any, factor: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Draws of every law parameter (user's units) at each level of ``factor``.

    A level's value is the population mean plus that level's effect, with the other factors at
    their population average (effect zero) and no per-curve residual: the level's typical curve.
    Returns ``{param: (draws, levels)}``. Only under partial pooling.
    """
    from bayes_scaling.structure import natural_values as _natural

    st = fit.structure
    if st.pooling != "partial":
        raise ValueError(f"level effects need pooling='partial'; this fit has {st.pooling!r}")
    if factor not in fit.group_cols:
        raise ValueError(
            f"factor {factor!r} is not a group column of this fit: {list(fit.group_cols)}"
        )
    j = fit.group_cols.index(factor)
    u = {plan.name: _level_u(fit, plan.name, j, seed) for plan in st.plans}
    cond = fit.conditioning
    refs = {name: cond.log_x_ref[k] for k, name in enumerate(fit.law.inputs)}
    refs["y"] = cond.log_y_ref
    nat = _natural(st, {k: jnp.asarray(v) for k, v in u.items()}, refs)
    return {k: np.asarray(v) for k, v in nat.items()}


def level_draws(fit: Any, factor: str, param: str) -> np.ndarray:
    """Draws of ``param`` (user's units) for each level of ``factor``: ``(draws, levels)``."""
    if param not in fit.law.params:
        raise ValueError(
            f"param {param!r} is not a parameter of law {fit.law.name!r}: {list(fit.law.params)}"
        )
    return level_values(fit, factor)[param]


def level_table(fit: Any, prob: float = 0.9, factor: str | None = None) -> pd.DataFrame:
    """Posterior of each law parameter for each level of each factor (or of ``factor`` only).

    Columns: ``factor``, ``level``, ``param``, ``mean``, ``median``, ``lower``, ``upper`` (user's
    units) and ``sd`` (posterior median spread of that factor's effects on the parameter's
    sampling scale: how much the factor matters).
    """
    (prob,) = check_probs(prob)
    factors = fit.group_cols if factor is None else (factor,)
    rows = []
    for f in factors:
        values = level_values(fit, f)
        for plan in fit.structure.plans:
            p = plan.name
            stats = summarise(values[p], [prob])
            sd = (
                float(np.median(fit.draws(f"sd_{p}_{f}")))
                if fit.structure.hierarchical(plan) else 0.0
            )
            for j, lev in enumerate(fit.levels[f]):
                rows.append({"factor": f, "level": lev, "param": p,
                             **{k: float(v[j]) for k, v in stats.items()}, "sd": sd})
    return pd.DataFrame(rows)
