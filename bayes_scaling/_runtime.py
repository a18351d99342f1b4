"""JAX runtime settings, applied once when the package is imported.

* **float64**: laws are evaluated in the user's units (``N ~ 1e9``, ``D ~ 1e12``, ``N**-alpha``),
  where float32 loses digits; ``jax_enable_x64`` is switched on.
* **CPU devices for parallel chains**: unless the user already chose (``XLA_FLAGS`` with
  ``--xla_force_host_platform_device_count`` or ``jax_num_cpu_devices``) and if JAX has not
  started its backend yet, the CPU is split into ``max(4, cores)`` devices so that up to four
  chains run in parallel (one compiled program per chain, the same whichever way chains are run).
  ``BAYES_SCALING_CPU_DEVICES`` overrides the number.
* **Persistent compilation cache**: compiled samplers and prediction programs are written to
  ``$BAYES_SCALING_CACHE_DIR`` (default ``~/.cache/bayes_scaling/jax``), so the first fit of the
  next session skips XLA compilation. ``BAYES_SCALING_CACHE=0`` turns it off.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import jax

__all__ = ["configure", "cache_dir", "cpu_devices_requested"]

_DONE = False


def cache_dir() -> Path | None:
    """Directory of the persistent compilation cache, or ``None`` when switched off."""
    if os.environ.get("BAYES_SCALING_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    env = os.environ.get("BAYES_SCALING_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "bayes_scaling" / "jax"


def cpu_devices_requested() -> int:
    """Number of CPU devices the package asks for (``max(4, cores)`` unless overridden)."""
    env = os.environ.get("BAYES_SCALING_CPU_DEVICES")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            warnings.warn(
                f"BAYES_SCALING_CPU_DEVICES={env!r} is not an integer; using the default",
                UserWarning,
                stacklevel=2,
            )
    return max(4, os.cpu_count() or 1)


def _backend_started() -> bool:
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge._backends)  # noqa: SLF001 - no public query exists
    except Exception:  # pragma: no cover - defensive: private API moved
        return True


def configure() -> None:
    """Apply the settings above (idempotent)."""
    global _DONE
    if _DONE:
        return
    _DONE = True
    jax.config.update("jax_enable_x64", True)
    user_chose = "xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
    if not user_chose and not _backend_started():
        try:
            if jax.config.jax_num_cpu_devices < 0:
                jax.config.update("jax_num_cpu_devices", cpu_devices_requested())
        except (AttributeError, RuntimeError, ValueError):  # pragma: no cover - older JAX
            pass
    path = cache_dir()
    if path is not None and jax.config.jax_compilation_cache_dir is None:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError:
            return  # unwritable home: run without the cache rather than fail
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
