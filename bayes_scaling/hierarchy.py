"""The group effects, integrated out: algebra of ``u ~ Normal(mu, s0^2 I + U U^T)``.

Each curve's value of a parameter (on its sampling scale) is the population mean plus one effect
per factor level plus a curve-level residual. Sampling the effects makes funnels when a factor
has few levels; integrating them out leaves each curve's value (pinned by its data) and the
spreads (seeing a smooth marginal density). The marginal density and the conditional draw of
the effects use the Woodbury identity, so the cost grows with the number of levels, not curves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from bayes_scaling.structure import Structure

__all__ = ["effect_design", "marginal_logpdf", "conditional_effects"]


def effect_design(structure: Structure, levels: jnp.ndarray) -> tuple[list[int], Any]:
    """Factors whose effects are integrated out, and a function of the spreads giving ``U``.

    ``U`` is ``(curves, levels)``: one-hot level indicators of every such factor times its
    spread, so that the curves' values have covariance ``s0^2 I + U U^T`` (``s0``: the spread
    of the term that identifies curves).
    """
    js = structure.effect_factors()
    onehots = [jax.nn.one_hot(levels[:, j], structure.n_levels[j]) for j in js]

    def u_matrix(sds: Mapping[int, jnp.ndarray]) -> jnp.ndarray:
        if not js:
            return jnp.zeros((levels.shape[0], 0))
        return jnp.concatenate([oh * sds[j] for j, oh in zip(js, onehots, strict=True)], axis=1)

    return js, u_matrix


def marginal_logpdf(r: jnp.ndarray, s0: jnp.ndarray, u: jnp.ndarray) -> jnp.ndarray:
    """Log Normal(r; 0, s0^2 I + U U^T) by the Woodbury identity (``U``: curves x levels)."""
    c = r.shape[0]
    base = jnp.sum(r * r) / s0**2 + 2 * c * jnp.log(s0) + c * jnp.log(2 * jnp.pi)
    if u.shape[1] == 0:
        return -0.5 * base
    p = jnp.eye(u.shape[1]) + u.T @ u / s0**2
    chol = jnp.linalg.cholesky(p)
    w = jax.scipy.linalg.solve_triangular(chol, u.T @ r, lower=True)
    quad_corr = jnp.sum(w * w) / s0**4
    logdet = 2 * jnp.sum(jnp.log(jnp.diag(chol)))
    return -0.5 * (base - quad_corr + logdet)


def conditional_effects(
    r: jnp.ndarray, s0: jnp.ndarray, u: jnp.ndarray, noise: jnp.ndarray
) -> jnp.ndarray:
    """A draw of the standardised effects ``e`` given the curves' deviations ``r``.

    ``r = U e + s0 eps`` with ``e, eps ~ N(0, I)``: ``e | r`` is Gaussian with precision
    ``I + U^T U / s0^2``; ``noise`` is a standard normal vector of the effects' size.
    """
    p = jnp.eye(u.shape[1]) + u.T @ u / s0**2
    chol = jnp.linalg.cholesky(p)
    mean = jax.scipy.linalg.cho_solve((chol, True), u.T @ r / s0**2)
    return mean + jax.scipy.linalg.solve_triangular(chol.T, noise, lower=False)


