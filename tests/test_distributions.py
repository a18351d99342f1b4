"""Observation distributions beyond NumPyro's own."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.integrate import quad
from scipy.stats import norm

from bayes_scaling.distributions import Contaminated


def test_contaminated_density_is_the_two_component_mixture_and_normalised():
    d = Contaminated(0.3, 0.02, 0.1, 0.5)
    for v in (0.3, 0.33, 0.5, -1.0):
        want = 0.9 * norm.pdf(v, 0.3, 0.02) + 0.1 * norm.pdf(v, 0.3, np.hypot(0.02, 0.5))
        assert np.isclose(float(jnp.exp(d.log_prob(v))), want, rtol=1e-10)
    total = sum(quad(lambda v: float(jnp.exp(d.log_prob(v))), a, b, limit=200)[0]
                for a, b in ((-np.inf, 0.2), (0.2, 0.4), (0.4, np.inf)))
    assert abs(total - 1.0) < 1e-6


def test_contaminated_draws_follow_the_mixture():
    d = Contaminated(jnp.zeros(200_000), 1.0, 0.2, 10.0)
    z = np.asarray(d.sample(jax.random.PRNGKey(0)))
    # beyond 5 core scales: almost only the broad component (P = 2 * Phi(-5 / hypot(1, 10)))
    want = 0.2 * 2 * norm.sf(5 / np.hypot(1.0, 10.0))
    assert abs(np.mean(np.abs(z) > 5) - want) < 4 * np.sqrt(want / len(z))
    assert abs(np.var(z) - (0.8 + 0.2 * 101.0)) < 0.03 * 21.0
