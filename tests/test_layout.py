"""The package's shape: module-level imports form no cycle, the public API is re-exported, and
the paths of 0.1 still import (with a deprecation warning)."""

import ast
import importlib
from pathlib import Path

import pytest

import bayes_scaling as bs

ROOT = Path(bs.__file__).parent


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _graph() -> dict[str, set[str]]:
    mods = {_module(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: imports inside functions are lazy
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                "bayes_scaling"
            ):
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("bayes_scaling")]
            for t in targets:
                if t in graph and t != mod:
                    graph[mod].add(t)
    return graph


def test_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in graph[m]:
            if n.startswith(m + "."):  # a package importing its own submodules
                continue
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(n):] + [n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text().splitlines()) for p in ROOT.rglob("*.py")}
    big = {k: v for k, v in sizes.items() if v > 600}
    assert not big, f"modules over 600 lines: {big}"


def test_public_api_is_reexported():
    for name in bs.__all__:
        assert hasattr(bs, name), name
    assert bs.ScalingLaw is importlib.import_module("bayes_scaling.fit").ScalingLaw


@pytest.mark.parametrize("old, new, name", [
    ("bayes_scaling.optimal", "bayes_scaling.decisions.allocation", "optimal_allocation"),
    ("bayes_scaling.estimator", "bayes_scaling.fit", "ScalingLaw"),
    ("bayes_scaling.plotting", "bayes_scaling.plots", "plot_curves"),
])
def test_old_module_paths_still_import(old, new, name):
    import sys

    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match="moved to"):
        mod = importlib.import_module(old)
    assert getattr(mod, name) is getattr(importlib.import_module(new), name)
