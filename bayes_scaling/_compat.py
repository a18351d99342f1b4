"""Module paths of bayes_scaling 0.1, kept working with a ``DeprecationWarning``.

0.2 laid the package out by stage of the work (``laws/``, ``drift/``, ``decisions/``,
``compare/``, ``evaluation/``, ``plots/``, ``cli/``). ``import bayes_scaling.optimal`` and the
other old paths still import, from their new home, and warn once.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

__all__ = ["MOVED", "install"]

#: Old module path -> new module path.
MOVED = {
    "bayes_scaling.estimator": "bayes_scaling.fit",
    "bayes_scaling.optimal": "bayes_scaling.decisions.allocation",
    "bayes_scaling.risk": "bayes_scaling.decisions.risk",
    "bayes_scaling.compute": "bayes_scaling.decisions.compute",
    "bayes_scaling.averaging": "bayes_scaling.compare.forms",
    "bayes_scaling.pooling": "bayes_scaling.compare.pooling",
    "bayes_scaling.sensitivity": "bayes_scaling.compare.sensitivity",
    "bayes_scaling.backtest": "bayes_scaling.evaluation.backtest",
    "bayes_scaling.baselines": "bayes_scaling.evaluation.baselines",
    "bayes_scaling.simulate": "bayes_scaling.evaluation.simulate",
    "bayes_scaling.plotting": "bayes_scaling.plots",
    "bayes_scaling.plot_compare": "bayes_scaling.plots.compare",
    "bayes_scaling.sweep": "bayes_scaling.drift.sweep",
    "bayes_scaling.discrepancy": "bayes_scaling.drift.apply",
    "bayes_scaling.diagnostics": "bayes_scaling.checks",
    "bayes_scaling.demo": "bayes_scaling.cli.demo",
}


class _Alias(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {self.target} in bayes_scaling 0.2; import it from there "
            "(or from bayes_scaling)",
            DeprecationWarning,
            stacklevel=2,
        )
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        return None


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, _Alias(MOVED[fullname]))
        return None


def install() -> None:
    """Register the finder (idempotent)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_Finder())
