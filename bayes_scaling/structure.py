"""The static description of a model: law, parameter plans, hierarchy, likelihood and priors.

A :class:`Structure` is everything about a model that does not depend on the data's values: two
fits with equal :meth:`Structure.key` share one compiled sampler. Also here: the default priors
by overridable name, the names of the posterior variables, and the maps between a parameter's
sampling scale at the reference point and its value in the user's units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jax.numpy as jnp
import numpy as np
from numpyro.distributions.transforms import biject_to

from bayes_scaling.distributions import HUBER_DELTA
from bayes_scaling.laws import Law
from bayes_scaling.laws.conditioning import Shift
from bayes_scaling.priors import Prior

__all__ = [
    "ParamPlan",
    "Structure",
    "site_names",
    "recorded_names",
    "default_priors",
    "param_transform",
    "prior_logp",
    "shift_of",
    "natural_values",
    "POOLINGS",
    "LIKELIHOODS",
]

POOLINGS = ("partial", "none", "complete")
LIKELIHOODS = ("normal", "student_t", "huber", "contaminated")
#: Names that cannot be grouping columns: they name model dimensions.
RESERVED_DIMS = frozenset({"curve", "point", "chain", "draw", "input", "factor", "param"})

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
#: Contaminated normal (Tukey 1960; Box & Tiao 1968): the share of rows from a broad component.
OUTLIER_SHARE_PRIOR = Prior("Beta", concentration1=1.0, concentration0=19.0,
                            note="share of outlying rows (diverged or failed runs), mean 5%")
#: Scale of the broad component beyond the noise, log units: a factor ~1.5-4 off the law.
OUTLIER_SCALE_PRIOR = Prior("LogNormal", loc=float(np.log(0.5)), scale=1.0,
                            note="outlying rows' extra log-scale spread, median 0.5")

#: Points per noise group from which each group's noise scale is sampled directly (centred).
NOISE_CENTRED_POINTS = 25

#: Fitted curves from which the law's per-curve values are sampled non-centred (standardised
#: effects and residuals, :func:`bayes_scaling.model._curve_u`). Measured on simulated saturating
#: curves, two crossed factors, 10 points each, 2 chains x 500 x 500 (min bulk ESS, centred ->
#: non-centred): 12 curves 260 -> 385 at the same ESS per second but 14 divergences and the
#: tree-depth cap; 30 curves 75 -> 234 (ESS/s 2.6 -> 7.6); 100 curves 4 -> 305 (R-hat 1.46 ->
#: 1.01, ESS/s 0.03 -> 6.3); on the 5 Revisiting NMT curves the non-centred form took 6x the
#: leapfrog steps. Few curves, each pinned by its data: centred; many: non-centred.
NONCENTRED_CURVES = 24
#: Values of ``ScalingLaw(centring=...)``.
CENTRINGS = ("auto", "centred", "non-centred")


def noise_centred(points_per_group: np.ndarray) -> bool:
    """Sample the noise scales centred when every noise group has many points."""
    return bool(np.min(points_per_group) >= NOISE_CENTRED_POINTS)


def has_curve_term(pooling: str, n_curves: int, n_levels: tuple[int, ...]) -> bool:
    """A per-curve residual term: no factor's levels identify the curves (crossed designs)."""
    return pooling == "partial" and n_curves > 1 and all(k != n_curves for k in n_levels)


def curve_centred(centring: str, n_curves: int, pooling: str = "partial") -> bool:
    """Whether the curves' law parameters are sampled centred (``centring``: CENTRINGS).

    Only partial pooling has a choice; the other poolings record ``True``.
    """
    if pooling != "partial":
        return True
    if centring == "auto":
        return n_curves < NONCENTRED_CURVES
    return centring == "centred"


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
    curve_centered: bool = True
    residual: str = "iid"
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
            self.curve_centered,
            self.residual,
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

    def effect_factors(self) -> list[int]:
        """Positions of the factors with group effects beside the term that identifies curves.

        Their effects are integrated out (centred curves) or sampled standardised
        (non-centred); the identifying term is the curves' own residual.
        """
        ident = self.identifying
        return [j for j, n in enumerate(self.n_levels) if n > 1 and j != ident]

    def hierarchical(self, plan: ParamPlan) -> bool:
        """Whether a parameter has group effects (several curves, partial pooling, not shared)."""
        return self.pooling == "partial" and not plan.shared and self.identifying is not None


