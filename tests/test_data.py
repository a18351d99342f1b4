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
        (lambda d: d, dict(x="params"), "input column 'params' not found"),
        (lambda d: d, dict(y="nll"), "metric column 'nll' not found"),
        (
            lambda d: d.assign(N=d["N"].astype(str).where(d.index != 2, "big")),
            {},
            "input column 'N' must be numeric.*'big'",
        ),
        (
            lambda d: d.assign(loss=d["loss"].where(d.index != 1, np.nan)),
            {},
            "metric column 'loss' has 1 empty value\\(s\\) at row with index 1",
        ),
        (
            lambda d: d.assign(N=d["N"].where(d.index != 5, np.inf)),
            {},
            "input column 'N' has 1 NaN/inf",
        ),
        (
            lambda d: d.assign(N=d["N"].where(d.index != 0, 0.0)),
            {},
            "input column 'N' must be > 0.*row with index 0",
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
    with pytest.raises(ValueError, match="curve arch=b has 2 point\\(s\\) but needs at least 3"):
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


def test_labels_keep_their_text(tmp_path):
    """"01" and "1" are two curves, "1e3" and "1000" too, and "NA" is a label, not missing."""
    path = tmp_path / "runs.csv"
    path.write_text("arch,N,loss\n01,1,2.0\n1,2,2.0\n1e3,3,2.0\n1000,4,2.0\nNA,5,2.0\n")
    rd = validate_runs(path, "N", "loss", "arch")
    assert rd.levels["arch"] == ["01", "1", "1e3", "1000", "NA"] and rd.n_curves == 5
    df = pd.DataFrame({"arch": [1, 1.0, 2], "N": [1.0, 2.0, 3.0], "loss": [2.0, 1.9, 1.8]})
    assert validate_runs(df, "N", "loss", "arch").levels["arch"] == ["1", "2"]


def test_messages_give_file_lines(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("N,loss\n1,2.0\n2,abc\n3,1.5\n")
    with pytest.raises(ValueError, match="'abc' at line 3 of runs.csv"):
        validate_runs(path, "N", "loss")
    path.write_text("N;loss\n1;2.0\n2;1.8\n")  # semicolons are read too
    assert validate_runs(path, "N", "loss").n == 2
    path.write_bytes(b"\xef\xbb\xbfN,loss\n1,2.0\n")  # a byte-order mark
    assert validate_runs(path, "N", "loss").n == 1
    path.write_text("N,loss,N\n1,2.0,1\n")
    with pytest.raises(ValueError, match="repeats column name"):
        validate_runs(path, "N", "loss")


def test_runs_must_stay_in_one_curve():
    df = pd.DataFrame({"arch": ["a", "a", "b"], "run": ["r1", "r1", "r1"], "N": [1.0, 2, 3],
                       "loss": [2.0, 1.9, 1.8]})
    with pytest.raises(ValueError, match="run 'r1' \\(column 'run'\\) spans several curves"):
        validate_runs(df, "N", "loss", "arch", run="run")
    ok = validate_runs(df.assign(run=["r1", "r1", "r2"]), "N", "loss", "arch", run="run")
    assert ok.runs == ["r1", "r2"] and list(ok.run_curve) == [0, 1]
