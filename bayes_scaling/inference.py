"""NUTS, compiled once per model structure, chains in parallel, started from optimised points.

* **Compile once.** The sampler of a model structure (law, hierarchy, likelihood, priors) is a
  jitted function of the data, kept for the session (:data:`_PROGRAMS`) and, through JAX's
  persistent compilation cache (:mod:`bayes_scaling._runtime`), across sessions. Rows are padded
  to a bucket size (masked out of the likelihood) so that a few more runs do not recompile.
* **Chains** run in parallel over CPU devices (``pmap``) when there are enough, else one after the
  other with the same compiled program: the same seed gives the same draws either way.
* **Starting points.** Each chain starts from its own random point moved uphill by a few hundred
  Adam steps on the log density (a MAP-like start), so warm-up spends its time adapting, not
  searching; chains that land in different modes show up in R-hat.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from numpyro import handlers
from numpyro.infer.hmc import hmc
from numpyro.infer.initialization import init_to_uniform
from numpyro.infer.util import _transforms_from_trace, get_potential_fn

__all__ = ["SamplerSettings", "Samples", "run_nuts", "pad_rows", "bucket", "check_seed"]

#: Compiled programs by (kind, structure key, settings).
_PROGRAMS: dict[tuple, Any] = {}
MAX_SEED = 2**63 - 1


def check_seed(seed: Any, name: str = "seed") -> int:
    """Validate a seed: a non-negative integer below 2**63."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"{name} must be a non-negative integer, got {seed!r}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise ValueError(f"{name} must be between 0 and 2**63-1, got {seed}")
    return int(seed)


def _check_int(name: str, value: Any, low: int, high: int = 10**7) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return int(value)


class SamplerSettings(dict):
    """Validated NUTS settings: chains, warmup, draws, seed, target_accept, max_tree_depth."""

    def __init__(
        self,
        chains: int,
        warmup: int,
        draws: int,
        seed: int,
        target_accept: float,
        max_tree_depth: int = 10,
    ):
        if isinstance(target_accept, bool) or not isinstance(target_accept, int | float):
            raise TypeError(f"target_accept must be a number in (0, 1), got {target_accept!r}")
        if not 0.0 < float(target_accept) < 1.0:
            raise ValueError(f"target_accept must be in (0, 1), got {target_accept}")
        super().__init__(
            chains=_check_int("chains", chains, 1, 64),
            warmup=_check_int("warmup", warmup, 0),
            draws=_check_int("draws", draws, 1),
            seed=check_seed(seed),
            target_accept=float(target_accept),
            max_tree_depth=_check_int("max_tree_depth", max_tree_depth, 1, 15),
        )


@dataclass(frozen=True)
class Samples:
    """Raw output of :func:`run_nuts`.

    Attributes
    ----------
    posterior : dict[str, ndarray]
        Constrained and deterministic sites, shape ``(chains, draws, ...)``.
    stats : dict[str, ndarray]
        ``diverging``, ``n_steps``, ``acceptance_rate``, ``energy``, ``lp``, ``step_size``,
        ``tree_depth``, shape ``(chains, draws)``.
    method : str
        How chains ran (``"parallel"`` over devices or ``"sequential"``).
    seconds : dict[str, float]
        Wall time of the start search, of sampling and of post-processing.
    """

    posterior: dict[str, np.ndarray]
    stats: dict[str, np.ndarray]
    method: str
    seconds: dict[str, float]


def bucket(n: int) -> int:
    """Padded size for ``n`` rows: the next of 16, 24, 32, 48, 64, 96, ... (steps of 1.5x/1.33x)."""
    size = 16
    while size < n:
        size = size * 3 // 2 if (size & (size - 1)) == 0 else size * 4 // 3
    return size


def pad_rows(arrays: Mapping[str, np.ndarray], n: int, fill: Mapping[str, float]) -> dict:
    """Pad the leading axis of each array to ``n`` rows with ``fill[name]`` (default 0)."""
    out = {}
    for k, v in arrays.items():
        v = np.asarray(v)
        pad = n - v.shape[0]
        if pad < 0:
            raise ValueError(f"cannot pad {k} of {v.shape[0]} rows to {n}")
        widths = [(0, pad)] + [(0, 0)] * (v.ndim - 1)
        out[k] = np.pad(v, widths, constant_values=fill.get(k, 0))
    return out


