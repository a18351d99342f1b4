"""The model's algebra (integrated-out effects match a dense Gaussian computation) and its
prediction noise."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.stats import multivariate_normal

from bayes_scaling.hierarchy import conditional_effects, marginal_logpdf


def test_marginal_logpdf_is_the_dense_gaussian():
    rng = np.random.default_rng(0)
    c, levels = 7, 4
    u = rng.standard_normal((c, levels)) * 0.7
    r = rng.standard_normal(c)
    s0 = 0.3
    cov = s0**2 * np.eye(c) + u @ u.T
    want = multivariate_normal(np.zeros(c), cov).logpdf(r)
    np.testing.assert_allclose(float(marginal_logpdf(jnp.asarray(r), s0, jnp.asarray(u))), want,
                               rtol=1e-10)
    only = multivariate_normal(np.zeros(c), s0**2 * np.eye(c)).logpdf(r)
    np.testing.assert_allclose(float(marginal_logpdf(jnp.asarray(r), s0, jnp.zeros((c, 0)))),
                               only, rtol=1e-10)


def test_conditional_effects_have_the_gaussian_posterior():
    rng = np.random.default_rng(1)
    c, levels = 6, 3
    u = rng.standard_normal((c, levels))
    r = rng.standard_normal(c)
    s0 = 0.5
    prec = np.eye(levels) + u.T @ u / s0**2
    mean = np.linalg.solve(prec, u.T @ r / s0**2)
    cov = np.linalg.inv(prec)
    draws = np.stack([
        np.asarray(conditional_effects(jnp.asarray(r), s0, jnp.asarray(u),
                                       jnp.asarray(rng.standard_normal(levels))))
        for _ in range(4000)
    ])
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=0.05)
    np.testing.assert_allclose(np.cov(draws.T), cov, atol=0.05)


def test_row_noise_streams_have_the_families_distributions():
    """Prediction noise comes from one key per row and a vector over draws: Student-t by
    Bailey's polar construction (exact, no rejection loop), Huber and normal directly. Each
    family's draws pass a Kolmogorov-Smirnov test (20,000 draws; a correct sampler fails it
    with probability 0.001), and a row's draws do not depend on the other rows requested."""
    from scipy import stats

    from bayes_scaling.distributions import huber_standard_draws
    from bayes_scaling.model import row_noise_streams, student_t_standard

    key = jax.random.PRNGKey(5)
    hashes = jnp.asarray([11, 2**31 - 1, 7], dtype=jnp.uint32)

    class S:  # the two fields row_noise_streams reads
        def __init__(self, likelihood, residual="iid"):
            self.likelihood, self.residual, self.huber_delta = likelihood, residual, 1.345

    t = row_noise_streams(S("student_t"), key, hashes, 20_000)
    for df in (0.7, 3.0, 30.0):
        z = np.asarray(student_t_standard(t["u"][:, 0], t["v"][:, 0], df))
        assert np.isfinite(z).all()
        assert stats.kstest(z, stats.t(df).cdf).pvalue > 1e-3, df
    z = np.asarray(row_noise_streams(S("normal"), key, hashes, 20_000)["z"][:, 1])
    assert stats.kstest(z, "norm").pvalue > 1e-3
    h = np.asarray(row_noise_streams(S("huber"), key, hashes, 20_000)["z"][:, 2])
    ref = huber_standard_draws(np.random.default_rng(0), 200_000, 1.345)
    assert stats.ks_2samp(h, ref).pvalue > 1e-3
    alone = row_noise_streams(S("contaminated", "ou"), key, hashes[1:2], 50)
    both = row_noise_streams(S("contaminated", "ou"), key, hashes, 50)
    for name in ("z", "u", "z_ou"):
        np.testing.assert_array_equal(alone[name][:, 0], both[name][:, 1])
