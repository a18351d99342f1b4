"""The hierarchical NumPyro model.

For every law parameter ``theta`` (on its linked scale, e.g. ``log_alpha``) and every curve ``c``::

    theta[c] = mu_theta                                   # population mean
             + sum_f sd_theta_f * z_theta_f[level_f(c)]   # one additive effect per grouping factor
             + sd_theta_curve * z_theta_curve[c]          # per-curve residual

Factors are *crossed*: an LSTM in speech and an LSTM in language share the architecture effect.
The parameterisation is non-centred (``z ~ Normal(0, 1)``) with half-normal scales. The per-curve
residual is left out when one factor already identifies the curves (it would duplicate that effect).

Observations are modelled in log space (multiplicative noise)::

    log(y / y_ref) ~ Normal(law(theta[c], z_x), sigma[c])   or Student-t(nu, ...) or Huber(delta)

Student-t (``nu ~ Gamma(2, 0.1)``) and Huber (Gaussian core, Laplace tails beyond ``delta`` noise
scales; the loss of Hoffmann et al. 2022 and Epoch's replication) resist diverged or mis-tuned runs.

with ``sigma`` per curve (partially pooled on the log scale), per level of one factor, or shared.

Pooling: ``"partial"`` (the above), ``"none"`` (each curve has its own parameters drawn from the
population prior, no sharing) or ``"complete"`` (one curve for all rows; callers collapse curves).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist

from bayes_scaling.data import RunData
from bayes_scaling.distributions import HUBER_DELTA, Huber
from bayes_scaling.laws import Law
from bayes_scaling.priors import Prior

__all__ = ["Design", "make_design", "default_priors", "scaling_model", "POOLINGS", "LIKELIHOODS"]

POOLINGS = ("partial", "none", "complete")
LIKELIHOODS = ("normal", "student_t", "huber")


@dataclass(frozen=True)
class Design:
    """Structure of the hierarchy, derived from the validated data and the user's choices."""

    factors: tuple[str, ...]
    n_levels: tuple[int, ...]
    curve_levels: np.ndarray
    pooling: str
    curve_term: bool
    likelihood: str
    noise: str
    huber_delta: float = HUBER_DELTA

    @property
    def n_curves(self) -> int:
        """Number of curves the model has parameters for."""
        return int(self.curve_levels.shape[0])

    def to_dict(self) -> dict:
        """JSON-serialisable description."""
        return {
            "factors": list(self.factors),
            "n_levels": list(self.n_levels),
            "curve_levels": self.curve_levels.tolist(),
            "pooling": self.pooling,
            "curve_term": self.curve_term,
            "likelihood": self.likelihood,
            "noise": self.noise,
            "huber_delta": self.huber_delta,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Design:
        """Inverse of :meth:`to_dict`."""
        levels = np.asarray(d["curve_levels"], dtype=np.int64).reshape(
            len(d["curve_levels"]), len(d["factors"])
        )
        return cls(
            tuple(d["factors"]),
            tuple(d["n_levels"]),
            levels,
            d["pooling"],
            bool(d["curve_term"]),
            d["likelihood"],
            d["noise"],
            float(d.get("huber_delta", HUBER_DELTA)),
        )


def make_design(
    run: RunData, pooling: str, likelihood: str, noise: str, huber_delta: float = HUBER_DELTA
) -> Design:
    """Build the model structure from validated data.

    Parameters
    ----------
    run : RunData
        Validated runs.
    pooling : {"partial", "none", "complete"}
        How curves share parameters.
    likelihood : {"normal", "student_t", "huber"}
        Observation model in log space.
    noise : str
        ``"curve"`` (a scale per curve, partially pooled), ``"shared"``, or the name of a grouping
        column (a scale per level of that factor).
    huber_delta : float
        Threshold of the Huber likelihood in units of the noise scale.
    """
    if not (isinstance(huber_delta, int | float) and 0 < float(huber_delta) < np.inf):
        raise ValueError(f"huber_delta must be a positive number, got {huber_delta!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if likelihood not in LIKELIHOODS:
        raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
    if noise not in ("curve", "shared", *run.group_cols):
        raise ValueError(
            f"noise must be 'curve', 'shared' or a group column {list(run.group_cols)}, "
            f"got {noise!r}"
        )
    n_levels = tuple(len(run.levels[g]) for g in run.group_cols)
    curve_levels = run.curve_levels
    if pooling == "complete":
        curve_levels = np.zeros((1, len(run.group_cols)), dtype=np.int64)
        noise = "shared"
    if curve_levels.shape[0] == 1 and noise == "curve":
        noise = "shared"
    curve_term = (
        pooling == "partial"
        and curve_levels.shape[0] > 1
        and all(k != curve_levels.shape[0] for k in n_levels)
    )
    return Design(
        tuple(run.group_cols),
        n_levels,
        curve_levels,
        pooling,
        curve_term,
        likelihood,
        noise,
        float(huber_delta),
    )


def default_priors(law: Law, design: Design) -> dict[str, Prior]:
    """Default priors of every prior site of ``law`` under ``design``, by name.

    Names: ``<linked>`` (population mean, e.g. ``log_alpha``), ``<linked>_sd_<factor>`` and
    ``<linked>_sd_curve`` (spread of effects), ``log_sigma`` / ``log_sigma_sd`` (noise), ``nu``
    (Student-t degrees of freedom).
    """
    out: dict[str, Prior] = {}
    for p in law.params:
        out[p.linked] = p.prior
        if design.pooling == "partial":
            for f in design.factors:
                out[f"{p.linked}_sd_{f}"] = p.sd_prior
            if design.curve_term:
                out[f"{p.linked}_sd_curve"] = Prior(
                    "HalfNormal",
                    scale=p.sd_prior.args["scale"] / 2,
                    note="per-curve residual, half the factor-effect scale",
                )
    out["log_sigma"] = Prior(
        "Normal",
        loc=float(np.log(0.03)),
        scale=1.0,
        note="log-space noise: 95% between 0.4% and 21% multiplicative error",
    )
    if design.noise != "shared":
        out["log_sigma_sd"] = Prior("HalfNormal", scale=0.5, note="spread of log noise scales")
    if design.likelihood == "student_t":
        out["nu"] = Prior("Gamma", concentration=2.0, rate=0.1, note="Juarez & Steel 2010")
    return out


def _noise_index(design: Design) -> tuple[str, int, np.ndarray] | None:
    """Plate name, plate size and curve->member map for the noise scales."""
    if design.noise == "shared":
        return None
    if design.noise == "curve":
        return "curve", design.n_curves, np.arange(design.n_curves)
    j = design.factors.index(design.noise)
    return design.noise, design.n_levels[j], design.curve_levels[:, j]


def curve_parameters(
    law: Law, design: Design, priors: Mapping[str, Prior]
) -> dict[str, jnp.ndarray]:
    """Sample the per-curve linked parameters; returns ``{linked_name: array(n_curves)}``."""
    n_c = design.n_curves
    out = {}
    for p in law.params:
        name = p.linked
        if design.pooling == "none":
            with numpyro.plate("curve", n_c):
                val = numpyro.sample(f"mu_{name}", priors[name].to_numpyro())
        else:
            val = numpyro.sample(f"mu_{name}", priors[name].to_numpyro()) * jnp.ones(n_c)
        if design.pooling == "partial":
            for j, f in enumerate(design.factors):
                sd = numpyro.sample(f"sd_{name}_{f}", priors[f"{name}_sd_{f}"].to_numpyro())
                with numpyro.plate(f, design.n_levels[j]):
                    z = numpyro.sample(f"z_{name}_{f}", dist.Normal(0.0, 1.0))
                val = val + sd * z[design.curve_levels[:, j]]
            if design.curve_term:
                sd = numpyro.sample(f"sd_{name}_curve", priors[f"{name}_sd_curve"].to_numpyro())
                with numpyro.plate("curve", n_c):
                    z = numpyro.sample(f"z_{name}_curve", dist.Normal(0.0, 1.0))
                val = val + sd * z
        with numpyro.plate("curve", n_c):
            numpyro.deterministic(p.name, jnp.exp(val) if p.link == "log" else val)
        out[name] = val
    return out


def noise_scales(design: Design, priors: Mapping[str, Prior]) -> jnp.ndarray:
    """Sample the log-space noise scale of each curve; returns ``array(n_curves)``."""
    log_sigma = numpyro.sample("mu_log_sigma", priors["log_sigma"].to_numpyro())
    idx = _noise_index(design)
    if idx is None:
        val = log_sigma * jnp.ones(design.n_curves)
    else:
        plate, size, member = idx
        sd = numpyro.sample("sd_log_sigma", priors["log_sigma_sd"].to_numpyro())
        with numpyro.plate(plate, size):
            z = numpyro.sample("z_log_sigma", dist.Normal(0.0, 1.0))
        val = log_sigma + sd * z[member]
    sigma = jnp.exp(val)
    with numpyro.plate("curve", design.n_curves):
        numpyro.deterministic("sigma", sigma)
    return sigma


def scaling_model(
    z: jnp.ndarray,
    curve_idx: jnp.ndarray,
    *,
    law: Law,
    design: Design,
    priors: Mapping[str, Prior],
    log_y: jnp.ndarray | None = None,
) -> None:
    """Hierarchical scaling-law model.

    Parameters
    ----------
    z : array, shape (n, k)
        ``log(x / x_ref)`` for each scale column.
    curve_idx : array of int, shape (n,)
        Curve of each row.
    law, design, priors
        The functional form, the hierarchy and the priors by name.
    log_y : array, shape (n,), optional
        Observed ``log(y / y_ref)``; ``None`` to sample from the model.
    """
    theta = curve_parameters(law, design, priors)
    sigma = noise_scales(design, priors)
    mean = law({k: v[curve_idx] for k, v in theta.items()}, z)
    scale = sigma[curve_idx]
    if design.likelihood == "student_t":
        nu = numpyro.sample("nu", priors["nu"].to_numpyro())
        obs_dist = dist.StudentT(nu, mean, scale)
    elif design.likelihood == "huber":
        obs_dist = Huber(mean, scale, design.huber_delta)
    else:
        obs_dist = dist.Normal(mean, scale)
    with numpyro.plate("point", z.shape[0]):
        numpyro.sample("log_y", obs_dist, obs=log_y)
