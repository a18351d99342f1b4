"""Scaling laws: the :func:`law` decorator, the built-in laws and the registry.

Built-in laws are written with the same decorator as users' laws and go through the same code
path everywhere (inference, prediction, drift, plots, CLI). Adding one is one decorated function
in a module of this package plus a line in :data:`BUILTIN`.

========== ====================== =====================================================
name       inputs                 formula
========== ====================== =====================================================
power      x                      L = A x^-alpha
saturating x                      L = E + A x^-alpha
broken     x                      smoothly broken power law (Caballero et al. 2022)
m4         x                      M4 (Alabdulmohsin et al. 2022): plateau, then power law
chinchilla N, D                   L = E + A N^-alpha + B D^-beta
kaplan     N, D                   L = [(N_c/N)^(alpha_N/alpha_D) + D_c/D]^alpha_D
schedule   S1, anneal             L = L0 + A S1^-alpha - C S2 (Tissue et al. 2024)
lr_batch   N, D, lr, batch_size   L*(N, D) + penalty of lr and batch off their optima
========== ====================== =====================================================

``auto`` (the default of :class:`~bayes_scaling.ScalingLaw`) is not a law but a choice among
laws per curve (see :mod:`bayes_scaling.compare.forms`).
"""

from __future__ import annotations

from dataclasses import replace

from bayes_scaling.laws import chinchilla as _two
from bayes_scaling.laws import hyper as _hyper
from bayes_scaling.laws import power as _one
from bayes_scaling.laws import schedule as _sched
from bayes_scaling.laws._law import DEFAULT_SPREAD_LOG, Law, LawError, law
from bayes_scaling.laws.conditioning import Conditioning, detect_covariance, make_conditioning
from bayes_scaling.laws.loading import load_law_file, parse_law_ref
from bayes_scaling.laws.solve import solve_increasing

__all__ = [
    "Law",
    "LawError",
    "law",
    "get_law",
    "list_laws",
    "resolve_law",
    "BUILTIN",
    "AUTO",
    "Conditioning",
    "detect_covariance",
    "make_conditioning",
    "load_law_file",
    "parse_law_ref",
    "solve_increasing",
    "DEFAULT_SPREAD_LOG",
]

#: Name of the per-curve choice among laws (not a law itself).
AUTO = "auto"


def _builtin(obj: Law, **extras: object) -> Law:
    return replace(obj, origin="builtin", extras={**obj.extras, **extras})


#: The built-in laws by name.
BUILTIN: dict[str, Law] = {
    lw.name: _builtin(lw)
    for lw in (
        _one.power, _one.saturating, _one.broken, _one.m4, _two.chinchilla, _two.kaplan,
        _sched.schedule,
    )
}
#: lr_batch keeps diverged runs in its data: its default likelihood is robust.
BUILTIN["lr_batch"] = _builtin(_hyper.lr_batch, likelihood="student_t")

#: Earlier parameterisations of built-in laws, by name: a saved fit whose recorded parameters
#: match one of them is loaded with it (``m4`` before it was parameterised by its tail).
LEGACY: dict[str, tuple[Law, ...]] = {"m4": (_builtin(_one.M4_V0),)}


def list_laws() -> list[str]:
    """Names of the built-in laws."""
    return list(BUILTIN)


def get_law(value: str | Law) -> Law:
    """A built-in law by name, a law from ``FILE.py:NAME``, or a :class:`Law` passed through.

    Raises
    ------
    LawError
        Unknown name, missing file, or not a law.
    """
    if isinstance(value, Law):
        return value
    if not isinstance(value, str):
        raise TypeError(f"law must be a name, FILE.py:NAME or a Law, got {type(value).__name__}")
    ref = parse_law_ref(value)
    if ref is not None:
        return load_law_file(*ref)
    if value in BUILTIN:
        return BUILTIN[value]
    raise LawError(
        f"unknown law {value!r}; expected one of {list(BUILTIN) + [AUTO]} or FILE.py:NAME"
    )


def resolve_law(spec: dict, override: str | Law | None = None) -> Law:
    """The law a saved fit was made with, checked against the recorded hash.

    Parameters
    ----------
    spec : dict
        The law specification stored with the fit (:meth:`Law.spec`).
    override : str or Law, optional
        Where to find the law instead of the recorded origin (``FILE.py:NAME``).

    Raises
    ------
    LawError
        The law cannot be found, or its source, inputs or priors changed since the fit.
    """
    name = spec["name"]
    origin = spec.get("origin", "builtin")
    if override is not None:
        found = get_law(override)
    elif origin == "builtin":
        if name not in BUILTIN:
            raise LawError(f"fit uses built-in law {name!r}, which this version does not have")
        found = BUILTIN[name]
    else:
        try:
            found = load_law_file(origin, name)
        except LawError as err:
            raise LawError(
                f"{err}; the fit's law {name!r} was recorded from {origin!r}: pass "
                "--law FILE.py:NAME (API: law=...) to say where it is now"
            ) from None
    if found.hash != spec.get("hash") and override is None and origin == "builtin":
        import warnings

        same = (list(spec.get("inputs", [])), list(spec.get("params", [])))
        for legacy in LEGACY.get(name, ()):
            if (list(legacy.inputs), list(legacy.params)) == same:
                warnings.warn(
                    f"the fit was made with built-in law {name!r} as parameterised by an earlier "
                    f"version ({', '.join(legacy.params)}); it is loaded and predicts with that "
                    f"form (this version's {name!r} takes {', '.join(found.params)})",
                    UserWarning,
                    stacklevel=3,
                )
                return legacy
        if (list(found.inputs), list(found.params)) != same:
            raise LawError(
                f"built-in law {name!r} of this version takes inputs {list(found.inputs)} and "
                f"parameters {list(found.params)}; the fit recorded {spec.get('inputs')} and "
                f"{spec.get('params')}: refit with this version"
            )
        warnings.warn(
            f"built-in law {name!r} changed since the fit (another bayes_scaling version); "
            "predictions use this version's law with the fit's posterior",
            UserWarning,
            stacklevel=3,
        )
        return found
    if found.hash != spec.get("hash"):
        where = origin if override is None else str(override)
        raise LawError(
            f"law {name!r} from {where!r} changed since the fit (its source, inputs or priors "
            "differ from those recorded); refit, or restore the law as it was"
        )
    return found
