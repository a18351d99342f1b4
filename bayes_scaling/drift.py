"""How fast extrapolation goes wrong, learned across many studies: the drift prior.

One study cannot teach its own extrapolation error: a fit's leave-future-out errors describe how
*its* small runs predicted *its* slightly larger ones. Many studies can. A sweep
(:mod:`bayes_scaling.sweep`) backtests every study at several cut-offs and records, per held-out
point, the log error ``e`` of the parameter-only prediction, its predictive variance ``v`` and the
distance ``Delta`` (decades beyond the curve's data). This module fits, in NumPyro::

    e_i ~ Normal(b_s Delta_i + tau_s Delta_i xi_u,  v_i)      xi_u ~ Normal(0, 1)  per fitted curve
    log tau_s = mu_log_tau + sd_log_tau z_s                    per study s
    b_s       = mu_bias    + sd_bias    w_s

so each study has its own drift spread ``tau_s`` and systematic bias ``b_s`` (both per decade of
extrapolation, in log units of the metric), and a new study gets a *predictive distribution* for
its own ``(tau, b)`` from the population: :class:`DriftPrior` keeps posterior draws of the four
hyper-parameters and samples ``tau_new``, ``b_new`` from them. It is the default prior of the
extrapolation discrepancy of :class:`~bayes_scaling.ScalingLaw`; the shipped file is
``bayes_scaling/datasets/drift_prior.json`` (regenerate with ``python benchmarks/drift_sweep.py``
then ``python benchmarks/build_drift_prior.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling._version import __version__

__all__ = [
    "DriftPrior",
    "drift_model",
    "fit_drift_prior",
    "load_drift_prior",
    "SCHEMA_VERSION",
    "HYPER_NAMES",
    "POINT_COLUMNS",
    "BUNDLED_POINTS",
    "bundled_sweep",
    "rebuild_drift_prior",
]

#: Version of the drift-prior file format; bump on incompatible changes.
SCHEMA_VERSION = 1
#: Hyper-parameters of the population of studies, as stored.
HYPER_NAMES = ("mu_log_tau", "sd_log_tau", "mu_bias", "sd_bias")
#: Columns a sweep table needs for :func:`fit_drift_prior`.
POINT_COLUMNS = ("study", "unit", "decades", "error", "pred_var")
_SHIPPED = "drift_prior.json"
#: The bundled studies' sweep table shipped with the package (to refit with your own studies).
BUNDLED_POINTS = "drift_sweep_points.csv"


@dataclass(frozen=True)
class DriftPrior:
    """Population distribution of the extrapolation drift, learned across studies.

    Attributes
    ----------
    hyper : dict[str, ndarray]
        Posterior draws of ``mu_log_tau``, ``sd_log_tau``, ``mu_bias``, ``sd_bias``.
    studies : DataFrame
        Per study the posterior ``tau`` and ``bias`` (median, 5%, 95%) and the points used.
    provenance : dict
        Package version, sweep settings, data hashes, the regeneration command.
    source : str
        Where it was loaded from (``"shipped"``, a path, or ``"fitted"``).
    """

    hyper: dict[str, np.ndarray]
    studies: pd.DataFrame = field(default_factory=pd.DataFrame)
    provenance: dict[str, Any] = field(default_factory=dict)
    source: str = "fitted"

    def __post_init__(self) -> None:
        _check_hyper(self.hyper, self.source)

    @property
    def n_draws(self) -> int:
        """Number of hyper-parameter draws."""
        return int(self.hyper["mu_log_tau"].size)

    def sample(self, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draws of ``(tau, bias)`` for a new study (per decade, log units of the metric)."""
        rng = np.random.default_rng(seed)
        j = rng.integers(0, self.n_draws, size=n)
        h = {k: v[j] for k, v in self.hyper.items()}
        tau = np.exp(h["mu_log_tau"] + h["sd_log_tau"] * rng.standard_normal(n))
        bias = h["mu_bias"] + h["sd_bias"] * rng.standard_normal(n)
        return tau, bias

    def log_density(self, tau: np.ndarray, bias: np.ndarray, max_hyper: int = 400) -> np.ndarray:
        """Log predictive density of ``(tau, bias)`` (broadcast), averaged over hyper draws."""
        tau, bias = np.broadcast_arrays(np.asarray(tau, float), np.asarray(bias, float))
        step = max(1, self.n_draws // max_hyper)
        h = {k: v[::step] for k, v in self.hyper.items()}
        lt = np.log(np.maximum(tau, 1e-300))[..., None]
        z1 = (lt - h["mu_log_tau"]) / h["sd_log_tau"]
        z2 = (bias[..., None] - h["mu_bias"]) / h["sd_bias"]
        logp = (
            -0.5 * (z1**2 + z2**2)
            - np.log(h["sd_log_tau"] * h["sd_bias"] * 2 * np.pi)
            - lt  # lognormal Jacobian
        )
        m = logp.max(axis=-1, keepdims=True)
        return (m + np.log(np.exp(logp - m).mean(axis=-1, keepdims=True)))[..., 0]

    def drift_quantiles(
        self, decades: float, probs: tuple[float, ...] = (0.05, 0.5, 0.95), seed: int = 0
    ) -> np.ndarray:
        """Quantiles of the multiplicative drift ``exp((b + tau xi) Delta)`` at ``decades``."""
        tau, bias = self.sample(20000, seed)
        xi = np.random.default_rng(seed + 1).standard_normal(tau.size)
        return np.exp(np.quantile((bias + tau * xi) * decades, probs))

    def trust_table(self, decades: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0)) -> pd.DataFrame:
        """How far a new study's extrapolation may drift, from this prior alone.

        Per distance: the median drift and the 90% range of the multiplicative error of the
        expected curve (before parameter uncertainty and noise), and the half-width in percent.
        """
        rows = []
        for d in decades:
            lo, med, hi = self.drift_quantiles(d)
            rows.append(
                {
                    "decades": d,
                    "drift_median": med,
                    "drift_lower_90": lo,
                    "drift_upper_90": hi,
                    "half_width_pct": 100 * (hi - lo) / 2,
                }
            )
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """One line: the population's typical tau and bias."""
        tau, bias = self.sample(20000)
        qt = np.quantile(tau, [0.05, 0.5, 0.95])
        qb = np.quantile(bias, [0.05, 0.5, 0.95])
        n = len(self.studies)
        return (
            f"drift prior ({self.source}, {n} studies): tau = {qt[1]:.4f} [{qt[0]:.4f}, "
            f"{qt[2]:.4f}], bias = {qb[1]:+.4f} [{qb[0]:+.4f}, {qb[2]:+.4f}] log units per decade"
        )

    def describe(self) -> dict[str, Any]:
        """Short JSON description stored with fits (the draws themselves travel in the fit)."""
        return {
            "dist": "DriftPrior",
            "source": self.source,
            "sha256": self.fingerprint(),
            "n_studies": int(len(self.studies)),
        }

    def fingerprint(self) -> str:
        """SHA-256 of the hyper-parameter draws."""
        h = hashlib.sha256()
        for k in HYPER_NAMES:
            h.update(np.ascontiguousarray(self.hyper[k], dtype=np.float64).tobytes())
        return h.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        """The file format (schema version :data:`SCHEMA_VERSION`)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": "bayes_scaling.drift_prior",
            "package_version": __version__,
            "provenance": self.provenance,
            "hyper": {k: [float(f"{x:.6g}") for x in self.hyper[k]] for k in HYPER_NAMES},
            "studies": json.loads(self.studies.to_json(orient="records")),
        }

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the JSON file; :func:`load_drift_prior` reads it back."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def from_dict(cls, d: Any, source: str = "dict") -> DriftPrior:
        """Validate and build from :meth:`to_dict` output (``ValueError`` naming the problem)."""
        where = f"drift prior ({source})"
        if not isinstance(d, Mapping):
            raise ValueError(f"{where}: expected a JSON object, got {type(d).__name__}")
        if d.get("kind") != "bayes_scaling.drift_prior":
            raise ValueError(f"{where}: not a drift-prior file (kind={d.get('kind')!r})")
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"{where}: schema_version {d.get('schema_version')!r} is not supported by this "
                f"version of bayes_scaling (expects {SCHEMA_VERSION}); regenerate it with "
                "benchmarks/build_drift_prior.py"
            )
        hyper = d.get("hyper")
        if not isinstance(hyper, Mapping):
            raise ValueError(f"{where}: 'hyper' must map {list(HYPER_NAMES)} to lists of draws")
        arrays = {}
        for k in HYPER_NAMES:
            if k not in hyper:
                raise ValueError(f"{where}: hyper-parameter {k!r} missing")
            try:
                arrays[k] = np.asarray(hyper[k], dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise ValueError(f"{where}: hyper-parameter {k!r} must be numbers") from err
        studies = pd.DataFrame(d.get("studies", []))
        return cls(arrays, studies, dict(d.get("provenance", {})), source)


def _check_hyper(hyper: Mapping[str, np.ndarray], source: str) -> None:
    where = f"drift prior ({source})"
    missing = [k for k in HYPER_NAMES if k not in hyper]
    if missing:
        raise ValueError(f"{where}: hyper-parameters {missing} missing")
    sizes = {np.asarray(hyper[k]).size for k in HYPER_NAMES}
    if len(sizes) != 1 or 0 in sizes:
        raise ValueError(f"{where}: hyper-parameter draws must be non-empty and equally long")
    for k in HYPER_NAMES:
        v = np.asarray(hyper[k])
        if v.ndim != 1 or not np.isfinite(v).all():
            raise ValueError(f"{where}: {k} must be a 1-d array of finite numbers")
        if k.startswith("sd_") and not (v > 0).all():
            raise ValueError(f"{where}: {k} must be positive")


def load_drift_prior(path: str | PathLike[str] | None = None) -> DriftPrior:
    """Load a drift prior: the shipped one (``path=None``) or a file written by ``save``."""
    if path is None:
        return _shipped()
    p = Path(path)
    return _read(p.read_text(), str(p))


@lru_cache(maxsize=1)
def _shipped() -> DriftPrior:
    text = resources.files("bayes_scaling.datasets").joinpath(_SHIPPED).read_text()
    return _read(text, "shipped")


def _read(text: str, source: str) -> DriftPrior:
    try:
        d = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"drift prior ({source}): not valid JSON ({err})") from err
    return DriftPrior.from_dict(d, source)


# ------------------------------------------------------------------ the hierarchical model


def drift_model(
    error: np.ndarray,
    pred_var: np.ndarray,
    decades: np.ndarray,
    study_idx: np.ndarray,
    unit_idx: np.ndarray,
    n_studies: int,
    n_units: int,
) -> None:
    """NumPyro model of extrapolation errors across studies (see module docstring)."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    mu_log_tau = numpyro.sample("mu_log_tau", dist.Normal(np.log(0.02), 1.5))
    sd_log_tau = numpyro.sample("sd_log_tau", dist.HalfNormal(1.0))
    mu_bias = numpyro.sample("mu_bias", dist.Normal(0.0, 0.05))
    sd_bias = numpyro.sample("sd_bias", dist.HalfNormal(0.05))
    with numpyro.plate("study", n_studies):
        z = numpyro.sample("z_tau", dist.Normal(0.0, 1.0))
        w = numpyro.sample("z_bias", dist.Normal(0.0, 1.0))
        tau = numpyro.deterministic("tau", jnp.exp(mu_log_tau + sd_log_tau * z))
        bias = numpyro.deterministic("bias", mu_bias + sd_bias * w)
    with numpyro.plate("unit", n_units):
        xi = numpyro.sample("xi", dist.Normal(0.0, 1.0))
    loc = (bias[study_idx] + tau[study_idx] * xi[unit_idx]) * decades
    with numpyro.plate("point", error.shape[0]):
        numpyro.sample("error", dist.Normal(loc, jnp.sqrt(pred_var)), obs=error)


