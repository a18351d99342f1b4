import numpy as np
import pandas as pd
import pytest

from bayes_scaling import ScalingLaw, validate_runs


@pytest.fixture
def runs():
    return pd.DataFrame(
        {
            "arch": ["a"] * 4 + ["b"] * 4,
            "N": [1e6, 1e7, 1e8, 1e9] * 2,
            "loss": [3.0, 2.5, 2.2, 2.0, 3.1, 2.6, 2.3, 2.1],
        }
    )


def test_encoding_keeps_order(runs):
    shuffled = runs.sample(frac=1.0, random_state=3)
    rd = validate_runs(shuffled, "N", "loss", "arch")
    assert list(rd.frame.index) == list(shuffled.index)
    np.testing.assert_array_equal(rd.y, shuffled["loss"].to_numpy())
    assert rd.levels["arch"] == list(dict.fromkeys(shuffled["arch"]))
    assert [rd.curves[c][0] for c in rd.curve_idx] == list(shuffled["arch"])


def test_crossed_curves():
    df = pd.DataFrame({"a": list("xxyy"), "d": list("pqpq"), "N": [1, 2, 3, 4], "L": [1.0] * 4})
    rd = validate_runs(df, "N", "L", ["a", "d"])
    assert rd.n_curves == 4 and rd.curve_levels.shape == (4, 2)


@pytest.mark.parametrize(
    "mutate, args, match",
    [
        (lambda d: d, dict(x="params"), "scale column 'params' not found"),
        (lambda d: d, dict(y="nll"), "metric column 'nll' not found"),
        (
            lambda d: d.assign(N=d["N"].astype(str).where(d.index != 2, "big")),
            {},
            "scale column 'N' must be numeric.*'big'",
        ),
        (
            lambda d: d.assign(loss=d["loss"].where(d.index != 1, np.nan)),
            {},
            "metric column 'loss' has 1 NaN/inf value\\(s\\) at rows 1",
        ),
        (
            lambda d: d.assign(N=d["N"].where(d.index != 5, np.inf)),
            {},
            "scale column 'N' has 1 NaN/inf",
        ),
        (
            lambda d: d.assign(N=d["N"].where(d.index != 0, 0.0)),
            {},
            "scale column 'N' must be > 0.*rows 0",
        ),
        (lambda d: d.assign(loss=-d["loss"]), {}, "metric column 'loss' must be > 0"),
        (
            lambda d: d.assign(arch=d["arch"].where(d.index != 3, None)),
            {},
            "group column 'arch' has 1 missing label",
        ),
        (
            lambda d: d.rename(columns={"arch": "curve"}),
            dict(groups="curve"),
            "reserved for model dimensions",
        ),
        (lambda d: d, dict(groups="N"), "given in more than one role"),
        (lambda d: d.iloc[:0], {}, "data has no rows"),
    ],
)
def test_validation_errors(runs, mutate, args, match):
    kw = dict(x="N", y="loss", groups="arch") | args
    with pytest.raises(ValueError, match=match):
        validate_runs(mutate(runs), **kw)


def test_too_few_points_says_how_many(runs):
    with pytest.raises(ValueError, match="curve arch='b' has 2 point\\(s\\) but needs at least 3"):
        ScalingLaw("saturating").fit(runs.iloc[:6], x="N", y="loss", groups="arch")


def test_duplicates_only_when_strict(runs):
    dup = pd.concat([runs, runs.iloc[[0]]])
    validate_runs(dup, "N", "loss", "arch")
    with pytest.raises(ValueError, match="duplicate rows"):
        validate_runs(dup, "N", "loss", "arch", strict=True)


def test_type_errors(runs):
    with pytest.raises(TypeError, match="pandas DataFrame or a CSV path"):
        validate_runs(runs.to_dict(), "N", "loss")
    with pytest.raises(TypeError, match="x must be a column name"):
        validate_runs(runs, 3, "loss")


def test_missing_csv(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        validate_runs(tmp_path / "nope.csv", "N", "loss")


@pytest.mark.parametrize(
    "model, kwargs, match",
    [
        (ScalingLaw("chinchilla"), {}, "takes 2 scale column"),
        (ScalingLaw(pooling="some"), {}, "pooling must be one of"),
        (ScalingLaw(likelihood="cauchy"), {}, "likelihood must be one of"),
        (ScalingLaw(noise="dataset"), {}, "noise must be 'curve', 'shared' or a group column"),
        (
            ScalingLaw(priors={"log_gamma": {"dist": "Normal", "loc": 0, "scale": 1}}),
            {},
            "unknown prior name 'log_gamma'",
        ),
        (ScalingLaw(), dict(chains=0), "chains must be >= 1"),
        (ScalingLaw(), dict(target_accept=1.5), "target_accept must be in \\(0, 1\\)"),
        (ScalingLaw(pooling="none", min_points=2), {}, "only pooling='partial'"),
    ],
)
def test_model_argument_errors(runs, model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        model.fit(runs, x="N", y="loss", groups="arch", **kwargs)


def test_prior_names_and_shared_sd_override(runs):
    model = ScalingLaw(
        "power",
        priors={
            "log_alpha_sd": {"dist": "HalfNormal", "scale": 0.1},
            "log_alpha": {"dist": "Normal", "loc": -2.5, "scale": 0.3},
        },
    )
    priors = model.prior_names(runs, "N", "loss", "arch")
    assert priors["log_alpha_sd_arch"].args == {"scale": 0.1}
    assert priors["log_alpha"].args == {"loc": -2.5, "scale": 0.3}
    assert priors["log_A_sd_arch"].args == {"scale": 1.0}
