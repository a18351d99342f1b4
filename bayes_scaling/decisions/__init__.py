"""Decisions built on the predictions.

Compute-optimal allocation, risk queries, checks of new runs, learning-curve decisions
(worth finishing? where does it saturate?) and hyper-parameter tuning.
"""

from bayes_scaling.decisions.allocation import OptimalAllocation, optimal_allocation
from bayes_scaling.decisions.compute import complete_compute
from bayes_scaling.decisions.curves import prob_beats, saturation
from bayes_scaling.decisions.risk import (
    check_fitted,
    check_runs,
    expected_gain,
    prob_below,
    scale_for_target,
)
from bayes_scaling.decisions.tuning import lr_penalty, optimum_misfit, tune

__all__ = [
    "OptimalAllocation",
    "check_fitted",
    "check_runs",
    "complete_compute",
    "expected_gain",
    "optimal_allocation",
    "prob_below",
    "prob_beats",
    "saturation",
    "scale_for_target",
    "tune",
    "lr_penalty",
    "optimum_misfit",
]