def _prepare(points: pd.DataFrame) -> tuple[dict[str, Any], list[str], pd.DataFrame]:
    missing = [c for c in POINT_COLUMNS if c not in points.columns]
    if missing:
        raise ValueError(
            f"sweep table lacks column(s) {missing}; needs {list(POINT_COLUMNS)} "
            "(see bayes_scaling.sweep.sweep_study)"
        )
    p = points[points["decades"] > 0]
    if len(p) == 0:
        raise ValueError("sweep table has no points beyond the training data (decades > 0)")
    for c in ("decades", "error", "pred_var"):
        v = p[c].to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise ValueError(f"sweep table column {c!r} has NaN or infinite values")
    if (p["pred_var"] <= 0).any():
        raise ValueError("sweep table column 'pred_var' must be positive")
    study = p["study"].astype(str)
    unit_key = study + "|" + p["unit"].astype(str)
    studies = list(dict.fromkeys(study))
    units = list(dict.fromkeys(unit_key))
    study_idx = study.map({s: i for i, s in enumerate(studies)}).to_numpy()
    unit_idx = unit_key.map({u: i for i, u in enumerate(units)}).to_numpy()
    args = dict(
        error=p["error"].to_numpy(float),
        pred_var=p["pred_var"].to_numpy(float),
        decades=p["decades"].to_numpy(float),
        study_idx=study_idx,
        unit_idx=unit_idx,
        n_studies=len(studies),
        n_units=len(units),
    )
    return args, studies, p


