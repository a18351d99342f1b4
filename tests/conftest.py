import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")
# Tests run on one xdist worker per core: keep each worker's XLA single-threaded so they do not
# fight over the cores (notebook kernels inherit this).
os.environ.setdefault(
    "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
)

import pytest  # noqa: E402

from bayes_scaling import ScalingLaw  # noqa: E402
from bayes_scaling.simulate import simulate_saturating  # noqa: E402

#: Held-out scales: 10x to 100x beyond the largest training scale (1e8).
HELD_OUT_X = (1e9, 3e9, 1e10)
#: Combination left out of training (architecture2 never measured in domain1).
DROPPED = ("architecture2", "domain1")


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    # tests sharing the session fit run on one worker, so it is fitted once
    for item in items:
        if "fit" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("session_fit"))
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
    """Partially pooled saturating fit of ``sim`` (fitted once per session)."""
    return ScalingLaw("saturating").fit(
        sim.runs,
        x="x",
        y="loss",
        groups=["architecture", "domain"],
        chains=2,
        warmup=300,
        draws=300,
        seed=1,
        warn=False,
    )
