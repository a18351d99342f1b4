"""The built-in laws: M4's implicit solve, the schedule areas, lr_batch's conditioning."""

import numpy as np
import pandas as pd
import pytest

from bayes_scaling.laws import BUILTIN, detect_covariance
from bayes_scaling.laws.schedule import schedule_areas, schedule_lr


def test_m4_solves_its_implicit_equation():
    """u (1 - u)^-gamma = (A / D) x^-alpha with D = q gamma at every x; the tail is
    E + A x^-alpha; the form of earlier versions (D, x0) is the same curve at
    x0 = (A/D)^(1/alpha)."""
    from bayes_scaling.laws import LEGACY

    x = np.geomspace(1e-3, 1e3, 50)
    e, a, alpha, q, gamma = 0.2, 0.5, 0.6, 0.5, 1.3
    d = q * gamma
    y = np.asarray(BUILTIN["m4"](x, e, a, alpha, q, gamma))
    u = (y - e) / d
    np.testing.assert_allclose(u * (1 - u) ** -gamma, (a / d) * x**-alpha, rtol=1e-8)
    assert np.all(np.diff(y) < 0) and y[0] < e + d and y[-1] > e
    far = np.asarray(BUILTIN["m4"](np.array([1e12]), e, a, alpha, q, gamma))
    np.testing.assert_allclose(far - e, a * 1e12**-alpha, rtol=1e-6)
    x0 = (a / d) ** (1 / alpha)
    old = np.asarray(LEGACY["m4"][0](x, e, d, x0, alpha, gamma))
    np.testing.assert_allclose(old, y, rtol=1e-10)


def test_schedule_areas():
    steps = np.arange(1, 1001)
    d = pd.DataFrame({"run": "r", "step": steps, "peak_lr": 1e-3, "warmup_steps": 10,
                      "total_steps": 1000, "final_lr": 1e-4})
    a = schedule_areas(d, run="run", kind="cosine")
    lr = schedule_lr(np.arange(1000), peak_lr=1e-3, warmup=10, total=1000, final_lr=1e-4)
    np.testing.assert_allclose(a["S1"].iloc[-1], lr.sum(), rtol=1e-12)
    assert (np.diff(a["S2"]) >= -1e-15).all() and a["S2"].iloc[-1] > 0
    const = schedule_areas(d, run="run", kind="constant")
    assert (const["S2"] == 0).all() and (const["anneal"] == 0).all()
    # from a learning-rate column at the checkpoints (interpolated): close to the exact areas
    sparse = d.iloc[::50].assign(lr=lr[::50])
    approx = schedule_areas(sparse, run="run", lr="lr")
    exact = a.iloc[::50]
    # linear interpolation across a 50-step gap that holds the end of the 10-step warm-up loses
    # at most half the gap times the peak rate (0.025 of a total area of 0.55); nothing else
    gap_loss = 0.5 * 50 * 1e-3
    err = (exact["S1"] - approx["S1"]).iloc[1:]
    assert (err.abs() <= gap_loss).all() and err.iloc[-1] > 0.5 * gap_loss  # the warm-up miss
    np.testing.assert_allclose(np.diff(approx["S1"].iloc[1:]), np.diff(exact["S1"].iloc[1:]),
                               rtol=0.05)  # after the warm-up, increments agree
    with pytest.raises(ValueError, match="column 'peak_lr' not found"):
        schedule_areas(d.drop(columns="peak_lr"), run="run")


def test_lr_batch_is_conditioned_automatically():
    cov = detect_covariance(BUILTIN["lr_batch"])
    assert set(cov.normalised_inputs) == {"N", "D", "lr", "batch_size"}
    shifts = {p: {(s.source, s.multiplier, s.sign) for s in v} for p, v in cov.shifts.items()}
    assert shifts["lr0"] == {("N", "g_N", 1), ("D", "g_D", -1), ("lr", None, 1)}
    assert ("D", "d_D", -1) in shifts["b0"] and ("y", None, 1) in shifts["a0"]
    assert BUILTIN["lr_batch"].extras["likelihood"] == "student_t"
