"""Thin estimator objects: :class:`ScalingLaw` (a specification) and :class:`ScalingFit` (a result).

``ScalingLaw(...).fit(data, x=..., y=..., groups=...)`` returns a new :class:`ScalingFit`; neither
object is mutated afterwards. A fit holds its ArviZ InferenceData and everything needed to predict,
save and reload it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling._version import __version__
from bayes_scaling.data import RunData, as_columns, validate_runs
from bayes_scaling.diagnostics import Diagnostics, check_diagnostics
from bayes_scaling.discrepancy import (
    Discrepancy,
    drift_posterior,
    inner_errors,
    lfo_split,
    prior_info,
    tau_posterior,
)
from bayes_scaling.distributions import HUBER_DELTA
from bayes_scaling.drift import DriftPrior, load_drift_prior
from bayes_scaling.inference import SamplerSettings, build_idata, curve_coord, run_nuts
from bayes_scaling.laws import Law, get_law
from bayes_scaling.model import Design, default_priors, make_design, scaling_model
from bayes_scaling.priors import Prior, merge_priors

__all__ = ["ScalingLaw", "ScalingFit", "resolve_priors"]

#: Schema version of the metadata stored with a fit.
FORMAT_VERSION = 1


def resolve_priors(law: Law, design: Design, user: Mapping[str, Any] | None) -> dict[str, Prior]:
    """Merge user priors into the defaults.

    A key ``<linked>_sd`` (e.g. ``log_alpha_sd``) sets the effect-scale prior of every factor and
    of the per-curve residual at once; a specific key such as ``log_alpha_sd_architecture`` wins.
    """
    defaults = default_priors(law, design)
    user = dict(user or {})
    expanded: dict[str, Any] = {}
    for p in law.params:
        key = f"{p.linked}_sd"
        if key in user:
            value = user.pop(key)
            for name in defaults:
                if name.startswith(key + "_"):
                    expanded[name] = value
            if not any(n.startswith(key + "_") for n in defaults):
                raise ValueError(
                    f"prior {key!r} sets group-effect scales, but this model has none "
                    f"(pooling={design.pooling!r}, factors={list(design.factors)})"
                )
    expanded.update(user)
    return merge_priors(defaults, expanded)


@dataclass(frozen=True)
class ScalingLaw:
    """Specification of a Bayesian (hierarchical) scaling-law model.

    Parameters
    ----------
    law : str or Law
        Functional form: ``"power"``, ``"saturating"``, ``"broken"``, ``"chinchilla"`` or
        ``"kaplan"`` (see :mod:`bayes_scaling.laws`).
    pooling : {"partial", "none", "complete"}
        Share strength between curves (``partial``), fit each curve alone (``none``) or fit one
        curve to all rows (``complete``).
    likelihood : {"normal", "student_t", "huber"}
        Noise of ``log(y)``; Student-t and Huber are robust to diverged or mis-tuned runs (Huber
        is what Hoffmann et al. 2022 and Epoch fitted Chinchilla with).
    noise : str
        ``"curve"`` (one scale per curve, partially pooled), ``"shared"`` or a grouping column (one
        scale per level of that factor).
    priors : mapping, optional
        Prior overrides by site name; see :meth:`prior_names`.
    min_points : int, optional
        Fewest rows per curve; defaults to the law's number of parameters.
    huber_delta : float
        Huber threshold in noise scales (only with ``likelihood="huber"``; default 1.345).
    discrepancy : {"prior", "lfo", "none"}
        Extrapolation discrepancy (see :mod:`bayes_scaling.discrepancy`): a drift growing with
        the distance beyond the data, drawn from ``discrepancy_prior`` (default; learned across
        real studies, no extra fit), that prior updated by leave-future-out inside the data
        (``"lfo"``; one extra fit; worse calibrated in the leave-one-study-out benchmark, as
        inner errors do not predict outer ones), or none (parameter-only intervals).
    discrepancy_prior : DriftPrior or Prior, optional
        Prior of the drift: default the :class:`~bayes_scaling.drift.DriftPrior` learned across
        the bundled real studies (spread ``tau`` and bias ``b`` per decade beyond the data; see
        :mod:`bayes_scaling.drift`); another ``DriftPrior`` (e.g. refitted with your studies,
        :func:`~bayes_scaling.drift.load_drift_prior`), or a :class:`Prior` on ``tau`` alone
        (no bias), e.g. ``Prior("HalfNormal", scale=0.05)``.
    lfo_holdout : float
        Fraction of each curve's log-scale range held out by the leave-future-out inner fit.

    Examples
    --------
    >>> model = ScalingLaw("saturating", priors={"log_alpha": Prior("Normal", loc=-1.5, scale=0.5)})
    >>> fit = model.fit(runs, x="N", y="loss", groups=["architecture"])  # doctest: +SKIP
    """

    law: str | Law = "saturating"
    pooling: str = "partial"
    likelihood: str = "normal"
    noise: str = "curve"
    priors: Mapping[str, Any] | None = None
    min_points: int | None = None
    huber_delta: float = HUBER_DELTA
    discrepancy: str = "prior"
    discrepancy_prior: Prior | DriftPrior | None = None
    lfo_holdout: float = 0.3

    def _prepare(
        self, data: Any, x: Any, y: str, groups: Any, strict: bool
    ) -> tuple[Law, RunData, Design, dict[str, Prior]]:
        law = get_law(self.law)
        if self.discrepancy not in ("lfo", "prior", "none"):
            raise ValueError(
                f"discrepancy must be 'lfo', 'prior' or 'none', got {self.discrepancy!r}"
            )
        if self.discrepancy_prior is not None and not isinstance(
            self.discrepancy_prior, Prior | DriftPrior
        ):
            raise TypeError(
                "discrepancy_prior must be a DriftPrior (load_drift_prior(path)) or a Prior on "
                f"tau, e.g. Prior('HalfNormal', scale=0.05); got {type(self.discrepancy_prior)}"
            )
        x_cols = as_columns(x, "x")
        if len(x_cols) != law.n_inputs:
            raise ValueError(
                f"law {law.name!r} takes {law.n_inputs} scale column(s) "
                f"({', '.join(law.input_names)}); got {len(x_cols)}: {list(x_cols)}"
            )
        min_points = self._min_points(law)
        if isinstance(min_points, bool) or not isinstance(min_points, int) or min_points < 1:
            raise ValueError(f"min_points must be a positive integer, got {self.min_points!r}")
        if self.pooling != "partial" and min_points < law.n_params:
            raise ValueError(
                f"min_points={min_points} is below the law's {law.n_params} parameters; only "
                "pooling='partial' can fit curves with fewer points than parameters"
            )
        run = validate_runs(data, x_cols, y, groups, min_points=min_points, strict=strict)
        design = make_design(run, self.pooling, self.likelihood, self.noise, self.huber_delta)
        return law, run, design, resolve_priors(law, design, self.priors)

    def _min_points(self, law: Law) -> int:
        """Fewest rows per curve: ``min_points`` if given, else the law's parameter count."""
        return law.n_params if self.min_points is None else self.min_points

    def prior_names(
        self, data: Any, x: str | Sequence[str], y: str, groups: str | Sequence[str] | None = None
    ) -> dict[str, Prior]:
        """The priors this model would use on ``data``, by overridable name."""
        return self._prepare(data, x, y, groups, False)[3]

    def fit(
        self,
        data: pd.DataFrame | str | PathLike[str],
        x: str | Sequence[str],
        y: str,
        groups: str | Sequence[str] | None = None,
        *,
        chains: int = 4,
        warmup: int = 1000,
        draws: int = 1000,
        seed: int = 0,
        target_accept: float = 0.9,
        progress: bool | None = None,
        strict: bool = False,
        warn: bool = True,
    ) -> ScalingFit:
        """Fit the model with NUTS.

        Parameters
        ----------
        data : DataFrame or CSV path
            One row per run.
        x : str or list of str
            Scale column(s) (as many as the law has inputs).
        y : str
            Metric column (loss or error; lower is better).
        groups : str or list of str, optional
            Grouping columns (architecture, domain, dataset...).
        chains, warmup, draws, seed, target_accept
            NUTS settings; ``seed`` makes the run reproducible.
        progress : bool, optional
            Progress bar (default: only in a terminal).
        strict : bool
            Reject duplicate rows.
        warn : bool
            Emit a :class:`~bayes_scaling.diagnostics.SamplerWarning` when diagnostics fail.

        Returns
        -------
        ScalingFit
        """
        settings = SamplerSettings(chains, warmup, draws, seed, target_accept)
        law, run, design, priors = self._prepare(data, x, y, groups, strict)
        log_x = np.log(run.x)
        log_x_ref = log_x.mean(axis=0)
        log_y_ref = float(np.log(run.y).mean())
        curve_idx = run.curve_idx if design.pooling != "complete" else np.zeros_like(run.curve_idx)
        curves = run.curves if design.pooling != "complete" else [("*",) * len(run.group_cols)]
        mcmc = run_nuts(
            scaling_model,
            dict(
                z=log_x - log_x_ref,
                curve_idx=curve_idx,
                law=law,
                design=design,
                priors=priors,
                log_y=np.log(run.y) - log_y_ref,
            ),
            settings,
            progress=progress,
        )
        meta = {
            "format_version": FORMAT_VERSION,
            "package_version": __version__,
            "law": law.name,
            "x_cols": list(run.x_cols),
            "y_col": run.y_col,
            "group_cols": list(run.group_cols),
            "levels": run.levels,
            "curves": [list(c) for c in curves],
            "design": design.to_dict(),
            "priors": {k: v.to_dict() for k, v in priors.items()},
            "log_x_ref": log_x_ref.tolist(),
            "log_y_ref": log_y_ref,
            "sampler": dict(settings),
        }
        idata = build_idata(
            mcmc,
            law_params=[(p.name, p.linked) for p in law.params],
            design=design,
            levels=run.levels,
            curve_labels=curve_coord(run.group_cols, curves),
            x=run.x,
            y=run.y,
            x_cols=run.x_cols,
            level_idx=run.level_idx,
            curve_idx=curve_idx,
            meta=meta,
        )
        fit = ScalingFit.from_idata(idata)
        if self.discrepancy != "none":
            disc = self._learn_discrepancy(data, run, settings, progress)
            fit = fit.with_discrepancy(disc)
        if warn:
            fit.check(warn=True)
        return fit

    def _learn_discrepancy(
        self, data: Any, run: RunData, settings: SamplerSettings, progress: bool | None
    ) -> Discrepancy:
        from bayes_scaling.predict import predictive_draws

        n_draws = settings["chains"] * settings["draws"]
        prior = self.discrepancy_prior or load_drift_prior()
        info = prior_info(prior)

        def draws(errors: np.ndarray, variances: np.ndarray, decades: np.ndarray) -> tuple:
            if isinstance(prior, DriftPrior):
                return drift_posterior(
                    errors, variances, decades, prior, n_draws=n_draws, seed=settings["seed"]
                )
            tau = tau_posterior(
                errors, variances, decades, prior, n_draws=n_draws, seed=settings["seed"]
            )
            return tau, None

        min_points = self._min_points(get_law(self.law))
        mask = lfo_split(run, self.lfo_holdout, min_points) if self.discrepancy == "lfo" else None
        if mask is None or not mask.any():
            empty = np.array([])
            tau, bias = draws(empty, empty, empty)
            return Discrepancy(tau, "prior", info, {"n_points": 0}, bias)
        inner_spec = replace(self, discrepancy="none")
        cols = list(run.x_cols) + [run.y_col] + list(run.group_cols)
        frame = run.frame[cols]
        inner = inner_spec.fit(
            frame[~mask],
            x=run.x_cols,
            y=run.y_col,
            groups=run.group_cols or None,
            chains=settings["chains"],
            # the inner fit only feeds predictive means and variances: half the draws suffice
            warmup=max(settings["warmup"] // 2, min(settings["warmup"], 200)),
            draws=max(settings["draws"] // 2, min(settings["draws"], 200)),
            seed=settings["seed"] + 1,
            target_accept=settings["target_accept"],
            progress=progress,
            warn=False,
        )
        held = frame[mask]
        d = predictive_draws(inner, held, seed=settings["seed"], max_decades=np.inf)
        errors, variances = inner_errors(np.log(d.observed), np.log(run.y[mask]))
        tau, bias = draws(errors, variances, d.decades)
        details = {
            "n_points": int(mask.sum()),
            "holdout": self.lfo_holdout,
            "inner_decades_max": float(d.decades.max()),
            "inner_median_abs_log_error": float(np.median(np.abs(errors))),
            "inner_coverage90_without_discrepancy": float(
                np.mean(np.abs(errors) <= 1.645 * np.sqrt(variances))
            ),
            "inner": {
                "errors": [float(f"{v:.6g}") for v in errors],
                "variances": [float(f"{v:.6g}") for v in variances],
                "decades": [float(f"{v:.6g}") for v in d.decades],
            },
        }
        return Discrepancy(tau, "lfo", info, details, bias)


@dataclass(frozen=True, eq=False)
class ScalingFit:
    """A fitted model: posterior draws plus everything needed to predict, summarise and save.

    Build one with :meth:`ScalingLaw.fit` or :func:`bayes_scaling.load_fit`.
    """

    idata: _arviz.InferenceData
    law: Law
    design: Design
    priors: dict[str, Prior]
    x_cols: tuple[str, ...]
    y_col: str
    group_cols: tuple[str, ...]
    levels: dict[str, list[str]]
    curves: list[tuple[str, ...]]
    log_x_ref: np.ndarray
    log_y_ref: float
    sampler: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_idata(cls, idata: _arviz.InferenceData) -> ScalingFit:
        """Rebuild a fit from InferenceData written by this package."""
        raw = _arviz.attrs(idata).get("bayes_scaling")
        if raw is None:
            raise ValueError("this InferenceData was not written by bayes_scaling (no metadata)")
        meta = json.loads(raw)
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"fit was written by bayes_scaling {meta.get('package_version')} with format "
                f"{meta['format_version']}; this version ({__version__}) reads up to "
                f"{FORMAT_VERSION}: upgrade bayes_scaling"
            )
        return cls(
            idata=idata,
            law=get_law(meta["law"]),
            design=Design.from_dict(meta["design"]),
            priors={k: Prior.from_dict(v) for k, v in meta["priors"].items()},
            x_cols=tuple(meta["x_cols"]),
            y_col=meta["y_col"],
            group_cols=tuple(meta["group_cols"]),
            levels={k: list(v) for k, v in meta["levels"].items()},
            curves=[tuple(c) for c in meta["curves"]],
            log_x_ref=np.asarray(meta["log_x_ref"], dtype=np.float64),
            log_y_ref=float(meta["log_y_ref"]),
            sampler=dict(meta.get("sampler", {})),
            meta=meta,
        )

    # ------------------------------------------------------------------ data
    def training_data(self) -> pd.DataFrame:
        """The fitted rows as a table (group, scale and metric columns, original order)."""
        x = _arviz.group_var(self.idata, "constant_data", "x")
        y = _arviz.group_var(self.idata, "constant_data", "y")
        lev = _arviz.group_var(self.idata, "constant_data", "level_idx")
        out = {
            g: np.asarray(self.levels[g], dtype=object)[lev[:, j]]
            for j, g in enumerate(self.group_cols)
        }
        out.update({c: x[:, k] for k, c in enumerate(self.x_cols)})
        out[self.y_col] = y
        return pd.DataFrame(out)

    @property
    def curve_labels(self) -> list[str]:
        """Readable curve labels, in the order of the ``curve`` dimension."""
        return curve_coord(self.group_cols, self.curves)

    # ----------------------------------------------------------- diagnostics
    @cached_property
    def diagnostics(self) -> Diagnostics:
        """Convergence diagnostics (computed once, no warning)."""
        return check_diagnostics(self.idata, self.sampled_names(), warn=False)

    def check(self, warn: bool = True) -> Diagnostics:
        """Return diagnostics and warn (with advice) if any check fails."""
        diag = self.diagnostics
        if warn and not diag.ok:
            check_diagnostics(self.idata, self.sampled_names(), warn=True)
        return diag

    def sampled_names(self) -> list[str]:
        """Names of the sampled (non-deterministic) posterior variables."""
        deterministic = {p.name for p in self.law.params} | {"sigma", "disc_tau", "disc_bias"}
        return [v for v in _arviz.posterior_names(self.idata) if v not in deterministic]

    # ----------------------------------------------------------- discrepancy
    @property
    def discrepancy(self) -> Discrepancy | None:
        """The extrapolation-discrepancy component, if the fit has one."""
        info = self.meta.get("discrepancy")
        if info is None or not _arviz.has_var(self.idata, "posterior", "disc_tau"):
            return None
        has_bias = _arviz.has_var(self.idata, "posterior", "disc_bias")
        return Discrepancy(
            _arviz.stacked(self.idata, "disc_tau"),
            info["method"],
            dict(info["prior"]),
            dict(info.get("details", {})),
            _arviz.stacked(self.idata, "disc_bias") if has_bias else None,
        )

    def with_discrepancy(self, disc: Discrepancy) -> ScalingFit:
        """A new fit with ``disc`` attached (draws become posterior ``disc_tau``, ``disc_bias``)."""
        meta = dict(self.meta, discrepancy=disc.to_meta())
        attrs = {"bayes_scaling": json.dumps(meta)}
        idata = _arviz.with_posterior_var(self.idata, "disc_tau", disc.tau, attrs)
        if disc.bias is not None:
            idata = _arviz.with_posterior_var(idata, "disc_bias", disc.bias, attrs)
        return ScalingFit.from_idata(idata)

    # --------------------------------------------------- delegating helpers
    def predict(
        self,
        data: pd.DataFrame | str | PathLike[str],
        prob: float | Sequence[float] = 0.9,
        *,
        seed: int = 0,
        allow_new_levels: bool = True,
    ) -> pd.DataFrame:
        """Posterior predictive summary at new scales; see :func:`bayes_scaling.predict`."""
        from bayes_scaling.predict import predict

        return predict(self, data, prob, seed=seed, allow_new_levels=allow_new_levels)

    def summary(self, prob: float = 0.9) -> pd.DataFrame:
        """Parameter table per curve in original units; see :func:`bayes_scaling.curve_table`."""
        from bayes_scaling.summaries import curve_table

        return curve_table(self, prob)

    def save(self, path: str | PathLike[str]) -> None:
        """Write the fit to netCDF; :func:`bayes_scaling.load_fit` restores it exactly."""
        from bayes_scaling.io import save_fit

        save_fit(self, path)

    def __repr__(self) -> str:
        c, d = _arviz.n_chains_draws(self.idata)
        return (
            f"ScalingFit(law={self.law.name!r}, x={list(self.x_cols)}, y={self.y_col!r}, "
            f"groups={list(self.group_cols)}, curves={len(self.curves)}, "
            f"pooling={self.design.pooling!r}, chains={c}, draws={d})"
        )
