"""Correlated run residuals: the Kalman likelihood is the exact Gaussian one, and learning
curves with more checkpoints do not get overconfident."""

import jax.numpy as jnp
import numpy as np
import pandas as pd
from scipy.stats import multivariate_normal

import bayes_scaling as bs
from bayes_scaling.residuals import forecast, kalman, run_layout


def test_kalman_is_the_exact_ou_likelihood():
    rng = np.random.default_rng(0)
    runs = np.array([0] * 6 + [1] * 4)
    s = np.concatenate([np.sort(rng.uniform(0, 3, 6)), np.sort(rng.uniform(0, 2, 4))])
    perm = rng.permutation(10)  # rows in any order
    runs, s = runs[perm], s[perm]
    resid = rng.standard_normal(10) * 0.02
    noise = np.full(10, 0.005)
    kappa, ell = 0.015, 0.7
    layout = {k: jnp.asarray(v) for k, v in run_layout(runs, s, 2).items()}
    ll, a, p, s_last = kalman(jnp.asarray(resid), jnp.asarray(noise), layout, kappa, ell)
    total = 0.0
    for r in (0, 1):
        m = runs == r
        d = np.abs(s[m][:, None] - s[m][None, :])
        cov = kappa**2 * np.exp(-d / ell) + np.diag(noise[m] ** 2)
        total += multivariate_normal(np.zeros(m.sum()), cov).logpdf(resid[m])
    np.testing.assert_allclose(float(jnp.sum(ll)), total, rtol=1e-10)
    # the forecast one step ahead of run 0 is the Gaussian conditional of the process
    m = runs == 0
    s_new = s[m].max() + 0.3
    pts = np.append(s[m], s_new)
    d = np.abs(pts[:, None] - pts[None, :])
    cov = kappa**2 * np.exp(-d / ell)
    cov_obs = cov[:-1, :-1] + np.diag(noise[m] ** 2)
    w = np.linalg.solve(cov_obs, cov[:-1, -1])
    mean_exact = w @ resid[m]
    var_exact = cov[-1, -1] - cov[:-1, -1] @ w
    mean, sd = forecast(a, p, s_last, jnp.array([0]), jnp.array([s_new]), kappa, ell)
    np.testing.assert_allclose(float(mean[0]), mean_exact, rtol=1e-8)
    np.testing.assert_allclose(float(sd[0]) ** 2, var_exact, rtol=1e-8)


def _curve(n_points: int, seed: int = 0) -> pd.DataFrame:
    """One learning curve with a persistent OU wiggle, ``n_points`` checkpoints over 2 decades."""
    rng = np.random.default_rng(seed)
    x = np.geomspace(1e8, 1e10, 200)
    s = np.log(x)
    r = np.zeros(200)
    rho = np.exp(-np.diff(s) / 0.5)
    for i in range(1, 200):
        r[i] = rho[i - 1] * r[i - 1] + 0.01 * np.sqrt(1 - rho[i - 1] ** 2) * rng.standard_normal()
    y = (2.0 + 5.0 * (x / 1e8) ** -0.3) * np.exp(r + 0.001 * rng.standard_normal(200))
    idx = np.unique(np.round(np.linspace(0, 199, n_points)).astype(int))
    return pd.DataFrame({"run": "r1", "tokens": x[idx], "loss": y[idx]})


def test_more_checkpoints_do_not_shrink_intervals_without_limit():
    """Fitting 10 or 50 checkpoints of the same run: the 50-checkpoint interval at 10x beyond
    the data is not more than 1.5x narrower (iid noise would give sqrt(5) = 2.2x)."""
    kw = dict(x="tokens", y="loss", run="run", seed=0, warn=False, chains=2, warmup=300,
              draws=300)
    at = pd.DataFrame({"run": ["r1"], "tokens": [1e11]})
    widths = {}
    for n in (10, 50):
        fit = bs.ScalingLaw("saturating", discrepancy="none").fit(_curve(n), **kw)
        p = fit.predict(at)
        widths[n] = float(np.log(p["upper"] / p["lower"]).iloc[0])
    assert widths[10] / widths[50] < 1.5