def recorded_names(structure: Structure) -> set[str]:
    """Names among :func:`site_names` that are computed from others (deterministic sites)."""
    out = {*structure.law.params, "sigma"}
    if not structure.curve_centered:  # u_<param> is recorded, not sampled
        out |= {f"u_{p}" for p in structure.law.params}
    return out


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
            if not structure.curve_centered:
                out += [f"e_{p}_{structure.factors[j]}" for j in structure.effect_factors()]
                out.append(f"z_{p}")
            out.append(f"u_{p}")
        elif structure.pooling == "none" and not plan.shared:
            out.append(f"u_{p}")
        out.append(p)
    out += ["mu_log_sigma", "sigma"]
    if structure.noise != "shared":
        out += ["sd_log_sigma", "u_log_sigma" if structure.noise_centered else "z_log_sigma"]
    if structure.likelihood == "student_t":
        out.append("nu")
    if structure.likelihood == "contaminated":
        out += ["outlier_share", "outlier_scale"]
    if structure.residual == "ou":
        out += ["ou_scale", "ou_length"]
    return out


def default_priors(law: Law, structure_like: Mapping[str, Any]) -> dict[str, Prior]:
    """Default priors by overridable name.

    Names: ``<param>`` (population mean), ``<param>_sd_<factor>`` and ``<param>_sd_curve``
    (spread of effects), ``log_sigma`` / ``log_sigma_sd`` (noise), ``nu`` (Student-t),
    ``outlier_share`` and ``outlier_scale`` (contaminated normal).
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
    if s["likelihood"] == "contaminated":
        out["outlier_share"] = OUTLIER_SHARE_PRIOR
        out["outlier_scale"] = OUTLIER_SCALE_PRIOR
    if s.get("residual") == "ou":
        from bayes_scaling.residuals import OU_PRIORS

        out.update(OU_PRIORS)
    return out


# --------------------------------------------------------------------------- scales
def param_transform(prior: Prior) -> Any:
    """The map from a parameter's sampling scale to its support (``exp`` when positive)."""
    return biject_to(prior.to_numpyro().support)


def prior_logp(prior: Prior, v: jnp.ndarray) -> jnp.ndarray:
    """Log prior density of a value on the sampling scale ``v`` (with the Jacobian)."""
    t = param_transform(prior)
    value = t(v)
    return prior.to_numpyro().log_prob(value) + t.log_abs_det_jacobian(v, value)


def shift_of(
    structure: Structure, plan: ParamPlan, nat: Mapping[str, jnp.ndarray], refs: Any
) -> Any:
    """Offset of a parameter's sampling scale between user units and the reference point."""
    total = 0.0
    for s in plan.shifts:
        mult = 1.0 if s.multiplier is None else nat[s.multiplier]
        total = total + s.sign * mult * refs[s.source]
    return total


def natural_values(
    structure: Structure, u: Mapping[str, jnp.ndarray], refs: Mapping[str, jnp.ndarray]
) -> dict[str, jnp.ndarray]:
    """Natural (user-unit) values from reference sampling-scale values."""
    nat: dict[str, jnp.ndarray] = {}
    ordered = sorted(structure.plans, key=lambda pl: bool(pl.shifts))  # multipliers first
    for plan in ordered:
        t = param_transform(structure.priors[plan.name])
        nat[plan.name] = t(u[plan.name] + shift_of(structure, plan, nat, refs))
    return nat


