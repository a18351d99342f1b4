"""The model's algebra: the integrated-out effects match a dense Gaussian computation."""

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
