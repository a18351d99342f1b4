"""The command-line contract, end to end (in process, plus one real subprocess)."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from bayes_scaling.cli import main


def test_fit_predict_csv_and_json(cli_fit, capsys):
    d, fit_path = cli_fit
    at = pd.DataFrame(
        {
            "domain": ["domain0", "domain1", "domain0"],
            "architecture": ["architecture1", "architecture0", "new"],
            "x": [1e10, 1e9, 1e9],
        }
    )
    at.to_csv(d / "at.csv", index=False)
    assert (
        main(
            [
                "predict",
                str(fit_path),
                str(d / "at.csv"),
                "--prob",
                "0.8",
                "--out",
                str(d / "pred.csv"),
            ]
        )
        == 0
    )
    pred = pd.read_csv(d / "pred.csv")
    assert list(pred.columns[:3]) == ["domain", "architecture", "x"]
    assert {"mean", "median", "lower", "upper"} <= set(pred.columns)
    pd.testing.assert_frame_equal(pred[at.columns], at)
    assert (pred["lower"] < pred["median"]).all() and (pred["median"] < pred["upper"]).all()
    assert "population" in capsys.readouterr().err  # the new level is announced

    assert main(["predict", str(fit_path), str(d / "at.csv"), "--out", str(d / "pred.json")]) == 0
    records = json.loads((d / "pred.json").read_text())
    assert len(records) == 3 and records[2]["architecture"] == "new"
    assert records[0]["lower"] < records[0]["upper"]


def test_summary(cli_fit, capsys):
    _, fit_path = cli_fit
    assert main(["summary", str(fit_path)]) == 0
    out = capsys.readouterr().out
    assert "checks:" in out and "alpha" in out and "architecture0" in out


@pytest.mark.parametrize(
    "argv, match",
    [
        (
            ["fit", "{runs}", "--x", "N", "--y", "loss", "--out", "{d}/f.nc"],
            "input column 'N' not found",
        ),
        (
            ["fit", "{runs}", "--x", "x", "--y", "loss", "--law", "cubic", "--out", "{d}/f.nc"],
            "unknown law 'cubic'",
        ),
        (["fit", "{d}/none.csv", "--x", "x", "--y", "loss", "--out", "{d}/f.nc"], "does not exist"),
        (["predict", "{fit}", "{runs}", "--prob", "1.5"], "--prob must be a probability"),
        (["predict", "{d}/none.nc", "{runs}"], "fit file .* does not exist"),
        (["predict", "{fit}", "{runs}", "--out", "{d}/p.xlsx"], "must end in .csv or .json"),
        (
            [
                "fit",
                "{runs}",
                "--x",
                "x",
                "--y",
                "loss",
                "--prior",
                "log_alpha=oops",
                "--out",
                "{d}/f.nc",
            ],
            "--prior log_alpha: value is not JSON",
        ),
    ],
)
def test_errors_are_one_clear_line(cli_fit, capsys, argv, match):
    d, fit_path = cli_fit
    argv = [a.format(runs=d / "runs.csv", d=d, fit=fit_path) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bayes-scaling: error:")
    assert pd.Series(err).str.contains(match).all()


def test_console_script_no_traceback(tmp_path):
    bad = tmp_path / "runs.csv"
    pd.DataFrame({"x": [1, 2, -3], "loss": [1.0, 2.0, 3.0]}).to_csv(bad, index=False)
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "bayes_scaling.cli",
            "fit",
            str(bad),
            "--x",
            "x",
            "--y",
            "loss",
            "--out",
            str(tmp_path / "f.nc"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.strip() == (
        "bayes-scaling: error: input column 'x' must be > 0 (it is "
        "modelled on a log scale); found 1 value(s) <= 0 at line 4 of runs.csv"
    )
