import pytest

from bayes_scaling.cli.demo import run_demo

# same data, laws and settings as the nmt_auto fixture: the same worker reuses its programs
pytestmark = pytest.mark.xdist_group("nmt_auto")


def test_demo_fast(tmp_path, capsys):
    fit, pred = run_demo(out_dir=tmp_path, fast=True, seed=0)
    out = capsys.readouterr().out
    assert "held-out runs inside their 90% interval" in out
    assert (tmp_path / "demo_revisiting_nmt.png").stat().st_size > 10_000
    assert (tmp_path / "demo_revisiting_nmt.nc").exists()
    assert len(pred) == 15 and (pred["lower"] < pred["upper"]).all()
    # the LSTM decoder's exponent is estimated, with an interval
    assert "transformer-enc + LSTM-dec" in fit.levels["architecture"]
