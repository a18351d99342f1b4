"""The drift prior: how fast extrapolation goes wrong, learned across real studies.

A :class:`DriftPrior` holds posterior draws of the hyper-parameters of the cross-study drift model
(:mod:`bayes_scaling.drift.model`) for several *populations*: all studies together, and groups of
studies that the evidence separates (by law family and by what the scale measures: model size,
data, compute or training steps). A new fit draws its study-level ``(tau, b)`` from the predictive
distribution of the most specific population that has enough studies behind it (see
:meth:`DriftPrior.population`), with heavy (Student-t) study-level tails::

    log tau_new ~ StudentT(nu, mu_log_tau, sd_log_tau)      b_new ~ StudentT(nu, mu_bias, sd_bias)

(``b`` is clipped below 1 so that a monotone law's median stays monotone). The shipped file is
``bayes_scaling/datasets/drift_prior.json``; rebuild it with ``python benchmarks/drift_sweep.py``
and ``python benchmarks/build_drift_prior.py`` (your own studies:
:func:`~bayes_scaling.drift.model.rebuild_drift_prior`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling._version import __version__

__all__ = [
    "guess_scale_kind",
    "DriftPrior",
    "DriftDraws",
    "Population",
    "load_drift_prior",
    "drift_population",
    "SCHEMA_VERSION",
    "HYPER_NAMES",
    "BIAS_MAX",
    "TAU_MAX",
    "law_family",
]

#: Version of the drift-prior file format; bump on incompatible changes.
SCHEMA_VERSION = 2
#: Hyper-parameters of a population of studies, as stored.
HYPER_NAMES = ("mu_log_tau", "sd_log_tau", "mu_bias", "sd_bias", "nu")
#: Upper bound of the bend ``b`` (``b < 1`` keeps a decreasing law's median decreasing).
BIAS_MAX = 0.95
#: Upper bound of a new study's drift spread ``tau`` (log units per decade). The study-level
#: Student-t tails of ``log tau`` are what make the prior honest about studies that break (the
#: bundled 4-digit addition curve drifts ~4 per decade); beyond 1 per decade (a factor e per
#: decade at one sd) a law carries no information about the next decade, and letting the tail go
#: further only produces astronomically wide intervals and overflowing means.
TAU_MAX = 1.0
_SHIPPED = "drift_prior.json"
_KIND = "bayes_scaling.drift_prior"


def law_family(law: Any) -> str:
    """Family of a law for the drift populations: the built-in name, else ``"user"``."""
    origin = getattr(law, "origin", "user")
    return law.name if origin == "builtin" else "user"


@dataclass(frozen=True)
class Population:
    """Hyper-parameter draws of one population of studies."""

    name: str
    hyper: dict[str, np.ndarray]
    n_studies: int

    def sample(self, n: int, seed: int = 0, independent: bool = False
               ) -> tuple[np.ndarray, np.ndarray]:
        """Draws of ``(tau, bias)`` for a new study from this population.

        ``independent=True`` draws tau and bias from separate hyper-parameter draws: the same
        marginals without the coupling of their tails through the shared ``nu`` (used as the
        candidates of :func:`~bayes_scaling.drift.update.updated_draws`, where pinning the bend
        would otherwise select heavy-tailed hyper draws and push tau to its extremes).
        """
        rng = np.random.default_rng(seed)
        size = self.hyper["mu_log_tau"].size
        j = rng.integers(0, size, size=n)
        k = rng.integers(0, size, size=n) if independent else j
        h = {key: v[j] for key, v in self.hyper.items()}
        hb = {key: v[k] for key, v in self.hyper.items()}
        t1 = rng.standard_t(h["nu"])
        t2 = rng.standard_t(hb["nu"])
        tau = np.minimum(np.exp(h["mu_log_tau"] + h["sd_log_tau"] * t1), TAU_MAX)
        bias = np.minimum(hb["mu_bias"] + hb["sd_bias"] * t2, BIAS_MAX)
        return tau, bias

    def quantiles(self, q: tuple[float, ...] = (0.05, 0.5, 0.95)) -> dict[str, np.ndarray]:
        """Quantiles of a new study's tau and bias."""
        tau, bias = self.sample(20000)
        return {"tau": np.quantile(tau, q), "bias": np.quantile(bias, q)}


