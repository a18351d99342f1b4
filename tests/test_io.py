"""Save and load: exact round trips, checksums, consistency, the 0.1 compatibility fixture."""

import json
import shutil
from pathlib import Path

import h5netcdf
import numpy as np
import pandas as pd
import pytest

from bayes_scaling import curve_table, load_fit

DATA = Path(__file__).parent / "data"


def test_save_load_round_trip(fit, tmp_path):
    path = tmp_path / "fit.nc"
    fit.save(path)
    back = load_fit(path)
    at = pd.DataFrame(
        {"architecture": ["architecture0", "architecture1"], "domain": ["domain1"] * 2,
         "x": [1e9, 3e9]}
    )
    pd.testing.assert_frame_equal(fit.predict(at), back.predict(at))
    pd.testing.assert_frame_equal(curve_table(fit), curve_table(back))
    pd.testing.assert_frame_equal(fit.training_data(), back.training_data())
    assert back.priors == fit.priors and back.levels == fit.levels and back.curves == fit.curves
    np.testing.assert_array_equal(back.log_x_ref, fit.log_x_ref)
    np.testing.assert_array_equal(back.draws("alpha"), fit.draws("alpha"))
    assert not list(tmp_path.glob("*.part"))  # the atomic write left nothing behind


def test_form_fit_round_trip(nmt_auto, tmp_path):
    path = tmp_path / "auto.nc"
    nmt_auto.save(path)
    back = load_fit(path)
    assert back.laws == nmt_auto.laws
    np.testing.assert_array_equal(back.weights, nmt_auto.weights)
    at = pd.DataFrame({"architecture": ["decoder-only"], "seen_examples": [1e9]})
    pd.testing.assert_frame_equal(nmt_auto.predict(at), back.predict(at))


def test_training_data_in_original_order(fit, sim):
    td = fit.training_data()
    np.testing.assert_array_equal(td["loss"].to_numpy(), sim.runs["loss"].to_numpy())
    assert list(td["architecture"]) == list(sim.runs["architecture"])


def _edit_meta(path: Path, change) -> None:
    with h5netcdf.File(str(path), "a") as f:
        meta = json.loads(f.attrs["bayes_scaling"])
        change(meta)
        f.attrs["bayes_scaling"] = json.dumps(meta)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["curves"].reverse(),  # curve order swapped
        lambda m: m["law"].update(name="power"),  # law changed
        lambda m: m["conditioning"].update(log_y_ref=0.0),  # reference moved
        lambda m: m.update(group_cols=[]),  # group columns emptied
    ],
)
def test_edited_file_is_refused(fit, tmp_path, change):
    path = tmp_path / "fit.nc"
    fit.save(path)
    _edit_meta(path, change)
    with pytest.raises(ValueError, match="fails its checksum"):
        load_fit(path)


def test_edited_array_is_refused(fit, tmp_path):
    path = tmp_path / "fit.nc"
    fit.save(path)
    with h5netcdf.File(str(path), "a") as f:
        v = f["posterior"]["mu_alpha"]
        v[0, 0] = v[0, 0] + 1.0
    with pytest.raises(ValueError, match="fails its checksum"):
        load_fit(path)


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_fit(tmp_path / "missing.nc")
    bad = tmp_path / "bad.nc"
    bad.write_text("not a netcdf file")
    with pytest.raises(ValueError, match="cannot read .* as a saved fit"):
        load_fit(bad)
    (tmp_path / "empty.nc").write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        load_fit(tmp_path / "empty.nc")
    with pytest.raises(ValueError, match="is a directory"):
        load_fit(tmp_path)
    other = tmp_path / "other.nc"
    with h5netcdf.File(str(other), "w") as f:
        f.attrs["title"] = "someone else's file"
    with pytest.raises(ValueError, match="not a fit written by bayes_scaling"):
        load_fit(other)
    listy = tmp_path / "list.nc"
    with h5netcdf.File(str(listy), "w") as f:
        f.attrs["bayes_scaling"] = "[1, 2]"
    with pytest.raises(ValueError, match="not a JSON object"):
        load_fit(listy)


def test_fit_from_version_0_1_still_loads(tmp_path):
    """A fit saved by bayes_scaling 0.1 (tests/data) loads, keeps its curves' posterior and
    predicts its fitted curves' law as 0.1 did (parameter-only medians within 0.5%)."""
    path = tmp_path / "old.nc"
    shutil.copy(DATA / "fit_v0_1_0_saturating.nc", path)
    with pytest.warns(DeprecationWarning, match="bayes_scaling 0.1"):
        fit = load_fit(path)
    old = pd.read_csv(DATA / "fit_v0_1_0_saturating_predict.csv")
    seen = old[old["kind"] == "fitted curve"]
    new = fit.predict(seen[["architecture", "x"]])
    np.testing.assert_allclose(new["curve_median"], seen["curve_median"], rtol=5e-3)


def test_m4_fit_from_its_x0_form_still_loads(tmp_path):
    """A fit of ``m4`` saved before the law was parameterised by its tail (E, D, x0, alpha,
    gamma; tests/data, written by commit 31a3520) loads with that form, says so, and predicts
    exactly as it did (same posterior, same law, same keyed draws). The ``curve_*`` columns
    (law and posterior) are 31a3520's; the new-run columns were rewritten when the row noise
    moved to one key per row (stop 24: same distribution, other draws)."""
    path = tmp_path / "old_m4.nc"
    shutil.copy(DATA / "fit_m4_x0_form.nc", path)
    with pytest.warns(UserWarning, match="parameterised by an earlier version"):
        fit = load_fit(path)
    assert list(fit.law.params) == ["E", "D", "x0", "alpha", "gamma"]
    old = pd.read_csv(DATA / "fit_m4_x0_form_predict.csv")
    new = fit.predict(old[["architecture", "x"]])
    for col in ("curve_median", "curve_lower", "curve_upper", "median", "lower", "upper"):
        np.testing.assert_allclose(new[col], old[col], rtol=1e-9)
