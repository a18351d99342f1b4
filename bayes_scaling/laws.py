"""Functional forms (laws): pure ``jax.numpy`` functions plus parameter names and default priors.

Every law works on *normalised* quantities so that its parameters are weakly correlated and the
same priors make sense for any units::

    z_k = log(x_k / x_ref_k)        # log scale relative to the geometric mean of the training data
    log(y / y_ref)                  # log metric relative to the geometric mean of the observations

A law maps its *linked* parameters (``log_A``, ``log_alpha``, ...; the scale on which the hierarchy
is additive) and ``z`` to ``log(y / y_ref)``. Each law also converts its parameters back to the
user's original units (for example ``A`` in ``L = A * x**-alpha`` with ``x`` in raw units).

Why exponents are hierarchical on the log scale: exponents are positive and differ across domains
multiplicatively (Hestness et al. 2017 report data exponents from about 0.07 for language models to
about 0.3-0.5 for image classification), so one additive effect on ``log_alpha`` describes both a
small LM-vs-LM difference and a large language-vs-vision difference.

Default priors (global means; all overridable by name)
------------------------------------------------------
* Exponents: ``log_alpha ~ Normal(log 0.2, 1.0)``, a 95% range of about 0.03-1.4 that covers
  Kaplan et al. 2020 (alpha_N ~ 0.076, alpha_D ~ 0.095), Hoffmann et al. 2022 (alpha ~ 0.34,
  beta ~ 0.28) and Hestness et al. 2017 (learning-curve exponents ~0.07 for word LMs, ~0.13 for
  NMT, ~0.3 for speech, ~0.3-0.5 for ImageNet error). Two-input laws use the published values of
  their own form as centres (see each law).
* Amplitudes and floors, relative to ``y_ref``: ``log_A, log_E ~ Normal(log 0.5, 1.5)``.
* Spread of group effects (half-normal scales): ``*_sd ~ HalfNormal(0.7)`` for exponents on the
  log scale (a level's exponent typically within a factor 2 of the population), ``HalfNormal(1.0)``
  for amplitudes and floors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from bayes_scaling.priors import Prior

__all__ = ["Law", "LawParam", "get_law", "list_laws", "LAWS"]

Array = jnp.ndarray

_EXP_NOTE = (
    "exponent; Kaplan 2020 a_N~0.076 a_D~0.095, Hoffmann 2022 0.34/0.28, "
    "Hestness 2017 0.07 (LM) to 0.3-0.5 (vision, speech)"
)


@dataclass(frozen=True)
class LawParam:
    """One parameter of a law.

    Parameters
    ----------
    name : str
        Natural name reported to users (``alpha``).
    link : str
        ``"log"`` (the hierarchy acts on ``log(name)``) or ``"identity"``.
    prior : Prior
        Prior of the population mean on the linked scale.
    sd_prior : Prior
        Prior of the spread of group effects on the linked scale.
    description : str
        What the parameter means.
    """

    name: str
    link: str
    prior: Prior
    sd_prior: Prior
    description: str

    @property
    def linked(self) -> str:
        """Site name on the linked scale (``log_alpha`` or ``delta``)."""
        return f"log_{self.name}" if self.link == "log" else self.name

    def to_natural(self, value: np.ndarray) -> np.ndarray:
        """Map linked values to the natural scale."""
        return np.exp(value) if self.link == "log" else value


@dataclass(frozen=True)
class Law:
    """A functional form.

    Parameters
    ----------
    name : str
        Name users type (``"saturating"``).
    formula : str
        Human-readable formula in original units.
    n_inputs : int
        Number of scale columns the law takes.
    params : tuple[LawParam, ...]
        Parameters in order.
    fn : callable
        ``fn(p, z) -> log(y / y_ref)`` where ``p`` maps linked names to arrays broadcastable to
        ``z[..., 0]`` and ``z`` has shape ``(..., n_inputs)``.
    original_units : callable
        ``original_units(natural, log_x_ref, log_y_ref) -> dict`` of parameters in the user's units.
    input_names : tuple[str, ...]
        Conventional names of the inputs (documentation only).
    """

    name: str
    formula: str
    n_inputs: int
    params: tuple[LawParam, ...]
    fn: Callable[[Mapping[str, Array], Array], Array]
    original_units: Callable[[Mapping[str, np.ndarray], np.ndarray, float], dict[str, np.ndarray]]
    input_names: tuple[str, ...] = ("x",)

    @property
    def param_names(self) -> tuple[str, ...]:
        """Natural parameter names."""
        return tuple(p.name for p in self.params)

    @property
    def linked_names(self) -> tuple[str, ...]:
        """Linked parameter names (site names of the population means)."""
        return tuple(p.linked for p in self.params)

    @property
    def n_params(self) -> int:
        """Number of free parameters per curve (not counting noise)."""
        return len(self.params)

    def __call__(self, p: Mapping[str, Array], z: Array) -> Array:
        """Evaluate ``log(y / y_ref)``."""
        return self.fn(p, z)


def _exp_param(
    name: str, center: float, scale: float, desc: str, note: str = _EXP_NOTE
) -> LawParam:
    return LawParam(
        name,
        "log",
        Prior("Normal", loc=float(np.log(center)), scale=scale, note=note),
        Prior("HalfNormal", scale=0.7),
        desc,
    )


def _amp_param(name: str, desc: str) -> LawParam:
    return LawParam(
        name,
        "log",
        Prior(
            "Normal",
            loc=float(np.log(0.5)),
            scale=1.5,
            note="relative to y_ref (geometric mean of the metric)",
        ),
        Prior("HalfNormal", scale=1.0),
        desc,
    )


# ----------------------------------------------------------------------------- power
def _power(p: Mapping[str, Array], z: Array) -> Array:
    return p["log_A"] - jnp.exp(p["log_alpha"]) * z[..., 0]


def _power_units(nat: Mapping[str, np.ndarray], lx: np.ndarray, ly: float) -> dict:
    return {"A": np.exp(ly + np.log(nat["A"]) + nat["alpha"] * lx[0]), "alpha": nat["alpha"]}


POWER = Law(
    name="power",
    formula="L = A * x^-alpha",
    n_inputs=1,
    params=(
        _amp_param("A", "loss at the reference scale (relative to y_ref)"),
        _exp_param("alpha", 0.2, 1.0, "power-law exponent"),
    ),
    fn=_power,
    original_units=_power_units,
)


# ------------------------------------------------------------------------ saturating
def _saturating(p: Mapping[str, Array], z: Array) -> Array:
    return jnp.logaddexp(p["log_E"], p["log_A"] - jnp.exp(p["log_alpha"]) * z[..., 0])


def _saturating_units(nat: Mapping[str, np.ndarray], lx: np.ndarray, ly: float) -> dict:
    return {
        "E": np.exp(ly) * nat["E"],
        "A": np.exp(ly + np.log(nat["A"]) + nat["alpha"] * lx[0]),
        "alpha": nat["alpha"],
    }


SATURATING = Law(
    name="saturating",
    formula="L = E + A * x^-alpha",
    n_inputs=1,
    params=(
        _amp_param("E", "irreducible loss (floor), relative to y_ref"),
        _amp_param("A", "reducible loss at the reference scale, relative to y_ref"),
        _exp_param("alpha", 0.2, 1.0, "exponent of the reducible loss"),
    ),
    fn=_saturating,
    original_units=_saturating_units,
)


# ---------------------------------------------------------------------------- broken
def _broken(p: Mapping[str, Array], z: Array) -> Array:
    f = jnp.exp(p["log_f"])
    bend = p["delta"] * f * jnp.logaddexp(0.0, (z[..., 0] - p["z_break"]) / f)
    reducible = p["log_A"] - jnp.exp(p["log_alpha"]) * z[..., 0] - bend
    return jnp.logaddexp(p["log_E"], reducible)


def _broken_units(nat: Mapping[str, np.ndarray], lx: np.ndarray, ly: float) -> dict:
    out = _saturating_units(nat, lx, ly)
    out.update(
        x_break=np.exp(lx[0] + nat["z_break"]),
        delta=nat["delta"],
        f=nat["f"],
        alpha_after=nat["alpha"] + nat["delta"],
    )
    return out


BROKEN = Law(
    name="broken",
    formula="L = E + A * x^-alpha * (1 + (x/x_break)^(1/f))^(-delta*f)  (Caballero et al. 2022)",
    n_inputs=1,
    params=(
        _amp_param("E", "irreducible loss (floor), relative to y_ref"),
        _amp_param("A", "reducible loss at the reference scale, relative to y_ref"),
        _exp_param("alpha", 0.2, 1.0, "exponent before the break"),
        LawParam(
            "z_break",
            "identity",
            Prior("Normal", loc=0.0, scale=2.0, note="log(x_break/x_ref)"),
            Prior("HalfNormal", scale=1.0),
            "break location, log(x_break / x_ref)",
        ),
        LawParam(
            "delta",
            "identity",
            Prior("Normal", loc=0.0, scale=0.3, note="change of exponent at the break"),
            Prior("HalfNormal", scale=0.2),
            "exponent after minus before the break",
        ),
        LawParam(
            "f",
            "log",
            Prior(
                "Normal",
                loc=float(np.log(0.5)),
                scale=0.5,
                note="smoothness of the break in e-folds",
            ),
            Prior("HalfNormal", scale=0.3),
            "sharpness of the break (smaller is sharper)",
        ),
    ),
    fn=_broken,
    original_units=_broken_units,
)


# ------------------------------------------------------------------------ chinchilla
def _chinchilla(p: Mapping[str, Array], z: Array) -> Array:
    terms = jnp.broadcast_arrays(
        p["log_E"],
        p["log_A"] - jnp.exp(p["log_alpha"]) * z[..., 0],
        p["log_B"] - jnp.exp(p["log_beta"]) * z[..., 1],
    )
    return jax.nn.logsumexp(jnp.stack(terms, axis=-1), axis=-1)


def _chinchilla_units(nat: Mapping[str, np.ndarray], lx: np.ndarray, ly: float) -> dict:
    return {
        "E": np.exp(ly) * nat["E"],
        "A": np.exp(ly + np.log(nat["A"]) + nat["alpha"] * lx[0]),
        "B": np.exp(ly + np.log(nat["B"]) + nat["beta"] * lx[1]),
        "alpha": nat["alpha"],
        "beta": nat["beta"],
    }


_CH_NOTE = "Hoffmann 2022 alpha=0.34 beta=0.28; Epoch 2024 0.348/0.366"
CHINCHILLA = Law(
    name="chinchilla",
    formula="L = E + A * N^-alpha + B * D^-beta  (Hoffmann et al. 2022)",
    n_inputs=2,
    params=(
        _amp_param("E", "irreducible loss, relative to y_ref"),
        _amp_param("A", "model-size term at the reference N, relative to y_ref"),
        _amp_param("B", "data term at the reference D, relative to y_ref"),
        _exp_param("alpha", 0.3, 0.7, "model-size exponent", _CH_NOTE),
        _exp_param("beta", 0.3, 0.7, "data exponent", _CH_NOTE),
    ),
    fn=_chinchilla,
    original_units=_chinchilla_units,
    input_names=("N", "D"),
)


# ---------------------------------------------------------------------------- kaplan
def _kaplan(p: Mapping[str, Array], z: Array) -> Array:
    a_n, a_d = jnp.exp(p["log_alpha_N"]), jnp.exp(p["log_alpha_D"])
    inner = jnp.logaddexp(p["log_a"] - (a_n / a_d) * z[..., 0], p["log_b"] - z[..., 1])
    return a_d * inner


def _kaplan_units(nat: Mapping[str, np.ndarray], lx: np.ndarray, ly: float) -> dict:
    a_n, a_d = nat["alpha_N"], nat["alpha_D"]
    log_nc = ly / a_n + (a_d / a_n) * np.log(nat["a"]) + lx[0]
    log_dc = ly / a_d + np.log(nat["b"]) + lx[1]
    return {"N_c": np.exp(log_nc), "D_c": np.exp(log_dc), "alpha_N": a_n, "alpha_D": a_d}


_KA_NOTE = "Kaplan 2020: alpha_N=0.076, alpha_D=0.095"
KAPLAN = Law(
    name="kaplan",
    formula="L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D  (Kaplan et al. 2020)",
    n_inputs=2,
    params=(
        LawParam(
            "a",
            "log",
            Prior("Normal", loc=0.0, scale=3.0, note="weight of the N term"),
            Prior("HalfNormal", scale=1.0),
            "weight of the model-size term at N_ref",
        ),
        LawParam(
            "b",
            "log",
            Prior("Normal", loc=0.0, scale=3.0, note="weight of the D term"),
            Prior("HalfNormal", scale=1.0),
            "weight of the data term at D_ref",
        ),
        _exp_param("alpha_N", 0.076, 0.7, "model-size exponent", _KA_NOTE),
        _exp_param("alpha_D", 0.095, 0.7, "data exponent", _KA_NOTE),
    ),
    fn=_kaplan,
    original_units=_kaplan_units,
    input_names=("N", "D"),
)

LAWS: dict[str, Law] = {law.name: law for law in (POWER, SATURATING, BROKEN, CHINCHILLA, KAPLAN)}


def list_laws() -> list[str]:
    """Names of the available laws."""
    return list(LAWS)


def get_law(law: str | Law) -> Law:
    """Return a law by name (or pass a :class:`Law` through).

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    if isinstance(law, Law):
        return law
    if not isinstance(law, str):
        raise TypeError(f"law must be a name or a Law, got {type(law).__name__}")
    try:
        return LAWS[law]
    except KeyError:
        raise ValueError(f"unknown law {law!r}; expected one of {list(LAWS)}") from None
