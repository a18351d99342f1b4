import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests run on one xdist worker per core: keep each worker's XLA single-threaded so they do not
# fight over the cores (notebook kernels inherit this).
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bayes_scaling import ScalingLaw, load_dataset  # noqa: E402
from bayes_scaling.evaluation.simulate import simulate_saturating  # noqa: E402

#: Held-out scales: 10x to 100x beyond the largest training scale (1e8).
HELD_OUT_X = (1e9, 3e9, 1e10)
#: Combination left out of training (architecture2 never measured in domain1).
DROPPED = ("architecture2", "domain1")
#: Small sampler settings shared by fits in tests (tolerances are set for them).
FAST = dict(chains=2, warmup=300, draws=300)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


#: Session fixtures that fit models: tests using one share a worker, so it is fitted once.
_FIT_FIXTURES = {
    "fit": "session_fit",
    "nmt_auto": "nmt_auto",
    "power_fit": "power_fit",
    "curves_fit": "curves_fit",
    "cli_fit": "cli_fit",
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        names = getattr(item, "fixturenames", ())
        for fixture, group in _FIT_FIXTURES.items():
            if fixture in names:
                item.add_marker(pytest.mark.xdist_group(group))
                break
        else:
            # the rest of a module on one worker, so module-scoped fits are built once; the
            # notebooks stay spread over the workers (each runs alone in its own kernel)
            if item.path.name != "test_notebooks.py":
                item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: pass --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def sim():
    """3 architectures x 2 domains, one combination dropped, 8 scales over 2 decades."""
    return simulate_saturating(drop=[DROPPED], seed=0)


@pytest.fixture(scope="session")
def fit(sim):
    """Partially pooled saturating fit of ``sim`` (fitted once per session).

    Fixtures whose subject is not the drift skip its update by a backtest inside the data (one
    extra fit each); the update is tested in ``tests/drift/test_update.py`` (``power_fit``) and
    runs in the default fits of ``nmt_auto``, the demo and the notebooks."""
    return ScalingLaw("saturating", drift_update=False).fit(
        sim.runs, x="x", y="loss", groups=["architecture", "domain"], seed=1, warn=False, **FAST
    )


@pytest.fixture(scope="session")
def power_runs():
    """Three architectures, pure power laws with known exponents, 10 points over 3 decades."""
    rng = np.random.default_rng(5)
    rows = []
    for arch, a, alpha in (("a", 8.0, 0.30), ("b", 6.0, 0.20), ("c", 7.0, 0.25)):
        for x in np.geomspace(1e6, 1e9, 10):
            rows.append(
                {
                    "arch": arch,
                    "N": x,
                    "loss": a * (x / 1e7) ** -alpha * np.exp(0.01 * rng.standard_normal()),
                }
            )
    return pd.DataFrame(rows)


@pytest.fixture(scope="session")
def power_fit(power_runs):
    """Partially pooled power-law fit of ``power_runs``."""
    return ScalingLaw("power").fit(
        power_runs, x="N", y="loss", groups="arch", seed=0, warn=False, **FAST
    )


#: Truth of :func:`curves`: run -> (floor, amplitude, exponent) of E + A (x / 1e8)^-alpha.
CURVES_TRUTH = {"small": (2.6, 4.0, 0.35), "medium": (2.3, 4.0, 0.35), "large": (2.0, 4.0, 0.35)}


@pytest.fixture(scope="session")
def curves():
    """Three learning curves (one run per model size), 25 checkpoints over two decades, with a
    persistent wiggle drawn from the model's own residual process (Ornstein-Uhlenbeck in log
    tokens: sd 0.4%, correlation length 0.5 e-folds) plus 0.2% checkpoint noise; the large run is
    only seen up to 1e9 tokens (it is unfinished)."""
    rng = np.random.default_rng(3)
    rows = []
    x = np.geomspace(1e8, 1e10, 25)
    rho = np.exp(-np.diff(np.log(x)) / 0.5)
    for run, (e, a, alpha) in CURVES_TRUTH.items():
        wiggle = np.empty(25)
        wiggle[0] = 0.004 * rng.standard_normal()
        for t in range(24):
            step = np.sqrt(1 - rho[t] ** 2) * 0.004 * rng.standard_normal()
            wiggle[t + 1] = rho[t] * wiggle[t] + step
        y = (e + a * (x / 1e8) ** -alpha) * np.exp(wiggle + 0.002 * rng.standard_normal(25))
        rows.append(pd.DataFrame({"model": run, "tokens": x, "loss": y}))
    runs = pd.concat(rows, ignore_index=True)
    return runs[~((runs["model"] == "large") & (runs["tokens"] > 1.01e9))].reset_index(drop=True)


@pytest.fixture(scope="session")
def curves_fit(curves):
    """Saturating law over tokens, one curve per run, checkpoints correlated within a run.

    Without the extrapolation drift: the simulated truth *is* the law (no bend, no drift), so the
    decisions are checked against it with parameter and residual uncertainty only; the drift's
    own effect on decisions is tested in ``tests/drift``."""
    return ScalingLaw("saturating", discrepancy="none").fit(
        curves, x="tokens", y="loss", groups="model", run="model", seed=0, warn=False, **FAST
    )


@pytest.fixture(scope="session")
def nmt():
    return load_dataset("revisiting_nmt")


@pytest.fixture(scope="session")
def nmt_auto(nmt):
    """``law="auto"`` on the NMT training split (three laws, weighed per curve)."""
    train = nmt[nmt["train"]]
    return ScalingLaw().fit(
        train, x="seen_examples", y="loss", groups="architecture", seed=0, warn=False, **FAST
    )


@pytest.fixture(scope="session")
def cli_fit(sim, tmp_path_factory):
    """``bayes-scaling fit`` of ``sim`` (power law by architecture) on disk: (dir, FIT.nc)."""
    from bayes_scaling.cli import main

    d = tmp_path_factory.mktemp("cli")
    runs = d / "runs.csv"
    sim.runs.to_csv(runs, index=False)
    out = d / "fit.nc"
    argv = [
        "fit",
        str(runs),
        "--x",
        "x",
        "--y",
        "loss",
        "--group",
        "architecture",
        "--law",
        "power",
        "--no-drift-update",
        "--chains",
        "2",
        "--warmup",
        "200",
        "--draws",
        "200",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    return d, out


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data, or skip the test clearly when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/data not available here ({path} missing)")
    return path
