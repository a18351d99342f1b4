"""Verbs ``fit``, ``predict``, ``summary`` and ``compare-laws``."""

from __future__ import annotations

import argparse
import sys
import warnings

from bayes_scaling.cli._common import (
    check_out,
    law_arg,
    load,
    parse_prior,
    print_table,
    report_checks,
    sampler_args,
    sampler_kwargs,
    write_table,
)

__all__ = ["add", "COMMANDS"]

_LAW_HELP = (
    "auto (default: a per-curve choice among power, saturating and m4 for one input; "
    "chinchilla for two), power, saturating, broken, m4, chinchilla, kaplan, lr_batch, "
    "or FILE.py:NAME (your own law; --x columns bind to its inputs in order)"
)


def _model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--pooling", default="partial", help="partial|none|complete")
    p.add_argument("--likelihood", default=None,
                   help="normal|student_t|huber|contaminated (default normal; student_t for "
                        "lr_batch)")
    p.add_argument("--noise", default="curve", help="curve|shared|<group column>")
    p.add_argument("--prior", action="append", default=[],
                   help='override a prior: NAME=\'{"dist":"LogNormal","loc":0,"scale":1}\'')
    p.add_argument("--min-points", type=int, default=None, help="fewest rows per curve")
    p.add_argument("--scale-kind", default=None, choices=["params", "data", "compute", "steps"],
                   help="what the scale measures (picks the drift population; guessed)")


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", help="CSV with one row per run or checkpoint")
    p.add_argument("--x", action="append", required=True,
                   help="input column (repeat for laws with several inputs, in the law's order)")
    p.add_argument("--y", required=True, help="metric column (loss or error, lower is better)")
    p.add_argument("--group", action="append", default=[], help="grouping column (repeatable)")
    p.add_argument("--run", default=None,
                   help="column identifying training runs: rows are checkpoints of learning curves")


def add(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's type
    """Register the verbs."""
    f = sub.add_parser("fit", help="fit a (hierarchical) scaling law to a CSV of runs")
    _data_args(f)
    f.add_argument("--law", default="auto", help=_LAW_HELP)
    _model_args(f)
    f.add_argument("--discrepancy", default="prior", choices=["prior", "none"],
                   help="extrapolation drift learned across studies (default) or none")
    f.add_argument("--no-drift-update", action="store_true",
                   help="keep a new study's drift: do not update it by a backtest inside the data "
                        "(saves one fit per law)")
    f.add_argument("--compute-col", default=None,
                   help="training-FLOP column: with a (parameters, tokens) law, a missing --x "
                        "column is derived from C = k*N*D")
    f.add_argument("--k", type=float, default=6.0, help="FLOP per parameter per token (6)")
    f.add_argument("--strict", action="store_true", help="reject duplicate rows")
    sampler_args(f)
    f.add_argument("--out", required=True, help="output netCDF file (FIT.nc)")

    p = sub.add_parser("predict", help="posterior predictive intervals at new rows")
    p.add_argument("fit", help="FIT.nc from `fit`")
    p.add_argument("at", help="CSV with the group and input columns (and --run column)")
    p.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--no-new-levels", action="store_true",
                   help="refuse group labels not seen in training")
    law_arg(p)
    p.add_argument("--out", default=None, help="PRED.csv or PRED.json (default: print)")

    s = sub.add_parser("summary", help="parameters, checks and drift of a fit")
    s.add_argument("fit", help="FIT.nc from `fit`")
    s.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    law_arg(s)
    s.add_argument("--out", default=None, help="write the parameter table to CSV or JSON")

    c = sub.add_parser("compare-laws",
                       help="fit several laws to the same runs; per-curve weights by PSIS-LFO "
                       "(learning curves: by the in-study backtest)")
    _data_args(c)
    c.add_argument("--law", action="append", default=None,
                   help="a law to compare (repeat; default power, saturating, m4, broken)")
    _model_args(c)
    sampler_args(c)
    c.add_argument("--out", default=None, help="write the per-curve table to CSV or JSON")
    c.add_argument("--fit-out", default=None, help="also save the combined fit (FIT.nc)")


def _spec(a: argparse.Namespace, law: object) -> object:
    from bayes_scaling.fit import ScalingLaw

    return ScalingLaw(
        law,
        pooling=a.pooling,
        likelihood=a.likelihood,
        noise=a.noise,
        priors=dict(parse_prior(t) for t in a.prior),
        min_points=a.min_points,
        discrepancy=getattr(a, "discrepancy", "prior"),
        drift_update=not getattr(a, "no_drift_update", False),
        scale_kind=a.scale_kind,
    )


