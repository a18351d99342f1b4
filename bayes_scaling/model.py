"""The hierarchical NumPyro model: one function for fitting and for prediction.

For every law parameter ``p`` and every curve ``c``, on the parameter's sampling scale ``u`` (the
log for positive parameters) and measured at the data's reference point
(:mod:`bayes_scaling.laws.conditioning`)::

    u_p[c] = mu_p                                          # population mean
           + sd_p_f * z_p_f[level_f(c)]    (each factor)   # crossed group effects, sum to zero
           + sd_p_curve * z_p_curve[c]                     # per-curve residual (crossed designs)

The curves' values are sampled directly and the effects are integrated out analytically
(``u ~ Normal(mu, s0^2 I + U U^T)``, Woodbury), which removes the funnels of sampled effects. ``shared`` parameters are one value for all
curves. The population mean's prior is the law's prior, in the user's units or data units
(``Prior(units=...)``): it enters as a density on the mean's value (exact: the map to reference
values has unit Jacobian). Observations are modelled in log space::

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
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.distributions.transforms import biject_to

from bayes_scaling.distributions import HUBER_DELTA, Huber, huber_standard_jax
from bayes_scaling.laws import Law
from bayes_scaling.laws.conditioning import Shift
from bayes_scaling.priors import Prior

__all__ = [
    "ParamPlan",
    "Structure",
    "scaling_model",
    "default_priors",
    "POOLINGS",
    "LIKELIHOODS",
    "site_names",
]

POOLINGS = ("partial", "none", "complete")
LIKELIHOODS = ("normal", "student_t", "huber")
#: Names that cannot be grouping columns: they name model dimensions.
RESERVED_DIMS = frozenset({"curve", "point", "chain", "draw", "input", "factor", "run", "param"})

SIGMA_PRIOR = Prior(
    "Normal",
    loc=float(np.log(0.03)),
    scale=1.0,
    note="log-space noise: 95% between 0.4% and 21% multiplicative error",
)
SIGMA_SD_PRIOR = Prior(
    "Gamma", concentration=2.0, rate=4.0, note="spread of log noise scales, mean 0.5"
)
NU_PRIOR = Prior("Gamma", concentration=2.0, rate=0.1, note="Juarez & Steel 2010")


@dataclass(frozen=True)
class ParamPlan:
    """How one law parameter is sampled.

    Attributes
    ----------
    name : str
        Parameter name.
    shifts : tuple of Shift
        Reference-point transformation (empty: the parameter is used as is).
    data_units : bool
        Whether its prior is on the reference value (``Prior(units="data")``).
    shared : bool
        One value for all curves.
    """

    name: str
    shifts: tuple[Shift, ...]
    data_units: bool
    shared: bool


@dataclass(frozen=True, eq=False)
class Structure:
    """Everything static about a model: law, hierarchy, likelihood and priors.

    Two fits with equal :meth:`key` share one compiled sampler (data are arguments).
    """

    law: Law
    plans: tuple[ParamPlan, ...]
    priors: Mapping[str, Prior]
    factors: tuple[str, ...]
    n_levels: tuple[int, ...]
    n_curves: int
    pooling: str = "partial"
    curve_term: bool = False
    likelihood: str = "normal"
    huber_delta: float = HUBER_DELTA
    noise: str = "curve"
    noise_centered: bool = False
    output_scaled: bool = True
    n_new_levels: tuple[int, ...] = ()
    n_new_curves: int = 0
    predict: bool = False
    extras: Mapping[str, Any] = field(default_factory=dict)

    def key(self) -> tuple:
        """Hashable identity of the compiled program."""
        return (
            self.law.hash,
            self.plans,
            tuple(sorted((k, repr(v)) for k, v in self.priors.items())),
            self.factors,
            self.n_levels,
            self.n_curves,
            self.pooling,
            self.curve_term,
            self.likelihood,
            self.huber_delta,
            self.noise,
            self.noise_centered,
            self.output_scaled,
            self.n_new_levels or (0,) * len(self.factors),
            self.n_new_curves,
            self.predict,
            tuple(sorted(self.extras.items())),
        )

    @property
    def identifying(self) -> str | int | None:
        """The term that identifies curves: ``"curve"``, a factor's position, or ``None``."""
        if self.pooling != "partial" or self.n_curves < 2:
            return None
        if self.curve_term:
            return "curve"
        for j in range(len(self.factors) - 1, -1, -1):
            if self.n_levels[j] == self.n_curves:
                return j
        return None

    @property
    def n_all_curves(self) -> int:
        """Fitted plus new curves."""
        return self.n_curves + self.n_new_curves

    def new_levels(self, j: int) -> int:
        """Number of new levels of factor ``j`` in a prediction."""
        return self.n_new_levels[j] if self.n_new_levels else 0

    def hierarchical(self, plan: ParamPlan) -> bool:
        """Whether a parameter has group effects."""
        return self.pooling == "partial" and not plan.shared