def fit_drift_prior(
    points: pd.DataFrame,
    *,
    chains: int = 2,
    warmup: int = 500,
    draws: int = 500,
    seed: int = 0,
    provenance: Mapping[str, Any] | None = None,
) -> DriftPrior:
    """Fit the cross-study drift model to a sweep table and return the population prior.

    Parameters
    ----------
    points : DataFrame
        Sweep rows (:func:`bayes_scaling.sweep.sweep_study`), one per held-out point, with
        columns ``study``, ``unit`` (the fitted curve the point belongs to: points of one unit
        share a drift direction), ``decades``, ``error`` (log y minus the mean log prediction)
        and ``pred_var`` (variance of the log prediction, parameters and noise). Points with
        ``decades <= 0`` carry no information about drift and are ignored.
    chains, warmup, draws, seed
        NUTS settings.
    provenance : mapping, optional
        Stored with the prior.
    """
    import jax
    from numpyro.infer import MCMC, NUTS

    args, studies, p = _prepare(points)
    mcmc = MCMC(
        NUTS(drift_model, target_accept_prob=0.9),
        num_warmup=warmup,
        num_samples=draws,
        num_chains=chains,
        chain_method="sequential",
        progress_bar=False,
    )
    mcmc.run(jax.random.PRNGKey(seed), **args)
    s = {k: np.asarray(v, dtype=np.float64) for k, v in mcmc.get_samples().items()}
    extra = mcmc.get_extra_fields()
    n_div = int(np.asarray(extra["diverging"]).sum()) if "diverging" in extra else 0
    n_per_study = np.bincount(args["study_idx"], minlength=len(studies))
    rows = []
    for j, name in enumerate(studies):
        t, b = s["tau"][:, j], s["bias"][:, j]
        rows.append(
            {
                "study": name,
                "n_points": int(n_per_study[j]),
                "tau_median": float(np.median(t)),
                "tau_lower": float(np.quantile(t, 0.05)),
                "tau_upper": float(np.quantile(t, 0.95)),
                "bias_median": float(np.median(b)),
                "bias_lower": float(np.quantile(b, 0.05)),
                "bias_upper": float(np.quantile(b, 0.95)),
            }
        )
    prov = {
        "package_version": __version__,
        "fit": {"chains": chains, "warmup": warmup, "draws": draws, "seed": seed},
        "n_points": int(len(p)),
        "n_units": int(args["n_units"]),
        "divergences": n_div,
        **dict(provenance or {}),
    }
    return DriftPrior({k: s[k] for k in HYPER_NAMES}, pd.DataFrame(rows), prov, "fitted")


