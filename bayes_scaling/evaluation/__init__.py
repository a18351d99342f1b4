"""Evaluation.

Backtests against least squares, the least-squares peer itself, and simulated runs with known
truth.
"""

from bayes_scaling.evaluation.backtest import BacktestReport, backtest, score_log_draws
from bayes_scaling.evaluation.baselines import BootstrapFit, fit_least_squares
from bayes_scaling.evaluation.simulate import SimulatedRuns, simulate_saturating

__all__ = [
    "BacktestReport",
    "BootstrapFit",
    "SimulatedRuns",
    "backtest",
    "fit_least_squares",
    "score_log_draws",
    "simulate_saturating",
]
