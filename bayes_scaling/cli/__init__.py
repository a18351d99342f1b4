"""Command line ``bayes-scaling``.

Verbs: ``fit``, ``predict``, ``summary``, ``compare-laws``, ``optimal``, ``risk``, ``check``,
``tune``, ``compare``, ``backtest``, ``demo``. Every failure ends with a non-zero exit and one
line ``bayes-scaling: error: ...`` on stderr (``--debug`` shows the traceback instead). Verbs
live in small modules by theme; the options they share (sampler, output files, ``--law``) are
defined once in :mod:`._common`.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from collections.abc import Sequence

from bayes_scaling.cli import comparing, decisions, fitting
from bayes_scaling.cli._common import join_negative_values, sampler_args

__all__ = ["main", "build_parser", "COMMANDS"]

PROG = "bayes-scaling"

#: Options that take a value which may be a negative number.
_VALUE_OPTIONS = {"--compute", "--below", "--cutoff", "--prob", "--k", "--seed", "--chains",
                  "--warmup", "--draws", "--target-accept", "--min-points", "--tolerance",
                 "--saturation"}


def _demo_add(sub: argparse._SubParsersAction) -> None:  # noqa: SLF001 - argparse's type
    d = sub.add_parser("demo", help="fit a bundled real dataset, print intervals, write a plot")
    d.add_argument("--dataset", default="revisiting_nmt", choices=["revisiting_nmt"],
                   help="bundled dataset to fit")
    d.add_argument("--out-dir", default="demo_out", help="where to write the plot and the fit")
    sampler_args(d)


def _cmd_demo(a: argparse.Namespace) -> None:
    from pathlib import Path

    from bayes_scaling.cli._common import fast
    from bayes_scaling.cli.demo import run_demo

    run_demo(a.dataset, Path(a.out_dir), chains=a.chains, warmup=a.warmup, draws=a.draws,
             seed=a.seed, fast=fast(), progress=a.progress or None)


COMMANDS = {**fitting.COMMANDS, **decisions.COMMANDS, **comparing.COMMANDS, "demo": _cmd_demo}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``bayes-scaling`` command."""
    parser = argparse.ArgumentParser(
        prog=PROG, description="Bayesian scaling laws: fit small runs, trust big ones (or not)."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", required=True)
    fitting.add(sub)
    decisions.add(sub)
    comparing.add(sub)
    _demo_add(sub)
    return parser


def _format_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ANN001
    return f"warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 usage or input error, 1 internal)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(join_negative_values(argv, _VALUE_OPTIONS))
    args.debug = debug
    warnings.formatwarning = _format_warning
    try:
        COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted (no output file was left half-written)", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - every failure becomes one line
        if args.debug or os.environ.get("BAYES_SCALING_DEBUG"):
            traceback.print_exc()
        text = str(e).strip()
        if isinstance(e, KeyError):
            text = f"missing key or column {text}"
        msg = text.splitlines()[0] if text else type(e).__name__
        expected = isinstance(e, ValueError | TypeError | OSError | KeyError | FloatingPointError)
        if not expected:
            msg = f"internal error ({type(e).__name__}: {msg}); rerun with --debug and report it"
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2 if expected else 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
