"""Extrapolation drift.

How far a prediction lies beyond the data, how fast real curves drift off any fitted law
there (learned across studies), and the drift added to predictions.

* :mod:`~bayes_scaling.drift.distance`: the distance beyond the data, along products of inputs;
* :mod:`~bayes_scaling.drift.apply`: the drift term of a prediction;
* :mod:`~bayes_scaling.drift.prior`: the drift prior (populations of studies), load and save;
* :mod:`~bayes_scaling.drift.model`: the cross-study model that learns it;
* :mod:`~bayes_scaling.drift.sweep`: the backtest sweeps that feed it;
* :mod:`~bayes_scaling.drift.update`: a study's own drift, the prior updated by a backtest inside
  its data.
"""

from bayes_scaling.drift.prior import DriftPrior, load_drift_prior

__all__ = ["DriftPrior", "load_drift_prior"]
