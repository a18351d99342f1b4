"""The hierarchical NumPyro model: one function for fitting and for prediction.

For every law parameter ``p`` and every curve ``c``, on the parameter's sampling scale ``u`` (the
log for positive parameters) and measured at the data's reference point
(:mod:`bayes_scaling.laws.conditioning`)::

    u_p[c] = mu_p                                          # population mean
           + sd_p_f * e_p_f[level_f(c)]    (each factor)   # crossed group effects
           + sd_p_curve * e_p_curve[c]                     # per-curve residual (crossed designs)

with ``e ~ Normal(0, 1)``. With few curves the curves' values are sampled directly and the
effects are integrated out analytically (:mod:`bayes_scaling.hierarchy`); with many, the effects
and curve residuals are sampled standardised (non-centred), see :func:`_curve_u`. ``shared``
parameters are one value for all curves. The population mean's prior is the law's prior, in the
user's units or data units (``Prior(units=...)``): it enters as a density on the mean's value
(exact: the map to reference values has unit Jacobian). Observations are modelled in log space::

    log y ~ Normal(log f(x / x_ref; theta_ref[c]) + log y_ref, sigma[c])   (or Student-t, Huber)

with ``sigma`` per curve (partially pooled), per level of one factor, or shared.

**Prediction** calls the same function with ``log_y=None`` and a prediction block: rows may belong
to fitted curves, to new combinations of fitted levels (a fresh per-curve residual) or to new
levels (fresh effects drawn from ``Normal(0, sd)``). New draws use keys derived from the labels and
the row's scales, so a row's prediction does not depend on which other rows are asked with it.
The extrapolation drift (:mod:`bayes_scaling.drift`) is added there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

from bayes_scaling.distributions import Contaminated, Huber, huber_standard_jax
from bayes_scaling.hierarchy import conditional_effects, effect_design, marginal_logpdf
from bayes_scaling.structure import (
    LIKELIHOODS,
    POOLINGS,
    ParamPlan,
    Structure,
    default_priors,
    natural_values,
    param_transform,
    prior_logp,
    shift_of,
    site_names,
)

__all__ = [
    "ParamPlan",
    "Structure",
    "scaling_model",
    "law_log_mean",
    "default_priors",
    "POOLINGS",
    "LIKELIHOODS",
    "site_names",
    "param_transform",
    "natural_values",
]

def _keyed_normal(key: jax.Array, hashes: jnp.ndarray) -> jnp.ndarray:
    """One standard normal per hash, independent of the other hashes requested."""
    return jax.vmap(lambda h: jax.random.normal(jax.random.fold_in(key, h)))(hashes)


def _population(structure: Structure, refs: Mapping[str, jnp.ndarray]) -> dict[str, jnp.ndarray]:
    """Population means on the reference sampling scale, with their priors as factors."""
    mus = {}
    for plan in structure.plans:
        mus[plan.name] = numpyro.sample(
            f"mu_{plan.name}", dist.ImproperUniform(constraints.real, (), ())
        )
    if structure.pooling == "none":
        return mus
    nat = natural_values(structure, mus, refs)
    for plan in structure.plans:
        prior = structure.priors[plan.name]
        v = mus[plan.name] if plan.data_units else mus[plan.name] + shift_of(
            structure, plan, nat, refs
        )
        numpyro.factor(f"prior_{plan.name}", prior_logp(prior, v))
    return mus


def _keyed_new(key: jax.Array, hashes: jnp.ndarray, salt: str) -> jnp.ndarray:
    return _keyed_normal(key, hashes ^ jnp.uint32(_salt(salt)))


def _curve_u(
    structure: Structure,
    plan: ParamPlan,
    mu: jnp.ndarray,
    levels: jnp.ndarray,
    pred: Mapping[str, Any] | None,
    key: jax.Array | None,
) -> jnp.ndarray:
    """Per-curve sampling-scale values (fitted and new curves) of one hierarchical parameter.

    Centred (``structure.curve_centered``, few curves): the fitted curves' values ``u_<param>``
    are sampled directly, and the group effects are integrated out analytically:
    ``u ~ Normal(mu, s0^2 I + U U^T)`` (:func:`marginal_logpdf`). Each curve's data pin its own
    value, and the spreads see a smooth marginal density instead of the funnels that sampled
    effects create when a factor has few levels. New curves and levels draw their effects from
    the conditional (:func:`conditional_effects`) or the population.

    Non-centred (many curves): ``u = mu + U e + s0 z`` with standardised effects ``e_<param>_<f>``
    and curve residuals ``z_<param>``, all ``Normal(0, 1)``; ``u_<param>`` is recorded as a
    deterministic site. With many curves each one's data are weak next to the population, and
    centred values form a funnel with their spread
    (:data:`bayes_scaling.structure.NONCENTRED_CURVES`).
    """
    p = plan.name
    c = structure.n_curves
    ident = structure.identifying
    sds = {}
    for j, f in enumerate(structure.factors):
        sds[j] = numpyro.sample(f"sd_{p}_{f}", structure.priors[f"{p}_sd_{f}"].to_numpyro())
    if structure.curve_term:
        s0 = numpyro.sample(f"sd_{p}_curve", structure.priors[f"{p}_sd_curve"].to_numpyro())
    else:
        s0 = sds[ident]
    js, u_matrix = effect_design(structure, levels[:c])
    umat = u_matrix(sds)
    e_fit = None
    if structure.curve_centered:
        with numpyro.plate("curve", c):
            u_fit = numpyro.sample(f"u_{p}", dist.ImproperUniform(constraints.real, (), ()))
        r = u_fit - mu
        numpyro.factor(f"hier_{p}", marginal_logpdf(r, s0, umat))
    else:  # many curves: standardised effects and curve residuals (no funnel as s0 -> 0)
        es = []
        for j in js:
            f = structure.factors[j]
            with numpyro.plate(f, structure.n_levels[j]):
                es.append(numpyro.sample(f"e_{p}_{f}", dist.Normal(0.0, 1.0)))
        with numpyro.plate("curve", c):
            z = numpyro.sample(f"z_{p}", dist.Normal(0.0, 1.0))
        e_fit = jnp.concatenate(es) if es else jnp.zeros(0)
        r = umat @ e_fit + s0 * z  # umat is (curves, 0) when no factor has effects
        u_fit = mu + r
        if not structure.predict:
            with numpyro.plate("curve", c):
                numpyro.deterministic(f"u_{p}", u_fit)
    if not structure.n_new_curves:
        return u_fit
    # effects of every factor level (standardised), then the new curves' values
    n_eff = umat.shape[1]
    if e_fit is not None:
        e = e_fit
    else:
        noise = _keyed_new(key, jnp.arange(n_eff, dtype=jnp.uint32), f"effects/{p}")
        e = conditional_effects(r, s0, umat, noise) if n_eff else jnp.zeros(0)
    total_new = jnp.zeros(structure.n_new_curves)
    new_levels = levels[c:]
    offset = 0
    for j in js:
        f = structure.factors[j]
        n = structure.n_levels[j]
        eff = sds[j] * e[offset:offset + n]
        offset += n
        if structure.new_levels(j):
            eff = jnp.concatenate(
                [eff, sds[j] * _keyed_new(key, pred["level_hash"][j], f"level/{p}/{f}")]
            )
        total_new = total_new + eff[new_levels[:, j]]
    for j in range(len(structure.factors)):
        if j not in js and j != ident and structure.new_levels(j):  # one fitted level
            f = structure.factors[j]
            eff = jnp.concatenate(
                [jnp.zeros(1), sds[j] * _keyed_new(key, pred["level_hash"][j], f"level/{p}/{f}")]
            )
            total_new = total_new + eff[new_levels[:, j]]
    if ident == "curve" or ident is None:
        resid_new = s0 * _keyed_new(key, pred["new_curve_hash"], f"curve/{p}")
    else:  # the identifying factor: a seen level keeps its curve's residual, a new one is drawn
        j = ident
        f = structure.factors[j]
        resid_fit = r - (umat @ e if n_eff else 0.0)
        n = structure.n_levels[j]
        level_resid = jnp.zeros(n).at[levels[:c, j]].set(resid_fit)
        if structure.new_levels(j):
            level_resid = jnp.concatenate(
                [level_resid, s0 * _keyed_new(key, pred["level_hash"][j], f"level/{p}/{f}")]
            )
        resid_new = level_resid[new_levels[:, j]]
    return jnp.concatenate([u_fit, mu + total_new + resid_new])


def _salt(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode()) & 0x7FFFFFFF


def _curve_values(
    structure: Structure,
    data: Mapping[str, Any],
    refs: Mapping[str, jnp.ndarray],
    pred: Mapping[str, Any] | None,
    key: jax.Array | None,
) -> dict[str, jnp.ndarray]:
    """Per-curve parameters on the reference sampling scale, shape ``(n_all_curves,)``."""
    mus = _population(structure, refs)
    levels = data["curve_levels"]
    u = {}
    for plan in structure.plans:
        p = plan.name
        if structure.pooling == "none" and not plan.shared:
            with numpyro.plate("curve", structure.n_curves):
                own = numpyro.sample(f"u_{p}", dist.ImproperUniform(constraints.real, (), ()))
            if structure.n_new_curves:
                raise ValueError("pooling='none' cannot predict curves it did not fit")
            u[p] = own
        elif structure.hierarchical(plan):
            u[p] = _curve_u(structure, plan, mus[p], levels, pred, key)
        else:
            u[p] = jnp.broadcast_to(mus[p], (structure.n_all_curves,))
    if structure.pooling == "none":
        nat_mu = natural_values(structure, mus, refs)
        nat = natural_values(structure, u, refs)
        for plan in structure.plans:
            prior = structure.priors[plan.name]
            if plan.shared:
                v = mus[plan.name] if plan.data_units else mus[plan.name] + shift_of(
                    structure, plan, nat_mu, refs
                )
                numpyro.factor(f"prior_{plan.name}", prior_logp(prior, v))
            else:
                v = u[plan.name] if plan.data_units else u[plan.name] + shift_of(
                    structure, plan, nat, refs
                )
                numpyro.factor(f"prior_{plan.name}", prior_logp(prior, v).sum())
    return u


def _noise_scales(
    structure: Structure, data: Mapping[str, Any], pred: Any, key: jax.Array | None
) -> jnp.ndarray:
    """Log-space noise scale of every curve.

    Shared, per level of one factor, or per curve (partially pooled: ``log sigma ~
    Normal(mu_log_sigma, sd_log_sigma)``, centred when every group has many points).
    """
    log_sigma = numpyro.sample("mu_log_sigma", structure.priors["log_sigma"].to_numpyro())
    c_all = structure.n_all_curves
    if structure.noise == "shared":
        val = jnp.broadcast_to(log_sigma, (c_all,))
    else:
        sd = numpyro.sample("sd_log_sigma", structure.priors["log_sigma_sd"].to_numpyro())
        if structure.noise == "curve":
            plate, size, n_new = "curve", structure.n_curves, structure.n_new_curves
            member = jnp.arange(c_all)
            hashes = pred["new_curve_hash"] if n_new else None
        else:
            j = structure.factors.index(structure.noise)
            plate, size, n_new = structure.noise, structure.n_levels[j], structure.new_levels(j)
            member = data["curve_levels"][:, j]
            hashes = pred["level_hash"][j] if n_new else None
        with numpyro.plate(plate, size):
            if structure.noise_centered:  # many points per curve: each pins its own scale
                own = numpyro.sample("u_log_sigma", dist.Normal(log_sigma, sd))
            else:  # few points: non-centred, no funnel when the scales barely differ
                own = log_sigma + sd * numpyro.sample("z_log_sigma", dist.Normal(0.0, 1.0))
        if n_new:
            own = jnp.concatenate([own, log_sigma + sd * _keyed_new(key, hashes, "noise")])
        val = own[member]
    sigma = jnp.exp(val)
    if not structure.predict:
        with numpyro.plate("curve", structure.n_curves):
            numpyro.deterministic("sigma", sigma)
    return sigma


def law_log_mean(
    structure: Structure,
    theta_ref: Mapping[str, jnp.ndarray],
    x: jnp.ndarray,
    input_offset: jnp.ndarray,
    log_y_offset: jnp.ndarray,
) -> jnp.ndarray:
    """``log f(x; theta)`` evaluated through the reference parameterisation."""
    xs = x * jnp.exp(-input_offset)
    return jnp.log(structure.law.evaluate(xs, theta_ref)) + log_y_offset


def obs_distribution(structure: Structure, loc: jnp.ndarray, scale: jnp.ndarray) -> Any:
    """Observation distribution of ``log y`` (normal, Student-t or Huber)."""
    if structure.likelihood == "student_t":
        nu = numpyro.sample("nu", structure.priors["nu"].to_numpyro())
        return dist.StudentT(nu, loc, scale)
    if structure.likelihood == "huber":
        return Huber(loc, scale, structure.huber_delta)
    if structure.likelihood == "contaminated":
        share = numpyro.sample("outlier_share", structure.priors["outlier_share"].to_numpyro())
        extra = numpyro.sample("outlier_scale", structure.priors["outlier_scale"].to_numpyro())
        return Contaminated(loc, scale, share, extra)
    return dist.Normal(loc, scale)


def row_noise_streams(
    structure: Structure, key: jax.Array, hashes: jnp.ndarray, n_draws: int
) -> dict[str, jnp.ndarray]:
    """Standard random draws behind prediction noise, ``{name: (draws, len(hashes))}``.

    One vector of ``n_draws`` values per hash from its own key, ``fold_in(key, hash)``, so the
    draws of one hash do not depend on which others are requested, and one threefry call serves
    a whole vector (not one key per row and draw). Prediction passes its rows' hashes, or its
    curves' (runs') so that rows of a curve share their standard draw (common random numbers,
    like the drift direction: every row keeps its own distribution, and a monotone law's
    quantiles stay monotone along the curve). The model turns them into noise with each draw's
    parameters (:func:`_row_noise`, :func:`_run_residual`): ``z`` standard noise of the family
    (normal, or the standard Huber density); for Student-t two uniforms ``u``, ``v`` (Bailey's
    polar construction, exact and free of rejection loops); for the contaminated normal a
    uniform ``u`` choosing the broad component; with run residuals ``z_ou``.
    """

    def per_row(salt: str, draw: Any) -> jnp.ndarray:
        k = jax.random.fold_in(key, _salt(salt))
        return jax.vmap(lambda h: draw(jax.random.fold_in(k, h)), out_axes=1)(hashes)

    def normal(k: jax.Array) -> jnp.ndarray:
        return jax.random.normal(k, (n_draws,))

    def uniform(k: jax.Array) -> jnp.ndarray:  # in (0, 1]: safe under log
        return 1.0 - jax.random.uniform(k, (n_draws,))

    out = {}
    if structure.likelihood == "student_t":
        out["u"], out["v"] = per_row("noise/u", uniform), per_row("noise/v", uniform)
    elif structure.likelihood == "huber":
        out["z"] = per_row("noise/z", lambda k: huber_standard_jax(k, (n_draws,),
                                                                  structure.huber_delta))
    else:
        out["z"] = per_row("noise/z", normal)
        if structure.likelihood == "contaminated":
            out["u"] = per_row("noise/u", uniform)
    if structure.residual == "ou":
        out["z_ou"] = per_row("noise/ou", normal)
    return out


def student_t_standard(u: jnp.ndarray, v: jnp.ndarray, df: jnp.ndarray) -> jnp.ndarray:
    """Standard Student-t draws from two uniforms in (0, 1] (Bailey 1994, polar method).

    With ``W = u`` and angle ``2 pi v`` uniform on the unit disc,
    ``T = cos(2 pi v) sqrt(df (W^(-2/df) - 1))`` is exactly ``t_df``; ``df -> inf`` gives
    Box-Muller's normal.
    """
    return jnp.cos(2 * jnp.pi * v) * jnp.sqrt(df * jnp.expm1(-2.0 / df * jnp.log(u)))


def _row_noise(
    structure: Structure, obs_dist: Any, scale: jnp.ndarray, noise: Mapping[str, jnp.ndarray]
) -> jnp.ndarray:
    """A draw of each row's observation noise on ``log y`` from its standard draws.

    ``noise`` is one draw's slice of :func:`row_noise_streams`; under the contaminated normal
    a row takes the broad component's scale with the fitted share.
    """
    if structure.likelihood == "student_t":
        eps = student_t_standard(noise["u"], noise["v"], obs_dist.df)
    else:
        eps = noise["z"]
    if structure.likelihood == "contaminated":
        scale = jnp.where(noise["u"] < obs_dist.share, obs_dist.wide, scale)
    return scale * eps


def _run_residual(
    structure: Structure,
    data: Mapping[str, Any],
    pred: Mapping[str, Any],
    refs: Mapping[str, Any],
    u: Mapping[str, jnp.ndarray],
    sigma: jnp.ndarray,
    ou: tuple,
) -> jnp.ndarray:
    """A draw of each prediction row's run residual, conditioned on its run's checkpoints."""
    from bayes_scaling.residuals import forecast, kalman

    train = pred["train"]
    c = structure.n_curves
    theta = {
        p: param_transform(structure.priors[p])(v[:c])[train["curve_idx"]] for p, v in u.items()
    }
    off = data["log_y_ref"] if structure.output_scaled else 0.0
    mean_tr = law_log_mean(structure, theta, train["x"], data["input_offset"], off)
    resid = train["log_y"] - mean_tr
    _, a, p, s_last = kalman(resid, sigma[:c][train["curve_idx"]], train, *ou)
    m, sd = forecast(a, p, s_last, pred["row_run"], pred["s_rows"], *ou)
    return m + sd * pred["row_noise"]["z_ou"]


def scaling_model(
    data: Mapping[str, Any],
    structure: Structure,
    log_y: jnp.ndarray | None = None,
    pred: Mapping[str, Any] | None = None,
) -> None:
    """Hierarchical scaling-law model (see module docstring).

    Parameters
    ----------
    data : mapping of arrays
        ``x`` ``(n, k)`` inputs in the user's units; ``curve_idx`` ``(n,)``; ``mask`` ``(n,)``
        (False for padding rows); ``curve_levels`` ``(curves, factors)`` level index of every
        curve (new levels index past the fitted ones); ``log_x_ref`` ``(k,)``, ``log_y_ref``,
        ``input_offset`` ``(k,)``.
    structure : Structure
        Law, hierarchy, likelihood and priors.
    log_y : array, optional
        Observed ``log y``; ``None`` to predict.
    pred : mapping, optional
        Prediction block: ``row_noise`` (this draw's slice of :func:`row_noise_streams`),
        ``curve_hash``, ``new_curve_hash``, ``level_hash`` (per factor), and the drift inputs
        (:func:`bayes_scaling.drift.apply.drift_log`).
    """
    refs = {name: data["log_x_ref"][k] for k, name in enumerate(structure.law.inputs)}
    refs["y"] = data["log_y_ref"]
    # one key per posterior draw; every random quantity of a prediction is folded from it with a
    # salt and the hash of its labels, so rows do not influence each other's draws
    key = numpyro.prng_key() if structure.predict else None
    u = _curve_values(structure, data, refs, pred, key)
    theta_ref = {p: param_transform(structure.priors[p])(v) for p, v in u.items()}
    if not structure.predict:
        nat = natural_values(structure, u, refs)
        with numpyro.plate("curve", structure.n_curves):
            for p in structure.law.params:
                numpyro.deterministic(p, nat[p])
    sigma = _noise_scales(structure, data, pred, key)
    log_y_offset = data["log_y_ref"] if structure.output_scaled else 0.0
    cidx = data["curve_idx"]
    theta_rows = {p: v[cidx] for p, v in theta_ref.items()}
    mean = law_log_mean(structure, theta_rows, data["x"], data["input_offset"], log_y_offset)
    scale = sigma[cidx]
    ou = None
    if structure.residual == "ou":
        from bayes_scaling.residuals import SequentialOU, ou_parameters

        ou = ou_parameters(structure.priors)
        if not structure.predict:
            numpyro.sample("log_y", SequentialOU(mean, scale, data, *ou), obs=log_y)
            return
        obs_dist = None
    else:
        obs_dist = obs_distribution(structure, mean, scale)
    if not structure.predict:
        with numpyro.plate("point", data["x"].shape[0]):
            with numpyro.handlers.mask(mask=data["mask"]):
                numpyro.sample("log_y", obs_dist, obs=log_y)
        return
    from bayes_scaling.drift.apply import drift_log

    numpyro.deterministic("curve_log_mu", mean)
    if structure.extras.get("params"):
        for p, v in theta_rows.items():
            numpyro.deterministic(f"theta_{p}", v)
        numpyro.deterministic("sigma_row", scale)
    mean0 = law_log_mean(structure, theta_rows, pred["x0"], data["input_offset"], log_y_offset)
    drift = drift_log(
        pred, mean, mean0, jax.random.fold_in(key, 1), bool(structure.extras.get("drift"))
    )
    if ou is not None:
        drift = drift + _run_residual(structure, data, pred, refs, u, sigma, ou)
    log_mu = numpyro.deterministic("log_mu", mean + drift)
    numpyro.deterministic("log_y", log_mu + _row_noise(structure, obs_dist, scale,
                                                        pred["row_noise"]))
