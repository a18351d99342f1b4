import numpy as np
import pandas as pd
import pytest

from bayes_scaling import curve_table, load_fit


def test_save_load_round_trip(fit, tmp_path):
    path = tmp_path / "fit.nc"
    fit.save(path)
    back = load_fit(path)
    at = pd.DataFrame(
        {"architecture": ["architecture0", "new"], "domain": ["domain1"] * 2, "x": [1e9, 3e9]}
    )
    pd.testing.assert_frame_equal(fit.predict(at), back.predict(at))
    pd.testing.assert_frame_equal(curve_table(fit), curve_table(back))
    pd.testing.assert_frame_equal(fit.training_data(), back.training_data())
    assert back.priors == fit.priors and back.levels == fit.levels and back.curves == fit.curves
    np.testing.assert_array_equal(back.log_x_ref, fit.log_x_ref)
    np.testing.assert_array_equal(
        back.idata.posterior["alpha"].values, fit.idata.posterior["alpha"].values
    )


def test_training_data_in_original_order(fit, sim):
    td = fit.training_data()
    np.testing.assert_array_equal(td["loss"].to_numpy(), sim.runs["loss"].to_numpy())
    assert list(td["architecture"]) == list(sim.runs["architecture"])


def test_load_errors(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_fit(tmp_path / "missing.nc")
    bad = tmp_path / "bad.nc"
    bad.write_text("not a netcdf file")
    with pytest.raises(ValueError, match="cannot read"):
        load_fit(bad)
