"""The user-law contract: declaring laws, their mistakes, their conditioning, and their fits."""

import textwrap

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.laws import BUILTIN, LawError, detect_covariance, get_law, resolve_law
from tests.conftest import FAST

P = bs.Prior


def _moe():
    @bs.law(inputs=("N", "E"), priors={
        "L_inf": P("LogNormal", loc=0.5, scale=0.5),
        "B": P("LogNormal", loc=3.0, scale=2.0),
        "alpha": P("LogNormal", loc=-1.5, scale=0.7),
        "beta": P("LogNormal", loc=-2.5, scale=1.0),
    })
    def moe(N, E, L_inf, B, alpha, beta):  # noqa: N803
        return L_inf + B / (N**alpha * E**beta)

    return moe


def test_decorator_reads_the_function():
    moe = _moe()
    assert moe.name == "moe" and moe.inputs == ("N", "E")
    assert moe.params == ("L_inf", "B", "alpha", "beta")
    assert moe(N=1e8, E=8.0, L_inf=1.7, B=400.0, alpha=0.3, beta=0.1) == pytest.approx(
        1.7 + 400.0 / (1e8**0.3 * 8.0**0.1)
    )
    assert len(moe.hash) == 64 and "def moe" in moe.source


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(inputs=("N",), priors={"a": P("Normal", loc=0, scale=1)}),
         "parameter\\(s\\) \\['b'\\] have no prior"),
        (dict(inputs=("N",), priors={"a": P("Normal", loc=0, scale=1),
                                     "b": P("Normal", loc=0, scale=1),
                                     "c": P("Normal", loc=0, scale=1)}),
         "priors given for \\['c'\\]"),
        (dict(inputs=("Q",), priors={}), "input 'Q' is not an argument"),
        (dict(inputs=("N",), priors={"a": P("Normal", loc=0, scale=1),
                                     "b": P("Normal", loc=0, scale=1)}, shared=("z",)),
         "shared=\\['z'\\]"),
        (dict(inputs="N", priors={}), "inputs must be a tuple"),
    ],
)
def test_declaration_errors_name_the_law(kwargs, match):
    def f(N, a, b):  # noqa: N803
        return a * N**-b

    with pytest.raises(LawError, match=f"law 'f'.*{match}|{match}"):
        bs.law(**kwargs)(f)


def test_covariance_found_for_builtin_and_user_laws():
    sat = detect_covariance(BUILTIN["saturating"])
    assert sat.normalised_inputs == ("x",) and sat.output
    assert {(s.source, s.multiplier, s.sign) for s in sat.shifts["A"]} == {
        ("x", "alpha", 1), ("y", None, 1)}
    moe = detect_covariance(_moe())
    assert {(s.source, s.multiplier) for s in moe.shifts["B"]} == {
        ("N", "alpha"), ("E", "beta"), ("y", None)}
    assert "alpha" not in moe.shifts
    kap = detect_covariance(BUILTIN["kaplan"])
    assert not kap.output and kap.shifts["N_c"][0].multiplier is None


def test_law_that_is_not_jax_is_refused():
    @bs.law(inputs=("x",), priors={"a": P("LogNormal", loc=0, scale=1)})
    def bad(x, a):
        return float(a) * x  # float() on a tracer

    with pytest.raises(LawError, match="law 'bad' cannot be evaluated"):
        detect_covariance(bad)


def test_law_errors_at_the_data(power_runs):
    @bs.law(inputs=("N",), priors={"a": P("LogNormal", loc=0, scale=1),
                                   "b": P("LogNormal", loc=0, scale=1)})
    def negative(N, a, b):  # noqa: N803
        return -a * N**-b

    with pytest.raises(LawError, match="law 'negative' returns non-positive"):
        bs.ScalingLaw(negative).fit(power_runs, x="N", y="loss", groups="arch", **FAST)

    @bs.law(inputs=("N",), priors={"a": P("LogNormal", loc=0, scale=1),
                                   "b": P("LogNormal", loc=0, scale=1)})
    def scalar(N, a, b):  # noqa: N803
        return a + b + 0 * jnp.sum(N)

    with pytest.raises(LawError, match="returns shape"):
        bs.ScalingLaw(scalar).fit(power_runs, x="N", y="loss", groups="arch", **FAST)

    @bs.law(inputs=("N",), priors={"a": P("LogNormal", loc=0, scale=1),
                                   "b": P("LogNormal", loc=0, scale=1)})
    def unused(N, a, b):  # noqa: N803
        return a * N**-0.3

    with pytest.raises(LawError, match="parameter\\(s\\) \\['b'\\] do not change the law"):
        bs.ScalingLaw(unused).fit(power_runs, x="N", y="loss", groups="arch", **FAST)

    with pytest.raises(ValueError, match="takes 1 input column"):
        bs.ScalingLaw(negative).fit(power_runs, x=["N", "N"], y="loss", **FAST)