def cmd_fit(a: argparse.Namespace) -> None:
    """``fit``."""
    from bayes_scaling.inference import SamplerSettings

    out = check_out(a.out, (".nc",), [a.runs])
    SamplerSettings(a.chains, a.warmup, a.draws, a.seed, a.target_accept)  # fail before reading
    runs = a.runs
    if a.compute_col:
        from bayes_scaling.decisions.compute import complete_compute

        if len(a.x) != 2:
            raise ValueError("--compute-col needs two --x columns (parameters, then tokens)")
        runs, notes = complete_compute(runs, n=a.x[0], d=a.x[1], c=a.compute_col, k=a.k)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    fit = _spec(a, a.law).fit(
        runs, x=a.x, y=a.y, groups=a.group, run=a.run, strict=a.strict, warn=False,
        **sampler_kwargs(a),
    )
    fit.save(out)
    print(fit)
    if hasattr(fit, "components"):
        weights = {k: round(float(w), 3) for k, w in zip(fit.laws, fit.global_weights,
                                                         strict=True)}
        print(f"law weights (stacking over curves' held-out blocks): {weights}")
    disc = fit.discrepancy
    if disc is not None:
        print(disc.summary())
    report_checks(fit)
    print(f"wrote {out}", file=sys.stderr)


def cmd_predict(a: argparse.Namespace) -> None:
    """``predict``."""
    from bayes_scaling.intervals import check_probs
    from bayes_scaling.predict import NewLevelWarning

    out = check_out(a.out, (".csv", ".json"), [a.fit, a.at])
    check_probs(a.prob, "--prob")
    fit = load(a.fit, a.law)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = fit.predict(a.at, prob=a.prob, seed=a.seed, allow_new_levels=not a.no_new_levels)
    for w in caught:
        tag = "note" if issubclass(w.category, NewLevelWarning) else "warning"
        print(f"{tag}: {w.message}", file=sys.stderr)
    write_table(pred, out)


def cmd_summary(a: argparse.Namespace) -> None:
    """``summary``."""
    from bayes_scaling.intervals import check_probs
    from bayes_scaling.summaries import curve_table, level_table

    out = check_out(a.out, (".csv", ".json"), [a.fit])
    check_probs(a.prob, "--prob")
    fit = load(a.fit, a.law)
    table = curve_table(fit, a.prob)
    print(fit)
    main = getattr(fit, "main", fit)
    print(f"law: {main.law.name}: {main.law.formula}")
    if hasattr(fit, "components"):
        how = {"refit-lfo": "refitted in-study backtest, farthest held-out row of each run"}.get(
            fit.meta.get("method"), "PSIS-LFO")
        print(f"per-curve law weights ({how}):")
        print_table(fit.table)
    disc = fit.discrepancy
    if disc is not None:
        print(disc.summary())
    report_checks(fit)
    print(f"\nparameters per curve ({100 * a.prob:g}% intervals, your units):")
    print_table(table)
    if main.structure.pooling == "partial" and main.group_cols:
        print(f"\nparameters per factor level ({100 * a.prob:g}% intervals, your units):")
        print_table(level_table(main, a.prob))
    if out is not None:
        write_table(table, out)


def cmd_compare_laws(a: argparse.Namespace) -> None:
    """``compare-laws``."""
    from dataclasses import replace

    from bayes_scaling.compare.forms import compare_laws

    out = check_out(a.out, (".csv", ".json"), [a.runs])
    fit_out = check_out(a.fit_out, (".nc",), [a.runs], "--fit-out")
    spec = replace(_spec(a, "auto"), discrepancy="prior")
    kw = sampler_kwargs(a)
    result = compare_laws(a.runs, a.x, a.y, a.group or None, laws=a.law, run=a.run, model=spec,
                          **kw)
    print(result)
    print("global weights (stacking):",
          {k: round(float(w), 3) for k, w in zip(result.laws, result.global_weights, strict=True)})
    write_table(result.table, out)
    if fit_out is not None:
        result.save(fit_out)
        print(f"wrote {fit_out}", file=sys.stderr)


COMMANDS = {
    "fit": cmd_fit,
    "predict": cmd_predict,
    "summary": cmd_summary,
    "compare-laws": cmd_compare_laws,
}
