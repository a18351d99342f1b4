"""The extrapolation drift added to predictions beyond the data.

For a row ``Delta`` decades beyond its curve's data (:mod:`bayes_scaling.drift.distance`), with
``m(x)`` the law's log prediction and ``m(x0)`` its value at the reference point on the data::

    log y_true(x) = m(x) + b * (m(x0) - m(x)) + tau * xi_curve * Delta

* ``b * (m(x0) - m(x))``: a systematic bend proportional to the decline the law predicts beyond
  the data (``b > 0``: real curves flatten and fall less than the law says, ``b < 0``: they keep
  falling faster). A monotone law's median stays monotone while ``b < 1``, and a curve already at
  its floor is not pushed up or down.
* ``tau * xi * Delta``: a random drift that grows linearly with the distance, shared along a
  curve (``xi ~ Normal(0, 1)`` per curve).

``(tau, b)`` come from the drift prior learned across real studies
(:mod:`bayes_scaling.drift.prior`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints

__all__ = ["drift_log", "drift_value", "DRIFT_SALT"]

DRIFT_SALT = 0x5D1F7


def drift_log(
    pred: Mapping[str, Any],
    mean: jnp.ndarray,
    mean0: jnp.ndarray,
    key: jax.Array,
    enabled: bool,
) -> jnp.ndarray:
    """Per-row log drift (zero inside the data or without a drift component)."""
    if not enabled:
        return jnp.zeros_like(mean)
    tau = numpyro.sample("disc_tau", dist.ImproperUniform(constraints.positive, (), ()))
    bias = numpyro.sample("disc_bias", dist.ImproperUniform(constraints.real, (), ()))
    hashes = pred["curve_hash"] ^ jnp.uint32(DRIFT_SALT)
    xi = jax.vmap(lambda h: jax.random.normal(jax.random.fold_in(key, h)))(hashes)
    xi_rows = numpyro.deterministic("xi_row", xi[pred["row_curve"]])
    return drift_value(bias, tau, xi_rows, pred["decades"], mean, mean0)


def drift_value(
    bias: Any, tau: Any, xi: Any, decades: Any, mean: Any, mean0: Any
) -> Any:
    """The drift formula (module docstring); numpy or jax arrays, broadcast together."""
    return bias * (mean0 - mean) + tau * xi * decades
