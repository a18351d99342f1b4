"""bayes_scaling: Bayesian hierarchical scaling laws and the risk of extrapolating them.

Public API (explicit re-exports)::

    ScalingLaw, ScalingFit          specify and fit a model; the result object
    load_fit, save_fit              netCDF round trip
    predict, predictive_draws       posterior predictive at new scales
    curve_table, level_table        parameter tables
    optimal_allocation              compute-optimal N, D, loss per budget (two-input laws)
    complete_compute                fill in N, D or C from C = k N D
    compare_levels, crossover       level posteriors, pairwise differences, crossover scales
    factor_spread                   how much each factor moves each parameter
    pooling_payoff, compare_poolings  what partial pooling buys; PSIS-LOO across structures
    plot_curves, plot_frontier, plot_allocation   posterior plots
    plot_forest, plot_pairwise, plot_prior_posterior, plot_crossover   comparison plots
    validate_runs                   the validation step where data enters
    Prior, get_law, list_laws       priors and functional forms
    load_dataset, list_datasets     bundled real data
    load_drift_prior, DriftPrior    the extrapolation-drift prior learned across real studies
"""

from bayes_scaling._version import __version__
from bayes_scaling.compare import LevelComparison, compare_levels, crossover, factor_spread
from bayes_scaling.compute import complete_compute
from bayes_scaling.data import RunData, validate_runs
from bayes_scaling.datasets import list_datasets, load_dataset
from bayes_scaling.diagnostics import Diagnostics, SamplerWarning
from bayes_scaling.drift import DriftPrior, load_drift_prior
from bayes_scaling.estimator import ScalingFit, ScalingLaw
from bayes_scaling.io import load_fit, save_fit
from bayes_scaling.laws import Law, LawParam, get_law, list_laws
from bayes_scaling.optimal import OptimalAllocation, optimal_allocation
from bayes_scaling.plot_compare import (
    plot_crossover,
    plot_forest,
    plot_pairwise,
    plot_prior_posterior,
)
from bayes_scaling.plotting import plot_allocation, plot_curves, plot_frontier
from bayes_scaling.pooling import (
    PoolingComparison,
    PoolingPayoff,
    compare_poolings,
    pooling_payoff,
)
from bayes_scaling.predict import PredictiveDraws, predict, predictive_draws
from bayes_scaling.priors import Prior
from bayes_scaling.summaries import curve_table, level_table

__all__ = [
    "__version__",
    "Diagnostics",
    "DriftPrior",
    "Law",
    "LawParam",
    "LevelComparison",
    "OptimalAllocation",
    "PoolingComparison",
    "PoolingPayoff",
    "PredictiveDraws",
    "Prior",
    "RunData",
    "SamplerWarning",
    "ScalingFit",
    "ScalingLaw",
    "compare_levels",
    "compare_poolings",
    "complete_compute",
    "crossover",
    "curve_table",
    "factor_spread",
    "get_law",
    "level_table",
    "list_datasets",
    "list_laws",
    "load_dataset",
    "load_drift_prior",
    "load_fit",
    "optimal_allocation",
    "plot_allocation",
    "plot_crossover",
    "plot_curves",
    "plot_forest",
    "plot_frontier",
    "plot_pairwise",
    "plot_prior_posterior",
    "pooling_payoff",
    "predict",
    "predictive_draws",
    "save_fit",
    "validate_runs",
]
