"""The sampler: seeds, chain methods, validation and the compiled-program cache."""

import jax
import numpy as np
import pytest

import bayes_scaling as bs
from bayes_scaling.inference import _PROGRAMS, SamplerSettings, bucket, check_seed


def test_settings_validation():
    with pytest.raises(ValueError, match="chains must be between 1"):
        SamplerSettings(0, 10, 10, 0, 0.9)
    with pytest.raises(ValueError, match="target_accept must be in"):
        SamplerSettings(2, 10, 10, 0, 1.5)
    with pytest.raises(ValueError, match="seed must be between 0 and 2\\*\\*63-1"):
        check_seed(10**30)
    with pytest.raises(TypeError, match="seed must be a non-negative integer"):
        check_seed(1.5)


def test_bucket_sizes_grow_geometrically():
    sizes = [bucket(n) for n in (1, 16, 17, 25, 33, 100, 1000)]
    assert sizes == sorted(sizes) and sizes[0] == 16 and sizes[2] >= 17
    assert all(bucket(n) >= n and bucket(n) < 1.6 * n + 16 for n in range(1, 3000, 37))


def test_same_seed_same_draws_whichever_way_chains_run(power_runs, monkeypatch):
    """Chains run in parallel (pmap over CPU devices) or one after the other give identical
    draws: each chain is the same compiled program with the same key."""
    kw = dict(x="N", y="loss", groups="arch", seed=3, warn=False, chains=2, warmup=100,
              draws=50)
    a = bs.ScalingLaw("power", drift_update=False).fit(power_runs, **kw)
    assert jax.local_device_count() >= 2 and a.meta["sampler"]["chain_method"] == "parallel"
    monkeypatch.setattr(jax, "local_device_count", lambda: 1)
    b = bs.ScalingLaw("power", drift_update=False).fit(power_runs, **kw)
    assert b.meta["sampler"]["chain_method"] == "sequential"
    np.testing.assert_allclose(a.draws("alpha"), b.draws("alpha"), rtol=1e-9, atol=1e-12)


def test_second_fit_of_a_structure_reuses_the_compiled_sampler(power_runs):
    kw = dict(x="N", y="loss", groups="arch", warn=False, chains=1, warmup=60, draws=40)
    bs.ScalingLaw("power", drift_update=False).fit(power_runs, seed=0, **kw)
    n = len(_PROGRAMS)
    more = power_runs.assign(loss=power_runs["loss"] * 1.01)
    fit = bs.ScalingLaw("power", drift_update=False).fit(more, seed=1, **kw)
    assert len(_PROGRAMS) == n  # same structure, new data: no new program
    assert fit.meta["sampler"]["seconds"]["sample"] < 60