def site_names(structure: Structure) -> list[str]:
    """Names of the model's posterior variables (sampled and deterministic)."""
    out = []
    for plan in structure.plans:
        p = plan.name
        out.append(f"mu_{p}")
        if structure.hierarchical(plan):
            out += [f"sd_{p}_{f}" for f in structure.factors]
            if structure.curve_term:
                out.append(f"sd_{p}_curve")
            out.append(f"u_{p}")
        elif structure.pooling == "none" and not plan.shared:
            out.append(f"u_{p}")
        out.append(p)
    out += ["mu_log_sigma", "sigma"]
    if structure.noise != "shared":
        out += ["sd_log_sigma", "u_log_sigma" if structure.noise_centered else "z_log_sigma"]
    if structure.likelihood == "student_t":
        out.append("nu")
    return out


def default_priors(law: Law, structure_like: Mapping[str, Any]) -> dict[str, Prior]:
    """Default priors by overridable name.

    Names: ``<param>`` (population mean), ``<param>_sd_<factor>`` and ``<param>_sd_curve``
    (spread of effects), ``log_sigma`` / ``log_sigma_sd`` (noise), ``nu`` (Student-t).
    ``structure_like`` gives ``pooling``, ``factors``, ``curve_term``, ``noise``, ``likelihood``.
    """
    s = structure_like
    out: dict[str, Prior] = {}
    for p in law.params:
        out[p] = law.priors[p]
        if s["pooling"] == "partial" and p not in law.shared:
            for f in s["factors"]:
                out[f"{p}_sd_{f}"] = law.spread[p]
            if s["curve_term"]:
                out[f"{p}_sd_curve"] = law.spread[p].widen(0.5)
    out["log_sigma"] = SIGMA_PRIOR
    if s["noise"] != "shared":
        out["log_sigma_sd"] = SIGMA_SD_PRIOR
    if s["likelihood"] == "student_t":
        out["nu"] = NU_PRIOR
    return out


# --------------------------------------------------------------------------- helpers
def _transform(prior: Prior) -> Any:
    return biject_to(prior.to_numpyro().support)


def _prior_logp(prior: Prior, v: jnp.ndarray) -> jnp.ndarray:
    """Log prior density of a value on the sampling scale ``v`` (with the Jacobian)."""
    t = _transform(prior)
    value = t(v)
    return prior.to_numpyro().log_prob(value) + t.log_abs_det_jacobian(v, value)


def _keyed_normal(key: jax.Array, hashes: jnp.ndarray) -> jnp.ndarray:
    """One standard normal per hash, independent of the other hashes requested."""
    return jax.vmap(lambda h: jax.random.normal(jax.random.fold_in(key, h)))(hashes)


def _shift(structure: Structure, plan: ParamPlan, nat: Mapping[str, jnp.ndarray], refs: Any):
    total = 0.0
    for s in plan.shifts:
        mult = 1.0 if s.multiplier is None else nat[s.multiplier]
        total = total + s.sign * mult * refs[s.source]
    return total


def _population(structure: Structure, refs: Mapping[str, jnp.ndarray]) -> dict[str, jnp.ndarray]:
    """Population means on the reference sampling scale, with their priors as factors."""
    mus = {}
    for plan in structure.plans:
        mus[plan.name] = numpyro.sample(
            f"mu_{plan.name}", dist.ImproperUniform(constraints.real, (), ())
        )
    if structure.pooling == "none":
        return mus
    nat = _natural(structure, mus, refs)
    for plan in structure.plans:
        prior = structure.priors[plan.name]
        v = mus[plan.name] if plan.data_units else mus[plan.name] + _shift(
            structure, plan, nat, refs
        )
        numpyro.factor(f"prior_{plan.name}", _prior_logp(prior, v))
    return mus


