import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from bayes_scaling import plot_curves  # noqa: E402


def test_plot_curves_draws_every_curve(fit, sim, tmp_path):
    held = sim.at([1e9], seed=3)
    ax = plot_curves(fit, held, extend=30)
    assert len(ax.lines) == len(fit.curves) + 1  # medians + the extrapolation marker
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    texts = [t.get_text() for t in ax.texts]
    assert any("extrapolation" in t for t in texts)
    ax.figure.savefig(tmp_path / "p.png")
    plt.close(ax.figure)


def test_plot_selected_curve_on_given_axes(fit):
    fig, ax = plt.subplots()
    out = plot_curves(fit, curves=[("architecture0", "domain0")], ax=ax)
    assert out is ax and len(ax.lines) == 2
    plt.close(fig)


def test_plot_rejects_bad_args(fit):
    with pytest.raises(ValueError, match="probability strictly between 0 and 1"):
        plot_curves(fit, prob=2)
