"""bayes_scaling: Bayesian hierarchical scaling laws and how far to trust their extrapolation.

Public API (explicit re-exports; the package is laid out by stage of the work)::

    law, Law, Prior, get_law, list_laws     laws/      write a law; the built-in laws
    validate_runs, RunData                  data       the one validation step
    ScalingLaw, ScalingFit, FormFit         fit        specify and fit; the result objects
    predict, predictive_draws               predict    posterior predictive at new rows
    curve_table, level_table                summaries  parameter tables
    load_fit, save_fit                      io         netCDF round trip, checksummed
    load_drift_prior, DriftPrior            drift/     extrapolation drift learned across studies
    optimal_allocation, complete_compute    decisions/ compute-optimal N, D and loss
    tune                                    decisions/ learning rate and batch size at scale
    optimum_misfit                          decisions/ swept cells' best lr vs the law's optimum
    prob_below, expected_gain, scale_for_target, check_runs, check_fitted   decisions/ risk
    prob_beats, saturation                  decisions/ learning curves: finish? saturated?
    compare_levels, crossover, factor_spread, compare_laws, pooling_payoff,
    compare_poolings, prior_sensitivity     compare/   architectures, forms, pooling, priors
    backtest, fit_least_squares, simulate_saturating   evaluation/
    plot_curves, plot_learning_curves, plot_frontier, plot_allocation, plot_forest,
    plot_pairwise, plot_prior_posterior, plot_crossover, plot_run_grid  plots/
    load_dataset, list_datasets             datasets/  bundled real measurements

Importing the package switches JAX to float64, splits the CPU into devices for parallel
chains and turns on a persistent compilation cache (see :mod:`bayes_scaling._runtime`).
"""

from bayes_scaling import _compat, _runtime

_runtime.configure()
_compat.install()

from bayes_scaling._version import __version__  # noqa: E402
from bayes_scaling.checks import (  # noqa: E402
    Diagnostics,
    FitReport,
    FitWarning,
    SamplerWarning,
)
from bayes_scaling.compare import (  # noqa: E402
    FormFit,
    LevelComparison,
    PoolingComparison,
    PoolingPayoff,
    auto_note,
    compare_laws,
    compare_levels,
    compare_poolings,
    crossover,
    factor_spread,
    pooling_payoff,
    prior_sensitivity,
)
from bayes_scaling.data import RunData, validate_runs  # noqa: E402
from bayes_scaling.datasets import list_datasets, load_dataset  # noqa: E402
from bayes_scaling.decisions import (  # noqa: E402
    OptimalAllocation,
    check_fitted,
    check_runs,
    complete_compute,
    expected_gain,
    lr_penalty,
    optimal_allocation,
    optimum_misfit,
    prob_beats,
    prob_below,
    saturation,
    scale_for_target,
    tune,
)
from bayes_scaling.drift import DriftPrior, load_drift_prior  # noqa: E402
from bayes_scaling.evaluation import (  # noqa: E402
    backtest,
    fit_least_squares,
    simulate_saturating,
)
from bayes_scaling.fit import ScalingLaw  # noqa: E402
from bayes_scaling.io import load_fit, save_fit  # noqa: E402
from bayes_scaling.laws import Law, LawError, get_law, law, list_laws  # noqa: E402
from bayes_scaling.plots import (  # noqa: E402
    plot_allocation,
    plot_crossover,
    plot_curves,
    plot_forest,
    plot_frontier,
    plot_learning_curves,
    plot_pairwise,
    plot_prior_posterior,
    plot_run_grid,
)
from bayes_scaling.predict import (  # noqa: E402
    NewLevelWarning,
    PredictiveDraws,
    curve_parameters,
    predict,
    predictive_draws,
)
from bayes_scaling.priors import Prior  # noqa: E402
from bayes_scaling.result import ScalingFit  # noqa: E402
from bayes_scaling.summaries import curve_table, level_table  # noqa: E402

__all__ = [
    "__version__",
    "Diagnostics",
    "DriftPrior",
    "FitReport",
    "FitWarning",
    "FormFit",
    "Law",
    "LawError",
    "LevelComparison",
    "NewLevelWarning",
    "OptimalAllocation",
    "PoolingComparison",
    "PoolingPayoff",
    "PredictiveDraws",
    "Prior",
    "RunData",
    "SamplerWarning",
    "ScalingFit",
    "ScalingLaw",
    "backtest",
    "check_fitted",
    "check_runs",
    "auto_note",
    "compare_laws",
    "compare_levels",
    "compare_poolings",
    "complete_compute",
    "crossover",
    "curve_parameters",
    "curve_table",
    "expected_gain",
    "factor_spread",
    "fit_least_squares",
    "get_law",
    "law",
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
    "plot_learning_curves",
    "plot_pairwise",
    "plot_prior_posterior",
    "plot_run_grid",
    "pooling_payoff",
    "predict",
    "predictive_draws",
    "prior_sensitivity",
    "prob_below",
    "prob_beats",
    "saturation",
    "save_fit",
    "scale_for_target",
    "simulate_saturating",
    "tune",
    "lr_penalty",
    "optimum_misfit",
    "validate_runs",
]
