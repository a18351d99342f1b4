import numpy as np
import pandas as pd
import pytest

from bayes_scaling.decisions.compute import complete_compute


def test_derives_missing_column_and_says_so():
    df = pd.DataFrame({"N": [1e8, 1e9], "C": [6e17, 1.2e20]})
    out, notes = complete_compute(df)
    np.testing.assert_allclose(out["D"], [1e9, 2e10])
    assert notes == ["derived 'D' = 'C' / (6 * 'N') for 2 rows"]
    assert list(out.index) == list(df.index) and "D" not in df.columns  # caller's frame untouched

    out, notes = complete_compute(pd.DataFrame({"D": [1e9], "C": [6e17]}), k=3)
    np.testing.assert_allclose(out["N"], [2e8])
    assert "'N' = 'C' / (3 * 'D')" in notes[0]

    out, notes = complete_compute(
        pd.DataFrame({"params": [1e8], "tokens": [1e9]}), n="params", d="tokens", c="flops"
    )
    np.testing.assert_allclose(out["flops"], [6e17])


def test_inconsistent_or_missing_columns():
    with pytest.raises(ValueError, match="disagrees with 6 \\* 'N' \\* 'D' by 100%"):
        complete_compute(pd.DataFrame({"N": [1e8], "D": [1e9], "C": [1.2e18]}))
    with pytest.raises(ValueError, match="needs two of the columns"):
        complete_compute(pd.DataFrame({"N": [1e8]}))
    with pytest.raises(ValueError, match="k \\(FLOP per parameter per token\\) must be"):
        complete_compute(pd.DataFrame({"N": [1e8], "D": [1e9]}), k=0)
    with pytest.raises(ValueError, match="scale column 'C' must be > 0"):
        complete_compute(pd.DataFrame({"N": [1e8], "C": [-1.0]}))
