"""Every CLI case of the catalogue: expected exit status, one clear stderr line, no traceback."""

import re
import shutil
from pathlib import Path

import pytest

from bayes_scaling.cli import main
from tests.catalogue.cases import CLI_CASES, CliCase

V01 = Path(__file__).parents[1] / "data" / "fit_v0_1_0_saturating.nc"


def _special(marker: str, fit_path, target) -> None:
    """Fit files made from the session's fit: truncated, foreign, edited, old schema."""
    if marker == "__TRUNCATED__":
        data = fit_path.read_bytes()
        target.write_bytes(data[: len(data) // 2])
    elif marker == "__FOREIGN__":
        import numpy as np
        import xarray as xr

        xr.Dataset({"t": ("x", np.arange(3.0))}).to_netcdf(target)
    elif marker == "__EDITED__":
        from tests.test_io import _edit_meta

        shutil.copy(fit_path, target)
        _edit_meta(target, lambda m: m["curves"].reverse())
    elif marker == "__V01__":
        shutil.copy(V01, target)
    else:  # pragma: no cover - a typo in the catalogue
        raise AssertionError(marker)


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_cli_case(case: CliCase, cli_fit, tmp_path, capsys):
    d0, fit_path = cli_fit
    (tmp_path / "at.csv").write_text("architecture,x\narchitecture0,1e9\n")
    for name, text in case.files.items():
        target = tmp_path / name
        if isinstance(text, bytes):
            target.write_bytes(text)
        elif text.startswith("__") and text.endswith("__"):
            _special(text, fit_path, target)
        else:
            target.write_text(text, encoding="utf-8")
    subs = {
        "{d}": tmp_path,
        "{fit}": fit_path,
        "{runs}": d0 / "runs.csv",
        "{at}": tmp_path / "at.csv",
    }
    argv = []
    for a in case.argv:
        for k, v in subs.items():
            a = a.replace(k, str(v))
        argv.append(a)
    try:
        code = main(argv)
    except SystemExit as e:  # argparse usage errors
        code = e.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert code == case.code, f"exit {code}, stderr: {err}"
    if case.code == 0:
        assert re.search(case.match, out + err), out + err
        return
    lines = [
        ln
        for ln in err.strip().splitlines()
        if not ln.startswith("usage:") and not ln.startswith(" ")
    ]
    last = lines[-1]
    assert last.startswith("bayes-scaling"), err
    assert re.search(case.match, last), last
    if not any(ln.startswith("usage:") for ln in err.splitlines()):
        assert len(err.strip().splitlines()) == 1, err  # one line (warnings aside: none here)
