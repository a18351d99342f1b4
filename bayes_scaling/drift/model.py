"""The cross-study drift model: how extrapolation errors behave, learned from many backtests.

A sweep (:mod:`bayes_scaling.drift.sweep`) backtests every study at several cut-offs and records,
per held-out point ``i``: the log error ``e_i`` of the parameter-only prediction (log y minus the
mean log prediction), its predictive variance ``v_i``, the distance ``Delta_i`` beyond the data
(decades, :mod:`bayes_scaling.drift.distance`) and the law's own predicted decline
``d_i = m(x0) - m(x)`` from the data's edge to the point. The model::

    e_i ~ StudentT(nu_e, b_s d_i + tau_s xi_u Delta_i, sqrt(v_i))     xi_u ~ N(0, 1) per curve
    log tau_s ~ StudentT(nu, mu_tau[g], sd_tau)      b_s ~ StudentT(nu, mu_b[g], sd_b)
    mu_tau[g] ~ N(mu_tau0, sd_tau_g)                 mu_b[g] ~ N(0 + mu_b0, sd_b_g)

per study ``s`` in group ``g`` (law family and what the scale measures). The bend ``b`` has a
prior centred at zero: its sign is learned, not assumed. Studies have heavy (Student-t) tails.
:func:`fit_drift_prior` turns the posterior into a :class:`~bayes_scaling.drift.prior.DriftPrior`
with populations ``all``, per group, per kind (``*|kind``) and per family (``family|*``).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling._version import __version__
from bayes_scaling.drift.prior import DriftPrior, Population

__all__ = [
    "drift_model",
    "fit_drift_prior",
    "rebuild_drift_prior",
    "bundled_sweep",
    "POINT_COLUMNS",
    "BUNDLED_POINTS",
]

#: Columns a sweep table needs.
POINT_COLUMNS = ("study", "group", "unit", "decades", "decline", "error", "pred_var")
#: The bundled studies' sweep table shipped with the package.
BUNDLED_POINTS = "drift_sweep_points.csv"


def drift_model(
    error: Any,
    pred_var: Any,
    decades: Any,
    decline: Any,
    study_idx: Any,
    unit_idx: Any,
    study_group: Any,
    n_studies: int,
    n_units: int,
    n_groups: int,
) -> None:
    """NumPyro model of extrapolation errors across studies (see module docstring)."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    mu_tau0 = numpyro.sample("mu_tau0", dist.Normal(np.log(0.02), 1.5))
    mu_b0 = numpyro.sample("mu_b0", dist.Normal(0.0, 0.3))
    sd_tau_g = numpyro.sample("sd_tau_g", dist.HalfNormal(1.0))
    sd_b_g = numpyro.sample("sd_b_g", dist.HalfNormal(0.3))
    sd_tau = numpyro.sample("sd_tau", dist.HalfNormal(1.0))
    sd_b = numpyro.sample("sd_b", dist.HalfNormal(0.3))
    nu = numpyro.sample("nu", dist.Gamma(2.0, 0.2))
    nu_e = numpyro.sample("nu_e", dist.Gamma(2.0, 0.1))
    with numpyro.plate("group", n_groups):
        g_tau = numpyro.sample("g_tau", dist.Normal(0.0, 1.0))
        g_b = numpyro.sample("g_b", dist.Normal(0.0, 1.0))
    mu_tau = numpyro.deterministic("mu_tau", mu_tau0 + sd_tau_g * g_tau)
    mu_b = numpyro.deterministic("mu_b", mu_b0 + sd_b_g * g_b)
    with numpyro.plate("study", n_studies):
        z_tau = numpyro.sample("z_tau", dist.StudentT(nu, 0.0, 1.0))
        z_b = numpyro.sample("z_b", dist.StudentT(nu, 0.0, 1.0))
        tau = numpyro.deterministic("tau", jnp.exp(mu_tau[study_group] + sd_tau * z_tau))
        bias = numpyro.deterministic("bias", mu_b[study_group] + sd_b * z_b)
    with numpyro.plate("unit", n_units):
        xi = numpyro.sample("xi", dist.Normal(0.0, 1.0))
    loc = bias[study_idx] * decline + tau[study_idx] * xi[unit_idx] * decades
    with numpyro.plate("point", error.shape[0]):
        numpyro.sample("error", dist.StudentT(nu_e, loc, jnp.sqrt(pred_var)), obs=error)


