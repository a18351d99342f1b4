"""Verbs ``compare`` (levels of a factor) and ``backtest``."""

from __future__ import annotations

import argparse
import re
import sys

import pandas as pd

from bayes_scaling.cli._common import (
    check_out,
    law_arg,
    load,
    print_table,
    records,
    sampler_args,
    sampler_kwargs,
    write_json,
)

__all__ = ["add", "COMMANDS", "natural_key"]


def natural_key(label: str) -> tuple:
    """Sort key that orders "12M" before "100M" and "lr 1e-3" by its numbers."""
    out: list = []
    for part in re.split(r"(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", str(label)):
        if not part:
            continue
        try:
            out.append((0, float(part), ""))
        except ValueError:
            out.append((1, 0.0, part.lower()))
    return tuple(out)


def add(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's type
    """Register the verbs."""
    m = sub.add_parser("compare", help="compare a parameter across the levels of a factor")
    m.add_argument("fit", help="FIT.nc of a partially pooled fit")
    m.add_argument("--factor", required=True, help="grouping column to compare")
    m.add_argument("--param", default="alpha", help="law parameter (default alpha)")
    m.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    law_arg(m)
    m.add_argument("--json", default=None, help="write the comparison to OUT.json")

    b = sub.add_parser("backtest", help="fit small scales, score predictions of large ones")
    b.add_argument("runs", help="CSV with one row per run")
    b.add_argument("--x", action="append", required=True, help="input column (repeatable)")
    b.add_argument("--y", required=True, help="metric column")
    b.add_argument("--group", action="append", default=[], help="grouping column (repeatable)")
    b.add_argument("--run", default=None, help="column identifying training runs")
    b.add_argument("--cutoff", type=float, default=None, help="train on rows with scale <= this")
    b.add_argument("--cutoff-col", default=None, help="column the cutoff applies to (first --x)")
    b.add_argument("--split", default=None, help="boolean column: true = train (official split)")
    b.add_argument("--law", default="auto", help="law to test (default auto)")
    b.add_argument("--likelihood", default=None, help="normal|student_t|huber|contaminated")
    b.add_argument("--min-points", type=int, default=None, help="fewest rows per curve")
    b.add_argument("--discrepancy", default="prior", choices=["prior", "none"],
                   help="extrapolation drift of the Bayesian model (default prior)")
    b.add_argument("--no-drift-update", action="store_true",
                   help="do not update the drift by a backtest inside each cut-off's data")
    sampler_args(b, draws=500, warmup=500)
    b.add_argument("--out", default=None, help="REPORT.json (default: print the table only)")


def cmd_compare(a: argparse.Namespace) -> None:
    """``compare``."""
    from bayes_scaling.compare.levels import compare_levels
    from bayes_scaling.intervals import check_probs

    out = check_out(a.json, (".json",), [a.fit], "--json")
    check_probs(a.prob, "--prob")
    cmp = compare_levels(load(a.fit, a.law), a.factor, a.param, a.prob)
    levels = cmp.levels.iloc[sorted(range(len(cmp.levels)),
                                    key=lambda i: natural_key(cmp.levels["level"].iloc[i]))]
    print(f"{a.param} by {a.factor} ({100 * a.prob:g}% intervals):")
    print_table(levels)
    print(f"\n{a.param}(a) - {a.param}(b), p_greater = P({a.param}(a) > {a.param}(b)):")
    print_table(cmp.pairs)
    if out is not None:
        body = cmp.to_dict()
        body["levels"] = records(levels)
        body["pairs"] = records(cmp.pairs)
        write_json(out, body)


def cmd_backtest(a: argparse.Namespace) -> None:
    """``backtest``."""
    from bayes_scaling.evaluation.backtest import backtest
    from bayes_scaling.fit import ScalingLaw

    out = check_out(a.out, (".json",), [a.runs])
    spec = ScalingLaw(a.law, likelihood=a.likelihood, min_points=a.min_points,
                      discrepancy=a.discrepancy, drift_update=not a.no_drift_update)
    kw = sampler_kwargs(a)
    kw.pop("progress")
    kw.pop("target_accept")
    reports = backtest(a.runs, a.x, a.y, a.group or None, run=a.run, cutoff=a.cutoff,
                       cutoff_col=a.cutoff_col, split=a.split, model=spec, **kw)
    rows = [{"method": k, **{m: v for m, v in r.summary.items() if not isinstance(v, str)}}
            for k, r in reports.items()]
    print_table(pd.DataFrame(rows))
    for k, r in reports.items():
        for key in ("diagnostics", "checks"):
            if key in r.summary:
                print(f"{k} {key}: {r.summary[key]}", file=sys.stderr)
    if out is None:
        return
    write_json(out, {
        "settings": {"x": a.x, "y": a.y, "groups": a.group, "run": a.run, "cutoff": a.cutoff,
                     "cutoff_col": a.cutoff_col, "split": a.split, "law": a.law},
        "methods": {k: r.to_dict() for k, r in reports.items()},
    })


COMMANDS = {"compare": cmd_compare, "backtest": cmd_backtest}