def _adam_starts(
    potential: Callable, unravel: Callable, base: jnp.ndarray, n: int, key: jax.Array
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """``n`` random points around ``base`` (unconstrained), each moved uphill by Adam."""
    x0 = base + jax.random.uniform(key, (n, base.size), minval=-1.0, maxval=1.0)

    def f(flat: jnp.ndarray) -> jnp.ndarray:
        v = potential(unravel(flat))
        return jnp.where(jnp.isfinite(v), v, 1e30)

    grad = jax.grad(f)
    steps = 400

    def adam(x: jnp.ndarray) -> jnp.ndarray:
        def body(carry: tuple, i: jnp.ndarray) -> tuple:
            x, m, v = carry
            g = grad(x)
            g = jnp.where(jnp.isfinite(g), g, 0.0)
            g = g / jnp.maximum(1.0, jnp.linalg.norm(g) / 1e3)
            lr = 0.1 * (0.02 ** (i / steps))
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            mh = m / (1 - 0.9 ** (i + 1))
            vh = v / (1 - 0.999 ** (i + 1))
            return (x - lr * mh / (jnp.sqrt(vh) + 1e-8), m, v), None

        (x, _, _), _ = jax.lax.scan(
            body, (x, jnp.zeros_like(x), jnp.zeros_like(x)), jnp.arange(steps, dtype=float)
        )
        return x

    xs = jax.vmap(adam)(x0)
    return xs, jax.vmap(f)(xs)


@dataclass(frozen=True)
class _ModelFns:
    potential_gen: Callable
    post_gen: Callable
    proto: dict


def model_functions(model: Callable, kwargs: Mapping[str, Any]) -> _ModelFns:
    """Potential and post-processing functions of a model, from an abstract trace.

    The model is traced once under ``jax.make_jaxpr`` (no array is computed, so no small
    programs are compiled one operation at a time, as an eager trace would).
    """
    box: dict[str, Any] = {}

    def trace(kw: Any) -> jnp.ndarray:
        seeded = handlers.substitute(handlers.seed(model, 0), substitute_fn=init_to_uniform)
        box["trace"] = handlers.trace(seeded).get_trace(**kw)
        return jnp.zeros(())

    jax.make_jaxpr(trace)(kwargs)
    info = _transforms_from_trace(box["trace"])
    proto = {}
    for name, t in info.inv_transforms.items():
        site = box["trace"][name]
        shape = t.inverse_shape(jnp.shape(site["value"]))
        proto[name] = jnp.zeros(shape)
    potential_gen, post_gen = get_potential_fn(
        model, info.inv_transforms, replay_model=True, dynamic_args=True
    )
    return _ModelFns(potential_gen, post_gen, proto)


def _program(
    kind: str, key: tuple, build: Callable[[], Any]
) -> Any:  # compiled program cache
    full = (kind, *key)
    if full not in _PROGRAMS:
        _PROGRAMS[full] = build()
    return _PROGRAMS[full]


def run_nuts(
    model: Callable[..., None],
    model_kwargs: Mapping[str, Any],
    settings: SamplerSettings,
    *,
    cache_key: tuple,
    init: Mapping[str, Any] | None = None,
    progress: bool | None = None,
) -> Samples:
    """Sample ``model(**model_kwargs)`` with NUTS.

    Parameters
    ----------
    model : callable
        NumPyro model; everything static is closed over, the arrays come in ``model_kwargs``.
    model_kwargs : mapping of arrays (pytrees)
        The data; traced, so a second fit of the same structure reuses the compiled sampler.
    settings : SamplerSettings
        Chains, warm-up, draws, seed, target acceptance, tree depth.
    cache_key : tuple
        Hashable identity of the model's structure (same key, same compiled programs).
    init : mapping, optional
        Centre of the random starting points by site (unconstrained values).
    progress : bool, optional
        Print one line per stage to stderr (default: only in a terminal).

    Returns
    -------
    Samples
    """
    if progress is None:
        progress = sys.stderr.isatty()
    chains = settings["chains"]
    kwargs = jax.tree.map(jnp.asarray, dict(model_kwargs))
    key = jax.random.PRNGKey(settings["seed"] % (2**32)) if settings["seed"] < 2**32 else (
        jax.random.fold_in(jax.random.PRNGKey(settings["seed"] >> 32), settings["seed"] % 2**32)
    )
    _, k_start, k_chains = jax.random.split(key, 3)
    t0 = time.perf_counter()
    fns = _program("model", cache_key, lambda: model_functions(model, kwargs))
    potential_gen, post_gen = fns.potential_gen, fns.post_gen

    flat0, unravel = ravel_pytree(fns.proto)

    def build_start() -> Callable:
        def search(k: jax.Array, base: jnp.ndarray, kw: Any) -> tuple:
            return _adam_starts(potential_gen(**kw), unravel, base, chains, k)

        return jax.jit(search)

    start_fn = _program("start", (*cache_key, chains), build_start)
    base = jnp.zeros_like(flat0)
    if init:
        merged = {
            k: jnp.broadcast_to(jnp.asarray(init.get(k, v), dtype=flat0.dtype), jnp.shape(v))
            for k, v in fns.proto.items()
        }
        base = ravel_pytree(merged)[0]
    xs, vals = start_fn(k_start, base, kwargs)
    finite = np.isfinite(np.asarray(vals)) & (np.asarray(vals) < 1e29)
    if not finite.any():
        raise FloatingPointError(
            "the model's log density is not finite at any starting point: the law returns "
            "non-positive or non-finite values for typical parameter values (check the formula, "
            "its priors and the units of the inputs)"
        )
    best = int(np.nanargmin(np.where(finite, np.asarray(vals), np.inf)))
    xs = np.array(xs)
    xs[~finite] = xs[best]
    jit_key = jax.random.split(k_start, 2)[1]
    xs = xs + 0.05 * np.asarray(jax.random.normal(jit_key, xs.shape))
    init_params = jax.vmap(unravel)(jnp.asarray(xs))
    t1 = time.perf_counter()
    if progress:
        print(f"bayes_scaling: starting points found in {t1 - t0:.1f} s", file=sys.stderr)

    dense = _dense(fns.proto)

    def build_chain() -> Callable:
        init_kernel, sample_kernel = hmc(potential_fn_gen=potential_gen, algo="NUTS")
        warmup, draws = settings["warmup"], settings["draws"]

        def run_chain(rng: jax.Array, z0: Any, kw: Any, target: jnp.ndarray) -> tuple:
            state = init_kernel(
                z0,
                warmup,
                target_accept_prob=target,  # traced: a retry at another target reuses the program
                max_tree_depth=settings["max_tree_depth"],
                dense_mass=dense,
                model_kwargs=kw,
                rng_key=rng,
            )

            def step(s: Any, _: None) -> tuple:
                s = sample_kernel(s, model_kwargs=kw)
                return s, (
                    s.z,
                    s.diverging,
                    s.num_steps,
                    s.accept_prob,
                    s.energy,
                    s.potential_energy,
                )

            # one scan over warm-up and sampling: the kernel is compiled once, not twice
            state, trace = jax.lax.scan(step, state, None, length=warmup + draws)
            trace = jax.tree.map(lambda a: a[warmup:], trace)
            return trace, state.adapt_state.step_size

        return run_chain

    run_chain = _program(
        "chain",
        (*cache_key, settings["warmup"], settings["draws"], settings["max_tree_depth"],
         str(dense)),
        lambda: _compile_chain(build_chain()),
    )
    keys = jax.random.split(k_chains, chains)
    target = jnp.asarray(settings["target_accept"], dtype=jnp.float64)
    n_dev = jax.local_device_count()
    outs = []
    if chains > 1 and n_dev > 1:
        method = "parallel"
        for lo in range(0, chains, n_dev):
            hi = min(chains, lo + n_dev)
            sub = jax.tree.map(lambda a: a[lo:hi], init_params)  # noqa: B023
            outs.append(run_chain["pmap"](keys[lo:hi], sub, kwargs, target))
        trace = jax.tree.map(lambda *a: jnp.concatenate(a, axis=0), *[o[0] for o in outs])
        step = jnp.concatenate([o[1] for o in outs])
    else:
        method = "sequential"
        for c in range(chains):
            z0 = jax.tree.map(lambda a: a[c], init_params)  # noqa: B023
            outs.append(run_chain["jit"](keys[c], z0, kwargs, target))
        trace = jax.tree.map(lambda *a: jnp.stack(a, axis=0), *[o[0] for o in outs])
        step = jnp.stack([o[1] for o in outs])
    jax.block_until_ready(trace)
    t2 = time.perf_counter()
    if progress:
        print(f"bayes_scaling: sampled {chains} chains ({method}) in {t2 - t1:.1f} s",
              file=sys.stderr)
    z, diverging, num_steps, accept, energy, pe = trace

    def build_post() -> Callable:
        def post(zz: Any, kw: Any) -> Any:
            return jax.vmap(jax.vmap(post_gen(**kw)))(zz)

        return jax.jit(post)

    post_fn = _program("post", cache_key, build_post)
    constrained = post_fn(z, kwargs)
    posterior = {k: np.asarray(v) for k, v in constrained.items()}
    n_steps = np.asarray(num_steps)
    stats = {
        "diverging": np.asarray(diverging, dtype=bool),
        "n_steps": n_steps,
        "tree_depth": np.floor(np.log2(np.maximum(n_steps, 1))).astype(int) + 1,
        "acceptance_rate": np.asarray(accept),
        "energy": np.asarray(energy),
        "lp": -np.asarray(pe),
        "step_size": np.broadcast_to(np.asarray(step)[:, None], n_steps.shape).copy(),
    }
    t3 = time.perf_counter()
    return Samples(posterior, stats, method, {"start": t1 - t0, "sample": t2 - t1,
                                              "post": t3 - t2})


#: Mass matrix. Measured (2-core CPU, same seeds and settings): a dense matrix over *every*
#: dimension takes fewer leapfrog steps but diverges more often and has lower tail ESS on
#: many-curve fits than a diagonal one, so it is never used by default. A dense *block* over the
#: law's parameters (population means ``mu_*`` and per-curve values ``u_*``), the rest diagonal,
#: learns the correlations that make few-curve fits slow (the floor-amplitude-exponent ridge;
#: ``lr_batch``'s optimum against its slopes): Chinchilla (240 runs, one curve) 76 -> 16 leapfrog
#: steps per draw and min bulk ESS 1350 -> 3160 for the same draws; ``lr_batch`` on 800 Step Law
#: runs, two families, 1023 (the tree-depth cap, diagonal or a block over ``mu_*`` alone) -> 531
#: steps and min bulk ESS 12 -> 97. With 30
#: simulated curves the block made ESS worse (50 -> 19), so it is used up to
#: :data:`DENSE_BLOCK_CURVES` fitted curves. ``BAYES_SCALING_DENSE`` overrides: ``0`` diagonal,
#: ``1`` dense everywhere, ``block`` the block at any number of curves.
DENSE_BLOCK_CURVES = 4


def _dense(proto: Mapping[str, Any]) -> bool | list[tuple[str, ...]]:
    import os

    block = tuple(sorted(k for k in proto if k.startswith(("mu_", "u_"))))
    env = os.environ.get("BAYES_SCALING_DENSE", "").strip().lower()
    if env == "block":
        return [block] if len(block) > 1 else False
    if env:
        return env not in ("0", "false")
    curves = max((int(np.size(v)) for k, v in proto.items()
                  if k.startswith(("u_", "z_")) and not k.endswith("_log_sigma")), default=1)
    return [block] if len(block) > 1 and curves <= DENSE_BLOCK_CURVES else False


def _compile_chain(run_chain: Callable) -> dict[str, Callable]:
    return {
        "jit": jax.jit(run_chain),
        "pmap": jax.pmap(run_chain, in_axes=(0, 0, None, None)),
    }
