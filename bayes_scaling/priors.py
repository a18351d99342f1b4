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

UNITS = ("user", "data")
_POSITIVE = frozenset({"HalfNormal", "HalfCauchy", "Gamma", "LogNormal", "Exponential"})

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
    "Beta": (dist.Beta, ("concentration1", "concentration0")),
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
    units : {"user", "data"}
        ``"user"`` (default): the prior is on the parameter in the user's units. ``"data"``: on
        the parameter measured at the data's reference point (the geometric means of the inputs
        and of the metric): an amplitude ``B`` of ``B / N**alpha`` becomes ``B / N_ref**alpha``
        divided by ``y_ref``, a floor ``E`` becomes ``E / y_ref``, a scale such as ``N_c`` becomes
        ``N_c / N_ref``. Data-unit priors make one prior fit any units (the built-in laws use
        them); the law must be scale-covariant in that parameter (see
        :mod:`bayes_scaling.laws`).
    *values, **kwargs
        The family's arguments by position (in the family's order) or by name, e.g. ``loc`` and
        ``scale``.

    Examples
    --------
    >>> Prior("Normal", loc=0.0, scale=1.0)
    Prior('Normal', loc=0.0, scale=1.0)
    >>> Prior("Normal", 0.0, 1.0) == Prior("Normal", loc=0.0, scale=1.0)
    True
    """

    dist: str
    args: dict[str, float] = field(default_factory=dict)
    note: str = ""
    units: str = "user"

    def __init__(self, dist: str, *values: float, note: str = "", units: str = "user",
                 **kwargs: float) -> None:
        if units not in UNITS:
            raise ValueError(f"prior units must be one of {UNITS}, got {units!r}")
        if dist not in _FAMILIES:
            raise ValueError(f"unknown prior family {dist!r}; expected one of {sorted(_FAMILIES)}")
        _, names = _FAMILIES[dist]
        if len(values) > len(names):
            raise ValueError(
                f"prior {dist!r} takes at most {len(names)} values {list(names)}, got {values!r}"
            )
        for name, v in zip(names, values, strict=False):
            if name in kwargs:
                raise ValueError(f"prior {dist!r}: {name!r} given twice (by position and name)")
            kwargs[name] = v
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
        for k in ("scale", "rate", "concentration", "df", "concentration1", "concentration0"):
            if k in args and args[k] <= 0:
                raise ValueError(f"prior {dist!r} argument {k!r} must be > 0, got {args[k]}")
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "note", note)
        object.__setattr__(self, "units", units)

    def to_numpyro(self) -> dist.Distribution:
        """Return the NumPyro distribution."""
        cls, _ = _FAMILIES[self.dist]
        return cls(**self.args)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable description."""
        out: dict[str, Any] = {"dist": self.dist, **self.args}
        if self.units != "user":
            out["units"] = self.units
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
        units = d.pop("units", "user")
        return cls(family, note=note, units=units, **d)

    @property
    def positive(self) -> bool:
        """Whether the prior's support is the positive half-line (sampled on the log scale)."""
        if self.dist in _POSITIVE:
            return True
        if self.dist == "TruncatedNormal":
            return self.args.get("low", -math.inf) >= 0 and "high" not in self.args
        if self.dist == "Uniform":
            return False
        return False

    @property
    def sd(self) -> float:
        """Standard deviation of the prior on its sampling scale (log scale when positive)."""
        a = self.args
        if self.dist in ("Normal", "LogNormal", "TruncatedNormal"):
            return a["scale"]
        if self.dist == "StudentT":
            return a["scale"] * (math.sqrt(a["df"] / (a["df"] - 2)) if a["df"] > 2 else 3.0)
        if self.dist == "Uniform":
            return (a["high"] - a["low"]) / math.sqrt(12)
        return 1.0  # positive families on the log scale: about one e-fold

    @property
    def center(self) -> float:
        """A central value on the natural scale (median where known), for starting points."""
        a = self.args
        if self.dist in ("Normal", "StudentT"):
            return a["loc"]
        if self.dist == "LogNormal":
            return math.exp(a["loc"])
        if self.dist == "HalfNormal":
            return 0.674 * a["scale"]
        if self.dist == "HalfCauchy":
            return a["scale"]
        if self.dist == "Gamma":
            return a["concentration"] / a["rate"]
        if self.dist == "Exponential":
            return math.log(2) / a["rate"]
        if self.dist == "Uniform":
            return 0.5 * (a["low"] + a["high"])
        lo, hi = a.get("low", -math.inf), a.get("high", math.inf)
        return min(max(a["loc"], lo + 1e-3 if math.isfinite(lo) else a["loc"]), hi)

    def widen(self, factor: float) -> Prior:
        """Return the same prior with its scale-like arguments multiplied by ``factor``."""
        args = dict(self.args)
        for k in ("scale",):
            if k in args:
                args[k] *= factor
        if self.dist == "Gamma":  # scale the distribution: mean and sd times factor
            args["rate"] /= factor
        return Prior(self.dist, note=self.note, units=self.units, **args)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        units = ", units='data'" if self.units == "data" else ""
        return f"Prior({self.dist!r}, {inner}{units})"


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
