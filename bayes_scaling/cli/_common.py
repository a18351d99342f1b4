"""What every verb of the command line shares: sampler options, file arguments, output tables.

Output paths are checked before any work (extension, directory, not one of the inputs) and
written atomically. Tables are printed or written with 6 significant digits.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "fast",
    "sampler_args",
    "sampler_kwargs",
    "law_arg",
    "check_out",
    "write_table",
    "write_json",
    "print_table",
    "load",
    "parse_prior",
    "report_checks",
    "SIG",
]

SIG = 6
_NUM = re.compile(r"^-\d|^-\.\d|^-inf$|^-nan$", re.IGNORECASE)


def fast() -> bool:
    """``BAYES_SCALING_FAST=1``: small draw counts for smoke runs (notebooks in CI)."""
    return os.environ.get("BAYES_SCALING_FAST", "") not in ("", "0", "false", "False")


def join_negative_values(argv: Sequence[str], value_options: set[str]) -> list[str]:
    """``--compute -1e21`` -> ``--compute=-1e21`` so that argparse passes it to the real check."""
    out: list[str] = []
    i = 0
    argv = list(argv)
    while i < len(argv):
        tok = argv[i]
        if tok in value_options and i + 1 < len(argv) and _NUM.match(argv[i + 1]):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def sampler_args(p: argparse.ArgumentParser, draws: int = 1000, warmup: int = 1000) -> None:
    """NUTS options, defined once for every verb that samples."""
    g = p.add_argument_group("sampler")
    g.add_argument("--chains", type=int, default=4, help="NUTS chains (default 4)")
    g.add_argument("--warmup", type=int, default=warmup, help=f"warm-up per chain ({warmup})")
    g.add_argument("--draws", type=int, default=draws, help=f"draws per chain ({draws})")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--target-accept", type=float, default=0.9, help="NUTS target acceptance")
    g.add_argument("--progress", action="store_true", help="report sampling stages on stderr")


def sampler_kwargs(a: argparse.Namespace) -> dict[str, Any]:
    """The sampler options as keyword arguments of ``fit``."""
    kw = dict(chains=a.chains, warmup=a.warmup, draws=a.draws, seed=a.seed,
              target_accept=a.target_accept, progress=a.progress or None)
    if fast():
        kw.update(chains=min(a.chains, 2), warmup=min(a.warmup, 300), draws=min(a.draws, 300))
    return kw


def law_arg(p: argparse.ArgumentParser) -> None:
    """``--law FILE.py:NAME`` for verbs that read a fit made with a user's law."""
    p.add_argument(
        "--law",
        default=None,
        help="where the fit's own law is now (FILE.py:NAME), if it moved since the fit",
    )


def check_out(out: str | None, suffixes: Sequence[str], inputs: Sequence[str] = (),
              arg: str = "--out") -> Path | None:
    """Validate an output path before any work: extension, directory, not an input file."""
    if out is None:
        return None
    path = Path(out)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{arg} must end in {' or '.join(suffixes)}, got {out!r}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{arg}: directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{arg}: {out!r} is a directory")
    for i in inputs:
        if i is not None and path.resolve() == Path(i).resolve():
            raise ValueError(f"{arg} {out!r} is also an input file; choose another name")
    return path


def _round(v: Any) -> Any:
    if isinstance(v, float | np.floating):
        if not np.isfinite(v):
            return None
        return float(f"{float(v):.{SIG}g}")
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records: 6 significant digits, NaN as null."""
    return [{str(k): _round(v) for k, v in r.items()} for r in df.to_dict(orient="records")]


def write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically."""
    from bayes_scaling.io import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=1))
    print(f"wrote {path}", file=sys.stderr)


def write_table(df: pd.DataFrame, path: Path | None, extra: dict[str, Any] | None = None) -> None:
    """Print (no path) or write a table as CSV or JSON (``extra`` adds keys to the JSON)."""
    if path is None:
        print_table(df)
        return
    from bayes_scaling.io import atomic_write

    if path.suffix.lower() == ".json":
        body: Any = records(df) if not extra else {"rows": records(df), **extra}
        write_json(path, body)
        return
    atomic_write(path, lambda p: df.to_csv(p, index=False, float_format=f"%.{SIG}g"))
    print(f"wrote {len(df)} rows to {path}", file=sys.stderr)


def print_table(df: pd.DataFrame) -> None:
    """Print a table with compact floats."""
    with pd.option_context("display.float_format", f"{{:.{4}g}}".format, "display.width", 200,
                           "display.max_columns", 40, "display.max_rows", 500):
        print(df.to_string(index=False))


def load(path: str, law: str | None = None) -> Any:
    """Load a fit (its user law from the recorded file or ``--law``)."""
    import warnings

    from bayes_scaling.io import load_fit

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DeprecationWarning)
        fit = load_fit(path, law=law)
    for w in caught:  # an upgraded old file: say so once, as a note (it is not an error)
        if issubclass(w.category, DeprecationWarning):
            print(f"note: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return fit


def parse_prior(text: str) -> tuple[str, dict]:
    """``NAME='{"dist": "Normal", ...}'`` -> (name, dict)."""
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


def report_checks(fit: Any) -> None:
    """Print the sampler and fit checks; problems go to stderr as warnings with advice."""
    from bayes_scaling.compare import auto_note

    for line in auto_note(fit):
        print(f"auto: {line}")
    report = fit.check(warn=False)
    print(f"checks: {report.sampler.line()}")
    for problem in report.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if report.ok:
        print("checks: sampler and fit checks passed")
    else:
        print(f"checks: {len(report.problems)} problem(s), see warnings; `bayes-scaling summary` "
              "shows them again")