@dataclass(frozen=True)
class DriftDraws:
    """The drift draws attached to one fit (``tau`` and ``b`` per posterior draw)."""

    tau: np.ndarray
    bias: np.ndarray
    info: dict[str, Any]

    def summary(self) -> str:
        """One line: median and 90% interval of tau and bias, and the population used."""
        qt = np.quantile(self.tau, [0.05, 0.5, 0.95])
        qb = np.quantile(self.bias, [0.05, 0.5, 0.95])
        return (
            f"extrapolation drift: tau = {qt[1]:.4f} [{qt[0]:.4f}, {qt[2]:.4f}] log units per "
            f"decade, bend b = {qb[1]:+.3f} [{qb[0]:+.3f}, {qb[2]:+.3f}] of the law's decline "
            f"(population {self.info.get('population', '?')!r} of the drift prior "
            f"{self.info.get('source', '?')}; {self.update_note})"
        )

    @property
    def update_note(self) -> str:
        """How the study's own data updated the prior population (``drift_update``)."""
        up = self.info.get("update")
        if not up:
            return "not updated by the study's own data"
        note = up.get("note", "")
        if "ess" in up:
            note += (f" (tempered likelihood^{up.get('temper', '?')}; effective sample size of "
                     f"the weights {up['ess']:.0f} of {up.get('candidates', '?')} candidates)")
        if "systematic" in up:
            note += f"; {up['systematic']}"
        return note