def _prepare(points: pd.DataFrame) -> tuple[dict[str, Any], list[str], list[str], pd.DataFrame]:
    missing = [c for c in POINT_COLUMNS if c not in points.columns]
    if missing:
        raise ValueError(
            f"sweep table lacks column(s) {missing}; needs {list(POINT_COLUMNS)} "
            "(see bayes_scaling.drift.sweep.sweep_study)"
        )
    p = points[points["decades"] > 0]
    if len(p) == 0:
        raise ValueError("sweep table has no points beyond the training data (decades > 0)")
    for c in ("decades", "decline", "error", "pred_var"):
        v = p[c].to_numpy(dtype=float)
        if not np.isfinite(v).all():
            raise ValueError(f"sweep table column {c!r} has NaN or infinite values")
    if (p["pred_var"] <= 0).any():
        raise ValueError("sweep table column 'pred_var' must be positive")
    study = p["study"].astype(str)
    unit_key = study + "|" + p["unit"].astype(str)
    studies = list(dict.fromkeys(study))
    units = list(dict.fromkeys(unit_key))
    # A study backtested with several laws enters once, in the group of its first law: all its
    # points share one (tau, b). Separating the laws (one drift per study x law, study effects
    # shared, optionally group-specific spreads) was measured leave-one-study-out on the bundled
    # sweep and did not help: mean 90% interval score over 12 studies 0.337 as is, 0.360 and 0.380
    # separated (narrower on one-input studies, about twice as wide on the compute studies).
    group_of = p.groupby(study.to_numpy())["group"].first().astype(str)
    groups = list(dict.fromkeys(group_of[s] for s in studies))
    args = dict(
        error=p["error"].to_numpy(float),
        pred_var=p["pred_var"].to_numpy(float),
        decades=p["decades"].to_numpy(float),
        decline=p["decline"].to_numpy(float),
        study_idx=study.map({s: i for i, s in enumerate(studies)}).to_numpy(),
        unit_idx=unit_key.map({u: i for i, u in enumerate(units)}).to_numpy(),
        study_group=np.array([groups.index(group_of[s]) for s in studies]),
        n_studies=len(studies),
        n_units=len(units),
        n_groups=len(groups),
    )
    return args, studies, groups, p


def _population(name: str, n: int, mu_tau: np.ndarray, sd_tau: np.ndarray, mu_b: np.ndarray,
                sd_b: np.ndarray, nu: np.ndarray) -> Population:
    return Population(
        name,
        {"mu_log_tau": mu_tau, "sd_log_tau": sd_tau, "mu_bias": mu_b, "sd_bias": sd_b, "nu": nu},
        n,
    )


