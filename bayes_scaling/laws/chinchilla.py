"""Laws over model size and data: ``chinchilla`` and ``kaplan``.

Hoffmann et al. 2022 and Kaplan et al. 2020. Inputs ``(N, D)``: parameters, then tokens;
compute is ``C = 6 N D``.

Priors: exponents ``LogNormal(log 0.3, 0.7)`` (Hoffmann: alpha 0.34, beta 0.28; Epoch's refit
0.348/0.366); floors and amplitudes in data units ``LogNormal(log 0.5, 1.5)``; Kaplan's exponents
centred on the published alpha_N = 0.076, alpha_D = 0.095 and its ``N_c``, ``D_c`` in data units
(``log(N_c / N_ref)`` around 8: Kaplan's N_c = 8.8e13 is ~13 e-folds above 1e8 parameters).
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from bayes_scaling.laws._law import law
from bayes_scaling.laws.power import AMPLITUDE
from bayes_scaling.priors import Prior

__all__ = ["chinchilla", "kaplan"]

_CH = "Hoffmann 2022 alpha=0.34 beta=0.28; Epoch 2024 0.348/0.366"
_KA = "Kaplan 2020: alpha_N=0.076, alpha_D=0.095"


@law(
    inputs=("N", "D"),
    priors={
        "E": AMPLITUDE,
        "A": AMPLITUDE,
        "B": AMPLITUDE,
        "alpha": Prior("LogNormal", loc=math.log(0.3), scale=0.7, note=_CH),
        "beta": Prior("LogNormal", loc=math.log(0.3), scale=0.7, note=_CH),
    },
    spread={"E": 1.0, "A": 1.0, "B": 1.0, "alpha": 0.7, "beta": 0.7},
)
def chinchilla(N, D, E, A, alpha, B, beta):  # noqa: ANN001, ANN201, N803
    """L = E + A / N^alpha + B / D^beta  (Hoffmann et al. 2022)."""
    return E + A * N**-alpha + B * D**-beta


@law(
    inputs=("N", "D"),
    priors={
        "N_c": Prior("LogNormal", loc=8.0, scale=6.0, units="data", note="N_c / N_ref"),
        "D_c": Prior("LogNormal", loc=8.0, scale=6.0, units="data", note="D_c / D_ref"),
        "alpha_N": Prior("LogNormal", loc=math.log(0.076), scale=0.7, note=_KA),
        "alpha_D": Prior("LogNormal", loc=math.log(0.095), scale=0.7, note=_KA),
    },
    spread={"N_c": 1.0, "D_c": 1.0, "alpha_N": 0.7, "alpha_D": 0.7},
)
def kaplan(N, D, N_c, D_c, alpha_N, alpha_D):  # noqa: ANN001, ANN201, N803
    """L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D  (Kaplan et al. 2020)."""
    inner = jnp.logaddexp((alpha_N / alpha_D) * jnp.log(N_c / N), jnp.log(D_c / D))
    return jnp.exp(alpha_D * inner)
