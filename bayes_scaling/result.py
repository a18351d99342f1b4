"""The result of a fit: :class:`ScalingFit`, a plain holder of the posterior and its metadata.

A fit holds its ArviZ ``InferenceData`` (posterior, sample stats, log-likelihood, observed and
constant data, and the fit's metadata as JSON attributes) and everything needed to predict,
summarise, check and save it. It is built by :meth:`bayes_scaling.ScalingLaw.fit` or
:func:`bayes_scaling.load_fit`; the modules that use a fit never import it back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling.data import curve_label
from bayes_scaling.drift.distance import DistanceTable
from bayes_scaling.laws import Law, LawError
from bayes_scaling.laws.conditioning import Conditioning
from bayes_scaling.priors import Prior
from bayes_scaling.structure import ParamPlan, Structure, recorded_names, site_names

__all__ = ["ScalingFit", "FORMAT_VERSION", "structure_meta", "structure_from_meta"]

#: Schema version of the metadata stored with a fit (1: bayes_scaling 0.1).
FORMAT_VERSION = 2


def structure_meta(structure: Structure) -> dict[str, Any]:
    """JSON description of a structure (the law is recorded separately)."""
    return {
        "plans": [
            {"name": pl.name, "shifts": [s.to_dict() for s in pl.shifts],
             "data_units": pl.data_units, "shared": pl.shared}
            for pl in structure.plans
        ],
        "priors": {k: v.to_dict() for k, v in structure.priors.items()},
        "factors": list(structure.factors),
        "n_levels": list(structure.n_levels),
        "n_curves": structure.n_curves,
        "pooling": structure.pooling,
        "curve_term": structure.curve_term,
        "likelihood": structure.likelihood,
        "huber_delta": structure.huber_delta,
        "noise": structure.noise,
        "noise_centered": structure.noise_centered,
        "curve_centered": structure.curve_centered,
        "residual": structure.residual,
        "output_scaled": structure.output_scaled,
    }


def structure_from_meta(law: Law, d: Mapping[str, Any]) -> Structure:
    """Inverse of :func:`structure_meta`."""
    from bayes_scaling.laws.conditioning import Shift

    plans = tuple(
        ParamPlan(
            pl["name"],
            tuple(Shift(s["source"], s["multiplier"], int(s["sign"])) for s in pl["shifts"]),
            bool(pl["data_units"]),
            bool(pl["shared"]),
        )
        for pl in d["plans"]
    )
    if [pl.name for pl in plans] != list(law.params):
        raise LawError(
            f"the fit's parameters {[pl.name for pl in plans]} do not match law {law.name!r} "
            f"{list(law.params)}"
        )
    return Structure(
        law=law,
        plans=plans,
        priors={k: Prior.from_dict(v) for k, v in d["priors"].items()},
        factors=tuple(d["factors"]),
        n_levels=tuple(int(v) for v in d["n_levels"]),
        n_curves=int(d["n_curves"]),
        pooling=d["pooling"],
        curve_term=bool(d["curve_term"]),
        likelihood=d["likelihood"],
        huber_delta=float(d["huber_delta"]),
        noise=d["noise"],
        noise_centered=bool(d.get("noise_centered", False)),
        curve_centered=bool(d.get("curve_centered", True)),
        residual=d.get("residual", "iid"),
        output_scaled=bool(d["output_scaled"]),
    )


@dataclass(frozen=True, eq=False)
class ScalingFit:
    """A fitted model: posterior draws plus everything needed to predict, summarise and save.

    Build one with :meth:`ScalingLaw.fit` or :func:`bayes_scaling.load_fit`.
    """

    idata: _arviz.InferenceData
    law: Law
    structure: Structure
    conditioning: Conditioning
    distance: DistanceTable
    x_cols: tuple[str, ...]
    y_col: str
    group_cols: tuple[str, ...]
    run_col: str | None
    levels: dict[str, list[str]]
    numeric_groups: dict[str, bool]
    curves: list[tuple[str, ...]]
    runs: list[str]
    run_curve: np.ndarray
    scale_kind: str | None
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_idata(cls, idata: _arviz.InferenceData, law: Law | None = None) -> ScalingFit:
        """Rebuild a fit from InferenceData written by this package.

        ``law`` is the law object to use (found and checked by :func:`bayes_scaling.load_fit`);
        built-in laws are found by name.
        """
        from bayes_scaling.laws import resolve_law

        raw = _arviz.attrs(idata).get("bayes_scaling")
        if raw is None:
            raise ValueError("this InferenceData was not written by bayes_scaling (no metadata)")
        meta = json.loads(raw)
        if not isinstance(meta, dict):
            raise ValueError("the fit's metadata is not a JSON object")
        law = law if law is not None else resolve_law(meta["law"])
        structure = structure_from_meta(law, meta["structure"])
        return cls(
            idata=idata,
            law=law,
            structure=structure,
            conditioning=Conditioning.from_dict(meta["conditioning"]),
            distance=DistanceTable.from_dict(meta["distance"]),
            x_cols=tuple(meta["x_cols"]),
            y_col=meta["y_col"],
            group_cols=tuple(meta["group_cols"]),
            run_col=meta.get("run_col"),
            levels={k: list(v) for k, v in meta["levels"].items()},
            numeric_groups={k: bool(v) for k, v in meta.get("numeric_groups", {}).items()},
            curves=[tuple(c) for c in meta["curves"]],
            runs=list(meta.get("runs", [])),
            run_curve=np.asarray(meta.get("run_curve", []), dtype=np.int64),
            scale_kind=meta.get("scale_kind"),
            meta=meta,
        )

    # ------------------------------------------------------------------ data
    @property
    def design(self) -> Structure:
        """Alias of :attr:`structure` (name used by bayes_scaling 0.1)."""
        return self.structure

    @property
    def log_x_ref(self) -> np.ndarray:
        """Log reference value of each input (geometric mean of the training data)."""
        return self.conditioning.log_x_ref

    @property
    def log_y_ref(self) -> float:
        """Log reference metric (geometric mean of the training metric)."""
        return self.conditioning.log_y_ref

    @property
    def priors(self) -> dict[str, Prior]:
        """The priors used, by name."""
        return dict(self.structure.priors)

    def training_data(self) -> pd.DataFrame:
        """The fitted rows as a table (group, run, input and metric columns, original order)."""
        x = _arviz.group_var(self.idata, "constant_data", "x")
        y = _arviz.group_var(self.idata, "constant_data", "y")
        lev = _arviz.group_var(self.idata, "constant_data", "level_idx")
        out = {
            g: np.asarray(self.levels[g], dtype=object)[lev[:, j]]
            for j, g in enumerate(self.group_cols)
        }
        if self.run_col and self.run_col not in out:
            ridx = _arviz.group_var(self.idata, "constant_data", "run_idx")
            out[self.run_col] = np.asarray(self.runs, dtype=object)[ridx]
        out.update({c: x[:, k] for k, c in enumerate(self.x_cols)})
        out[self.y_col] = y
        return pd.DataFrame(out)

    @property
    def curve_labels(self) -> list[str]:
        """Readable curve labels, in the order of the ``curve`` dimension."""
        return [curve_label(self.group_cols, c) for c in self.curves]

    @property
    def n_draws(self) -> int:
        """Total posterior draws (chains x draws)."""
        c, d = _arviz.n_chains_draws(self.idata)
        return c * d

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of a variable, chains flattened: ``(draws, ...)``."""
        return _arviz.stacked(self.idata, name)

    # ----------------------------------------------------------- checks
    @cached_property
    def diagnostics(self) -> Any:
        """Sampler diagnostics (computed once, no warning)."""
        from bayes_scaling.checks import check_sampler

        return check_sampler(self.idata, self.sampled_names(), warn=False)

    @cached_property
    def fit_checks(self) -> Any:
        """Fit-quality checks on the training points (computed once)."""
        from bayes_scaling.checks import check_fit_quality

        return check_fit_quality(self)

    def check(self, warn: bool = True) -> Any:
        """Sampler and fit-quality report; warns (with advice) when a check fails."""
        from bayes_scaling.checks import FitReport

        report = FitReport(self.diagnostics, self.fit_checks)
        if warn:
            report.warn()
        return report

    def sampled_names(self) -> list[str]:
        """Names of the sampled (non-deterministic) posterior variables."""
        sampled = set(site_names(self.structure)) - recorded_names(self.structure)
        names = _arviz.posterior_names(self.idata)
        return [v for v in names if v in sampled]

    # ----------------------------------------------------------- drift
    @property
    def discrepancy(self) -> Any:
        """The extrapolation drift attached to this fit (``None`` without)."""
        from bayes_scaling.drift.prior import DriftDraws

        info = self.meta.get("drift")
        if info is None or not _arviz.has_var(self.idata, "posterior", "disc_tau"):
            return None
        return DriftDraws(self.draws("disc_tau"), self.draws("disc_bias"), info)

    def with_drift(self, tau: np.ndarray, bias: np.ndarray, info: Mapping) -> ScalingFit:
        """A new fit with drift draws attached as posterior ``disc_tau``, ``disc_bias``."""
        meta = dict(self.meta, drift=dict(info))
        attrs = {"bayes_scaling": json.dumps(meta)}
        idata = _arviz.with_posterior_var(self.idata, "disc_tau", tau, attrs)
        idata = _arviz.with_posterior_var(idata, "disc_bias", bias, attrs)
        return ScalingFit.from_idata(idata, law=self.law)

    def with_meta(self, key: str, value: Any) -> ScalingFit:
        """A new fit with ``meta[key] = value`` (JSON-serialisable; saved with the fit)."""
        meta = dict(self.meta, **{key: value})
        idata = _arviz.with_attrs(self.idata, {"bayes_scaling": json.dumps(meta)})
        return ScalingFit.from_idata(idata, law=self.law)

    # --------------------------------------------------- delegating helpers
    def predict(
        self,
        data: pd.DataFrame | str | PathLike[str],
        prob: float | Sequence[float] = 0.9,
        *,
        seed: int = 0,
        allow_new_levels: bool = True,
    ) -> pd.DataFrame:
        """Posterior predictive summary at new rows; see :func:`bayes_scaling.predict`."""
        from bayes_scaling.predict import predict

        return predict(self, data, prob, seed=seed, allow_new_levels=allow_new_levels)

    def summary(self, prob: float = 0.9) -> pd.DataFrame:
        """Parameter table per curve in the user's units; see :func:`bayes_scaling.curve_table`."""
        from bayes_scaling.summaries import curve_table

        return curve_table(self, prob)

    def save(self, path: str | PathLike[str]) -> None:
        """Write the fit to netCDF; :func:`bayes_scaling.load_fit` restores it exactly."""
        from bayes_scaling.io import save_fit

        save_fit(self, path)

    def __repr__(self) -> str:
        c, d = _arviz.n_chains_draws(self.idata)
        run = f", run={self.run_col!r}" if self.run_col else ""
        return (
            f"ScalingFit(law={self.law.name!r}, x={list(self.x_cols)}, y={self.y_col!r}, "
            f"groups={list(self.group_cols)}{run}, curves={len(self.curves)}, "
            f"pooling={self.structure.pooling!r}, chains={c}, draws={d})"
        )