def _natural(
    structure: Structure, u: Mapping[str, jnp.ndarray], refs: Mapping[str, jnp.ndarray]
) -> dict[str, jnp.ndarray]:
    """Natural (user-unit) values from reference sampling-scale values."""
    nat: dict[str, jnp.ndarray] = {}
    ordered = sorted(structure.plans, key=lambda pl: bool(pl.shifts))  # multipliers first
    for plan in ordered:
        t = _transform(structure.priors[plan.name])
        nat[plan.name] = t(u[plan.name] + _shift(structure, plan, nat, refs))
    return nat


def _keyed_new(key: jax.Array, hashes: jnp.ndarray, salt: str) -> jnp.ndarray:
    return _keyed_normal(key, hashes ^ jnp.uint32(_salt(salt)))


def effect_design(structure: Structure, levels: jnp.ndarray) -> tuple[list[int], Any]:
    """Factors whose effects are integrated out, and a function of the spreads giving ``U``.

    ``U`` is ``(curves, levels)``: one-hot level indicators of every such factor times its
    spread, so that the curves' values have covariance ``s0^2 I + U U^T`` (``s0``: the spread
    of the term that identifies curves).
    """
    ident = structure.identifying
    js = [j for j, n in enumerate(structure.n_levels) if n > 1 and j != ident]
    onehots = [jax.nn.one_hot(levels[:, j], structure.n_levels[j]) for j in js]

    def u_matrix(sds: Mapping[int, jnp.ndarray]) -> jnp.ndarray:
        if not js:
            return jnp.zeros((levels.shape[0], 0))
        return jnp.concatenate([oh * sds[j] for j, oh in zip(js, onehots, strict=True)], axis=1)

    return js, u_matrix


def marginal_logpdf(r: jnp.ndarray, s0: jnp.ndarray, u: jnp.ndarray) -> jnp.ndarray:
    """log Normal(r; 0, s0^2 I + U U^T) by the Woodbury identity (``U``: curves x levels)."""
    c = r.shape[0]
    base = jnp.sum(r * r) / s0**2 + 2 * c * jnp.log(s0) + c * jnp.log(2 * jnp.pi)
    if u.shape[1] == 0:
        return -0.5 * base
    p = jnp.eye(u.shape[1]) + u.T @ u / s0**2
    chol = jnp.linalg.cholesky(p)
    w = jax.scipy.linalg.solve_triangular(chol, u.T @ r, lower=True)
    quad_corr = jnp.sum(w * w) / s0**4
    logdet = 2 * jnp.sum(jnp.log(jnp.diag(chol)))
    return -0.5 * (base - quad_corr + logdet)


def conditional_effects(
    r: jnp.ndarray, s0: jnp.ndarray, u: jnp.ndarray, noise: jnp.ndarray
) -> jnp.ndarray:
    """A draw of the standardised effects ``e`` given the curves' deviations ``r``.

    ``r = U e + s0 eps`` with ``e, eps ~ N(0, I)``: ``e | r`` is Gaussian with precision
    ``I + U^T U / s0^2``; ``noise`` is a standard normal vector of the effects' size.
    """
    p = jnp.eye(u.shape[1]) + u.T @ u / s0**2
    chol = jnp.linalg.cholesky(p)
    mean = jax.scipy.linalg.cho_solve((chol, True), u.T @ r / s0**2)
    return mean + jax.scipy.linalg.solve_triangular(chol.T, noise, lower=False)