def fit_drift_prior(
    points: pd.DataFrame,
    *,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
    provenance: Mapping[str, Any] | None = None,
) -> DriftPrior:
    """Fit the cross-study drift model to a sweep table and return the drift prior.

    Parameters
    ----------
    points : DataFrame
        Sweep rows (:func:`bayes_scaling.drift.sweep.sweep_study`) with the columns of
        :data:`POINT_COLUMNS`; ``group`` is ``"<family>|<kind>"``. Points with ``decades <= 0``
        carry no information about drift and are ignored.
    chains, warmup, draws, seed
        NUTS settings (the package's own sampler).
    provenance : mapping, optional
        Stored with the prior.
    """
    import jax.numpy as jnp

    from bayes_scaling.inference import SamplerSettings, run_nuts

    args, studies, groups, p = _prepare(points)
    arrays = {k: v for k, v in args.items() if not k.startswith("n_")}
    static = {k: v for k, v in args.items() if k.startswith("n_")}

    def model(**kw: Any) -> None:
        drift_model(**kw, **static)

    settings = SamplerSettings(chains, warmup, draws, seed, 0.95)
    samples = run_nuts(
        model,
        {k: jnp.asarray(v) for k, v in arrays.items()},
        settings,
        cache_key=("drift", tuple(sorted(static.items())), len(p)),
    )
    s = {k: np.asarray(v).reshape(-1, *np.asarray(v).shape[2:]) for k, v in
         samples.posterior.items()}
    n_div = int(samples.stats["diverging"].sum())
    rng = np.random.default_rng(seed)
    n = s["mu_tau0"].size
    pops = {}
    new_tau = s["mu_tau0"] + s["sd_tau_g"] * rng.standard_normal(n)
    new_b = s["mu_b0"] + s["sd_b_g"] * rng.standard_normal(n)
    pops["all"] = _population("all", len(studies), new_tau, s["sd_tau"], new_b, s["sd_b"],
                              s["nu"])
    study_group = args["study_group"]
    for j, g in enumerate(groups):
        count = int((study_group == j).sum())
        pops[g] = _population(g, count, s["mu_tau"][:, j], s["sd_tau"], s["mu_b"][:, j],
                              s["sd_b"], s["nu"])
    # marginal populations: a kind (any family) or a family (any kind), mixing their groups
    for side in (0, 1):
        keys: dict[str, list[int]] = {}
        for j, g in enumerate(groups):
            part = g.split("|")[side]
            keys.setdefault(part, []).append(j)
        for part, js in keys.items():
            name = f"*|{part}" if side == 1 else f"{part}|*"
            pick = np.asarray(js)[rng.integers(0, len(js), n)]
            count = int(np.isin(study_group, js).sum())
            pops[name] = _population(
                name, count, s["mu_tau"][np.arange(n), pick], s["sd_tau"],
                s["mu_b"][np.arange(n), pick], s["sd_b"], s["nu"],
            )
    rows = []
    n_per_study = np.bincount(args["study_idx"], minlength=len(studies))
    for j, name in enumerate(studies):
        t, b = s["tau"][:, j], s["bias"][:, j]
        rows.append({
            "study": name, "group": groups[study_group[j]], "n_points": int(n_per_study[j]),
            "tau_median": float(np.median(t)), "tau_lower": float(np.quantile(t, 0.05)),
            "tau_upper": float(np.quantile(t, 0.95)), "bias_median": float(np.median(b)),
            "bias_lower": float(np.quantile(b, 0.05)), "bias_upper": float(np.quantile(b, 0.95)),
        })
    prov = {
        "package_version": __version__,
        "fit": {"chains": chains, "warmup": warmup, "draws": draws, "seed": seed},
        "n_points": int(len(p)),
        "n_units": int(args["n_units"]),
        "groups": groups,
        "divergences": n_div,
        **dict(provenance or {}),
    }
    return DriftPrior(pops, pd.DataFrame(rows), prov, "fitted")


def bundled_sweep() -> pd.DataFrame:
    """The sweep table of the bundled real studies the shipped prior was fitted to."""
    with resources.files("bayes_scaling.datasets").joinpath(BUNDLED_POINTS).open("r") as fh:
        return pd.read_csv(fh)


def rebuild_drift_prior(
    points: pd.DataFrame,
    *,
    include_bundled: bool = True,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
) -> DriftPrior:
    """Refit the drift prior with your own studies' sweep rows added to the bundled ones.

    ``points`` come from :func:`bayes_scaling.drift.sweep.sweep_study` on your runs (give each
    study a distinct ``study`` name). Save the result with :meth:`DriftPrior.save` and use it
    with ``ScalingLaw(discrepancy_prior=load_drift_prior(path))``.
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
        table, chains=chains, warmup=warmup, draws=draws, seed=seed,
        provenance={"rebuilt_with": sorted(set(points["study"].astype(str)))},
    )
