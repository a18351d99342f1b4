"""Comparisons of levels, pooling structures, functional forms and priors.

Which architecture scales better and where curves cross, what partial pooling buys, functional
forms (``auto``, ``compare-laws``) and prior sensitivity.
"""

from bayes_scaling.compare.auto import auto_note
from bayes_scaling.compare.forms import FormFit, compare_laws
from bayes_scaling.compare.levels import (
    LevelComparison,
    compare_levels,
    crossover,
    crossover_curves,
    crossover_from_curves,
    factor_spread,
)
from bayes_scaling.compare.pooling import (
    PoolingComparison,
    PoolingPayoff,
    compare_poolings,
    pooling_payoff,
)
from bayes_scaling.compare.sensitivity import prior_sensitivity

__all__ = [
    "FormFit",
    "LevelComparison",
    "PoolingComparison",
    "PoolingPayoff",
    "auto_note",
    "compare_laws",
    "compare_levels",
    "compare_poolings",
    "crossover",
    "crossover_curves",
    "crossover_from_curves",
    "factor_spread",
    "pooling_payoff",
    "prior_sensitivity",
]
