"""Numerical conditioning of any law, found from the function itself.

Users write laws in their own units (``B / N**alpha`` with ``N ~ 1e9``). Sampled as written, the
amplitude and the exponent are almost perfectly correlated (``log B - alpha log N`` is what the
data pin down), and a hierarchy on ``log B`` would be a poor prior: a small change of ``alpha``
moves ``log B`` by ``log N``. The fix is to measure amplitudes at the data's reference point,
``B_ref = B N_ref**-alpha``, and to feed the law normalised inputs ``N / N_ref``. Which parameters
to transform follows from a symmetry of the law, which we detect numerically:

**Scale covariance of an input.** A law is covariant in input ``x_k`` when rescaling the input
by ``c`` can be undone by rescaling some parameters::

    f(..., c x_k, ...; p_j * c**(s_j q_j) ..., r_j + s_j q_j log c ...) = f(...; theta)

with ``q_j`` either 1 (a scale parameter such as ``N_c`` or ``x_break``) or the value of another
parameter (an exponent), ``s_j = +-1``. Differentiating at ``c = 1`` gives a linear condition on
the gradients of ``log f``; it is solved by least squares at random points, rounded to signs, and
verified exactly at fresh points. **Output covariance** (``c f = f(..., p_j c ...)``, e.g. floors
and amplitudes) is found the same way.

With the covariance in hand the law is evaluated as ``f(x / x_ref; theta_ref)`` where every
transformed parameter is measured at the reference point (``log p_ref = log p - sum_k s q log
x_ref_k - [output] log y_ref``). The map between ``theta`` and ``theta_ref`` is a shear with unit
Jacobian, so priors in the user's units stay exact. Inputs without a covariance are passed in the
user's units (float64 keeps them accurate). The conditioning is stored with every fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from bayes_scaling.laws._law import Law, LawError

__all__ = ["Shift", "Covariance", "detect_covariance", "Conditioning", "make_conditioning"]


@dataclass(frozen=True)
class Shift:
    """One term of a parameter's reference-point transformation.

    ``log p_ref = log p - sign * (value of multiplier or 1) * log ref`` (for log-scale
    parameters; additive ``p_ref = p - ...`` for real-valued ones), where ``ref`` is the reference
    of input ``source`` (an input name) or of the metric (``source = "y"``).
    """

    source: str
    multiplier: str | None
    sign: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"source": self.source, "multiplier": self.multiplier, "sign": self.sign}


@dataclass(frozen=True)
class Covariance:
    """Detected scale covariances of a law: per parameter, its shifts."""

    shifts: dict[str, tuple[Shift, ...]]
    normalised_inputs: tuple[str, ...]
    output: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "shifts": {p: [s.to_dict() for s in v] for p, v in self.shifts.items()},
            "normalised_inputs": list(self.normalised_inputs),
            "output": self.output,
        }


def _random_theta(law: Law, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    out = {}
    for p in law.params:
        pr = law.priors[p]
        if pr.positive:
            out[p] = np.exp(rng.uniform(-1.5, 0.7, n))
        elif pr.dist == "Uniform":
            lo, hi = pr.args["low"], pr.args["high"]
            out[p] = rng.uniform(lo + 0.1 * (hi - lo), hi - 0.1 * (hi - lo), n)
        else:
            out[p] = rng.uniform(-1.0, 1.0, n)
    return out


def _log_f(law: Law) -> Any:
    def f(log_x: jnp.ndarray, lin: dict[str, jnp.ndarray]) -> jnp.ndarray:
        theta = {p: (jnp.exp(v) if law.positive(p) else v) for p, v in lin.items()}
        return jnp.log(law.evaluate(jnp.exp(log_x), theta))

    return f


def _linear(law: Law, theta: Mapping[str, np.ndarray]) -> dict[str, jnp.ndarray]:
    return {p: jnp.log(v) if law.positive(p) else jnp.asarray(v) for p, v in theta.items()}


def _free_inputs(law: Law) -> list[bool]:
    """Inputs that may be zero (a law's non-scale inputs declared ``positive=False``)."""
    return [i not in law.scales and not law.extras.get("positive", True) for i in law.inputs]


def _random_log_x(law: Law, rng: np.random.Generator, n: int) -> np.ndarray:
    """Log inputs for test points: 1-20 for scales, 0.05-1 for inputs that may be zero."""
    log_x = rng.uniform(0.0, 3.0, (n, law.n_inputs))
    for k, free in enumerate(_free_inputs(law)):
        if free:
            log_x[:, k] = rng.uniform(-3.0, 0.0, n)
    return log_x


def _gradients(law: Law, rng: np.random.Generator, n: int) -> tuple:
    """Values and gradients of log f at ``n`` random points (non-finite points dropped)."""
    log_x = _random_log_x(law, rng, n)
    theta = _random_theta(law, rng, n)
    f = _log_f(law)
    fv = jax.vmap(f)
    gv = jax.vmap(jax.grad(f, argnums=(0, 1)))
    lin = _linear(law, theta)
    val = np.asarray(fv(jnp.asarray(log_x), lin))
    gx, gp = gv(jnp.asarray(log_x), lin)
    gx = np.asarray(gx)
    gp = {k: np.asarray(v) for k, v in gp.items()}
    ok = np.isfinite(val) & np.isfinite(gx).all(axis=1)
    for v in gp.values():
        ok &= np.isfinite(v)
    return log_x[ok], {k: v[ok] for k, v in theta.items()}, val[ok], gx[ok], {
        k: v[ok] for k, v in gp.items()
    }


def _shiftable(law: Law, p: str) -> bool:
    """Parameters that may be moved to the reference point: positive or unbounded ones."""
    return law.positive(p) or law.priors[p].dist in ("Normal", "StudentT")


def _candidates(law: Law, p: str) -> list[str | None]:
    """Multipliers a parameter's shift may use.

    1, or the value of another parameter that is positive or real-valued (an exponent such as
    ``alpha``, or a signed slope).
    """
    return [None] + [q for q in law.params if q != p and _shiftable(law, q)]


def _solve_signs(a: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    """Least-squares solution of ``a w = t`` if it is exact and made of -1, 0, +1."""
    w, *_ = np.linalg.lstsq(a, t, rcond=None)
    if np.linalg.norm(a @ w - t) > 1e-7 * (1.0 + np.linalg.norm(t)):
        return None
    r = np.round(w)
    if np.abs(w - r).max() > 1e-5 or np.abs(r).max() > 1:
        return None
    return r


def _apply(
    law: Law, log_x: np.ndarray, lin: dict[str, np.ndarray], theta: dict[str, np.ndarray],
    shifts: dict[str, Shift], log_c: float, source: str,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    lx = log_x.copy()
    if source != "y":
        lx[:, law.inputs.index(source)] += log_c
    new = {k: v.copy() for k, v in lin.items()}
    for p, s in shifts.items():
        mult = 1.0 if s.multiplier is None else theta[s.multiplier]
        new[p] = new[p] + s.sign * mult * log_c
    return lx, new


def _verify(law: Law, shifts: dict[str, Shift], source: str, rng: np.random.Generator) -> bool:
    n = 24
    log_x = _random_log_x(law, rng, n)
    theta = _random_theta(law, rng, n)
    lin = {k: np.asarray(v) for k, v in _linear(law, theta).items()}
    f = jax.vmap(_log_f(law))
    base = np.asarray(f(jnp.asarray(log_x), {k: jnp.asarray(v) for k, v in lin.items()}))
    for log_c in (np.log(0.3), np.log(7.0)):
        lx, new = _apply(law, log_x, lin, theta, shifts, log_c, source)
        val = np.asarray(f(jnp.asarray(lx), {k: jnp.asarray(v) for k, v in new.items()}))
        if source == "y":
            val = val - log_c
        ok = np.isfinite(base) & np.isfinite(val)
        if ok.sum() < n // 2:
            return False
        if np.abs(val[ok] - base[ok]).max() > 1e-8 * (1.0 + np.abs(base[ok]).max()):
            return False
    return True


def _covariance_of(
    law: Law, source: str, data: tuple, rng: np.random.Generator
) -> dict[str, Shift] | None:
    log_x, theta, _, gx, gp = data
    if source == "y":
        names = [p for p in law.params if law.positive(p)]
        cols = [gp[p] for p in names]
        if not cols:
            return None
        a = np.column_stack(cols)
        w = _solve_signs(a, np.ones(len(log_x)))
        if w is None or (w < 0).any():
            return None
        shifts = {p: Shift("y", None, 1) for p, wi in zip(names, w, strict=True) if wi > 0}
    else:
        k = law.inputs.index(source)
        t = -gx[:, k]
        if np.abs(t).max() < 1e-12:
            return {}
        cols, labels = [], []
        for p in law.params:
            if not _shiftable(law, p):
                continue
            for q in _candidates(law, p):
                m = 1.0 if q is None else theta[q]
                cols.append(m * gp[p])
                labels.append((p, q))
        w = _solve_signs(np.column_stack(cols), t)
        if w is None:
            return None
        shifts: dict[str, Shift] = {}
        for (p, q), wi in zip(labels, w, strict=True):
            if wi == 0:
                continue
            if p in shifts:
                return None  # two multipliers for one parameter: not a plain power symmetry
            shifts[p] = Shift(source, q, int(wi))
    if not shifts or not _verify(law, shifts, source, rng):
        return None
    return shifts


def detect_covariance(law: Law, seed: int = 0) -> Covariance:
    """Find the law's scale covariances (see module docstring).

    Parameters
    ----------
    law : Law
        The law.
    seed : int
        Seed of the random test points (the result does not depend on it for a well-posed law).

    Returns
    -------
    Covariance
    """
    rng = np.random.default_rng(seed)
    try:
        data = _gradients(law, rng, max(60, 6 * law.n_params * (law.n_params + 1)))
    except Exception as err:  # noqa: BLE001 - any failure of user code is reported as one line
        raise LawError(
            f"law {law.name!r} cannot be evaluated with jax.numpy at test points: "
            f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        ) from None
    if len(data[0]) < 10:
        return Covariance({}, (), False)
    per_param: dict[str, list[Shift]] = {p: [] for p in law.params}
    normalised = []
    for source, free in zip(law.inputs, _free_inputs(law), strict=True):
        if free:
            continue
        found = _covariance_of(law, source, data, rng)
        if found is None:
            continue
        normalised.append(source)
        for p, s in found.items():
            per_param[p].append(s)
    out = _covariance_of(law, "y", data, rng)
    for p, s in (out or {}).items():
        per_param[p].append(s)
    # a multiplier must itself be untransformed, so the map to reference values is a shear
    multipliers = {s.multiplier for v in per_param.values() for s in v if s.multiplier}
    if any(per_param[m] for m in multipliers):
        return Covariance({}, (), False)
    return Covariance(
        {p: tuple(v) for p, v in per_param.items() if v}, tuple(normalised), out is not None
    )


@dataclass(frozen=True)
class Conditioning:
    """The reference point and transformations used to fit a law to one dataset.

    Attributes
    ----------
    covariance : Covariance
        Which parameters are measured at the reference point.
    log_x_ref : ndarray
        Log of the reference value of each input (geometric mean of the training data); inputs
        not in ``covariance.normalised_inputs`` are passed in the user's units.
    log_y_ref : float
        Log of the reference metric (geometric mean of the training metric).
    """

    covariance: Covariance
    log_x_ref: np.ndarray
    log_y_ref: float
    inputs: tuple[str, ...] = field(default_factory=tuple)

    @property
    def input_offset(self) -> np.ndarray:
        """Log offset subtracted from each input before evaluating the law."""
        norm = set(self.covariance.normalised_inputs)
        return np.array(
            [self.log_x_ref[k] if name in norm else 0.0 for k, name in enumerate(self.inputs)]
        )

    def log_ref(self, source: str) -> float:
        """Log reference value of an input name or of the metric (``"y"``)."""
        if source == "y":
            return self.log_y_ref
        return float(self.log_x_ref[self.inputs.index(source)])

    def shift(self, p: str, theta: Mapping[str, Any]) -> Any:
        """Total offset ``(natural link) - (reference link)`` of parameter ``p``.

        ``theta`` holds natural values of the multipliers (arrays broadcast together).
        """
        total = 0.0
        for s in self.covariance.shifts.get(p, ()):
            mult = 1.0 if s.multiplier is None else theta[s.multiplier]
            total = total + s.sign * mult * self.log_ref(s.source)
        return total

    def to_dict(self) -> dict[str, Any]:
        """JSON form (stored with the fit)."""
        return {
            "covariance": self.covariance.to_dict(),
            "log_x_ref": [float(v) for v in self.log_x_ref],
            "log_y_ref": float(self.log_y_ref),
            "inputs": list(self.inputs),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Conditioning:
        """Inverse of :meth:`to_dict`."""
        cov = d["covariance"]
        shifts = {
            p: tuple(Shift(s["source"], s["multiplier"], int(s["sign"])) for s in v)
            for p, v in cov["shifts"].items()
        }
        return cls(
            Covariance(shifts, tuple(cov["normalised_inputs"]), bool(cov["output"])),
            np.asarray(d["log_x_ref"], dtype=np.float64),
            float(d["log_y_ref"]),
            tuple(d["inputs"]),
        )


def make_conditioning(law: Law, x: np.ndarray, y: np.ndarray) -> Conditioning:
    """Conditioning of ``law`` for training inputs ``x`` ``(n, k)`` and metric ``y``."""
    cov = detect_covariance(law)
    positive = (x > 0).all(axis=0)
    log_x_ref = np.where(positive, np.log(np.where(x > 0, x, 1.0)).mean(axis=0), 0.0)
    if not positive.all():  # inputs with zeros cannot be normalised on a log scale
        keep = tuple(i for k, i in enumerate(law.inputs) if positive[k])
        shifts = {
            p: tuple(s for s in v if s.source == "y" or s.source in keep)
            for p, v in cov.shifts.items()
        }
        cov = Covariance({p: v for p, v in shifts.items() if v},
                         tuple(i for i in cov.normalised_inputs if i in keep), cov.output)
    return Conditioning(cov, log_x_ref, float(np.log(y).mean()), law.inputs)