@dataclass(frozen=True)
class _Choice:
    population: Population
    source: str
    sha: str

    def info(self) -> dict[str, Any]:
        return {"population": self.population.name, "source": self.source, "sha256": self.sha,
                "n_studies": self.population.n_studies}

    def draws(self, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        tau, bias = self.population.sample(n, seed)
        return tau, bias, self.info()


@dataclass(frozen=True)
class DriftPrior:
    """Populations of the extrapolation drift, learned across studies.

    Attributes
    ----------
    populations : dict[str, Population]
        ``"all"`` plus groups named ``"<family>|<kind>"``, ``"*|<kind>"`` or ``"<family>|*"``.
    studies : DataFrame
        Per study: its group, points, and posterior tau and bias.
    provenance : dict
        Package version, sweep settings, data hashes, the regeneration command.
    source : str
        Where it was loaded from.
    min_studies : int
        Fewest studies a group needs to be used instead of a broader population.
    """

    populations: dict[str, Population]
    studies: pd.DataFrame = field(default_factory=pd.DataFrame)
    provenance: dict[str, Any] = field(default_factory=dict)
    source: str = "fitted"
    min_studies: int = 3

    def __post_init__(self) -> None:
        if "all" not in self.populations:
            raise ValueError(f"drift prior ({self.source}): population 'all' missing")
        for p in self.populations.values():
            _check_hyper(p.hyper, f"{self.source}, population {p.name!r}")

    def population(self, family: str | None, kind: str | None) -> Population:
        """The most specific population with at least ``min_studies`` studies."""
        for key in (f"{family}|{kind}", f"*|{kind}", f"{family}|*"):
            pop = self.populations.get(key)
            if pop is not None and pop.n_studies >= self.min_studies:
                return pop
        return self.populations["all"]

    def sample(self, n: int, seed: int = 0, family: str | None = None,
               kind: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Draws of ``(tau, bias)`` for a new study of a given law family and scale kind."""
        return self.population(family, kind).sample(n, seed)

    def drift_quantiles(
        self, decades: float, decline: float = 0.0, probs: tuple[float, ...] = (0.05, 0.5, 0.95),
        seed: int = 0, family: str | None = None, kind: str | None = None,
    ) -> np.ndarray:
        """Quantiles of the multiplicative drift at ``decades`` for a law declining ``decline``."""
        tau, bias = self.sample(20000, seed, family, kind)
        xi = np.random.default_rng(seed + 1).standard_normal(tau.size)
        return np.exp(np.quantile(bias * decline + tau * xi * decades, probs))

    def trust_table(self, decades: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0),
                    family: str | None = None, kind: str | None = None) -> pd.DataFrame:
        """How far a new study's extrapolation may drift (random part only, no bend).

        Per distance: the 90% range of the multiplicative error of the expected curve from the
        random drift ``tau * xi * Delta`` (before parameter uncertainty, noise and the bend).
        """
        rows = []
        for d in decades:
            lo, med, hi = self.drift_quantiles(d, 0.0, family=family, kind=kind)
            rows.append({"decades": d, "drift_lower_90": lo, "drift_median": med,
                         "drift_upper_90": hi, "half_width_pct": 100 * (hi - lo) / 2})
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """One line per population: a new study's typical tau and bias."""
        lines = [f"drift prior ({self.source}, {len(self.studies)} studies):"]
        for name, pop in self.populations.items():
            q = pop.quantiles()
            qt, qb = q["tau"], q["bias"]
            lines.append(
                f"  {name:<22s} ({pop.n_studies:>2d} studies) tau {qt[1]:.4f} "
                f"[{qt[0]:.4f}, {qt[2]:.4f}]  bend {qb[1]:+.3f} [{qb[0]:+.3f}, {qb[2]:+.3f}]"
            )
        return "\n".join(lines)

    def thinned(self, max_draws: int = 1000) -> DriftPrior:
        """A copy with at most ``max_draws`` evenly spaced hyper-parameter draws per population.

        What is shipped: enough for the predictive tails, small enough to install.
        """
        pops = {}
        for name, pop in self.populations.items():
            n = len(pop.hyper["nu"])
            idx = np.unique(np.linspace(0, n - 1, min(n, max_draws)).round().astype(int))
            pops[name] = Population(pop.name, {k: np.asarray(v)[idx] for k, v in pop.hyper.items()},
                                    pop.n_studies)
        return replace(self, populations=pops)

    def fingerprint(self) -> str:
        """SHA-256 of the hyper-parameter draws of every population."""
        h = hashlib.sha256()
        for name in sorted(self.populations):
            h.update(name.encode())
            for k in HYPER_NAMES:
                h.update(np.ascontiguousarray(self.populations[name].hyper[k], float).tobytes())
        return h.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The file format (schema :data:`SCHEMA_VERSION`)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": _KIND,
            "package_version": __version__,
            "min_studies": self.min_studies,
            "provenance": self.provenance,
            "populations": {
                name: {
                    "n_studies": pop.n_studies,
                    "hyper": {k: [float(f"{x:.6g}") for x in pop.hyper[k]] for k in HYPER_NAMES},
                }
                for name, pop in self.populations.items()
            },
            "studies": json.loads(self.studies.to_json(orient="records")),
        }

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the JSON file (atomically); :func:`load_drift_prior` reads it back."""
        from bayes_scaling.io import atomic_write_text

        path = Path(path)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1, separators=(",", ":")))
        return path

    @classmethod
    def from_dict(cls, d: Any, source: str = "dict") -> DriftPrior:
        """Validate and build from :meth:`to_dict` output (``ValueError`` naming the problem)."""
        where = f"drift prior ({source})"
        if not isinstance(d, Mapping):
            raise ValueError(f"{where}: expected a JSON object, got {type(d).__name__}")
        if d.get("kind") != _KIND:
            raise ValueError(f"{where}: not a drift-prior file (kind={d.get('kind')!r})")
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"{where}: schema_version {d.get('schema_version')!r} is not supported by this "
                f"version of bayes_scaling (expects {SCHEMA_VERSION}); rebuild it with "
                "benchmarks/build_drift_prior.py"
            )
        pops = d.get("populations")
        if not isinstance(pops, Mapping) or not pops:
            raise ValueError(f"{where}: 'populations' must map names to hyper-parameter draws")
        out = {}
        for name, body in pops.items():
            if not isinstance(body, Mapping) or not isinstance(body.get("hyper"), Mapping):
                raise ValueError(f"{where}: population {name!r} needs a 'hyper' object")
            arrays = {}
            for k in HYPER_NAMES:
                if k not in body["hyper"]:
                    raise ValueError(f"{where}: population {name!r}: {k!r} missing")
                try:
                    arrays[k] = np.asarray(body["hyper"][k], dtype=np.float64)
                except (TypeError, ValueError):
                    raise ValueError(
                        f"{where}: population {name!r}: {k!r} must be a list of numbers"
                    ) from None
            n = body.get("n_studies", 0)
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise ValueError(f"{where}: population {name!r}: n_studies must be an integer")
            out[str(name)] = Population(str(name), arrays, n)
        ms = d.get("min_studies", 3)
        if isinstance(ms, bool) or not isinstance(ms, int) or ms < 1:
            raise ValueError(f"{where}: min_studies must be a positive integer")
        return cls(out, pd.DataFrame(d.get("studies", [])), dict(d.get("provenance", {})),
                   source, ms)


def _check_hyper(hyper: Mapping[str, np.ndarray], where: str) -> None:
    missing = [k for k in HYPER_NAMES if k not in hyper]
    if missing:
        raise ValueError(f"drift prior ({where}): hyper-parameters {missing} missing")
    sizes = {np.asarray(hyper[k]).size for k in HYPER_NAMES}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"drift prior ({where}): draws must be non-empty and equally long")
    for k in HYPER_NAMES:
        v = np.asarray(hyper[k])
        if v.ndim != 1 or not np.isfinite(v).all():
            raise ValueError(f"drift prior ({where}): {k} must be a 1-d array of finite numbers")
        if (k.startswith("sd_") or k == "nu") and not (v > 0).all():
            raise ValueError(f"drift prior ({where}): {k} must be positive")


def load_drift_prior(path: str | PathLike[str] | None = None) -> DriftPrior:
    """Load a drift prior: the shipped one (``path=None``) or a file written by ``save``."""
    if path is None:
        return _shipped()
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"drift prior file {str(p)!r} does not exist")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"drift prior file {str(p)!r} cannot be read as text ({err})") from None
    return _read(text, str(p))


@lru_cache(maxsize=1)
def _shipped() -> DriftPrior:
    text = resources.files("bayes_scaling.datasets").joinpath(_SHIPPED).read_text()
    return _read(text, "shipped")


def _read(text: str, source: str) -> DriftPrior:
    try:
        d = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"drift prior ({source}): not valid JSON ({err.msg})") from None
    return DriftPrior.from_dict(d, source)


def drift_population(prior: DriftPrior, law: Any, kind: str | None) -> _Choice:
    """The population a fit of ``law`` over a ``kind`` scale draws its drift from."""
    pop = prior.population(law_family(law), kind)
    return _Choice(pop, prior.source, prior.fingerprint()[:16])


def guess_scale_kind(law: Any, run: Any) -> str | None:
    """What the scale measures, from runs, the law's inputs and the column names."""
    if run.run_col is not None:
        return "steps"
    names = [s.lower() for s in law.scales] + [
        run.x_cols[law.inputs.index(s)].lower() for s in law.scales
    ]
    if len(law.scales) >= 2:
        return "compute"

    def has(*words: str) -> bool:
        return any(any(w == n or n.startswith(w) for w in words) for n in names)

    if has("c", "compute", "flop", "gflop", "pflop"):
        return "compute"
    if has("step", "iter", "epoch", "checkpoint"):
        return "steps"
    if has("n", "param", "n_param", "size", "model_size", "width"):
        return "params"
    if has("d", "token", "data", "example", "seen", "sample", "image", "pair", "sentence"):
        return "data"
    return None
