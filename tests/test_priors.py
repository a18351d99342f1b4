import numpyro.distributions as dist
import pytest

from bayes_scaling.priors import Prior, as_prior, merge_priors


def test_prior_round_trip_and_numpyro():
    p = Prior("Normal", loc=-1.0, scale=0.5, note="x")
    assert Prior.from_dict(p.to_dict()) == p
    d = p.to_numpyro()
    assert isinstance(d, dist.Normal) and float(d.loc) == -1.0 and float(d.scale) == 0.5


def test_prior_coercions():
    assert as_prior("a", {"dist": "HalfNormal", "scale": 2}) == Prior("HalfNormal", scale=2.0)
    assert as_prior("a", dist.Normal(1.0, 2.0)) == Prior("Normal", loc=1.0, scale=2.0)
    with pytest.raises(TypeError, match="prior for 'a'"):
        as_prior("a", 3.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(dist="Cauchyish", scale=1.0), "unknown prior family"),
        (dict(dist="Normal", loc=0.0), "missing \\['scale'\\]"),
        (dict(dist="Normal", loc=0.0, scale=-1.0), "must be > 0"),
        (dict(dist="Normal", loc=float("nan"), scale=1.0), "must be finite"),
        (dict(dist="Beta", concentration1=-1.0, concentration0=2.0),
         "'concentration1' must be > 0"),
    ],
)
def test_bad_priors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Prior(**kwargs)


def test_merge_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown prior name 'log_beta'"):
        merge_priors({"log_alpha": Prior("Normal", loc=0.0, scale=1.0)}, {"log_beta": {}})


def test_widen_scales_spread():
    assert Prior("Normal", loc=1.0, scale=0.5).widen(2.0) == Prior("Normal", loc=1.0, scale=1.0)
