import jax.numpy as jnp
import numpy as np
import pytest

from bayes_scaling.laws import get_law, list_laws

RNG = np.random.default_rng(0)


def _random_linked(law):
    return {p.linked: RNG.normal(-0.5, 0.3, size=7) for p in law.params}


FORMULAS = {
    "power": lambda o, x: o["A"] * x[0] ** -o["alpha"],
    "saturating": lambda o, x: o["E"] + o["A"] * x[0] ** -o["alpha"],
    "broken": lambda o, x: (
        o["E"]
        + o["A"]
        * x[0] ** -o["alpha"]
        * (1 + (x[0] / o["x_break"]) ** (1 / o["f"])) ** (-o["delta"] * o["f"])
    ),
    "chinchilla": lambda o, x: o["E"] + o["A"] * x[0] ** -o["alpha"] + o["B"] * x[1] ** -o["beta"],
    "kaplan": lambda o, x: (
        ((o["N_c"] / x[0]) ** (o["alpha_N"] / o["alpha_D"]) + o["D_c"] / x[1]) ** o["alpha_D"]
    ),
}


@pytest.mark.parametrize("name", list_laws())
def test_law_matches_formula_in_original_units(name):
    """The normalised law, mapped back with original_units, is the published formula."""
    law = get_law(name)
    linked = _random_linked(law)
    log_x_ref = np.array([16.0, 20.0])[: law.n_inputs]
    log_y_ref = 0.7
    x = np.exp(RNG.uniform(12, 24, size=(7, law.n_inputs)))
    z = np.log(x) - log_x_ref
    y = np.exp(log_y_ref) * np.exp(
        np.asarray(law({k: jnp.asarray(v) for k, v in linked.items()}, jnp.asarray(z)), dtype=float)
    )
    natural = {p.name: p.to_natural(linked[p.linked]) for p in law.params}
    orig = law.original_units(natural, log_x_ref, log_y_ref)
    expected = FORMULAS[name](orig, [x[:, k] for k in range(law.n_inputs)])
    np.testing.assert_allclose(y, expected, rtol=2e-4)


def test_unknown_law():
    with pytest.raises(ValueError, match="unknown law 'powr'"):
        get_law("powr")


def test_every_law_documents_priors():
    for name in list_laws():
        for p in get_law(name).params:
            assert p.description and p.prior.dist and p.sd_prior.dist == "HalfNormal"
