"""nnbasics.regularizers: the L1/L2 penalties and their gradients against their formulas and jax.grad."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnbasics import regularizers

RTOL_EXACT = 1e-12


# --- regularizers: penalties and gradients by their formulas, strengths applied once


def _layers():
    rng = np.random.default_rng(0)
    return [
        {"W": jnp.asarray(rng.normal(size=(3, 2))), "b": jnp.asarray(rng.normal(size=2))},
        {"W": jnp.asarray(rng.normal(size=(2, 4))), "b": jnp.asarray(rng.normal(size=4))},
    ]


def test_penalties_by_their_formulas():
    p = _layers()
    W = [np.asarray(layer["W"]) for layer in p]
    l2 = 0.5 * sum(np.sum(w**2) for w in W)
    l1 = sum(np.sum(np.abs(w)) for w in W)
    np.testing.assert_allclose(regularizers.l2_penalty(p), l2, rtol=RTOL_EXACT)
    np.testing.assert_allclose(regularizers.l1_penalty(p), l1, rtol=RTOL_EXACT)
    np.testing.assert_allclose(
        regularizers.penalty(p, 0.3, 0.07), 0.3 * l2 + 0.07 * l1, rtol=RTOL_EXACT
    )
    np.testing.assert_allclose(regularizers.penalty(p, 0.3), 0.3 * l2, rtol=RTOL_EXACT)
    np.testing.assert_allclose(regularizers.penalty(p, 0.0, 0.07), 0.07 * l1, rtol=RTOL_EXACT)
    assert regularizers.penalty(p) == 0.0


def test_penalty_grads_equal_jax_grad_of_the_penalty():
    p = _layers()
    for l2, l1 in ((0.3, 0.07), (0.3, 0.0), (0.0, 0.07)):
        hand = regularizers.penalty_grads(p, l2, l1)
        auto = jax.grad(lambda q, l2=l2, l1=l1: regularizers.penalty(q, l2, l1))(p)
        for h, a in zip(hand, auto):
            np.testing.assert_allclose(h["W"], a["W"], rtol=RTOL_EXACT, atol=0)
            np.testing.assert_array_equal(h["b"], np.zeros_like(a["b"]))
    g = [{"W": jnp.ones((3, 2)), "b": jnp.ones(2)}, {"W": jnp.ones((2, 4)), "b": jnp.ones(4)}]
    added = regularizers.add_penalty_grads(g, p, 0.3, 0.07)
    for a, q in zip(added, p):
        np.testing.assert_allclose(
            a["W"], 1 + 0.3 * q["W"] + 0.07 * np.sign(q["W"]), rtol=RTOL_EXACT, atol=0
        )
        np.testing.assert_array_equal(a["b"], np.ones_like(q["b"]))


@pytest.mark.parametrize(
    ("strength", "off"), [(0, True), (0.0, True), (1e-300, False), (jnp.float64(0.0), False)]
)
def test_only_a_literal_zero_strength_is_off(strength, off):
    assert regularizers.is_off(strength) is off


def test_penalty_gradients_default_to_no_penalty_and_skip_literal_zeros():
    p = _layers()
    g = jax.tree.map(jnp.ones_like, p)
    # Documented defaults l2=0.0, l1=0.0: nothing added, nothing computed (the same pytree).
    assert regularizers.add_penalty_grads(g, p) is g
    assert regularizers.add_penalty_grads(g, p, 0, 0.0) is g
    for got in jax.tree.leaves(regularizers.penalty_grads(p)):
        np.testing.assert_array_equal(got, np.zeros_like(got))


def test_a_literal_zero_strength_contributes_nothing_not_zero_times_the_penalty():
    # 0 · Ω would be NaN for an infinite weight; a skipped term is not computed at all.
    p = _layers()
    p[0] = {"W": p[0]["W"].at[0, 0].set(jnp.inf), "b": p[0]["b"]}
    assert float(regularizers.penalty(p, 0.0, 0.07)) == math.inf
    assert float(regularizers.penalty(p, 0.3, 0)) == math.inf
    assert regularizers.penalty(p) == 0.0 and isinstance(regularizers.penalty(p), float)


def test_l1_grad_is_sign_with_zero_at_zero():
    params = [{"W": jnp.array([[-2.0, 0.0, 3.0]]), "b": jnp.array([1.0, -1.0, 0.0])}]
    g = regularizers.l1_grad(params)
    np.testing.assert_array_equal(g[0]["W"], [[-1.0, 0.0, 1.0]])
    np.testing.assert_array_equal(g[0]["b"], [0.0, 0.0, 0.0])
