"""The :func:`law` decorator and the :class:`Law` it returns.

A law is a plain Python function of its inputs and parameters that returns the predicted metric
(positive, lower is better) in the user's units, written with ``jax.numpy``::

    @bs.law(inputs=("N", "E"), priors={
        "L_inf": bs.Prior("LogNormal", loc=0.5, scale=0.5),
        "B": bs.Prior("LogNormal", loc=3.0, scale=2.0),
        "alpha": bs.Prior("LogNormal", loc=-1.5, scale=0.7),
        "beta": bs.Prior("LogNormal", loc=-2.5, scale=1.0),
    })
    def moe(N, E, L_inf, B, alpha, beta):
        return L_inf + B / (N ** alpha * E ** beta)

Built-in and user laws are declared the same way and go through the same code path. The
numerical conditioning (reference-point amplitudes, normalised inputs) is found automatically
from the function at fit time (:mod:`bayes_scaling.laws._covariance`).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import keyword
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bayes_scaling.priors import Prior, as_prior

__all__ = ["Law", "law", "LawError", "DEFAULT_SPREAD_LOG", "spread_prior"]

#: Default spread of group effects for parameters sampled on the log scale: a level's value is
#: typically within a factor e^0.5 of the population (the Hestness et al. 2017 exponents differ
#: by a factor ~2-5 between domains, within a domain by much less).
DEFAULT_SPREAD_LOG = 0.5


class LawError(ValueError):
    """A law is declared or behaves wrongly; the message names the law and the problem."""


def spread_prior(prior: Prior, value: float | Prior | None = None) -> Prior:
    """Prior of the spread of group effects of a parameter, on its sampling scale.

    A number ``s`` means ``Gamma(2, 2/s)``: mean ``s``, and zero density at zero. Levels of a
    scaling study (architectures, datasets) never share a parameter exactly, and a prior that
    avoids zero keeps the sampler out of the neck where a spread collapses (Chung et al. 2013).
    """
    if isinstance(value, Prior):
        return value
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise LawError(f"spread must be a positive number or a Prior, got {value!r}")
        s = float(value)
    else:
        s = DEFAULT_SPREAD_LOG if prior.positive else 0.5 * prior.sd
    return Prior(
        "Gamma", concentration=2.0, rate=2.0 / s, note=f"spread of group effects, mean {s:g}"
    )


@dataclass(frozen=True, eq=False)
class Law:
    """A functional form: a pure ``jax.numpy`` function plus its inputs and priors.

    Build one with the :func:`law` decorator. Calling the law evaluates the function
    (``moe(N=1e8, E=8, L_inf=1.7, B=400, alpha=0.3, beta=0.1)``).

    Attributes
    ----------
    name : str
        Name users type (``"saturating"``) or the function's name.
    fn : callable
        ``fn(*inputs, *params) -> metric`` in the user's units.
    inputs, params : tuple of str
        Input and parameter names, in the function's order.
    priors : dict[str, Prior]
        Prior of each parameter (population mean under partial pooling).
    spread : dict[str, Prior]
        Prior of the spread of each parameter's group effects, on its sampling scale (the log
        scale for positive parameters).
    shared : tuple of str
        Parameters common to all curves (never hierarchical).
    scales : tuple of str
        Inputs that measure scale: the distance of an extrapolation is measured along them
        (default all inputs; ``lr_batch`` excludes the learning rate and batch size).
    formula, doc : str
        One-line formula and documentation.
    source : str
        Source text of the function (recorded with every fit).
    origin : str
        ``"builtin"`` or the file the law was loaded from.
    """

    name: str
    fn: Callable[..., Any]
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    priors: dict[str, Prior]
    spread: dict[str, Prior]
    shared: tuple[str, ...] = ()
    scales: tuple[str, ...] = ()
    formula: str = ""
    doc: str = ""
    source: str = ""
    origin: str = "user"
    extras: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ basic facts
    @property
    def n_inputs(self) -> int:
        """Number of inputs."""
        return len(self.inputs)

    @property
    def n_params(self) -> int:
        """Number of parameters per curve (not counting noise)."""
        return len(self.params)

    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names (alias of ``params``)."""
        return self.params

    @property
    def input_names(self) -> tuple[str, ...]:
        """Input names (alias of ``inputs``)."""
        return self.inputs

    def positive(self, param: str) -> bool:
        """Whether ``param`` is positive (sampled on the log scale)."""
        return self.priors[param].positive

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Evaluate the function (same signature as the decorated function)."""
        return self.fn(*args, **kwargs)

    def evaluate(self, x: Any, theta: Mapping[str, Any]) -> Any:
        """Evaluate at inputs ``x`` (``(..., n_inputs)``) and parameters ``theta`` by name."""
        cols = [x[..., k] for k in range(self.n_inputs)]
        return self.fn(*cols, **{p: theta[p] for p in self.params})

    # ------------------------------------------------------------------ identity
    def spec(self) -> dict[str, Any]:
        """JSON description recorded with a fit (everything but the function object)."""
        return {
            "name": self.name,
            "inputs": list(self.inputs),
            "params": list(self.params),
            "priors": {k: v.to_dict() for k, v in self.priors.items()},
            "spread": {k: v.to_dict() for k, v in self.spread.items()},
            "shared": list(self.shared),
            "scales": list(self.scales),
            "formula": self.formula,
            "source": self.source,
            "origin": self.origin,
            "hash": self.hash,
        }

    @property
    def hash(self) -> str:
        """SHA-256 of the law's source, inputs, priors and options (changes when any does)."""
        body = {
            "source": self.source,
            "inputs": list(self.inputs),
            "params": list(self.params),
            "priors": {k: v.to_dict() for k, v in sorted(self.priors.items())},
            "spread": {k: v.to_dict() for k, v in sorted(self.spread.items())},
            "shared": sorted(self.shared),
            "scales": list(self.scales),
        }
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()

    def with_priors(self, priors: Mapping[str, Any]) -> Law:
        """A copy with some priors replaced (by parameter name)."""
        unknown = sorted(set(priors) - set(self.params))
        if unknown:
            raise LawError(
                f"law {self.name!r}: unknown parameter(s) {unknown}; its parameters are "
                f"{list(self.params)}"
            )
        new = dict(self.priors)
        new.update({k: as_prior(k, v) for k, v in priors.items()})
        return _replace(self, priors=new)

    def __repr__(self) -> str:
        return f"Law({self.name!r}, inputs={list(self.inputs)}, params={list(self.params)})"


