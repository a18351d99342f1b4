"""Posterior plots: free functions ``plot_x(fit, ..., ax=None) -> Axes`` (matplotlib)."""

from bayes_scaling.plots.allocation import plot_allocation, plot_frontier
from bayes_scaling.plots.compare import (
    plot_crossover,
    plot_forest,
    plot_pairwise,
    plot_prior_posterior,
)
from bayes_scaling.plots.curves import plot_curves
from bayes_scaling.plots.learning import plot_learning_curves, plot_run_grid

__all__ = [
    "plot_allocation",
    "plot_crossover",
    "plot_curves",
    "plot_forest",
    "plot_frontier",
    "plot_learning_curves",
    "plot_pairwise",
    "plot_prior_posterior",
    "plot_run_grid",
]
