"""Root finding inside laws, differentiable by the implicit-function theorem.

Some laws are defined implicitly (Alabdulmohsin et al. 2022's M4 estimator).
:func:`solve_increasing` finds, element-wise, the root of a function that increases on the whole
real line, with Newton's method from a caller-supplied start, and differentiates through the
root with ``jax.lax.custom_root`` (so gradients cost one extra evaluation, not one per
iteration).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

__all__ = ["solve_increasing"]


def solve_increasing(
    g: Callable[[jnp.ndarray], jnp.ndarray], start: jnp.ndarray, iters: int = 30
) -> jnp.ndarray:
    """Element-wise root of ``g`` (increasing in its argument), from ``start``.

    Parameters
    ----------
    g : callable
        Element-wise function of an array; strictly increasing in each element.
    start : array
        Starting points (e.g. an asymptotic approximation of the root).
    iters : int
        Newton steps (damped to at most 5 units per step).

    Returns
    -------
    array
        The roots, same shape as ``start``.
    """

    def solve(f: Callable[[jnp.ndarray], jnp.ndarray], x0: jnp.ndarray) -> jnp.ndarray:
        def step(x: jnp.ndarray, _: None) -> tuple[jnp.ndarray, None]:
            val, slope = jax.jvp(f, (x,), (jnp.ones_like(x),))
            dx = jnp.clip(val / jnp.maximum(slope, 1e-12), -5.0, 5.0)
            return x - dx, None

        x, _ = jax.lax.scan(step, x0, None, length=iters)
        return x

    def tangent_solve(lin: Callable[[jnp.ndarray], jnp.ndarray], y: jnp.ndarray) -> jnp.ndarray:
        return y / lin(jnp.ones_like(y))

    return jax.lax.custom_root(g, start, solve, tangent_solve)