def _replace(obj: Law, **changes: Any) -> Law:
    from dataclasses import replace

    return replace(obj, **changes)


def _source(fn: Callable[..., Any]) -> str:
    try:
        return textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return ""


def _check_name(law_name: str, what: str, name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise LawError(f"law {law_name!r}: {what} name {name!r} is not a valid Python identifier")
    if name.startswith("_"):
        raise LawError(f"law {law_name!r}: {what} name {name!r} must not start with '_'")


def law(
    fn: Callable[..., Any] | None = None,
    *,
    inputs: Sequence[str],
    priors: Mapping[str, Any],
    shared: Sequence[str] = (),
    spread: Mapping[str, float | Prior] | None = None,
    scales: Sequence[str] | None = None,
    name: str | None = None,
    formula: str | None = None,
    positive: bool = True,
) -> Any:
    """Declare a scaling law from a plain function (decorator).

    Parameters
    ----------
    fn : callable
        ``fn(*inputs, *params)`` returning the metric (positive, lower is better) in the user's
        units, written with ``jax.numpy`` (no Python branches on values, no numpy calls).
    inputs : sequence of str
        The function's input arguments, in order (``--x`` columns bind to them in order).
    priors : mapping
        A :class:`~bayes_scaling.Prior` (or its dict form) for every other argument. Positive
        priors (``LogNormal``, ``HalfNormal``, ``Gamma``...) are sampled on the log scale.
    shared : sequence of str
        Parameters common to all curves (not hierarchical).
    spread : mapping, optional
        Scale of the half-normal prior of a parameter's group-effect spread (on its sampling
        scale), or a :class:`Prior`; default 0.5 on the log scale for positive parameters and
        half the prior's sd otherwise.
    scales : sequence of str, optional
        Inputs along which extrapolation distance is measured (default: all inputs).
    name : str, optional
        Law name (default: the function's name).
    formula : str, optional
        One-line formula for tables and plots (default: the first docstring line).
    positive : bool
        Whether inputs that are not ``scales`` must be > 0 (default). ``False`` lets them be
        zero or negative (an annealing fraction, a code for a recipe); they are then used in the
        user's units, never normalised.

    Returns
    -------
    Law
        Or, used as ``@law(...)``, a decorator returning one.
    """

    def build(f: Callable[..., Any]) -> Law:
        law_name = name or getattr(f, "__name__", "law")
        if not callable(f):
            raise LawError(f"law {law_name!r}: expected a function, got {type(f).__name__}")
        try:
            sig = inspect.signature(f)
        except (TypeError, ValueError) as err:
            raise LawError(f"law {law_name!r}: cannot read the function's arguments") from err
        args = []
        for p in sig.parameters.values():
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.POSITIONAL_ONLY, p.KEYWORD_ONLY):
                raise LawError(
                    f"law {law_name!r}: *args/**kwargs are not allowed; name every input and "
                    "parameter"
                )
            args.append(p.name)
        if isinstance(inputs, str):
            raise LawError(f"law {law_name!r}: inputs must be a tuple of names, e.g. ('N', 'D')")
        ins = tuple(inputs)
        if not ins:
            raise LawError(f"law {law_name!r}: give at least one input")
        for i in ins:
            _check_name(law_name, "input", i)
            if i not in args:
                raise LawError(
                    f"law {law_name!r}: input {i!r} is not an argument of the function "
                    f"{list(args)}"
                )
        if len(set(ins)) != len(ins):
            raise LawError(f"law {law_name!r}: inputs {list(ins)} repeat a name")
        params = tuple(a for a in args if a not in ins)
        if not params:
            raise LawError(f"law {law_name!r}: the function has no parameters besides its inputs")
        if not isinstance(priors, Mapping):
            raise LawError(f"law {law_name!r}: priors must map parameter names to Prior objects")
        missing = [p for p in params if p not in priors]
        if missing:
            raise LawError(
                f"law {law_name!r}: parameter(s) {missing} have no prior; give priors={{...}} "
                f"for every argument that is not an input ({list(params)})"
            )
        extra = sorted(set(priors) - set(params))
        if extra:
            raise LawError(
                f"law {law_name!r}: priors given for {extra}, which are not parameters of the "
                f"function (inputs {list(ins)}, parameters {list(params)})"
            )
        for p in params:
            _check_name(law_name, "parameter", p)
        pri = {}
        for p in params:
            try:
                pri[p] = as_prior(p, priors[p])
            except (TypeError, ValueError) as err:
                raise LawError(f"law {law_name!r}: prior of {p!r}: {err}") from None
        sh = tuple(shared)
        bad = [s for s in sh if s not in params]
        if bad:
            raise LawError(f"law {law_name!r}: shared={bad} are not parameters {list(params)}")
        spr_in = dict(spread or {})
        bad = sorted(set(spr_in) - set(params))
        if bad:
            raise LawError(f"law {law_name!r}: spread given for unknown parameter(s) {bad}")
        spr = {p: spread_prior(pri[p], spr_in.get(p)) for p in params}
        sc = tuple(ins if scales is None else scales)
        bad = [s for s in sc if s not in ins]
        if bad or not sc:
            raise LawError(
                f"law {law_name!r}: scales must be a non-empty subset of the inputs {list(ins)}"
            )
        doc = inspect.getdoc(f) or ""
        return Law(
            name=law_name,
            fn=f,
            inputs=ins,
            params=params,
            priors=pri,
            spread=spr,
            shared=sh,
            scales=sc,
            formula=formula or (doc.splitlines()[0].rstrip(".") if doc else ""),
            doc=doc,
            source=_source(f),
            origin="user",
            extras={} if positive else {"positive": False},
        )

    if fn is not None:
        return build(fn)
    return build


def check_finite_positive(law_: Law, values: np.ndarray, where: str) -> None:
    """Raise a :class:`LawError` if the law's values are not finite and positive."""
    v = np.asarray(values, dtype=float)
    bad = ~np.isfinite(v) | (v <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LawError(
            f"law {law_.name!r} returns {v.ravel()[i]!r} {where} (row {i}); a law must return a "
            "positive, finite metric there (lower is better): check the formula and the priors"
        )
