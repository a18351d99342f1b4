"""Serialisable prior specifications.

A :class:`Prior` names a NumPyro distribution and its arguments. It can be turned into the
distribution (:meth:`Prior.to_numpyro`), written to JSON with a fit and read back, so a saved fit
always says which priors produced it.

Users override priors by site name with a dict whose values are a :class:`Prior`, a dict such as
``{"dist": "Normal", "loc": 0.0, "scale": 1.0}``, or a NumPyro distribution that matches one of the
supported families.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpyro.distributions as dist

__all__ = ["Prior", "as_prior", "merge_priors"]

# family -> (numpyro class, ordered argument names)
_FAMILIES: dict[str, tuple[type, tuple[str, ...]]] = {
    "Normal": (dist.Normal, ("loc", "scale")),
    "HalfNormal": (dist.HalfNormal, ("scale",)),
    "StudentT": (dist.StudentT, ("df", "loc", "scale")),
    "HalfCauchy": (dist.HalfCauchy, ("scale",)),
    "Gamma": (dist.Gamma, ("concentration", "rate")),
    "LogNormal": (dist.LogNormal, ("loc", "scale")),
    "Exponential": (dist.Exponential, ("rate",)),
    "Uniform": (dist.Uniform, ("low", "high")),
    "TruncatedNormal": (dist.TruncatedNormal, ("loc", "scale", "low", "high")),
}


@dataclass(frozen=True)
class Prior:
    """A prior distribution by family name and arguments.

    Parameters
    ----------
    dist : str
        Family name, one of ``Normal``, ``HalfNormal``, ``StudentT``, ``HalfCauchy``, ``Gamma``,
        ``LogNormal``, ``Exponential``, ``Uniform``, ``TruncatedNormal``.
    note : str
        Free text recorded with the fit (for example where a default comes from).
    **kwargs
        The family's arguments, e.g. ``loc`` and ``scale``.

    Examples
    --------
    >>> Prior("Normal", loc=0.0, scale=1.0)
    Prior('Normal', loc=0.0, scale=1.0)
    """

    dist: str
    args: dict[str, float] = field(default_factory=dict)
    note: str = ""

    def __init__(self, dist: str, note: str = "", **kwargs: float) -> None:
        if dist not in _FAMILIES:
            raise ValueError(f"unknown prior family {dist!r}; expected one of {sorted(_FAMILIES)}")
        _, names = _FAMILIES[dist]
        missing = [
            n
            for n in names
            if n not in kwargs and not (dist == "TruncatedNormal" and n in ("low", "high"))
        ]
        extra = [k for k in kwargs if k not in names]
        if missing or extra:
            raise ValueError(
                f"prior {dist!r} takes arguments {list(names)}; missing {missing}, "
                f"unexpected {extra}"
            )
        args: dict[str, float] = {}
        for k, v in kwargs.items():
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise TypeError(f"prior {dist!r} argument {k!r} must be a number, got {v!r}")
            if not math.isfinite(float(v)):
                raise ValueError(f"prior {dist!r} argument {k!r} must be finite, got {v!r}")
            args[k] = float(v)
        for k in ("scale", "rate", "concentration", "df"):
            if k in args and args[k] <= 0:
                raise ValueError(f"prior {dist!r} argument {k!r} must be > 0, got {args[k]}")
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "note", note)

    def to_numpyro(self) -> dist.Distribution:
        """Return the NumPyro distribution."""
        cls, _ = _FAMILIES[self.dist]
        return cls(**self.args)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description."""
        out: dict[str, Any] = {"dist": self.dist, **self.args}
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Prior:
        """Build a prior from :meth:`to_dict` output."""
        d = dict(d)
        if "dist" not in d:
            raise ValueError(f"prior dict needs a 'dist' key naming the family, got {d!r}")
        family = d.pop("dist")
        note = d.pop("note", "")
        return cls(family, note=note, **d)

    def widen(self, factor: float) -> Prior:
        """Return the same prior with its scale-like arguments multiplied by ``factor``."""
        args = dict(self.args)
        for k in ("scale",):
            if k in args:
                args[k] *= factor
        if self.dist == "Gamma":  # keep the mean, scale the sd by factor
            args["concentration"] /= factor**2
            args["rate"] /= factor**2
        return Prior(self.dist, note=self.note, **args)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"Prior({self.dist!r}, {inner})"


def as_prior(name: str, value: Any) -> Prior:
    """Coerce a user-supplied prior for site ``name`` into a :class:`Prior`."""
    if isinstance(value, Prior):
        return value
    if isinstance(value, Mapping):
        return Prior.from_dict(value)
    if isinstance(value, dist.Distribution):
        for family, (cls, names) in _FAMILIES.items():
            if type(value) is cls:
                kwargs = {n: float(getattr(value, n)) for n in names if hasattr(value, n)}
                return Prior(family, **kwargs)
        raise TypeError(
            f"prior for {name!r}: NumPyro distribution {type(value).__name__} is not supported; "
            f"use one of {sorted(_FAMILIES)}"
        )
    raise TypeError(
        f"prior for {name!r} must be a Prior, a dict like {{'dist': 'Normal', 'loc': 0, "
        f"'scale': 1}} or a NumPyro distribution; got {type(value).__name__}"
    )


def merge_priors(
    defaults: Mapping[str, Prior], overrides: Mapping[str, Any] | None
) -> dict[str, Prior]:
    """Merge user overrides into the defaults, rejecting unknown names.

    Parameters
    ----------
    defaults : Mapping[str, Prior]
        The model's default priors by site name.
    overrides : Mapping[str, Any] or None
        User priors by site name.

    Returns
    -------
    dict[str, Prior]
        The merged priors.
    """
    merged = dict(defaults)
    for key, value in (overrides or {}).items():
        if key not in defaults:
            raise ValueError(
                f"unknown prior name {key!r}; this model's priors are {sorted(defaults)}"
            )
        merged[key] = as_prior(key, value)
    return merged
