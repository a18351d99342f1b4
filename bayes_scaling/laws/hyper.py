"""Loss over model size, data, learning rate and batch size: the ``lr_batch`` law.

Laws are only trustworthy under tuned hyper-parameters (Metz: a ladder of small models at one
learning rate extrapolates to a large model that lands far above the line, because the optimal
learning rate shrinks as models grow). ``lr_batch`` models the optimum's own scaling::

    L(N, D, lr, B) = L*(N, D) + a(N, D) s(u~) u~^2 + b(N, D) v^2
    L*(N, D)    = E + A N^-alpha + B_D D^-beta                     (Hoffmann et al. 2022)
    lr*(N, D)   = lr0 N^-g_N D^g_D,    B*(N, D) = b0 N^d_N D^d_D    (joint optima)
    u = ln(lr / lr*),  v = ln(B / B*),  u~ = u - r v                 (the valley tilts: at fixed
                                                                     batch the best lr ~ B^r)
    a(N, D) = a0 N^a_N D^a_D,  b(N, D) = c0 N^b_N D^b_D             (curvature changes with scale)
    s(u~) = 1 + kappa tanh(u~)                                       (steeper on the high-lr side)

The penalty is zero at the optimum and positive elsewhere. Inputs: ``N`` (parameters), ``D``
(tokens), ``lr`` (peak learning rate), ``batch_size`` (any unit: tokens or sequences, as long as
it is the same for fitting and tuning). Extrapolation distance is measured along (N, D) only.

Default priors (centres from published fits and the bundled Step Law sweep; all overridable):

* ``g_N`` LogNormal(log 0.7, 0.3) and ``g_D`` Normal(0.25, 0.15): Step Law (Li et al. 2025)
  lr* = 1.79 N^-0.713 D^0.307; Porian et al. 2024 lr* ~ N^-0.33 on D = 20N; DeepSeek LLM
  lr* ~ C^-0.125.
* ``d_D`` Normal(0.57, 0.1), ``d_N`` Normal(0, 0.15): Step Law B* = 0.58 D^0.571 (tokens);
  DeepSeek B* ~ C^0.327; Porian B* ~ N^0.67 on D = 20N.
* ``lr0``, ``b0`` (the optima at the data's geometric-mean N, D), ``LogNormal(0, 1)`` relative to
  the geometric means of the swept lr and batch (a sweep is centred near its optimum).
* ``a0`` LogNormal(log 0.008, 0.7) and ``c0`` LogNormal(log 0.006, 0.7), relative to the metric:
  about 0.02 and 0.014 nats per squared e-fold at losses ~2.4 in the Step Law sweep; ``a_D``
  Normal(-0.33, 0.12) (lr sensitivity falls with tokens: Step Law and (Mis)Fitting sweeps, both
  D^-0.33; Filatov et al. 2024), ``a_N``, ``b_N`` Normal(0, 0.2), ``b_D`` Normal(-0.1, 0.1).
* ``r`` Normal(0.3, 0.12) (0.30-0.34 in the Step Law sweep; Adam's square-root rule gives 0.5);
  ``kappa`` Uniform(-0.9, 0.9) (high-lr side 2-4x steeper in the sweep; Wortsman et al. 2023).

The shape of the penalty (``a_N``, ``a_D``, ``b_N``, ``b_D``, ``r``, ``kappa``) is shared by all
curves; the rest is hierarchical over the grouping columns (architecture families, datasets).
Diverged runs belong in the data: fit with ``likelihood="student_t"`` (the law's default), whose
heavy tails let them pull little.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from bayes_scaling.laws._law import law
from bayes_scaling.laws.power import AMPLITUDE
from bayes_scaling.priors import Prior

__all__ = ["lr_batch", "PENALTY_SHAPE"]

_STEP = "Li et al. 2025 (Step Law): lr* = 1.79 N^-0.713 D^0.307, B* = 0.58 D^0.571"
#: Parameters shared by all curves: the penalty's shape.
PENALTY_SHAPE = ("a_N", "a_D", "b_N", "b_D", "r", "kappa")


@law(
    inputs=("N", "D", "lr", "batch_size"),
    scales=("N", "D"),
    shared=PENALTY_SHAPE,
    priors={
        "E": AMPLITUDE,
        "A": AMPLITUDE,
        "alpha": Prior("LogNormal", loc=math.log(0.3), scale=0.7, note="Hoffmann 2022: 0.34"),
        "B": AMPLITUDE,
        "beta": Prior("LogNormal", loc=math.log(0.3), scale=0.7, note="Hoffmann 2022: 0.28"),
        "lr0": Prior("LogNormal", loc=0.0, scale=1.0, units="data",
                     note="lr* at the reference N, D over the sweep's geometric-mean lr"),
        "g_N": Prior("LogNormal", loc=math.log(0.7), scale=0.3, note=_STEP),
        "g_D": Prior("Normal", loc=0.25, scale=0.15, note=_STEP),
        "b0": Prior("LogNormal", loc=0.0, scale=1.0, units="data",
                    note="B* at the reference N, D over the sweep's geometric-mean batch"),
        "d_N": Prior("Normal", loc=0.0, scale=0.15, note="Step Law: B* independent of N"),
        "d_D": Prior("Normal", loc=0.57, scale=0.1, note=_STEP),
        "a0": Prior("LogNormal", loc=math.log(0.008), scale=0.7, units="data",
                    note="lr curvature: ~0.02 nats per squared e-fold at loss ~2.4 (Step Law)"),
        "a_N": Prior("Normal", loc=0.0, scale=0.2),
        "a_D": Prior("Normal", loc=-0.33, scale=0.12,
                     note="lr sensitivity falls as D^-0.33 (Step Law, Misfitting sweeps)"),
        "c0": Prior("LogNormal", loc=math.log(0.006), scale=0.7, units="data",
                    note="batch curvature along the valley floor (Step Law sweep)"),
        "b_N": Prior("Normal", loc=0.0, scale=0.2),
        "b_D": Prior("Normal", loc=-0.1, scale=0.1),
        "r": Prior("Normal", loc=0.3, scale=0.12, note="d ln lr* / d ln B at fixed N, D"),
        "kappa": Prior("Uniform", low=-0.9, high=0.9, note="asymmetry: > 0 steeper above lr*"),
    },
    spread={"E": 1.0, "A": 1.0, "B": 1.0, "alpha": 0.5, "beta": 0.5, "lr0": 0.7, "g_N": 0.3,
            "g_D": 0.1, "b0": 0.7, "d_N": 0.1, "d_D": 0.1, "a0": 0.5, "c0": 0.5},
)
def lr_batch(N, D, lr, batch_size, E, A, alpha, B, beta, lr0, g_N, g_D, b0, d_N, d_D,  # noqa: ANN001, ANN201, N803, PLR0913
             a0, a_N, a_D, c0, b_N, b_D, r, kappa):
    """L = L*(N, D) + a s(u~) u~^2 + b v^2, lr* and B* power laws in N and D."""
    u = jnp.log(lr / lr0) + g_N * jnp.log(N) - g_D * jnp.log(D)
    v = jnp.log(batch_size / b0) - d_N * jnp.log(N) - d_D * jnp.log(D)
    ut = u - r * v
    a = a0 * N**a_N * D**a_D
    b = c0 * N**b_N * D**b_D
    penalty = a * (1.0 + kappa * jnp.tanh(ut)) * ut**2 + b * v**2
    return E + A * N**-alpha + B * D**-beta + penalty
