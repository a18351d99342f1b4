"""Property tests of the validation boundary (hypothesis): any table either validates into
exactly the user's rows, in the user's order, or is refused with one error naming a column."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bayes_scaling.data import validate_runs

GOOD_LABELS = st.sampled_from(["a", "b", "01", "1", "1e3", "1000", "NA", "nan"])
BAD_LABELS = st.sampled_from(["", None, np.nan])
GOOD_NUMBERS = st.one_of(st.floats(min_value=1e-6, max_value=1e12), st.integers(1, 10**12),
                         st.sampled_from(["3.5", "1e9", 1e-200, 1e200]))
BAD_NUMBERS = st.sampled_from([0.0, -1.0, np.nan, np.inf, -np.inf, 1e-300, 1e300, "abc", "",
                               True, None, -7])


@st.composite
def tables(draw):
    """Mostly valid tables, each with 0-2 cells corrupted (half of them stay valid)."""
    n = draw(st.integers(0, 12))
    df = pd.DataFrame({
        "g": [draw(GOOD_LABELS) for _ in range(n)],
        "x": [draw(GOOD_NUMBERS) for _ in range(n)],
        "y": [draw(GOOD_NUMBERS) for _ in range(n)],
    }, dtype=object)
    for _ in range(draw(st.integers(0, 2)) if n and draw(st.booleans()) else 0):
        col = draw(st.sampled_from(["g", "x", "y"]))
        df.iat[draw(st.integers(0, n - 1)), df.columns.get_loc(col)] = draw(
            BAD_LABELS if col == "g" else BAD_NUMBERS)
    if draw(st.booleans()):  # a user's own index, shuffled
        df.index = draw(st.permutations(list(range(100, 100 + n))))
    return df


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_valid_tables_keep_their_rows_invalid_ones_name_a_column(df):
    before = df.copy()
    try:
        rd = validate_runs(df, "x", "y", "g")
    except (ValueError, TypeError) as e:
        msg = str(e)
        assert any(f"'{c}'" in msg for c in ("x", "y", "g")) or "no rows" in msg, msg
        assert "\n" not in msg
        return
    finally:
        pd.testing.assert_frame_equal(df, before)  # the caller's table is never touched
    pd.testing.assert_frame_equal(rd.frame, before)  # same rows, same order, same index
    np.testing.assert_array_equal(rd.x[:, 0], pd.to_numeric(before["x"]).to_numpy(float))
    np.testing.assert_array_equal(rd.y, pd.to_numeric(before["y"]).to_numpy(float))
    # every row's curve label is its own label's text
    labels = [rd.levels["g"][i] for i in rd.level_idx[:, 0]]
    for lab, orig in zip(labels, before["g"], strict=True):
        assert lab == (str(int(orig)) if isinstance(orig, float) and float(orig).is_integer()
                       else str(orig))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "01", "1", "NA", "1e3", "1000"]), min_size=2,
                max_size=12))
def test_csv_labels_round_trip_as_written(tmp_path_factory, labels):
    path = tmp_path_factory.mktemp("csv") / "r.csv"
    rows = [f"{lab},{i + 1},{2.0 - 0.01 * i}" for i, lab in enumerate(labels)]
    path.write_text("g,x,y\n" + "\n".join(rows) + "\n")
    rd = validate_runs(path, "x", "y", "g")
    assert [rd.levels["g"][i] for i in rd.level_idx[:, 0]] == labels
