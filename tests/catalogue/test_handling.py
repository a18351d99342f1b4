"""The catalogue's correct-handling cases: legal but awkward inputs answered right, nothing lost.

Each test is a case where the package must neither refuse nor silently alter anything.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.cli import main
from bayes_scaling.io import atomic_write
from bayes_scaling.predict import NewLevelWarning


def test_same_seed_gives_byte_identical_prediction_files(cli_fit, tmp_path):
    d, fit_path = cli_fit
    at = tmp_path / "at.csv"
    at.write_text("architecture,x\narchitecture1,3e9\narchitecture0,1e7\nnew,1e8\n")
    outs = []
    for k in range(2):
        out = tmp_path / f"p{k}.csv"
        assert main(["predict", str(fit_path), str(at), "--seed", "4", "--out", str(out)]) == 0
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    pred = pd.read_csv(tmp_path / "p0.csv")
    assert list(pred["architecture"]) == ["architecture1", "architecture0", "new"]


def test_interrupted_write_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "fit.nc"
    target.write_bytes(b"old complete file")

    def half_then_interrupt(tmp):
        tmp.write_bytes(b"half a fi")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, half_then_interrupt)
    assert target.read_bytes() == b"old complete file"
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"]  # no partial file left behind


def test_prediction_rows_keep_every_caller_column_and_order(power_fit):
    rows = pd.DataFrame({"note": ["z", "y", "x"], "arch": ["c", "a", "c"], "N": [1e9, 1e6, 1e8]},
                        index=[10, 3, 7])
    out = power_fit.predict(rows)
    pd.testing.assert_frame_equal(out[rows.columns], rows)


@pytest.fixture(scope="module")
def numeric_label_fit():
    runs = pd.DataFrame({"size": [1, 1, 1, 2, 2, 2], "x": [1e6, 1e7, 1e8] * 2,
                         "loss": [3.0, 2.5, 2.2, 3.3, 2.8, 2.4]})
    return bs.ScalingLaw("power", drift_update=False).fit(
        runs, "x", "loss", groups="size", chains=1, warmup=50, draws=50, seed=0, warn=False)


@pytest.mark.parametrize("asked", [1.0, "02", "1.0"])
def test_a_label_not_written_as_fitted_is_announced_as_new(numeric_label_fit, asked):
    """Integer labels 1 and 2 were fitted; 1.0 (a float 1) is the same label, "02" is not."""
    rows = pd.DataFrame({"size": [asked], "x": [1e9]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = numeric_label_fit.predict(rows)
    new = any(issubclass(w.category, NewLevelWarning) for w in caught)
    if asked == 1.0:  # numeric labels written as numbers compare as numbers
        assert not new and out["kind"].iloc[0] == "fitted curve"
    else:
        assert new and out["kind"].iloc[0] != "fitted curve"


def test_duplicate_rows_are_kept_as_replicates(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("g,x,loss\na,1,2.0\na,1,2.0\na,2,1.9\n")
    rd = bs.validate_runs(path, "x", "loss", "g")
    assert len(rd.frame) == 3 and np.array_equal(rd.y, [2.0, 2.0, 1.9])


def test_magnitudes_near_the_float_limits_are_refused_but_large_units_are_not():
    """1e+-300 would overflow inside the law; 1e+-200 (odd units) is fine."""
    df = pd.DataFrame({"x": [1e-300, 1e-200, 1e300], "loss": [1.0, 1.0, 1.0]})
    with pytest.raises(ValueError, match=r"input column 'x' has value\(s\) beyond 1e\+-250"):
        bs.validate_runs(df, "x", "loss")
    ok = pd.DataFrame({"x": [1e-200, 1e200], "loss": [1e-200, 1e200]})
    rd = bs.validate_runs(ok, "x", "loss")
    assert np.array_equal(rd.x[:, 0], ok["x"].to_numpy())