def _curve_u(
    structure: Structure,
    plan: ParamPlan,
    mu: jnp.ndarray,
    levels: jnp.ndarray,
    pred: Mapping[str, Any] | None,
    key: jax.Array | None,
) -> jnp.ndarray:
    """Per-curve sampling-scale values (fitted and new curves) of one hierarchical parameter.

    The fitted curves' values ``u_<param>`` are sampled directly, and the group effects are
    integrated out analytically: ``u ~ Normal(mu, s0^2 I + U U^T)`` (:func:`marginal_logpdf`).
    Each curve's data pin its own value, and the spreads see a smooth marginal density instead
    of the funnels that sampled effects create when a factor has few levels. New curves and
    levels draw their effects from the conditional (:func:`conditional_effects`) or the
    population.
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
    with numpyro.plate("curve", c):
        u_fit = numpyro.sample(f"u_{p}", dist.ImproperUniform(constraints.real, (), ()))
    js, u_matrix = effect_design(structure, levels[:c])
    umat = u_matrix(sds)
    r = u_fit - mu
    numpyro.factor(f"hier_{p}", marginal_logpdf(r, s0, umat))
    if not structure.n_new_curves:
        return u_fit
    # effects of every factor level (standardised), then the new curves' values
    n_eff = umat.shape[1]
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
        nat_mu = _natural(structure, mus, refs)
        nat = _natural(structure, u, refs)
        for plan in structure.plans:
            prior = structure.priors[plan.name]
            if plan.shared:
                v = mus[plan.name] if plan.data_units else mus[plan.name] + _shift(
                    structure, plan, nat_mu, refs
                )
                numpyro.factor(f"prior_{plan.name}", _prior_logp(prior, v))
            else:
                v = u[plan.name] if plan.data_units else u[plan.name] + _shift(
                    structure, plan, nat, refs
                )
                numpyro.factor(f"prior_{plan.name}", _prior_logp(prior, v).sum())
    return u


def _noise_scales(
    structure: Structure, data: Mapping[str, Any], pred: Any, key: jax.Array | None
) -> jnp.ndarray:
    """Log-space noise scale of every curve: shared, per level of one factor, or per curve
    (centred, partially pooled: ``log sigma ~ Normal(mu_log_sigma, sd_log_sigma)``)."""
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
    return dist.Normal(loc, scale)


def _standard_noise(
    structure: Structure, key: jax.Array, hashes: jnp.ndarray, nu: jnp.ndarray | None
) -> jnp.ndarray:
    """Standardised observation noise per row, keyed by the row's hash."""

    def one(h: jnp.ndarray) -> jnp.ndarray:
        k = jax.random.fold_in(key, h)
        if structure.likelihood == "student_t":
            return jax.random.t(k, nu)
        if structure.likelihood == "huber":
            return huber_standard_jax(k, (), structure.huber_delta)
        return jax.random.normal(k)

    return jax.vmap(one)(hashes)


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
        Prediction block: ``row_hash``, ``curve_hash``, ``new_curve_hash``, ``level_hash``
        (per factor), and the drift inputs (:func:`bayes_scaling.drift.apply.drift_terms`).
    """
    refs = {name: data["log_x_ref"][k] for k, name in enumerate(structure.law.inputs)}
    refs["y"] = data["log_y_ref"]
    # one key per posterior draw; every random quantity of a prediction is folded from it with a
    # salt and the hash of its labels, so rows do not influence each other's draws
    key = numpyro.prng_key() if structure.predict else None
    u = _curve_values(structure, data, refs, pred, key)
    theta_ref = {p: _transform(structure.priors[p])(v) for p, v in u.items()}
    if not structure.predict:
        nat = _natural(structure, u, refs)
        with numpyro.plate("curve", structure.n_curves):
            for p in structure.law.params:
                numpyro.deterministic(p, nat[p])
    sigma = _noise_scales(structure, data, pred, key)
    log_y_offset = data["log_y_ref"] if structure.output_scaled else 0.0
    cidx = data["curve_idx"]
    theta_rows = {p: v[cidx] for p, v in theta_ref.items()}
    mean = law_log_mean(structure, theta_rows, data["x"], data["input_offset"], log_y_offset)
    scale = sigma[cidx]
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
    log_mu = numpyro.deterministic("log_mu", mean + drift)
    nu = obs_dist.df if structure.likelihood == "student_t" else None
    eps = _standard_noise(structure, jax.random.fold_in(key, 2), pred["row_hash"], nu)
    numpyro.deterministic("log_y", log_mu + scale * eps)
