"""The specification :class:`ScalingLaw` and the result :class:`ScalingFit`.

``ScalingLaw(...).fit(data, x=..., y=..., groups=...)`` validates the table, conditions the law
(:mod:`bayes_scaling.laws.conditioning`), samples the model (:mod:`bayes_scaling.inference`),
attaches the extrapolation drift (:mod:`bayes_scaling.drift`) and returns a new
:class:`ScalingFit`, a plain holder of the posterior (ArviZ ``InferenceData``) and of everything
needed to predict, summarise and save it. Neither object changes afterwards; nothing here is
imported back by the modules that use a fit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling._version import __version__
from bayes_scaling.data import RunData, as_columns, curve_label, validate_runs
from bayes_scaling.distributions import HUBER_DELTA
from bayes_scaling.drift.distance import distance_table
from bayes_scaling.drift.prior import (
    DriftPrior,
    drift_population,
    guess_scale_kind,
    load_drift_prior,
)
from bayes_scaling.drift.update import in_study_evidence, updated_draws
from bayes_scaling.inference import SamplerSettings, bucket, pad_rows, run_nuts
from bayes_scaling.laws import AUTO, Law, get_law
from bayes_scaling.laws.conditioning import Conditioning, make_conditioning
from bayes_scaling.model import (
    LIKELIHOODS,
    POOLINGS,
    ParamPlan,
    Structure,
    default_priors,
    scaling_model,
)
from bayes_scaling.priors import Prior, merge_priors
from bayes_scaling.residuals import run_layout
from bayes_scaling.result import FORMAT_VERSION, ScalingFit, structure_meta
from bayes_scaling.structure import (
    CENTRINGS,
    curve_centred,
    has_curve_term,
    noise_centred,
)

__all__ = ["ScalingLaw", "ScalingFit", "resolve_priors", "FORMAT_VERSION", "SCALE_KINDS"]

#: What the scale of a fit measures, for the drift prior's populations.
SCALE_KINDS = ("params", "data", "compute", "steps")


def resolve_priors(law: Law, structure_like: Mapping[str, Any], user: Mapping | None) -> dict:
    """Merge user priors into the defaults.

    ``<param>_sd`` sets the spread prior of every factor (and of the per-curve residual) at once;
    a specific key such as ``alpha_sd_architecture`` wins. Names of bayes_scaling 0.1 on the log
    scale are accepted: ``log_alpha = Normal(m, s)`` means ``alpha = LogNormal(m, s)`` and
    ``log_alpha_sd...`` means ``alpha_sd...``.
    """
    defaults = default_priors(law, structure_like)
    user = dict(user or {})
    renamed: dict[str, Any] = {}
    for k, v in user.items():
        if k.startswith("log_") and k not in defaults:
            base = k[4:]
            root = base.split("_sd")[0]
            if root in law.params and law.positive(root):
                if base == root:
                    pr = Prior.from_dict(v) if isinstance(v, Mapping) else v
                    if isinstance(pr, Prior) and pr.dist == "Normal":
                        v = Prior("LogNormal", loc=pr.args["loc"], scale=pr.args["scale"],
                                  note=pr.note, units=law.priors[root].units)
                renamed[base] = v
                continue
        renamed[k] = v
    expanded: dict[str, Any] = {}
    for p in law.params:
        key = f"{p}_sd"
        if key in renamed:
            value = renamed.pop(key)
            targets = [n for n in defaults if n.startswith(key + "_")]
            if not targets:
                raise ValueError(
                    f"prior {key!r} sets group-effect spreads, but this model has none "
                    f"(pooling={structure_like['pooling']!r}, "
                    f"factors={list(structure_like['factors'])})"
                )
            expanded.update({n: value for n in targets})
    expanded.update(renamed)
    return merge_priors(defaults, expanded)


def _noise_centered(run: RunData, noise: str) -> bool:
    """Centre the noise scales when every noise group has many points (they pin their scale)."""
    if noise == "shared":
        return False
    if noise == "curve":
        return noise_centred(np.bincount(run.curve_idx))
    return noise_centred(np.bincount(run.level_idx[:, run.group_cols.index(noise)]))


@dataclass(frozen=True)
class ScalingLaw:
    """Specification of a Bayesian (hierarchical) scaling-law model.

    Parameters
    ----------
    law : str or Law
        ``"auto"`` (default: a per-curve choice among ``power``, ``saturating`` and ``m4`` for
        one input, ``chinchilla`` for two; candidates the sampler cannot follow are resampled or
        set aside, see :mod:`bayes_scaling.compare.auto`), a built-in law name,
        ``"FILE.py:NAME"``, or a :class:`~bayes_scaling.Law` made with
        :func:`~bayes_scaling.law`.
    pooling : {"partial", "none", "complete"}
        Share strength between curves (``partial``), fit each curve alone (``none``) or fit one
        curve to all rows (``complete``).
    likelihood : {"normal", "student_t", "huber", "contaminated"}, optional
        Noise of ``log y``; Student-t, Huber and ``contaminated`` (a share of rows from a broad
        component) resist diverged runs. Default: normal (Student-t for ``lr_batch``).
    noise : str
        ``"curve"`` (a scale per curve, partially pooled), ``"shared"`` or a grouping column.
    priors : mapping, optional
        Prior overrides by name (see :meth:`prior_names`).
    shared : sequence of str, optional
        Law parameters common to all curves (default: the law's own ``shared``).
    min_points : int, optional
        Fewest rows per curve (default: the law's number of parameters, or 1 under partial
        pooling of curves with few points).
    huber_delta : float
        Huber threshold in noise scales.
    discrepancy : {"prior", "none"}
        Extrapolation drift from the prior learned across real studies (default) or none
        (parameter-only intervals everywhere).
    discrepancy_prior : DriftPrior, optional
        Another drift prior (e.g. rebuilt with your own studies).
    drift_update : bool
        Update the prior's drift with a backtest inside the data (default): the law is refitted
        to the rows below 70% of their range and scored on the rows above, and the study's own
        drift is weighted by how well that went (:mod:`bayes_scaling.drift.update`; one extra
        fit). ``False`` draws the drift of a new study from the prior population unchanged.
        Learning curves (``run=``) update the drift's spread only; its bend stays at 0
        (:data:`~bayes_scaling.drift.update.SYSTEMATIC_NOTE`).
    scale_kind : {"params", "data", "compute", "steps"}, optional
        What the scale measures, to pick the drift population; guessed from the law's inputs,
        the column names and whether runs are given.
    residual : {"auto", "iid", "ou"}
        Residuals of ``log y``: independent (``iid``), or, for checkpoints of training runs,
        a correlated process along each run (``ou``, :mod:`bayes_scaling.residuals`);
        ``auto`` (default) is ``ou`` when ``run`` is given, else ``iid``.
    centring : {"auto", "centred", "non-centred"}
        How the curves' law parameters are sampled under partial pooling: their values
        directly with the group effects integrated out (``centred``), or as standardised
        effects and residuals (``non-centred``). The posterior is the same; the geometry NUTS
        sees is not. ``auto`` (default): centred below
        :data:`~bayes_scaling.structure.NONCENTRED_CURVES` (24) curves.
    """

    law: str | Law = AUTO
    pooling: str = "partial"
    likelihood: str | None = None
    noise: str = "curve"
    priors: Mapping[str, Any] | None = None
    shared: Sequence[str] | None = None
    min_points: int | None = None
    huber_delta: float = HUBER_DELTA
    discrepancy: str = "prior"
    discrepancy_prior: DriftPrior | None = None
    drift_update: bool = True
    scale_kind: str | None = None
    residual: str = "auto"
    centring: str = "auto"

    # ------------------------------------------------------------------ preparation
    def _check_options(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        if self.likelihood is not None and self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.discrepancy not in ("prior", "none"):
            raise ValueError(f"discrepancy must be 'prior' or 'none', got {self.discrepancy!r}")
        if self.discrepancy_prior is not None and not isinstance(
            self.discrepancy_prior, DriftPrior
        ):
            raise TypeError(
                "discrepancy_prior must be a DriftPrior (bs.load_drift_prior(path)); got "
                f"{type(self.discrepancy_prior).__name__}"
            )
        if not isinstance(self.drift_update, bool | np.bool_):
            raise TypeError(f"drift_update must be True or False, got {self.drift_update!r}")
        hd = self.huber_delta
        if isinstance(hd, bool) or not isinstance(hd, int | float) or not 0 < hd < np.inf:
            raise ValueError(f"huber_delta must be a positive number, got {hd!r}")
        if self.centring not in CENTRINGS:
            raise ValueError(f"centring must be one of {CENTRINGS}, got {self.centring!r}")
        if self.residual not in ("auto", "iid", "ou"):
            raise ValueError(f"residual must be 'auto', 'iid' or 'ou', got {self.residual!r}")
        if self.scale_kind is not None and self.scale_kind not in SCALE_KINDS:
            raise ValueError(f"scale_kind must be one of {SCALE_KINDS}, got {self.scale_kind!r}")

    def _law(self) -> Law:
        law = get_law(self.law)
        if self.shared is not None:
            bad = [s for s in self.shared if s not in law.params]
            if bad:
                raise ValueError(f"shared={bad}: not parameters of law {law.name!r} "
                                 f"{list(law.params)}")
            law = replace(law, shared=tuple(self.shared))
        return law

    def _min_points(self, law: Law) -> int:
        mp = law.n_params if self.min_points is None else self.min_points
        if isinstance(mp, bool) or not isinstance(mp, int | np.integer) or mp < 1:
            raise ValueError(f"min_points must be a positive integer, got {self.min_points!r}")
        if self.pooling != "partial" and mp < law.n_params:
            raise ValueError(
                f"min_points={mp} is below the law's {law.n_params} parameters; only "
                "pooling='partial' can fit curves with fewer points than parameters"
            )
        return int(mp)

    def _prepare(
        self, data: Any, x: Any, y: str, groups: Any, run: str | None, strict: bool
    ) -> tuple[Law, RunData, Structure, Conditioning]:
        self._check_options()
        law = self._law()
        x_cols = as_columns(x, "x")
        if len(x_cols) != law.n_inputs:
            raise ValueError(
                f"law {law.name!r} takes {law.n_inputs} input column(s) "
                f"({', '.join(law.inputs)}); got {len(x_cols)}: {list(x_cols)}"
            )
        run_data = validate_runs(
            data, x_cols, y, groups, run=run, min_points=self._min_points(law), strict=strict,
            positive=[i in law.scales or law.extras.get("positive", True) for i in law.inputs],
            spread_per_curve=self.pooling == "none",
        )
        _check_names(law, run_data)
        if self.noise not in ("curve", "shared", *run_data.group_cols):
            raise ValueError(
                f"noise must be 'curve', 'shared' or a group column {list(run_data.group_cols)}, "
                f"got {self.noise!r}"
            )
        cond = make_conditioning(law, run_data.x, run_data.y)
        structure = self._structure(law, run_data, cond)
        return law, run_data, structure, cond

    def _structure(self, law: Law, run: RunData, cond: Conditioning) -> Structure:
        pooling = self.pooling
        n_curves = 1 if pooling == "complete" else run.n_curves
        factors = () if pooling == "complete" else tuple(run.group_cols)
        n_levels = tuple(len(run.levels[g]) for g in factors)
        curve_term = has_curve_term(pooling, n_curves, n_levels)
        noise = self.noise
        if pooling == "complete" or (n_curves == 1 and noise == "curve"):
            noise = "shared"
        likelihood = self.likelihood or law.extras.get("likelihood", "normal")
        residual = self.residual
        if residual == "auto":
            residual = "ou" if getattr(run, "run_col", None) else "iid"
        if residual == "ou" and not getattr(run, "run_col", None):
            raise ValueError("residual='ou' needs the column that identifies runs (run=...)")
        if residual == "ou" and likelihood != "normal":
            raise ValueError(
                f"likelihood={likelihood!r} cannot be combined with correlated run "
                "residuals; use likelihood='normal' with run=..., or residual='iid'"
            )
        like = {"pooling": pooling, "factors": factors, "curve_term": curve_term,
                "noise": noise, "likelihood": likelihood, "residual": residual}
        priors = resolve_priors(law, like, self.priors)
        plans = tuple(
            ParamPlan(
                p,
                cond.covariance.shifts.get(p, ()),
                priors[p].units == "data",
                p in law.shared,
            )
            for p in law.params
        )
        return Structure(
            law=law,
            plans=plans,
            priors=priors,
            factors=factors,
            n_levels=n_levels,
            n_curves=n_curves,
            pooling=pooling,
            curve_term=curve_term,
            likelihood=likelihood,
            huber_delta=float(self.huber_delta),
            noise=noise,
            noise_centered=_noise_centered(run, noise),
            curve_centered=curve_centred(self.centring, n_curves, pooling),
            residual=residual,
            output_scaled=cond.covariance.output,
        )

    def prior_names(
        self,
        data: Any,
        x: str | Sequence[str],
        y: str,
        groups: str | Sequence[str] | None = None,
        run: str | None = None,
    ) -> dict[str, Prior]:
        """The priors this model would use on ``data``, by overridable name."""
        return dict(self._prepare(data, x, y, groups, run, False)[2].priors)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        data: pd.DataFrame | str | PathLike[str],
        x: str | Sequence[str],
        y: str,
        groups: str | Sequence[str] | None = None,
        *,
        run: str | None = None,
        chains: int = 4,
        warmup: int = 1000,
        draws: int = 1000,
        seed: int = 0,
        target_accept: float = 0.9,
        max_tree_depth: int = 10,
        progress: bool | None = None,
        strict: bool = False,
        warn: bool = True,
    ) -> Any:
        """Fit the model with NUTS and return a new fit.

        Parameters
        ----------
        data : DataFrame or CSV path
            One row per run or checkpoint.
        x : str or list of str
            Input column(s), bound to the law's inputs in order.
        y : str
            Metric column (loss or error; lower is better).
        groups : str or list of str, optional
            Grouping columns (architecture, domain, dataset...).
        run : str, optional
            Column identifying training runs: rows are checkpoints of learning curves.
        chains, warmup, draws, seed, target_accept, max_tree_depth
            NUTS settings; ``seed`` makes the run reproducible.
        progress : bool, optional
            Report stages on stderr (default: only in a terminal).
        strict : bool
            Reject duplicate rows.
        warn : bool
            Emit a :class:`~bayes_scaling.diagnostics.SamplerWarning` when sampler or fit checks
            fail (they are always available as ``fit.check()``).

        Returns
        -------
        ScalingFit
            (or a :class:`~bayes_scaling.compare.forms.FormFit` for ``law="auto"``).
        """
        settings = SamplerSettings(chains, warmup, draws, seed, target_accept, max_tree_depth)
        if isinstance(self.law, str) and self.law == AUTO:
            from bayes_scaling.compare.auto import fit_auto

            return fit_auto(self, data, x, y, groups, run=run, settings=settings,
                            progress=progress, strict=strict, warn=warn)
        law, run_data, structure, cond = self._prepare(data, x, y, groups, run, strict)
        fit = sample_fit(self, law, run_data, structure, cond, settings, progress)
        if warn:
            fit.check(warn=True)
        return fit


def _check_names(law: Law, run: RunData) -> None:
    """Group and run columns must not collide with the model's site or dimension names."""
    sites = set(law.params) | {f"mu_{p}" for p in law.params} | {"disc_tau", "disc_bias", "xi"}
    for col in (*run.group_cols, *([run.run_col] if run.run_col else [])):
        if col in sites or col in law.inputs:
            raise ValueError(
                f"column {col!r} has the name of a parameter or input of law {law.name!r} "
                f"({list(law.params)}); rename the column to use it as a group or run"
            )
    from bayes_scaling.predict import OUTPUT_COLUMNS

    for col in (*run.group_cols, *([run.run_col] if run.run_col else [])):
        if col in OUTPUT_COLUMNS:
            raise ValueError(
                f"column {col!r} has the name of a prediction output column {list(OUTPUT_COLUMNS)}"
                "; rename it to use it as a group or run (predictions would overwrite it)"
            )
    names = [f"sd_{p}_{f}" for p in law.params for f in (*run.group_cols, "curve")]
    if len(names) != len(set(names)):
        raise ValueError(
            f"group column names {list(run.group_cols)} collide with the parameter names of "
            f"law {law.name!r} in the model's site names; rename a column"
        )


def _init_centres(structure: Structure, cond: Conditioning) -> dict[str, float]:
    """Starting centre of each population mean on its sampling scale."""
    from bayes_scaling.structure import param_transform as _transform

    refs = {name: cond.log_x_ref[k] for k, name in enumerate(structure.law.inputs)}
    refs["y"] = cond.log_y_ref
    centre_nat = {}
    out: dict[str, float] = {}
    for plan in sorted(structure.plans, key=lambda pl: bool(pl.shifts)):
        prior = structure.priors[plan.name]
        t = _transform(prior)
        c = float(np.asarray(t.inv(prior.center)))
        centre_nat[plan.name] = prior.center
        if not plan.data_units:
            shift = 0.0
            for s in plan.shifts:
                mult = 1.0 if s.multiplier is None else centre_nat[s.multiplier]
                shift += s.sign * mult * refs[s.source]
            c -= shift
        out[f"mu_{plan.name}"] = c
        out[f"u_{plan.name}"] = c
    out["mu_log_sigma"] = float(np.log(0.003 if structure.residual == "ou" else 0.03))
    out["u_log_sigma"] = out["mu_log_sigma"]
    out["z_log_sigma"] = 0.0
    return out


def model_data(
    structure: Structure, cond: Conditioning, run: RunData, curve_idx: np.ndarray, pad: bool
) -> tuple[dict[str, np.ndarray], np.ndarray, int]:
    """The model's data arrays (padded to a bucket size) and the padded ``log y``."""
    n = run.n
    size = bucket(n) if pad else n
    rows = pad_rows(
        {
            "x": run.x,
            "curve_idx": curve_idx,
            "mask": np.ones(n, dtype=bool),
            "log_y": np.log(run.y),
        },
        size,
        {"x": 1.0},
    )
    levels = (
        np.zeros((1, 0), dtype=np.int64) if structure.pooling == "complete" else run.curve_levels
    )
    data = {
        "x": rows["x"],
        "curve_idx": rows["curve_idx"].astype(np.int64),
        "mask": rows["mask"].astype(bool),
        "curve_levels": levels.astype(np.int64),
        "log_x_ref": np.asarray(cond.log_x_ref, dtype=np.float64),
        "log_y_ref": np.asarray(cond.log_y_ref, dtype=np.float64),
        "input_offset": cond.input_offset.astype(np.float64),
    }
    if structure.residual == "ou":
        data.update(run_layout(run.run_idx, ordering_scale(structure.law, run.x), len(run.runs)))
    return data, rows["log_y"], n


def ordering_scale(law: Law, x: np.ndarray) -> np.ndarray:
    """Sum of the log scale inputs: the axis along which runs and extrapolation are ordered."""
    pos = [law.inputs.index(s) for s in law.scales]
    return np.log(x[:, pos]).sum(axis=1)


def sample_fit(
    spec: ScalingLaw,
    law: Law,
    run: RunData,
    structure: Structure,
    cond: Conditioning,
    settings: SamplerSettings,
    progress: bool | None,
    evidence_cache: dict | None = None,
) -> ScalingFit:
    """Sample one law's model and build the fit (drift attached).

    ``evidence_cache``: a dict kept across attempts at the same law and data (``law="auto"``
    resampling at a higher target acceptance): the in-study backtest is run once and reused.
    """
    from bayes_scaling.checks import check_law_at_data

    curve_idx = run.curve_idx if structure.pooling != "complete" else np.zeros_like(run.curve_idx)
    check_law_at_data(structure, cond, run)
    data, log_y, n = model_data(structure, cond, run, curve_idx, pad=True)
    model = partial(scaling_model, structure=structure)
    samples = run_nuts(
        model,
        {"data": data, "log_y": log_y},
        settings,
        cache_key=("fit", *structure.key()),
        init=_init_centres(structure, cond),
        progress=progress,
    )
    from bayes_scaling.predict import pointwise_loglik

    loglik = pointwise_loglik(structure, samples.posterior, data, log_y)[..., :n]
    curves = run.curves if structure.pooling != "complete" else [("*",) * len(run.group_cols)]
    kind = spec.scale_kind or guess_scale_kind(law, run)
    scale_cols = [run.x_cols[law.inputs.index(s)] for s in law.scales]
    scale_pos = [law.inputs.index(s) for s in law.scales]
    unit_idx = run.run_idx if run.run_col else curve_idx
    n_units = len(run.runs) if run.run_col else len(curves)
    table = distance_table(np.log10(run.x[:, scale_pos]), unit_idx, n_units)
    meta = {
        "format_version": FORMAT_VERSION,
        "package_version": __version__,
        "law": law.spec(),
        "x_cols": list(run.x_cols),
        "y_col": run.y_col,
        "group_cols": list(run.group_cols),
        "run_col": run.run_col,
        "levels": run.levels,
        "numeric_groups": run.numeric_groups,
        "curves": [list(c) for c in curves],
        "runs": run.runs if run.run_col else [],
        "run_curve": run.run_curve.tolist() if run.run_col else [],
        "structure": structure_meta(structure),
        "conditioning": cond.to_dict(),
        "distance": table.to_dict(),
        "scale_cols": scale_cols,
        "scale_kind": kind,
        "sampler": dict(settings, chain_method=samples.method,
                        seconds={k: round(v, 3) for k, v in samples.seconds.items()}),
    }
    idata = _arviz.build_idata(
        samples.posterior,
        samples.stats,
        loglik,
        dims=_dims(structure),
        coords=_coords(structure, run, curves),
        constant_data={
            "x": run.x,
            "y": run.y,
            "curve_idx": curve_idx.astype(np.int64),
            "level_idx": run.level_idx.astype(np.int64).reshape(run.n, -1),
            "run_idx": run.run_idx.astype(np.int64),
        },
        observed={"log_y": np.log(run.y)},
        attrs={"bayes_scaling": json.dumps(meta)},
    )
    fit = ScalingFit.from_idata(idata, law=law)
    if spec.discrepancy != "none":
        prior = spec.discrepancy_prior or load_drift_prior()
        n_draws = settings["chains"] * settings["draws"]
        choice = drift_population(prior, law, kind)
        evidence, note = None, "not updated (drift_update=False)"
        if spec.drift_update:
            cache = {} if evidence_cache is None else evidence_cache
            if "evidence" not in cache:
                cache["evidence"] = in_study_evidence(spec, law, run, settings)
            evidence, note = cache["evidence"]
        tau, bias, update = updated_draws(choice.population, evidence, n_draws,
                                          settings["seed"], systematic=run.run_col is None)
        fit = fit.with_drift(tau, bias, {**choice.info(), "update": {"note": note, **update}})
    return fit


def _dims(structure: Structure) -> dict[str, list[str]]:
    dims: dict[str, list[str]] = {"sigma": ["curve"]}
    for plan in structure.plans:
        dims[plan.name] = ["curve"]
        dims[f"u_{plan.name}"] = dims[f"z_{plan.name}"] = ["curve"]
        for f in structure.factors:
            dims[f"e_{plan.name}_{f}"] = [f]
    noise_dim = ["curve" if structure.noise == "curve" else structure.noise]
    dims["u_log_sigma"] = dims["z_log_sigma"] = noise_dim
    return dims


def _coords(structure: Structure, run: RunData, curves: list) -> dict[str, list]:
    coords: dict[str, list] = {
        "curve": [curve_label(run.group_cols, c) for c in curves],
        "point": list(range(run.n)),
        "input": list(run.x_cols),
        "factor": list(run.group_cols),
    }
    coords.update({f: list(run.levels[f]) for f in structure.factors})
    return coords
