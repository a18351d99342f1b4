"""Verbs ``optimal``, ``risk``, ``check`` (and ``tune`` for learning-rate-aware fits)."""

from __future__ import annotations

import argparse
import sys

from bayes_scaling.cli._common import check_out, law_arg, load, print_table, records, write_table

__all__ = ["add", "COMMANDS"]


def add(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's type
    """Register the verbs."""
    o = sub.add_parser("optimal", help="compute-optimal N, D and loss for FLOP budgets")
    o.add_argument("fit", help="FIT.nc of a law over (parameters, tokens)")
    o.add_argument("--compute", required=True, help="budgets in FLOP, e.g. 1e21,1e22,1e23")
    o.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    o.add_argument("--k", type=float, default=6.0, help="FLOP per parameter per token (6)")
    o.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    law_arg(o)
    o.add_argument("--out", default=None, help="OUT.csv or OUT.json (default: print)")

    r = sub.add_parser(
        "risk", help="per row: P(below a threshold), P(beating a baseline run), saturation point"
    )
    r.add_argument("fit", help="FIT.nc from `fit`")
    r.add_argument("at", help="CSV with the group (and run) and input columns")
    r.add_argument("--below", type=float, default=None, help="metric threshold: adds p_below")
    r.add_argument("--versus", default=None, metavar="RUN",
                   help="a fitted run (fit with --run): adds p_beats, P(row ends below RUN)")
    r.add_argument("--saturation", type=float, default=None, metavar="TOL",
                   help="gain per doubling counted as nothing (metric units): adds where "
                        "each curve saturates")
    r.add_argument("--relative", action="store_true",
                   help="--saturation TOL is a fraction of the metric, not metric units")
    r.add_argument("--along", default=None, metavar="COL",
                   help="input training extends along (needed for multi-input laws)")
    r.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    law_arg(r)
    r.add_argument("--out", default=None, help="OUT.csv or OUT.json (default: print)")

    c = sub.add_parser("check", help="how surprising new runs are (percentile and flag)")
    c.add_argument("fit", help="FIT.nc from `fit`")
    c.add_argument("new", help="CSV of new runs with group, input and metric columns")
    c.add_argument("--prob", type=float, default=0.95, help="flag outside this central interval")
    c.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    law_arg(c)
    c.add_argument("--out", default=None, help="OUT.csv or OUT.json (default: print)")

    t = sub.add_parser("tune", help="optimal learning rate and batch size at planned (N, D)")
    t.add_argument("fit", help="FIT.nc of a law with lr and batch_size inputs (lr_batch)")
    t.add_argument("at", help="CSV with the group columns and N, D (and planned lr, batch)")
    t.add_argument("--prob", type=float, default=0.9, help="central interval probability")
    t.add_argument("--tolerance", type=float, default=0.005,
                   help="excess loss counted as close enough (p_within), metric units")
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    law_arg(t)
    t.add_argument("--out", default=None, help="TUNE.csv or TUNE.json (default: print)")


def cmd_tune(a: argparse.Namespace) -> None:
    """``tune``."""
    from bayes_scaling.decisions.tuning import tune
    from bayes_scaling.intervals import check_probs

    out = check_out(a.out, (".csv", ".json"), [a.fit, a.at])
    check_probs(a.prob, "--prob")
    if not a.tolerance > 0:
        raise ValueError(f"--tolerance must be > 0, got {a.tolerance}")
    write_table(tune(load(a.fit, a.law), a.at, a.prob, seed=a.seed, tolerance=a.tolerance), out)


def cmd_optimal(a: argparse.Namespace) -> None:
    """``optimal``."""
    from bayes_scaling.decisions.allocation import optimal_allocation, parse_budgets
    from bayes_scaling.decisions.compute import check_k
    from bayes_scaling.intervals import check_probs

    out = check_out(a.out, (".csv", ".json"), [a.fit])
    parse_budgets(a.compute)
    check_probs(a.prob, "--prob")
    check_k(a.k)
    fit = load(a.fit, a.law)
    result = optimal_allocation(fit, a.compute, prob=a.prob, k=a.k, seed=a.seed)
    table = result.table.drop(columns=["kind"])
    exps = result.exponents
    if out is None:
        print_table(table)
        print("\nN_opt ~ C^a, D_opt ~ C^b:")
        print_table(exps)
    else:
        write_table(table, out, extra={"exponents": records(exps)})


def cmd_risk(a: argparse.Namespace) -> None:
    """``risk``."""
    from bayes_scaling.data import read_table
    from bayes_scaling.decisions.curves import prob_beats, saturation
    from bayes_scaling.decisions.risk import prob_below
    from bayes_scaling.intervals import check_probs

    if a.below is None and a.versus is None and a.saturation is None:
        raise ValueError("risk needs at least one of --below T, --versus RUN, --saturation TOL")
    out = check_out(a.out, (".csv", ".json"), [a.fit, a.at])
    check_probs(a.prob, "--prob")
    fit = load(a.fit, a.law)
    table = read_table(a.at, what="prediction rows")
    result = table.copy()
    if a.below is not None:
        r = prob_below(fit, table, a.below, seed=a.seed)
        result["median"], result["p_below"] = r["median"], r["p_below"]
    if a.versus is not None:
        r = prob_beats(fit, table, str(a.versus), prob=a.prob, seed=a.seed)
        new = [c for c in r.columns if c not in table.columns]
        result[new] = r[new]
    if a.saturation is not None:
        r = saturation(fit, table, a.saturation, along=a.along, relative=a.relative,
                       prob=a.prob, seed=a.seed)
        new = [c for c in r.columns if c not in table.columns]
        result[new] = r[new]
    write_table(result, out)


def cmd_check(a: argparse.Namespace) -> None:
    """``check``."""
    from bayes_scaling.decisions.risk import check_runs
    from bayes_scaling.intervals import check_probs

    out = check_out(a.out, (".csv", ".json"), [a.fit, a.new])
    check_probs(a.prob, "--prob")
    result = check_runs(load(a.fit, a.law), a.new, a.prob, seed=a.seed)
    n = int((result["flag"] != "").sum())
    print(f"{n} of {len(result)} run(s) outside their central {100 * a.prob:g}% interval",
          file=sys.stderr)
    write_table(result, out)


COMMANDS = {"optimal": cmd_optimal, "risk": cmd_risk, "check": cmd_check, "tune": cmd_tune}
