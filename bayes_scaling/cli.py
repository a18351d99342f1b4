"""Command line: ``bayes-scaling fit|predict|summary|optimal|risk|check|backtest|compare|demo``.

Any bad input ends with a non-zero exit and one line ``bayes-scaling: error: ...`` on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]

PROG = "bayes-scaling"


def _fast() -> bool:
    return os.environ.get("BAYES_SCALING_FAST", "") not in ("", "0", "false", "False")


def _parse_prior(text: str) -> tuple[str, dict]:
    name, sep, spec = text.partition("=")
    if not sep or not name:
        raise ValueError(f'--prior must look like NAME=\'{{"dist": "Normal", ...}}\', got {text!r}')
    try:
        value = json.loads(spec)
    except json.JSONDecodeError as e:
        raise ValueError(f"--prior {name}: value is not JSON ({e.msg})") from None
    if not isinstance(value, dict):
        raise ValueError(f"--prior {name}: value must be a JSON object with a 'dist' key")
    return name, value


def _write_table(df, out: str | None) -> None:  # noqa: ANN001 - pandas DataFrame
    if out is None:
        print(df.to_string(index=False))
        return
    path = Path(out)
    if path.parent and not path.parent.exists():
        raise ValueError(f"output directory {str(path.parent)!r} does not exist")
    if path.suffix.lower() == ".json":
        path.write_text(df.to_json(orient="records", indent=1))
    elif path.suffix.lower() == ".csv":
        df.to_csv(path, index=False)
    else:
        raise ValueError(f"--out must end in .csv or .json, got {out!r}")
    print(f"wrote {len(df)} rows to {path}", file=sys.stderr)


def _sampler_args(p: argparse.ArgumentParser, draws: int = 1000) -> None:
    p.add_argument("--chains", type=int, default=4, help="NUTS chains (default 4)")
    p.add_argument("--warmup", type=int, default=1000, help="warm-up steps per chain")
    p.add_argument("--draws", type=int, default=draws, help="draws per chain")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--target-accept", type=float, default=0.9, help="NUTS target acceptance")
    p.add_argument("--progress", action="store_true", help="show a progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bayes-scaling`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Bayesian scaling laws: fit small runs, trust big ones (or not)."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    f = sub.add_parser("fit", help="fit a (hierarchical) scaling law to a CSV of runs")
    f.add_argument("runs", help="CSV with one row per run")
    f.add_argument(
        "--x", action="append", required=True, help="scale column (repeat for two-input laws)"
    )
    f.add_argument("--y", required=True, help="metric column (loss or error, lower is better)")
    f.add_argument("--group", action="append", default=[], help="grouping column (repeatable)")
    f.add_argument("--law", default="saturating", help="power|saturating|broken|chinchilla|kaplan")
    f.add_argument("--pooling", default="partial", help="partial|none|complete")
    f.add_argument("--likelihood", default="normal", help="normal|student_t|huber")
    f.add_argument(
        "--compute-col",
        default=None,
        help="training-FLOP column: with a two-input law, a missing --x column (N or D) is "
        "derived from C = k*N*D",
    )
    f.add_argument("--k", type=float, default=6.0, help="FLOP per parameter per token (6)")
    f.add_argument("--noise", default="curve", help="curve|shared|<group column>")
    f.add_argument(
        "--discrepancy",
        default="prior",
        choices=["lfo", "prior", "none"],
        help="extrapolation discrepancy: drift prior learned across studies (default), that "
        "prior updated by leave-future-out inside the data, or none",
    )
    f.add_argument(
        "--prior",
        action="append",
        default=[],
        help='override a prior: NAME=\'{"dist":"Normal","loc":0,"scale":1}\'',
    )
    f.add_argument("--min-points", type=int, default=None, help="fewest rows per curve")
    f.add_argument("--strict", action="store_true", help="reject duplicate rows")
    _sampler_args(f)
    f.add_argument("--out", required=True, help="output netCDF file (FIT.nc)")

    p = sub.add_parser("predict", help="posterior predictive intervals at new scales")
    p.add_argument("fit", help="FIT.nc from `fit`")
    p.add_argument("at", help="CSV with the group and scale columns")
    p.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--no-new-levels", action="store_true", help="reject group labels not seen in training"
    )
    p.add_argument("--out", default=None, help="PRED.csv or PRED.json (default: print)")

    s = sub.add_parser("summary", help="parameters and diagnostics of a fit")
    s.add_argument("fit", help="FIT.nc from `fit`")
    s.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    s.add_argument("--out", default=None, help="write the parameter table to CSV or JSON")

    o = sub.add_parser("optimal", help="compute-optimal N, D and loss for FLOP budgets")
    o.add_argument("fit", help="FIT.nc of a two-input law (chinchilla, kaplan)")
    o.add_argument("--compute", required=True, help="budgets in FLOP, e.g. 1e21,1e22,1e23")
    o.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    o.add_argument("--k", type=float, default=6.0, help="FLOP per parameter per token (6)")
    o.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    o.add_argument("--out", default=None, help="OUT.csv or OUT.json (default: print)")

    r = sub.add_parser("risk", help="probability that a run beats a threshold, per row")
    r.add_argument("fit", help="FIT.nc from `fit`")
    r.add_argument("at", help="CSV with the group and scale columns")
    r.add_argument("--below", type=float, required=True, help="metric threshold")
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--out", default=None, help="OUT.csv or OUT.json (default: print)")

    c = sub.add_parser("check", help="how surprising new runs are (percentile and flag)")
    c.add_argument("fit", help="FIT.nc from `fit`")
    c.add_argument("new", help="CSV of new runs with group, scale and metric columns")
    c.add_argument("--prob", type=float, default=0.95, help="flag outside this central interval")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    c.add_argument("--out", default=None, help="OUT.csv or OUT.json (default: print)")

    b = sub.add_parser("backtest", help="fit small scales, score predictions of large ones")
    b.add_argument("runs", help="CSV with one row per run")
    b.add_argument("--x", action="append", required=True, help="scale column (repeatable)")
    b.add_argument("--y", required=True, help="metric column")
    b.add_argument("--group", action="append", default=[], help="grouping column (repeatable)")
    b.add_argument("--cutoff", type=float, default=None, help="train on rows with scale <= this")
    b.add_argument("--cutoff-col", default=None, help="column the cutoff applies to (first --x)")
    b.add_argument("--split", default=None, help="boolean column: true = train (official split)")
    b.add_argument("--law", default="saturating", help="law to test")
    b.add_argument("--likelihood", default="normal", help="normal|student_t|huber")
    b.add_argument(
        "--discrepancy",
        default="prior",
        choices=["lfo", "prior", "none"],
        help="extrapolation discrepancy of the Bayesian model (default prior)",
    )
    _sampler_args(b, draws=500)
    b.add_argument("--out", required=True, help="REPORT.json")

    m = sub.add_parser("compare", help="compare a parameter across the levels of a factor")
    m.add_argument("fit", help="FIT.nc of a partially pooled fit")
    m.add_argument("--factor", required=True, help="grouping column to compare")
    m.add_argument("--param", default="alpha", help="law parameter (default alpha)")
    m.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    m.add_argument("--json", default=None, help="write the comparison to OUT.json")

    d = sub.add_parser("demo", help="fit a bundled real dataset, print intervals, write a plot")
    d.add_argument(
        "--dataset",
        default="revisiting_nmt",
        choices=["revisiting_nmt"],
        help="bundled dataset to fit",
    )
    d.add_argument("--out-dir", default="demo_out", help="where to write the plot and the fit")
    _sampler_args(d, draws=1000)
    return parser


def _cmd_fit(a: argparse.Namespace) -> None:
    from bayes_scaling.estimator import ScalingLaw

    priors = dict(_parse_prior(t) for t in a.prior)
    runs = a.runs
    if a.compute_col:
        from bayes_scaling.compute import complete_compute

        if len(a.x) != 2:
            raise ValueError("--compute-col needs two --x columns (parameters, then tokens)")
        runs, notes = complete_compute(runs, n=a.x[0], d=a.x[1], c=a.compute_col, k=a.k)
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    model = ScalingLaw(
        a.law,
        pooling=a.pooling,
        likelihood=a.likelihood,
        noise=a.noise,
        priors=priors,
        min_points=a.min_points,
        discrepancy=a.discrepancy,
    )
    fit = model.fit(
        runs,
        x=a.x,
        y=a.y,
        groups=a.group,
        chains=a.chains,
        warmup=a.warmup,
        draws=a.draws,
        seed=a.seed,
        target_accept=a.target_accept,
        progress=a.progress or None,
        strict=a.strict,
        warn=False,
    )
    fit.save(a.out)
    print(fit)
    _print_diagnostics(fit)
    print(f"wrote {a.out}", file=sys.stderr)


def _cmd_predict(a: argparse.Namespace) -> None:
    from bayes_scaling.io import load_fit

    fit = load_fit(a.fit)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pred = fit.predict(a.at, prob=a.prob, seed=a.seed, allow_new_levels=not a.no_new_levels)
    new = sorted(set(pred.loc[pred["kind"] != "fitted curve", "curve"]))
    if new:
        print(f"note: predicted from the population (not fitted): {new}", file=sys.stderr)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    _write_table(pred, a.out)


def _cmd_summary(a: argparse.Namespace) -> None:
    from bayes_scaling.io import load_fit
    from bayes_scaling.summaries import curve_table, level_table

    fit = load_fit(a.fit)
    print(fit)
    print(f"law: {fit.law.formula}")
    _print_diagnostics(fit)
    table = curve_table(fit, a.prob)
    print(f"\nparameters per curve ({100 * a.prob:g}% intervals, original units):")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if fit.design.pooling == "partial" and fit.group_cols:
        print(f"\nparameters per factor level ({100 * a.prob:g}% intervals, normalised units):")
        print(level_table(fit, a.prob).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if a.out:
        _write_table(table, a.out)


def _cmd_optimal(a: argparse.Namespace) -> None:
    from bayes_scaling.io import load_fit
    from bayes_scaling.optimal import optimal_allocation

    fit = load_fit(a.fit)
    result = optimal_allocation(fit, a.compute, prob=a.prob, k=a.k, seed=a.seed)
    table = result.table.drop(columns=["curve", "kind"])
    if a.out is None:
        with pd_options():
            print(table.to_string(index=False))
        print("\nN_opt ∝ C^a, D_opt ∝ C^b:")
        print(result.exponents.drop(columns=["curve"]).to_string(index=False))
    else:
        _write_table(table, a.out)


def pd_options():  # noqa: ANN201 - pandas context manager
    """Compact float display for printed tables."""
    import pandas as pd

    return pd.option_context("display.float_format", "{:.4g}".format, "display.width", 200)


def _cmd_risk(a: argparse.Namespace) -> None:
    from bayes_scaling.io import load_fit
    from bayes_scaling.risk import prob_below

    _write_table(prob_below(load_fit(a.fit), a.at, a.below, seed=a.seed), a.out)


def _cmd_check(a: argparse.Namespace) -> None:
    from bayes_scaling.io import load_fit
    from bayes_scaling.risk import check_runs

    out = check_runs(load_fit(a.fit), a.new, a.prob, seed=a.seed)
    n = int((out["flag"] != "").sum())
    print(
        f"{n} of {len(out)} run(s) outside their central {100 * a.prob:g}% interval",
        file=sys.stderr,
    )
    _write_table(out, a.out)


def _cmd_backtest(a: argparse.Namespace) -> None:
    from bayes_scaling.backtest import backtest
    from bayes_scaling.estimator import ScalingLaw

    if not a.out.lower().endswith(".json"):
        raise ValueError(f"--out must end in .json, got {a.out!r}")
    reports = backtest(
        a.runs,
        a.x,
        a.y,
        a.group or None,
        cutoff=a.cutoff,
        cutoff_col=a.cutoff_col,
        split=a.split,
        model=ScalingLaw(a.law, likelihood=a.likelihood),
        chains=a.chains,
        warmup=a.warmup,
        draws=a.draws,
        seed=a.seed,
    )
    rows = [
        {"method": k, **{m: v for m, v in r.summary.items() if not isinstance(v, str)}}
        for k, r in reports.items()
    ]
    with pd_options():
        import pandas as pd

        print(pd.DataFrame(rows).to_string(index=False))
    Path(a.out).write_text(
        json.dumps(
            {
                "settings": {
                    "x": a.x,
                    "y": a.y,
                    "groups": a.group,
                    "cutoff": a.cutoff,
                    "cutoff_col": a.cutoff_col,
                    "split": a.split,
                    "law": a.law,
                },
                "methods": {k: r.to_dict() for k, r in reports.items()},
            },
            indent=1,
        )
    )
    print(f"wrote {a.out}", file=sys.stderr)


def _cmd_compare(a: argparse.Namespace) -> None:
    from bayes_scaling.compare import compare_levels
    from bayes_scaling.io import load_fit

    cmp = compare_levels(load_fit(a.fit), a.factor, a.param, a.prob)
    with pd_options():
        print(f"{a.param} by {a.factor} ({100 * a.prob:g}% intervals):")
        print(cmp.levels.to_string(index=False))
        print(f"\n{a.param}(a) - {a.param}(b), p_greater = P({a.param}(a) > {a.param}(b)):")
        print(cmp.pairs.to_string(index=False))
    if a.json:
        if not a.json.lower().endswith(".json"):
            raise ValueError(f"--json must end in .json, got {a.json!r}")
        Path(a.json).write_text(json.dumps(cmp.to_dict(), indent=1))
        print(f"wrote {a.json}", file=sys.stderr)


def _cmd_demo(a: argparse.Namespace) -> None:
    from bayes_scaling.demo import run_demo

    run_demo(
        a.dataset,
        Path(a.out_dir),
        chains=a.chains,
        warmup=a.warmup,
        draws=a.draws,
        seed=a.seed,
        fast=_fast(),
        progress=a.progress or None,
    )


def _print_diagnostics(fit) -> None:  # noqa: ANN001 - ScalingFit
    diag = fit.diagnostics
    print(f"diagnostics: {str(diag).splitlines()[0]}")
    for problem in diag.problems:
        print(f"warning: {problem}", file=sys.stderr)


COMMANDS = {
    "fit": _cmd_fit,
    "predict": _cmd_predict,
    "summary": _cmd_summary,
    "optimal": _cmd_optimal,
    "risk": _cmd_risk,
    "check": _cmd_check,
    "backtest": _cmd_backtest,
    "compare": _cmd_compare,
    "demo": _cmd_demo,
}


def _format_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ANN001
    return f"warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    chains = getattr(args, "chains", None)
    if isinstance(chains, int) and chains > 1:
        import numpyro  # before JAX starts its backend: one CPU device per chain

        numpyro.set_host_device_count(min(chains, os.cpu_count() or 1))
    warnings.formatwarning = _format_warning
    try:
        COMMANDS[args.command](args)
    except (ValueError, TypeError, OSError, KeyError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
