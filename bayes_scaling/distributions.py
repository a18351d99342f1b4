"""Observation distributions beyond NumPyro's own.

``Huber(loc, scale, delta)`` is the density proportional to ``exp(-rho((y - loc) / scale))``
with Huber's loss ``rho(u) = u^2/2`` for ``|u| <= delta`` and ``delta |u| - delta^2/2`` beyond:
Gaussian in the middle, Laplace tails. Maximising it is Huber regression, the loss Hoffmann et
al. 2022 and Besiroglu et al. 2024 (Epoch) used for the Chinchilla fit; as a proper, normalised
density it gives the model a log-likelihood (for LOO) and predictive draws. Normaliser::

    Z = scale * (sqrt(2 pi) (2 Phi(delta) - 1) + 2 exp(-delta^2 / 2) / delta)

``Contaminated(loc, scale, share, extra)`` is the contaminated normal (Tukey 1960; Box & Tiao
1968): with probability ``1 - share`` a row is ``Normal(loc, scale)``, with probability ``share``
it comes from a broad component ``Normal(loc, sqrt(scale^2 + extra^2))``. Diverged or failed runs
land in the broad component and barely move the law, while the predictive distribution of a new
row stays a mixture with a normal core: unlike a Student-t whose degrees of freedom a handful of
wild rows drive below 1, its central intervals stay a few noise scales wide.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist
from jax.scipy.special import ndtr
from numpyro.distributions import constraints
from numpyro.distributions.util import promote_shapes
from scipy.special import ndtr as np_ndtr
from scipy.special import ndtri

__all__ = ["Huber", "Contaminated", "huber_standard_draws", "huber_standard_jax", "HUBER_DELTA"]

#: Default threshold in units of the scale: 95% efficiency under Gaussian noise (Huber 1964).
HUBER_DELTA = 1.345


def _log_norm(delta: jnp.ndarray) -> jnp.ndarray:
    return jnp.log(
        jnp.sqrt(2 * jnp.pi) * (2 * ndtr(delta) - 1) + 2 * jnp.exp(-0.5 * delta**2) / delta
    )


class Huber(dist.Distribution):
    """Huber's least-favourable density: Gaussian core, exponential tails."""

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "delta": constraints.positive,
    }
    support = constraints.real
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc=0.0, scale=1.0, delta=HUBER_DELTA, *, validate_args=None):  # noqa: ANN001
        self.loc, self.scale, self.delta = promote_shapes(loc, scale, delta)
        batch_shape = jax.lax.broadcast_shapes(jnp.shape(loc), jnp.shape(scale), jnp.shape(delta))
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        """Log density at ``value``."""
        u = jnp.abs((value - self.loc) / self.scale)
        rho = jnp.where(u <= self.delta, 0.5 * u**2, self.delta * u - 0.5 * self.delta**2)
        return -rho - jnp.log(self.scale) - _log_norm(self.delta)

    def sample(self, key, sample_shape=()):  # noqa: ANN001, ANN201
        """Exact draws (jittable): mixture of a truncated normal core and exponential tails."""
        shape = sample_shape + self.batch_shape
        return self.loc + self.scale * huber_standard_jax(key, shape, self.delta)


def huber_standard_jax(key: jax.Array, shape: tuple, delta: jnp.ndarray) -> jnp.ndarray:
    """JAX draws of the standard Huber density (same construction as the numpy version)."""
    delta = jnp.broadcast_to(jnp.asarray(delta, dtype=float), shape)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    core = jnp.sqrt(2 * jnp.pi) * (2 * ndtr(delta) - 1)
    tails = 2 * jnp.exp(-0.5 * delta**2) / delta
    in_core = jax.random.uniform(k1, shape) < core / (core + tails)
    lo = ndtr(-delta)
    p = lo + jax.random.uniform(k2, shape) * (1 - 2 * lo)
    core_draw = jax.scipy.special.ndtri(p)
    sign = jnp.where(jax.random.bernoulli(k3, 0.5, shape), 1.0, -1.0)
    tail_draw = (delta + jax.random.exponential(k4, shape) / delta) * sign
    return jnp.where(in_core, core_draw, tail_draw)


def huber_standard_draws(rng: np.random.Generator, shape: tuple | int, delta: float) -> np.ndarray:
    """Draws of the standard (loc 0, scale 1) Huber density, exactly (mixture sampling)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    core = np.sqrt(2 * np.pi) * (2 * np_ndtr(delta) - 1)
    tails = 2 * np.exp(-0.5 * delta**2) / delta
    in_core = rng.random(shape) < core / (core + tails)
    # core: normal truncated to [-delta, delta] by inversion
    lo = np_ndtr(-delta)
    p = lo + rng.random(shape) * (1 - 2 * lo)
    core_draw = ndtri(p)
    tail_draw = (delta + rng.exponential(1 / delta, shape)) * rng.choice([-1.0, 1.0], shape)
    return np.where(in_core, core_draw, tail_draw)


class Contaminated(dist.Distribution):
    """Contaminated normal: a normal core and a broad normal component of weight ``share``."""

    arg_constraints = {
        "loc": constraints.real,
        "scale": constraints.positive,
        "share": constraints.unit_interval,
        "extra": constraints.positive,
    }
    support = constraints.real
    reparametrized_params = ["loc", "scale"]

    def __init__(self, loc=0.0, scale=1.0, share=0.05, extra=1.0, *, validate_args=None):  # noqa: ANN001
        self.loc, self.scale, self.share, self.extra = promote_shapes(loc, scale, share, extra)
        batch_shape = jax.lax.broadcast_shapes(
            jnp.shape(loc), jnp.shape(scale), jnp.shape(share), jnp.shape(extra)
        )
        super().__init__(batch_shape=batch_shape, validate_args=validate_args)

    @property
    def wide(self) -> jnp.ndarray:
        """Scale of the broad component."""
        return jnp.sqrt(self.scale**2 + self.extra**2)

    def log_prob(self, value):  # noqa: ANN001, ANN201
        """Log density at ``value``."""
        core = dist.Normal(self.loc, self.scale).log_prob(value) + jnp.log1p(-self.share)
        broad = dist.Normal(self.loc, self.wide).log_prob(value) + jnp.log(self.share)
        return jnp.logaddexp(core, broad)

    def sample(self, key, sample_shape=()):  # noqa: ANN001, ANN201
        """Exact draws (jittable)."""
        shape = sample_shape + self.batch_shape
        k1, k2 = jax.random.split(key)
        broad = jax.random.uniform(k1, shape) < self.share
        z = jax.random.normal(k2, shape)
        return self.loc + jnp.where(broad, self.wide, self.scale) * z