def test_user_law_recovers_known_truth():
    """A two-input user law (MoE-like) fitted to simulated runs recovers its exponents.

    60 runs, 1% noise: the posterior sd of each exponent is ~0.01, so the 90% intervals must
    contain the truth and the medians be within 0.03 of it."""
    rng = np.random.default_rng(0)
    n = np.repeat(np.geomspace(1e7, 1e9, 12), 5)
    e = np.tile([1.0, 2.0, 4.0, 8.0, 16.0], 12)
    y = 1.8 + 300.0 / (n**0.32 * e**0.12) * np.exp(0.01 * rng.standard_normal(n.size))
    runs = pd.DataFrame({"N": n, "E": e, "loss": y})
    fit = bs.ScalingLaw(_moe(), drift_update=False).fit(runs, x=["N", "E"], y="loss", seed=0,
                                                        warn=False, **FAST)
    t = fit.summary().set_index("param")
    for name, true in (("alpha", 0.32), ("beta", 0.12)):
        assert t.loc[name, "lower"] <= true <= t.loc[name, "upper"]
        assert abs(t.loc[name, "median"] - true) < 0.03
    assert fit.diagnostics.n_divergent == 0


def test_builtin_written_as_user_law_gives_the_same_posterior(power_runs):
    @bs.law(inputs=("x",), priors=dict(BUILTIN["power"].priors),
            spread={"A": 1.0, "alpha": 0.7})
    def power(x, A, alpha):  # noqa: N803
        return A * x**-alpha

    kw = dict(x="N", y="loss", groups="arch", seed=4, warn=False, chains=1, warmup=150,
              draws=100)
    a = bs.ScalingLaw("power", drift_update=False).fit(power_runs, **kw)
    b = bs.ScalingLaw(power, drift_update=False).fit(power_runs, **kw)
    np.testing.assert_allclose(a.draws("alpha"), b.draws("alpha"), rtol=1e-10)


LAW_FILE = textwrap.dedent(
    """
    import bayes_scaling as bs

    @bs.law(inputs=("x",), priors={
        "A": bs.Prior("LogNormal", loc=0.0, scale=1.5, units="data"),
        "alpha": bs.Prior("LogNormal", loc=-1.5, scale=1.0),
    })
    def mine(x, A, alpha):
        return A * x ** -alpha
    """
)


def test_law_from_file_save_load_and_changed_file(tmp_path, power_runs):
    path = tmp_path / "my_laws.py"
    path.write_text(LAW_FILE)
    law = get_law(f"{path}:mine")
    assert law.origin == str(path.resolve())
    fit = bs.ScalingLaw(f"{path}:mine", drift_update=False).fit(
        power_runs, x="N", y="loss", groups="arch", seed=0, warn=False, chains=1, warmup=150,
        draws=100)
    fit.save(tmp_path / "fit.nc")
    at = pd.DataFrame({"arch": ["a"], "N": [1e10]})
    before = fit.predict(at)
    back = bs.load_fit(tmp_path / "fit.nc")
    pd.testing.assert_frame_equal(before, back.predict(at))
    path.write_text(LAW_FILE.replace("x ** -alpha", "x ** -alpha * 1.0"))
    with pytest.raises(LawError, match="changed since the fit"):
        bs.load_fit(tmp_path / "fit.nc")
    moved = tmp_path / "moved.py"
    moved.write_text(LAW_FILE)
    back = bs.load_fit(tmp_path / "fit.nc", law=f"{moved}:mine")
    pd.testing.assert_frame_equal(before, back.predict(at))


@pytest.mark.parametrize(
    "content, ref, match",
    [
        (None, "missing.py:mine", "does not exist"),
        ("def (:\n", "f.py:mine", "syntax error at line 1"),
        ("raise RuntimeError('boom')\n", "f.py:mine", "failed to import: RuntimeError: boom"),
        ("x = 1\n", "f.py:mine", "has no 'mine'"),
        ("mine = 3\n", "f.py:mine", "is a int, not a law"),
        ("", "f.py", "name the law in the file"),
    ],
)
def test_law_file_errors(tmp_path, content, ref, match):
    if content is not None:
        (tmp_path / "f.py").write_text(content)
    with pytest.raises(LawError, match=match):
        get_law(str(tmp_path / ref))


def test_resolve_builtin_across_versions():
    spec = BUILTIN["power"].spec()
    assert resolve_law(spec) is BUILTIN["power"]
    with pytest.warns(UserWarning, match="changed since the fit"):
        assert resolve_law({**spec, "hash": "0" * 64}) is BUILTIN["power"]
    with pytest.raises(LawError, match="refit with this version"):
        resolve_law({**spec, "hash": "0" * 64, "params": ["A", "beta"]})
