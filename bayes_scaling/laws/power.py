"""One-input laws: ``power``, ``saturating``, ``broken`` and ``m4`` (loss against one scale).

Default priors (all overridable by name)
----------------------------------------
* Exponents ``alpha``: ``LogNormal(log 0.2, 1.0)``, a 95% range of about 0.03-1.4 that covers
  Kaplan et al. 2020 (alpha_N ~ 0.076, alpha_D ~ 0.095), Hoffmann et al. 2022 (0.34, 0.28) and
  Hestness et al. 2017 (learning-curve exponents ~0.07 for word LMs, ~0.13 for NMT, ~0.3 for
  speech, ~0.3-0.5 for ImageNet error).
* Amplitudes and floors in data units (``units="data"``: relative to the geometric mean of the
  metric, amplitudes at the geometric mean of the scale): ``LogNormal(log 0.5, 1.5)``.
* Spread of group effects: 0.7 on log exponents (a level's exponent typically within a factor 2 of
  the population), 1.0 on log amplitudes and floors.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from bayes_scaling.laws._law import law
from bayes_scaling.laws.solve import solve_increasing
from bayes_scaling.priors import Prior

__all__ = ["power", "saturating", "broken", "m4"]

_EXP = (
    "Kaplan 2020 a_N~0.076 a_D~0.095; Hoffmann 2022 0.34/0.28; Hestness 2017 0.07 (LM) to "
    "0.3-0.5 (vision, speech)"
)
EXPONENT = Prior("LogNormal", loc=math.log(0.2), scale=1.0, note=_EXP)
AMPLITUDE = Prior(
    "LogNormal",
    loc=math.log(0.5),
    scale=1.5,
    units="data",
    note="relative to the metric's geometric mean, at the geometric-mean scale",
)
_SPREAD = {"alpha": 0.7, "A": 1.0, "E": 1.0}


@law(inputs=("x",), priors={"A": AMPLITUDE, "alpha": EXPONENT}, spread={"A": 1.0, "alpha": 0.7})
def power(x, A, alpha):  # noqa: ANN001, ANN201, N803 - a law is a plain function
    """L = A * x^-alpha."""
    return A * x**-alpha


@law(
    inputs=("x",), priors={"E": AMPLITUDE, "A": AMPLITUDE, "alpha": EXPONENT}, spread=_SPREAD
)
def saturating(x, E, A, alpha):  # noqa: ANN001, ANN201, N803
    """L = E + A * x^-alpha  (Hestness et al. 2017: irreducible error E)."""
    return E + A * x**-alpha


@law(
    inputs=("x",),
    priors={
        "E": AMPLITUDE,
        "A": AMPLITUDE,
        "alpha": EXPONENT,
        "x_break": Prior("LogNormal", loc=0.0, scale=2.0, units="data", note="x_break / x_ref"),
        "delta": Prior("Normal", loc=0.0, scale=0.3, note="exponent after minus before"),
        "f": Prior("LogNormal", loc=math.log(0.5), scale=0.5, note="sharpness (e-folds)"),
    },
    spread={**_SPREAD, "x_break": 1.0, "delta": 0.2, "f": 0.3},
)
def broken(x, E, A, alpha, x_break, delta, f):  # noqa: ANN001, ANN201, N803
    """L = E + A x^-alpha (1 + (x/x_break)^(1/f))^(-delta f)  (Caballero et al. 2022)."""
    bend = delta * f * jnp.logaddexp(0.0, jnp.log(x / x_break) / f)
    return E + A * jnp.exp(-alpha * jnp.log(x) - bend)


def _m4_level(x, E, D, log_ratio, alpha, gamma):  # noqa: ANN001, ANN202, N803
    """E + D u with u (1-u)^-gamma = exp(log_ratio) x^-alpha, solved for u by Newton's method."""
    r = log_ratio - alpha * jnp.log(x)

    def g(t: jnp.ndarray) -> jnp.ndarray:  # log u - gamma log(1-u) - r, with u = sigmoid(t)
        return -jax.nn.softplus(-t) + gamma * jax.nn.softplus(t) - r

    start = jnp.where(r < 0, r, r / (1.0 + gamma))
    t = solve_increasing(g, start, iters=10)
    return E + D * jax.nn.sigmoid(t)


@law(
    inputs=("x",),
    priors={
        "E": AMPLITUDE,
        "A": Prior(
            "LogNormal", loc=math.log(0.5), scale=1.5, units="data",
            note="amplitude of the power-law tail, as in saturating",
        ),
        "alpha": Prior("LogNormal", loc=math.log(0.3), scale=1.0, note="tail exponent; " + _EXP),
        "q": Prior(
            "LogNormal", loc=0.0, scale=1.5, units="data",
            note="plateau height over sharpness, D / gamma (the tail's curvature)",
        ),
        "gamma": Prior("LogNormal", loc=0.0, scale=1.0, note="M4's alpha: plateau sharpness"),
    },
    spread={"E": 1.0, "A": 1.0, "q": 1.0, "alpha": 0.7, "gamma": 0.7},
)
def m4(x, E, A, alpha, q, gamma):  # noqa: ANN001, ANN201, N803
    """L = E + D u,  u (1-u)^-gamma = (A / D) x^-alpha,  D = q gamma  (Alabdulmohsin et al. 2022).

    The M4 estimator's curve: a plateau ``E + D`` at small ``x``, a power-law tail
    ``E + A x^-alpha`` at large ``x`` (``u -> 0``), and a transition whose sharpness is ``gamma``
    (M4's own alpha). The transition scale of the original form is ``x0 = (A / D)^(1/alpha)``.
    Parameterised by the tail's amplitude ``A`` and by ``q = D / gamma`` because those are what
    data in the tail pin down: there ``L - E ~ A x^-alpha (1 - (A / q) x^-alpha + ...)``, so the
    original ``(D, x0, gamma)`` lie on curved ridges that NUTS follows with hundreds of leapfrog
    steps (measured: 267 -> 146 steps per draw, and min bulk ESS 39 -> 95 of 600 draws, on the
    Revisiting NMT curves).
    """
    D = q * gamma
    return _m4_level(x, E, D, jnp.log(A / D), alpha, gamma)


def m4_x0(x, E, D, x0, alpha, gamma):  # noqa: ANN001, ANN201, N803
    """M4 as parameterised before the tail form (``D``, ``x0``); kept so that old fits load."""
    return _m4_level(x, E, D, alpha * jnp.log(x0), alpha, gamma)


#: The earlier form of ``m4`` (up to commit 31a3520): a saved fit that recorded its parameter
#: names (E, D, x0, alpha, gamma) is loaded with it (:func:`bayes_scaling.laws.resolve_law`).
M4_V0 = law(
    inputs=("x",),
    priors={
        "E": AMPLITUDE,
        "D": Prior(
            "LogNormal", loc=0.0, scale=1.5, units="data", note="initial plateau minus floor"
        ),
        "x0": Prior("LogNormal", loc=0.0, scale=2.0, units="data", note="transition scale"),
        "alpha": Prior("LogNormal", loc=math.log(0.3), scale=1.0, note="tail exponent; " + _EXP),
        "gamma": Prior("LogNormal", loc=0.0, scale=1.0, note="M4's alpha: plateau sharpness"),
    },
    spread={"E": 1.0, "D": 1.0, "x0": 1.0, "alpha": 0.7, "gamma": 0.7},
    name="m4",
    formula="L = E + D u,  u (1-u)^-gamma = (x/x0)^-alpha  (Alabdulmohsin et al. 2022, M4)",
)(m4_x0)
