"""Comparing levels on a simulated crossed design with known exponent differences."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bayes_scaling import (  # noqa: E402
    compare_levels,
    crossover,
    factor_spread,
    plot_crossover,
    plot_forest,
    plot_pairwise,
    plot_prior_posterior,
)
from bayes_scaling.cli import main  # noqa: E402


def test_exponent_ordering_and_differences(fit, sim):
    """True log-alpha effects -0.3, 0, +0.3 by architecture. With 8 points over 2 decades per
    curve and the floor E traded against alpha, each exponent is known to about +-0.05, so the
    extreme pair is ordered with moderate (not overwhelming) probability."""
    cmp = compare_levels(fit, "architecture", "alpha", 0.9)
    assert list(cmp.levels["level"]) == ["architecture0", "architecture1", "architecture2"]
    pairs = cmp.pairs.set_index(["a", "b"])
    med = cmp.levels.set_index("level")["median"]
    assert med["architecture0"] < med["architecture1"] < med["architecture2"]
    assert pairs.loc[("architecture0", "architecture2"), "p_greater"] < 0.3
    # truth at the population-average domain: alpha = 0.3 * exp(effect)
    true = {f"architecture{i}": 0.3 * np.exp(e) for i, e in enumerate((-0.3, 0.0, 0.3))}
    covered = [r["lower"] <= true[a] - true[b] <= r["upper"] for (a, b), r in pairs.iterrows()]
    assert sum(covered) >= 2  # 3 pairs at 90%
    d = cmp.to_dict()
    assert d["factor"] == "architecture" and len(d["levels"]) == 3 and len(d["pairs"]) == 3
    assert set(d["pairs"][0]) == {"a", "b", "median", "lower", "upper", "p_greater"}


def _true_crossings(sim, a, b, grid):
    t = sim.truth.set_index(["architecture", "domain"])

    def loss(key):
        r = t.loc[key]
        return r["E"] + r["A"] * (grid / 1e7) ** -r["alpha"]

    la, lb = loss(a), loss(b)
    idx = np.flatnonzero(np.diff(np.sign(la - lb)) != 0)
    return np.sqrt(grid[idx] * grid[idx + 1]), la[-1] < lb[-1]


def test_crossover_recovered(fit, sim):
    """architecture2 (steepest) starts above architecture0 in domain0 and overtakes it at a
    scale inside the data (true crossing ~3.9e7, computed from the simulation's truth). The
    fitted crossover interval must contain it, and the steeper curve must win at 1e9."""
    a = {"architecture": "architecture2", "domain": "domain0"}
    b = {"architecture": "architecture0", "domain": "domain0"}
    lo, hi = 1e6, 1e9
    true_x, a_wins = _true_crossings(
        sim, tuple(a.values()), tuple(b.values()), np.geomspace(lo, hi, 400)
    )
    assert true_x.size == 1 and a_wins  # the design: one crossing in range
    res = crossover(fit, a, b, (lo, hi))
    assert res["p_cross"] > 0.9
    assert res["x_lower"] <= true_x[0] <= res["x_upper"]
    assert res["x_upper"] / res["x_lower"] < 30  # informative: within ~1.5 decades at 90%
    assert res["p_a_better_at_end"] > 0.9
    with pytest.raises(ValueError, match="missing \\['domain'\\]"):
        crossover(fit, {"architecture": "architecture0"}, b, (1e6, 1e9))


def test_factor_spread(fit):
    """The simulation moves log alpha by architecture (+-0.3) and has no per-curve residual:
    the architecture spread of alpha is larger than the per-curve spread."""
    t = factor_spread(fit).set_index(["param", "source"])
    assert set(t.index.get_level_values("source")) == {"architecture", "domain", "curve"}
    assert t.loc[("alpha", "architecture"), "median"] > t.loc[("alpha", "curve"), "median"]
    assert (t["scale"] == "log").all()


def test_plots_and_cli(fit, sim, tmp_path, capsys):
    ax = plot_forest(fit, "architecture")
    assert len(ax.get_yticks()) == 3
    assert len(ax.containers) == 1 and len(ax.containers[0].lines[0].get_xdata()) == 3
    plt.close(ax.figure)
    ax = plot_pairwise(fit, "architecture")
    assert len(ax.get_yticks()) == 3 and sum("P>0" in t.get_text() for t in ax.texts) == 3
    assert len(ax.lines) == 2 * 3 + 1  # interval + median per pair, the zero line
    plt.close(ax.figure)
    a = {"architecture": "architecture2", "domain": "domain0"}
    b = {"architecture": "architecture0", "domain": "domain0"}
    ax = plot_crossover(fit, a, b, (1e6, 1e9), data=sim.runs)
    assert len(ax.lines) == 3  # two medians and the crossover
    assert len(ax.collections) == 4  # two bands, two point sets
    assert len(ax.collections[1].get_offsets()) == 8  # a's 8 training runs
    assert len(ax.patches) == 1 and "crossover" in ax.get_title()
    assert ax.get_xscale() == "log"
    plt.close(ax.figure)
    ax = plot_prior_posterior(fit, "alpha", factor="architecture")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["prior", "architecture0", "architecture1", "architecture2"]
    plt.close(ax.figure)
    fit.save(tmp_path / "f.nc")
    out = tmp_path / "c.json"
    assert (
        main(["compare", str(tmp_path / "f.nc"), "--factor", "architecture", "--json", str(out)])
        == 0
    )
    d = json.loads(out.read_text())
    assert d["param"] == "alpha" and len(d["pairs"]) == 3
    pair = next(p for p in d["pairs"] if {p["a"], p["b"]} == {"architecture0", "architecture2"})
    p_low = pair["p_greater"] if pair["a"] == "architecture0" else 1 - pair["p_greater"]
    assert p_low < 0.3
    assert main(["compare", str(tmp_path / "f.nc"), "--factor", "size"]) == 2
    assert "factor 'size' is not a group column" in capsys.readouterr().err
