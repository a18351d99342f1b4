"""The API half of the catalogue: every bad argument raises one typed error naming what it is."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.data import validate_runs
from bayes_scaling.drift import DriftPrior
from bayes_scaling.laws import LawError

RUNS = pd.DataFrame({"arch": ["a"] * 3 + ["b"] * 3, "x": [1e6, 1e7, 1e8] * 2,
                     "loss": [3.0, 2.5, 2.2, 3.3, 2.8, 2.4]})
SMALL = dict(chains=1, warmup=10, draws=10)


@dataclass(frozen=True)
class ApiCase:
    id: str
    call: Callable
    error: type[Exception]
    match: str


def _fit(**kw):
    args = dict(data=RUNS, x="x", y="loss", groups="arch")
    spec = {"drift_update": False, **kw.pop("spec", {})}  # the cases are about input handling
    args.update(kw)
    data = args.pop("data")
    return bs.ScalingLaw(**spec).fit(data, **{**SMALL, **args})


def _law(**kw):
    def f(x, a, b):
        return a * x ** -b

    spec = dict(inputs=("x",), priors={"a": bs.Prior("LogNormal", 0.0, 1.0),
                                       "b": bs.Prior("HalfNormal", scale=0.5)})
    spec.update(kw)
    return bs.law(**spec)(f)


API_CASES = [
    # validation boundary
    ApiCase("data-not-a-table", lambda fit: validate_runs([[1, 2]], "x", "loss"), TypeError,
            "DataFrame or a CSV path"),
    ApiCase("x-not-a-name", lambda fit: validate_runs(RUNS, 3, "loss"), TypeError,
            "x must be a column name"),
    ApiCase("y-not-a-name", lambda fit: validate_runs(RUNS, "x", ["loss"]), TypeError,
            "y must be a column name"),
    ApiCase("groups-not-names", lambda fit: validate_runs(RUNS, "x", "loss", groups=[1]),
            TypeError, "groups must be"),
    ApiCase("y-text", lambda fit: validate_runs(RUNS.assign(loss="low"), "x", "loss"),
            ValueError, "metric column 'loss' must be numeric"),
    ApiCase("x-bool", lambda fit: validate_runs(RUNS.assign(x=True), "x", "loss"),
            ValueError, "input column 'x'"),
    ApiCase("x-negative", lambda fit: validate_runs(RUNS.assign(x=-RUNS["x"]), "x", "loss"),
            ValueError, "input column 'x' must be > 0"),
    ApiCase("y-inf", lambda fit: validate_runs(RUNS.assign(loss=np.inf), "x", "loss"),
            ValueError, "metric column 'loss' has 6 NaN/inf"),
    ApiCase("empty-frame", lambda fit: validate_runs(RUNS.iloc[:0], "x", "loss"), ValueError,
            "no rows"),
    ApiCase("run-spans-curves", lambda fit: validate_runs(RUNS.assign(r="one"), "x", "loss",
                                                          groups="arch", run="r"),
            ValueError, "run 'one' .* spans several curves"),
    ApiCase("group-none-label", lambda fit: validate_runs(
        RUNS.assign(arch=["a", None, "a", "b", "b", "b"]), "x", "loss", groups="arch"),
        ValueError, "group column 'arch' has 1 missing label"),
    # model options
    ApiCase("unknown-law", lambda fit: bs.ScalingLaw("cubic").fit(RUNS, "x", "loss"),
            ValueError, "unknown law 'cubic'"),
    ApiCase("bad-pooling", lambda fit: _fit(spec=dict(pooling="some")), ValueError,
            "pooling must be one of"),
    ApiCase("bad-residual", lambda fit: _fit(spec=dict(residual="ar2")), ValueError,
            "residual must be 'auto', 'iid' or 'ou'"),
    ApiCase("bad-discrepancy-prior", lambda fit: _fit(spec=dict(discrepancy_prior="x.json")),
            TypeError, "discrepancy_prior must be a DriftPrior"),
    ApiCase("unknown-prior-name", lambda fit: _fit(spec=dict(
        law="power", priors={"gamma": bs.Prior("Normal", 0, 1)})), ValueError,
        "unknown prior name 'gamma'"),
    ApiCase("x-count-vs-law", lambda fit: _fit(spec=dict(law="chinchilla")), ValueError,
            "law 'chinchilla' takes 2 input column"),
    ApiCase("seed-float", lambda fit: _fit(seed=1.5), TypeError, "seed must be"),
    ApiCase("seed-huge", lambda fit: _fit(seed=2**70), ValueError, "seed must be"),
    ApiCase("chains-zero", lambda fit: _fit(chains=0), ValueError, "chains must be between"),
    ApiCase("group-named-like-a-site", lambda fit: _fit(data=RUNS.rename(columns={"arch": "x"}),
                                                        groups="x"),
            ValueError, "more than one role"),
    # priors and laws
    ApiCase("prior-unknown-family", lambda fit: bs.Prior("Cauchy2", 0, 1), ValueError,
            "unknown prior family 'Cauchy2'"),
    ApiCase("prior-negative-scale", lambda fit: bs.Prior("Normal", 0, -1), ValueError,
            "'scale' must be > 0"),
    ApiCase("prior-too-many-values", lambda fit: bs.Prior("Normal", 0, 1, 2), ValueError,
            "takes at most 2 values"),
    ApiCase("prior-text-value", lambda fit: bs.Prior("Normal", loc="zero", scale=1.0),
            TypeError, "argument 'loc' must be a number"),
    ApiCase("law-input-not-argument", lambda fit: _law(inputs=("N",)), LawError,
            "input 'N' is not an argument"),
    ApiCase("law-missing-prior", lambda fit: _law(priors={"a": bs.Prior("Normal", 0, 1)}),
            LawError, "parameter\\(s\\) \\['b'\\] have no prior"),
    ApiCase("law-not-a-function", lambda fit: bs.law(inputs=("x",), priors={})(3), LawError,
            "expected a function"),
    ApiCase("law-repeated-input", lambda fit: _law(inputs=("x", "x")), LawError,
            "repeat a name"),
    # prediction and decisions
    ApiCase("predict-prob-list-bad", lambda fit: fit.predict(RUNS, prob=[0.5, 2]), ValueError,
            "must be a probability"),
    ApiCase("predict-missing-x", lambda fit: fit.predict(pd.DataFrame({"arch": ["a"]})),
            ValueError, "input column 'N' not found"),
    ApiCase("predict-output-clash", lambda fit: fit.predict(
        pd.DataFrame({"arch": ["a"], "N": [1e9], "median": [1.0]})), ValueError, "'median'"),
    ApiCase("predict-no-new-levels", lambda fit: bs.predict(
        fit, pd.DataFrame({"arch": ["zz"], "N": [1e9]}), allow_new_levels=False), ValueError,
        "'zz'"),
    ApiCase("optimal-one-input", lambda fit: bs.optimal_allocation(fit, 1e21), ValueError,
            "needs a law over \\(parameters, tokens\\)"),
    ApiCase("optimal-bad-budget", lambda fit: bs.optimal_allocation(fit, "lots"), ValueError,
            "compute budgets must be numbers"),
    ApiCase("tune-no-lr", lambda fit: bs.tune(fit, pd.DataFrame({"arch": ["a"], "N": [1e9]})),
            ValueError, "lr"),
    ApiCase("optimum-misfit-no-lr", lambda fit: bs.optimum_misfit(fit), ValueError,
            "optimum_misfit needs a law with inputs \\['lr', 'batch_size'\\]"),
    ApiCase("expected-gain-factor-zero", lambda fit: bs.expected_gain(
        fit, pd.DataFrame({"arch": ["a"], "N": [1e9]}), factor=0), ValueError,
        "factor must be > 0"),
    ApiCase("compare-unknown-factor", lambda fit: bs.compare_levels(fit, "domain"), ValueError,
            "'domain'"),
    # files
    ApiCase("load-missing", lambda fit: bs.load_fit("/nonexistent/fit.nc"), ValueError,
            "does not exist"),
    ApiCase("drift-prior-empty", lambda fit: DriftPrior.from_dict({}), ValueError,
            "drift prior"),
    ApiCase("drift-prior-not-json", lambda fit: bs.load_drift_prior(__file__), ValueError,
            "not valid JSON"),
    ApiCase("dataset-unknown", lambda fit: bs.load_dataset("imagenet"), ValueError,
            "unknown dataset 'imagenet'"),
]


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_api_case(case: ApiCase, power_fit):
    with pytest.raises(case.error) as info:
        case.call(power_fit)
    assert re.search(case.match, str(info.value)), str(info.value)
    assert "\n" not in str(info.value).strip() or len(str(info.value)) < 400