def bundled_sweep() -> pd.DataFrame:
    """The sweep table of the bundled real studies the shipped prior was fitted to."""
    with resources.files("bayes_scaling.datasets").joinpath(BUNDLED_POINTS).open("r") as fh:
        return pd.read_csv(fh)


def rebuild_drift_prior(
    points: pd.DataFrame,
    *,
    include_bundled: bool = True,
    chains: int = 2,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
) -> DriftPrior:
    """Refit the drift prior with your own studies' sweep rows added to the bundled ones.

    ``points`` come from :func:`bayes_scaling.sweep.sweep_study` on your runs (give each study
    a distinct ``study`` name). Save the result with :meth:`DriftPrior.save` and use it with
    ``ScalingLaw(discrepancy_prior=load_drift_prior(path))``.
    """
    missing = [c for c in POINT_COLUMNS if c not in points.columns]
    if missing:
        raise ValueError(f"points lack column(s) {missing}; needs {list(POINT_COLUMNS)}")
    frames = [points]
    if include_bundled:
        bundled = bundled_sweep()
        clash = set(points["study"].astype(str)) & set(bundled["study"].astype(str))
        if clash:
            raise ValueError(
                f"study name(s) {sorted(clash)} already used by the bundled sweep; rename them"
            )
        frames.insert(0, bundled)
    table = pd.concat(frames, ignore_index=True)
    return fit_drift_prior(
        table,
        chains=chains,
        warmup=warmup,
        draws=draws,
        seed=seed,
        provenance={"rebuilt_with": sorted(set(points["study"].astype(str)))},
    )
