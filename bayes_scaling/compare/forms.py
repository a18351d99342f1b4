"""Uncertainty about the functional form: ``law="auto"`` and ``compare-laws``.

Several laws are fitted to the same runs with the same hierarchy and likelihood: by default the
pure power law, the saturating power law (a floor) and M4 (an initial plateau and a floor;
Alabdulmohsin et al. 2022) for one input, and the laws a user names for ``compare_laws``. How
well each law *extrapolates each curve* is estimated without refitting, by Pareto-smoothed
importance sampling of a leave-future-out split (PSIS-LFO, Burkner et al. 2020): for every curve,
the joint predictive density of its largest-scale points (the last third, at least one) given
all other points. Learning curves (rows are checkpoints, ``run=``) are scored instead by the
in-study backtest every law's drift update already runs (refitted below a cut, the rows above
predicted with the drift integrated out; :func:`refit_lfo_elpd`), because their pointwise
densities are one-step-ahead forecasts of the run residual. Per curve the laws are then weighted
by

    w[c, k]  proportional to  w_global[k]^(1 - lambda) * exp(elpd_lfo[c, k])^lambda

where ``w_global`` are stacking weights of the laws over all curves' held-out blocks and
``lambda`` (default 0.5) shrinks each curve's own evidence towards the global choice, since a
few points cannot decide a form alone. Predictions mix the laws' predictive draws per curve in
proportion to these weights (stratified, with the same draws for every row of a curve), so an
interval includes the risk that the curve bends another way; new curves use the global weights.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling import _arviz
from bayes_scaling.data import as_columns, curve_label, read_table
from bayes_scaling.intervals import central_interval, check_probs
from bayes_scaling.predict import PredictiveDraws, curve_keys, predictive_draws

__all__ = [
    "FormFit",
    "compare_laws",
    "lfo_elpd",
    "AUTO_LAWS",
    "SHRINK",
    "METHODS",
]

#: Candidate laws of ``law="auto"`` by number of inputs.
AUTO_LAWS: dict[int, tuple[str, ...]] = {1: ("power", "saturating", "m4"), 2: ("chinchilla",)}
#: Weight of a curve's own evidence against the global weights (0: global only, 1: own only).
SHRINK = 0.5
METHODS = ("lfo", "loo")
#: Dirichlet concentration of the stacking weights by how the laws were scored (:func:`_stacking`).
CONCENTRATION = {"psis-lfo": 2.0, "refit-lfo": 1.0}
_HOLDOUT = 1 / 3


def _block_mask(fit: Any) -> np.ndarray:
    """Per training row: whether it is in its curve's (or run's) last third of scales."""
    x = _arviz.group_var(fit.idata, "constant_data", "x")
    unit = _arviz.group_var(fit.idata, "constant_data",
                            "run_idx" if fit.run_col else "curve_idx")
    pos = [fit.law.inputs.index(s) for s in fit.law.scales]
    order = np.log(x[:, pos]).sum(axis=1)
    mask = np.zeros(len(order), dtype=bool)
    for u in np.unique(unit):
        rows = np.flatnonzero(unit == u)
        if rows.size < 3:
            continue
        k = max(1, int(round(_HOLDOUT * rows.size)))
        mask[rows[np.argsort(order[rows])[-k:]]] = True
    return mask


def lfo_elpd(fit: Any, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """PSIS-LFO: per curve, log predictive density of its held-out block given the rest.

    Returns ``(elpd, khat)`` per fitted curve (NaN where the curve has no block).
    """
    mask = _block_mask(fit) if mask is None else mask
    ll = _arviz.stacked(fit.idata, "log_y", group="log_likelihood")  # (draws, points)
    cidx = _arviz.group_var(fit.idata, "constant_data", "curve_idx")
    n_c = len(fit.curves)
    elpd = np.full(n_c, np.nan)
    khat = np.full(n_c, np.nan)
    for c in range(n_c):
        rows = np.flatnonzero((cidx == c) & mask)
        if rows.size == 0:
            continue
        block = ll[:, rows].sum(axis=1)
        lw, k = _arviz.psis_smooth(-block)
        elpd[c] = float(_logsumexp(lw + block))
        khat[c] = k
    return elpd, khat


def refit_lfo_elpd(fit: Any) -> np.ndarray | None:
    """Per curve, the in-study backtest's log predictive density of its held-out rows.

    The drift update's backtest (:mod:`bayes_scaling.drift.update`) refits the law on the rows
    below a cut and predicts those above with the drift integrated out: an exact, refitted
    leave-future-out score (:meth:`~bayes_scaling.drift.update.Evidence.unit_elpd`), summed over
    the runs of each curve. ``None`` when the fit has no such backtest; NaN for curves without
    held-out rows.
    """
    disc = fit.discrepancy
    pairs = (disc.info.get("update") or {}).get("unit_elpd") if disc is not None else None
    if not pairs:
        return None
    out = np.full(len(fit.curves), np.nan)
    for unit, value in pairs:
        c = int(fit.run_curve[int(unit)]) if fit.run_col else int(unit)
        if len(fit.curves) == 1:
            c = 0
        out[c] = value if np.isnan(out[c]) else out[c] + value
    return out


def _logsumexp(a: np.ndarray) -> float:
    m = np.max(a)
    return float(m + np.log(np.sum(np.exp(a - m))))


def _stacking(elpd: np.ndarray, concentration: float = CONCENTRATION["psis-lfo"]) -> np.ndarray:
    """Stacking weights maximising sum_c log sum_k w_k exp(elpd[c, k]) + (a - 1) sum_k log w_k.

    Curves with all laws count; the second term is a Dirichlet(a) prior on the weights. For
    PSIS-LFO scores ``a = 2``: it keeps a handful of curves from sending a law to weight 0 on a
    small, noisy difference (stacking over one curve is otherwise an argmax) and fades as curves
    accumulate. For the refitted backtest of learning curves ``a = 1`` (plain stacking): those
    scores are exact held-out densities with the drift integrated out, and the law's drift
    already carries what its own backtest says about its form, so a prior that holds a law that
    loses on every run at ~1 / (runs + laws) only stretches the mixture's intervals (measured
    with ``benchmarks/bench_curve_contract.py --fast``: (Mis)Fitting 90% width 10.1% -> 4.9%,
    median |log error| 0.0034 -> 0.0020, coverage 1.00 -> 0.99; OpenCLIP 39% -> 34%, 0.0178 ->
    0.0066, 1.00 -> 0.98).
    """
    from scipy.optimize import minimize

    ok = np.isfinite(elpd).all(axis=1)
    k = elpd.shape[1]
    if not ok.any():
        return np.full(k, 1 / k)
    e = elpd[ok] - elpd[ok].max(axis=1, keepdims=True)
    dens = np.exp(e)

    def obj(v: np.ndarray) -> float:
        w = np.exp(v - v.max())
        w /= w.sum()
        prior = (concentration - 1.0) * np.sum(np.log(w + 1e-300))
        return -float(np.sum(np.log(dens @ w + 1e-300)) + prior)

    res = minimize(obj, np.zeros(k), method="Nelder-Mead", options={"xatol": 1e-6, "maxiter": 4000})
    w = np.exp(res.x - res.x.max())
    return w / w.sum()


def form_weights(elpd: np.ndarray, shrink: float = SHRINK,
                 concentration: float = CONCENTRATION["psis-lfo"]) -> tuple[np.ndarray, np.ndarray]:
    """Global stacking weights and per-curve weights.

    See the module docstring, and :func:`_stacking` for ``concentration``. A law that could not
    be scored on a curve (NaN: e.g. too few checkpoints above the backtest's cut for its
    parameters) has no evidence either way:

    * scored on no curve at all, it keeps its prior share ``1 / laws``, globally and on every
      curve, and the scored laws share the rest by their scores. Imputed with the others' mean
      score instead, stacking (an argmax over a single study's few runs) gave it nothing
      whenever one scored law led everywhere: on Pythia's 8 runs of 6 checkpoints, where the
      in-study backtest cannot score M4, the power law took 0.77 and the contract's median
      error was 0.094 (prior share: 0.046; least squares 0.090;
      ``benchmarks/bench_curve_contract.py --fast --studies pythia``);
    * scored on some curves, it gets each unscored curve's mean score over the laws that were.
      Read as 0 instead, it sat level with a law that scored 0 nats whatever the others scored,
      and could take most of the weight without any evidence.
    """
    elpd = np.asarray(elpd, dtype=float)
    never = ~np.isfinite(elpd).any(axis=0)
    if never.any() and not never.all():
        # a law scored on no curve keeps its prior share (1 / laws) everywhere; the others
        # share the rest by their scores
        k = elpd.shape[1]
        rest = 1.0 - never.sum() / k  # the scored laws' share
        w_rest, per_rest = form_weights(elpd[:, ~never], shrink, concentration)
        w_glob, per = np.full(k, 1.0 / k), np.full((elpd.shape[0], k), 1.0 / k)
        w_glob[~never], per[:, ~never] = rest * w_rest, rest * per_rest
        return w_glob, per
    finite = np.isfinite(elpd)
    scored = finite.any(axis=1, keepdims=True)
    mean = np.where(finite, elpd, 0.0).sum(axis=1, keepdims=True) / np.maximum(
        finite.sum(axis=1, keepdims=True), 1)
    elpd = np.where(finite, elpd, np.where(scored, mean, np.nan))
    w_glob = _stacking(elpd, concentration)
    logw = (1 - shrink) * np.log(np.maximum(w_glob, 1e-12))[None, :]
    own = np.where(np.isfinite(elpd), elpd, 0.0)
    logw = logw + shrink * (own - own.max(axis=1, keepdims=True))
    per = np.exp(logw - logw.max(axis=1, keepdims=True))
    per /= per.sum(axis=1, keepdims=True)
    return w_glob, per


def _assignment(weights: np.ndarray, n: int, seed: int, label: str) -> np.ndarray:
    """Which law each of ``n`` draws of a curve comes from: stratified, shuffled by label."""
    counts = np.floor(weights * n).astype(int)
    rest = n - counts.sum()
    if rest:
        frac = weights * n - counts
        counts[np.argsort(-frac)[:rest]] += 1
    out = np.repeat(np.arange(len(weights)), counts)
    rng = np.random.default_rng([int(seed), zlib.crc32(label.encode())])
    return rng.permutation(out)


@dataclass(frozen=True, eq=False)
class FormFit:
    """Several laws fitted to the same runs, and how much each curve trusts each.

    Attributes
    ----------
    components : dict[str, ScalingFit]
        By law name.
    weights : ndarray ``(curves, laws)``
        Per-curve weights (rows sum to 1), in the order of :attr:`components`.
    global_weights : ndarray ``(laws,)``
        Stacking weights over all curves (used for curves the fit never saw).
    table : DataFrame
        Per curve and law: ``elpd_lfo``, ``khat`` (Pareto k of the PSIS-LFO estimate; NaN when
        scored by the refitted backtest), ``weight``. ``meta["method"]`` says which score:
        ``"psis-lfo"`` or ``"refit-lfo"`` (learning curves).
    """

    components: dict[str, Any]
    weights: np.ndarray
    global_weights: np.ndarray
    table: pd.DataFrame
    shrink: float = SHRINK
    meta: dict[str, Any] = field(default_factory=dict)

    # --------------------------------------------------------------- delegation
    @property
    def main(self) -> Any:
        """The law with the largest global weight (used for parameter tables and allocation)."""
        names = list(self.components)
        return self.components[names[int(np.argmax(self.global_weights))]]

    @property
    def laws(self) -> list[str]:
        """Law names, in weight order of the columns."""
        return list(self.components)

    @property
    def law_label(self) -> str:
        """Short description for titles."""
        w = ", ".join(f"{k} {v:.2f}" for k, v in zip(self.laws, self.global_weights, strict=True))
        return f"auto ({w})"

    def __getattr__(self, name: str) -> Any:
        if name in ("x_cols", "y_col", "group_cols", "run_col", "levels", "curves", "runs",
                    "curve_labels", "training_data", "scale_kind", "numeric_groups",
                    "n_draws", "log_x_ref", "log_y_ref", "run_curve"):
            return getattr(self.main, name)
        raise AttributeError(name)

    @property
    def law(self) -> Any:
        """The main law (see :attr:`main`)."""
        return self.main.law

    @property
    def structure(self) -> Any:
        """The main law's model structure."""
        return self.main.structure

    @property
    def discrepancy(self) -> Any:
        """The main law's drift draws."""
        return self.main.discrepancy

    # --------------------------------------------------------------- checks
    @property
    def diagnostics(self) -> Any:
        """Sampler diagnostics of the main law (all laws: :meth:`check`)."""
        return self.main.diagnostics

    def check(self, warn: bool = True) -> Any:
        """Sampler and fit checks of every law with non-negligible weight (problems prefixed)."""
        from bayes_scaling.checks import CombinedReport

        reports = {
            k: c.check(warn=False)
            for k, c in self.components.items()
            if self.weights[:, list(self.components).index(k)].max() > 0.05
        }
        report = CombinedReport(reports)
        if warn:
            report.warn()
        return report

    # --------------------------------------------------------------- prediction
    def curve_weights(self, key: tuple[str, ...]) -> np.ndarray:
        """Weights of the laws for a curve key (global weights for unseen curves)."""
        try:
            return self.weights[self.curves.index(key)]
        except ValueError:
            return self.global_weights

    def predictive_draws(
        self,
        data: pd.DataFrame | str | PathLike[str],
        *,
        seed: int = 0,
        allow_new_levels: bool = True,
        max_decades: float = 6.0,
        noise: str = "row",
    ) -> PredictiveDraws:
        """Mixture of the laws' predictive draws, per row by its curve's weights.

        ``noise``: see :func:`bayes_scaling.predictive_draws`.
        """
        frame = read_table(data, what="prediction data").copy()
        per = {
            k: predictive_draws(c, frame, seed=seed, allow_new_levels=allow_new_levels,
                                max_decades=max_decades, noise=noise)
            for k, c in self.components.items()
        }
        first = next(iter(per.values()))
        n = min(d.curve.shape[0] for d in per.values())
        keys = curve_keys(self.main, frame)
        out = {name: np.empty((n, len(frame)), order="F")  # a row's draws contiguous
               for name in ("curve", "expected", "observed")}
        names = list(per)
        for key in dict.fromkeys(keys):
            rows = np.flatnonzero([k == key for k in keys])
            a = _assignment(self.curve_weights(key), n, seed, curve_label(self.group_cols, key))
            for j, law in enumerate(names):
                d = np.flatnonzero(a == j)
                for q in out:
                    out[q][np.ix_(d, rows)] = getattr(per[law], q)[np.ix_(d, rows)]
        return PredictiveDraws(frame, out["curve"], out["expected"], out["observed"],
                               first.curve_label, first.kind, first.decades, first.reference)

    def predict(self, data: Any, prob: float | Sequence[float] = 0.9, *, seed: int = 0,
                allow_new_levels: bool = True) -> pd.DataFrame:
        """Posterior predictive summary (see :func:`bayes_scaling.predict`)."""
        from bayes_scaling.predict import predict

        return predict(self, data, prob, seed=seed, allow_new_levels=allow_new_levels)

    def law_predictions(self, data: Any, prob: float = 0.9, *, seed: int = 0) -> pd.DataFrame:
        """Each law's median and interval beside the mixture's (and the mixture's widening)."""
        (prob,) = check_probs(prob)
        frame = read_table(data, what="prediction data").copy()
        out = self.predict(frame, prob, seed=seed)
        for k, c in self.components.items():
            d = predictive_draws(c, frame, seed=seed)
            lo, med, hi = central_interval(d.observed, prob)
            out[f"{k}_median"], out[f"{k}_lower"], out[f"{k}_upper"] = med, lo, hi
        return out

    def summary(self, prob: float = 0.9) -> pd.DataFrame:
        """Parameter tables of every law (column ``law``)."""
        from bayes_scaling.summaries import curve_table

        return curve_table(self, prob)

    def save(self, path: str | PathLike[str]) -> None:
        """Write all laws' fits to one netCDF file (see :func:`bayes_scaling.save_fit`)."""
        save_form_fit(self, path)

    def __repr__(self) -> str:
        return (
            f"FormFit(laws={self.laws}, weights={np.round(self.global_weights, 3).tolist()}, "
            f"curves={len(self.curves)}, x={list(self.x_cols)}, y={self.y_col!r})"
        )


def _table(fits: Mapping[str, Any], elpd: np.ndarray, khat: np.ndarray,
           weights: np.ndarray) -> pd.DataFrame:
    first = next(iter(fits.values()))
    rows = []
    for c, label in enumerate(first.curve_labels):
        for j, law in enumerate(fits):
            rows.append({"curve": label, "law": law, "elpd_lfo": elpd[c, j], "khat": khat[c, j],
                         "weight": weights[c, j]})
    return pd.DataFrame(rows)


def _elpd(fits: Mapping[str, Any]) -> tuple[str, np.ndarray, np.ndarray]:
    """How laws are scored per curve: ``(method, elpd, khat)``, both ``(curves, laws)``.

    Rows that are checkpoints of runs (``run=``) are scored by the refitted backtest
    (:func:`refit_lfo_elpd`) when any law has one: their pointwise log-likelihoods are
    one-step-ahead densities of the run residual, so PSIS-LFO over them measures a one-step
    forecast, not the extrapolation ``auto`` must choose for (on the (Mis)Fitting curves cut at
    30% of their schedule it gave M4 weight 0.79, whose median error at the schedule's end is
    9x saturating's; ``benchmarks/bench_curve_contract.py``). A law without a backtest (too few
    checkpoints above the cut for its parameters, as for M4 on a 10-checkpoint run) is unscored
    (NaN: its prior share, see :func:`form_weights`) rather than sending every law back to
    PSIS-LFO: that fallback weighed laws by one-step forecasts on 10 checkpoints of a
    (Mis)Fitting run and by the backtest on 50 of the same run, and the interval narrowed 1.77x
    (``benchmarks/bench_curves.py --parts checkpoints``). PSIS-LFO otherwise.
    """
    first = next(iter(fits.values()))
    if first.run_col:
        refit = [refit_lfo_elpd(f) for f in fits.values()]
        n_c = len(first.curves)
        elpd = np.column_stack([np.full(n_c, np.nan) if r is None else r for r in refit])
        if np.isfinite(elpd).any():
            return "refit-lfo", elpd, np.full_like(elpd, np.nan)
    mask = _block_mask(first)
    pairs = [lfo_elpd(f, mask) for f in fits.values()]
    return "psis-lfo", np.column_stack([p[0] for p in pairs]), np.column_stack(
        [p[1] for p in pairs])


def combine(fits: Mapping[str, Any], shrink: float = SHRINK) -> FormFit:
    """Weigh fitted laws of the same runs per curve (see module docstring)."""
    if not 0.0 <= shrink <= 1.0:
        raise ValueError(f"shrink must be between 0 and 1, got {shrink!r}")
    names = list(fits)
    first = fits[names[0]]
    for k in names[1:]:
        if fits[k].curves != first.curves:
            raise ValueError(f"laws {names[0]!r} and {k!r} were fitted to different curves")
    method, elpd, khat = _elpd(fits)
    w_glob, per = form_weights(elpd, shrink, CONCENTRATION[method])
    meta = {"laws": names, "shrink": shrink, "method": method}
    return FormFit(dict(fits), per, w_glob, _table(fits, elpd, khat, per), shrink, meta)


def compare_laws(
    data: pd.DataFrame | str | PathLike[str],
    x: str | Sequence[str],
    y: str,
    groups: str | Sequence[str] | None = None,
    *,
    laws: Sequence[Any] | None = None,
    run: str | None = None,
    model: Any = None,
    shrink: float = SHRINK,
    chains: int = 4,
    warmup: int = 1000,
    draws: int = 1000,
    seed: int = 0,
    target_accept: float = 0.9,
    progress: bool | None = None,
    warn: bool = True,
) -> FormFit:
    """Fit every law in ``laws`` to the same runs and weigh them per curve by PSIS-LFO.

    Parameters
    ----------
    data, x, y, groups, run
        As in :meth:`~bayes_scaling.ScalingLaw.fit`.
    laws : sequence of str or Law, optional
        At least two laws taking the same inputs (default: those of ``law="auto"``, plus
        ``broken`` for one input).
    model : ScalingLaw, optional
        Other options shared by all laws (pooling, likelihood, priors...).
    shrink : float
        Weight of a curve's own evidence against the global weights.
    chains, warmup, draws, seed, target_accept, progress
        NUTS settings.
    warn : bool
        Report sampler and fit problems of every law as warnings with advice (default).
    """
    from bayes_scaling.fit import ScalingLaw
    from bayes_scaling.laws import get_law

    n_in = len(as_columns(x, "x"))
    if laws is None:
        laws = AUTO_LAWS.get(n_in, ()) + (("broken",) if n_in == 1 else ())
    laws = list(laws)
    if len(laws) < 2:
        raise ValueError(f"compare at least two laws, got {laws}")
    spec = model or ScalingLaw()
    fits = {}
    for obj in [get_law(lw) for lw in laws]:  # every name resolved before any sampling
        fits[obj.name] = replace(spec, law=obj).fit(
            data, x, y, groups, run=run, chains=chains, warmup=warmup, draws=draws, seed=seed,
            target_accept=target_accept, progress=progress, warn=False,
        )
    result = combine(fits, shrink)
    if warn:
        result.check(warn=True)
    return result


# ------------------------------------------------------------------------------------ I/O
def save_form_fit(fit: FormFit, path: str | PathLike[str]) -> None:
    """One netCDF file: each law's InferenceData under ``/<law>/``, the weights in the root."""
    from pathlib import Path

    from bayes_scaling.io import atomic_write, fit_checksum
    from bayes_scaling.result import FORMAT_VERSION

    path = Path(path)
    if path.suffix.lower() not in (".nc", ".nc4", ".netcdf"):
        raise ValueError(
            f"a fit is saved as netCDF: the file name must end in .nc, got {path.name!r}"
        )
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": "forms",
        "laws": list(fit.components),
        "weights": fit.weights.tolist(),
        "global_weights": fit.global_weights.tolist(),
        "shrink": fit.shrink,
        "method": fit.meta.get("method", "psis-lfo"),
        "table": json.loads(fit.table.to_json(orient="records")),
        "checksums": {k: fit_checksum(c.idata) for k, c in fit.components.items()},
    }

    def write(tmp: Path) -> None:
        _arviz.write_groups(tmp, {k: c.idata for k, c in fit.components.items()},
                            {"bayes_scaling": json.dumps(meta)})

    atomic_write(path, write)


def load_form_fit(root_attrs: Any, meta: dict, path: Any, law: Any = None) -> FormFit:
    """Inverse of :func:`save_form_fit` (checksums verified, each law resolved and checked)."""
    from bayes_scaling.io import fit_checksum
    from bayes_scaling.laws import resolve_law
    from bayes_scaling.result import ScalingFit

    comps = {}
    for name in meta["laws"]:
        idata = _arviz.read_group(path, name)
        if fit_checksum(idata) != meta["checksums"].get(name):
            raise ValueError(
                f"fit file {str(path)!r} fails its checksum (law {name!r}): it was modified or "
                "is corrupt"
            )
        sub = json.loads(_arviz.attrs(idata)["bayes_scaling"])
        comps[name] = ScalingFit.from_idata(idata, law=resolve_law(sub["law"], law))
    weights = np.asarray(meta["weights"], dtype=float)
    if weights.shape != (len(next(iter(comps.values())).curves), len(comps)):
        raise ValueError(f"fit file {str(path)!r}: weights do not match its curves and laws")
    return FormFit(comps, weights, np.asarray(meta["global_weights"], dtype=float),
                   pd.DataFrame(meta["table"]), float(meta["shrink"]), meta)
