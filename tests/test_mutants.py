"""Tests that kill the mutants mutmut found surviving (docs/mutation-report.md).

Each is small and fast (it runs once per mutant): the values against an
independent NumPy/SciPy formula, the derivatives against ``jax.grad``, in float64.
"""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nnbasics import activations, init, losses, regularizers, schedules

RTOL = 1e-12
A = np.array([-40.0, -3.0, -0.5, 0.0, 0.25, 2.0, 40.0, 800.0])

# --- activations: every unit's value against NumPy, its derivative against jax.grad

REFERENCE = {
    "relu": lambda a: np.maximum(a, 0.0),
    "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "tanh": np.tanh,
    "linear": lambda a: a,
    "softplus": lambda a: np.maximum(a, 0) + np.log1p(np.exp(-np.abs(a))),
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_each_unit_value_and_derivative(name):
    unit = activations.HIDDEN[name]
    a = jnp.asarray(A, jnp.float64)
    np.testing.assert_allclose(unit.g(a), REFERENCE[name](A), rtol=RTOL, atol=0)
    auto = jax.vmap(jax.grad(unit.g))(a)
    np.testing.assert_allclose(unit.g_prime(a), auto, rtol=RTOL, atol=1e-300)
    assert unit.g_prime(a).shape == a.shape and unit.g_prime(a).dtype == a.dtype


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("name", sorted(activations.HIDDEN))
def test_each_derivative_keeps_the_dtype(name, dtype):
    # float64 is on in the tests, so a derivative built in the default dtype would be
    # float64 here (and float32 for bfloat16 input without it): never the input's.
    a = jnp.asarray([[[0.5, -1.0], [2.0, 2.0]]], dtype)
    if name != "maxout":
        a = a[..., 0]
    assert activations.HIDDEN[name].g_prime(a).dtype == dtype


def test_maxout_value_and_one_hot_derivative():
    a = jnp.array([[[1.0, 3.0, -2.0], [-5.0, -4.0, -6.0]]], jnp.float64)
    np.testing.assert_array_equal(activations.maxout(a), [[3.0, -4.0]])
    np.testing.assert_array_equal(activations.maxout_grad(a), [[[0, 1, 0], [0, 1, 0]]])


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
    np.testing.assert_allclose(regularizers.l2_penalty(p), l2, rtol=RTOL)
    np.testing.assert_allclose(regularizers.l1_penalty(p), l1, rtol=RTOL)
    np.testing.assert_allclose(regularizers.penalty(p, 0.3, 0.07), 0.3 * l2 + 0.07 * l1, rtol=RTOL)
    np.testing.assert_allclose(regularizers.penalty(p, 0.3), 0.3 * l2, rtol=RTOL)
    np.testing.assert_allclose(regularizers.penalty(p, 0.0, 0.07), 0.07 * l1, rtol=RTOL)
    assert regularizers.penalty(p) == 0.0


def test_penalty_grads_equal_jax_grad_of_the_penalty():
    p = _layers()
    for l2, l1 in ((0.3, 0.07), (0.3, 0.0), (0.0, 0.07)):
        hand = regularizers.penalty_grads(p, l2, l1)
        auto = jax.grad(lambda q, l2=l2, l1=l1: regularizers.penalty(q, l2, l1))(p)
        for h, a in zip(hand, auto):
            np.testing.assert_allclose(h["W"], a["W"], rtol=RTOL, atol=0)
            np.testing.assert_array_equal(h["b"], np.zeros_like(a["b"]))
    g = [{"W": jnp.ones((3, 2)), "b": jnp.ones(2)}, {"W": jnp.ones((2, 4)), "b": jnp.ones(4)}]
    added = regularizers.add_penalty_grads(g, p, 0.3, 0.07)
    for a, q in zip(added, p):
        np.testing.assert_allclose(
            a["W"], 1 + 0.3 * q["W"] + 0.07 * np.sign(q["W"]), rtol=RTOL, atol=0
        )
        np.testing.assert_array_equal(a["b"], np.ones_like(q["b"]))


@pytest.mark.parametrize(
    ("strength", "off"), [(0, True), (0.0, True), (1e-300, False), (jnp.float64(0.0), False)]
)
def test_only_a_literal_zero_strength_is_off(strength, off):
    assert regularizers.is_off(strength) is off


# --- init: Glorot's bound and the uniform's support and spread


def test_glorot_bound_is_root_six_over_fans():
    assert init.glorot_bound(3, 5) == pytest.approx(math.sqrt(0.75), rel=1e-15)
    assert init.glorot_bound(1, 1) == pytest.approx(math.sqrt(3.0), rel=1e-15)


@pytest.mark.parametrize("how", ["one", "layers"])
def test_glorot_draws_fill_their_bounds_with_the_uniform_spread(how):
    shapes = [(300, 200), (200, 100, 2)]
    key = jax.random.key(0)
    if how == "one":
        draws = [
            init.glorot_uniform(k, s, jnp.float64) for k, s in zip(jax.random.split(key), shapes)
        ]
    else:
        draws = init.glorot_uniform_layers(key, shapes, jnp.float64)
    for W, shape in zip(draws, shapes):
        b = math.sqrt(6.0 / (shape[0] + shape[1]))
        assert W.shape == shape and W.dtype == jnp.float64
        assert float(jnp.max(jnp.abs(W))) <= b and float(jnp.max(jnp.abs(W))) > 0.99 * b
        assert float(jnp.min(W)) < -0.99 * b  # both signs: U[−b, b], not U[0, b]
        np.testing.assert_allclose(float(jnp.std(W)), b / math.sqrt(3), rtol=0.02)
        assert abs(float(jnp.mean(W))) < 0.01 * b
    assert len({float(d.ravel()[0]) for d in draws}) == 2  # independent pieces


def test_zeros_are_zeros_of_the_dtype():
    z = init.zeros((3,), jnp.float64)
    assert z.dtype == jnp.float64
    np.testing.assert_array_equal(z, np.zeros(3))


# --- schedules: the formulas at the hold boundary and the value of repr


def test_schedules_at_the_end_of_the_hold():
    s = schedules.power(0.4, 1.0, hold=2)
    assert [float(s(t)) for t in range(5)] == [0.4, 0.4, 0.4, 0.2, 0.4 / 3]
    assert float(schedules.inverse_time(0.4, 0.5, hold=0)(2)) == 0.2
    assert repr(schedules.inverse_time(0.4, 0.5, 2)) == "inverse_time(0.4, 0.5, 2)"
    assert schedules.power(0.4, 0.75) == schedules.power(0.4, 0.75)


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


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_init_keeps_the_requested_dtype(dtype):
    # float64 is on in the tests: a draw in the default dtype would come out float64.
    key = jax.random.key(0)
    assert init.glorot_uniform(key, (3, 2), dtype).dtype == dtype
    shapes = [(3, 2), (2, 4), (4, 1)]  # three layers: the cut points are all but the last
    layers = init.glorot_uniform_layers(key, shapes, dtype)
    assert [w.shape for w in layers] == shapes and all(w.dtype == dtype for w in layers)
    assert init.zeros((3,), dtype).dtype == dtype


# --- schedules: documented defaults, infinite arguments, the warning's text and origin


def test_schedules_hold_defaults_to_zero():
    # DESIGN.md: inverse_time(value, decay, hold=0), power(value, exponent, hold=0).
    assert float(schedules.inverse_time(1.0, 0.5)(1)) == 1 / 1.5
    assert float(schedules.power(1.0, 1.0)(1)) == 0.5


@pytest.mark.parametrize(
    ("make", "args", "name"),
    [
        (schedules.constant, (math.inf,), "value"),
        (schedules.inverse_time, (math.inf, 0.1), "value"),
        (schedules.inverse_time, (0.1, math.inf), "decay"),
        (schedules.power, (0.1, math.inf), "exponent"),
    ],
)
def test_schedules_refuse_infinite_arguments(make, args, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        make(*args)


def test_constant_rate_is_a_float_as_inverse_time_with_no_decay():
    # inverse_time's docstring: decay 0 is a constant rate; an int value gives the same.
    got, same = schedules.constant(1)(3), schedules.inverse_time(1, 0.0)(3)
    assert got.dtype == same.dtype == jnp.float64 and float(got) == 1.0


@pytest.mark.parametrize(
    ("exponent", "failed"), [(1.5, "sum of rates = inf"), (0.25, "sum of squared rates < inf")]
)
def test_power_warning_names_the_failed_condition_at_the_callers_line(exponent, failed):
    with pytest.warns(
        UserWarning, match=f"convergence condition '{re.escape(failed)}' does not hold"
    ) as record:
        schedules.power(0.1, exponent)
    assert record[0].filename == __file__  # stacklevel=2: the caller, not schedules.py


def test_power_takes_a_traced_exponent():
    # search.py vmaps over lr_exponent: no warning check (float()) on a tracer.
    rate = jax.jit(lambda e: schedules.power(0.1, e)(3))(0.75)
    np.testing.assert_allclose(rate, 0.1 / 4**0.75, rtol=1e-15)


# --- losses: each unit keeps the logits' dtype; the mixture's spread below 1


def _losses_inputs(name, dtype):
    unit = losses.OUTPUT[name]
    width = unit.width(2, 3)
    z = jnp.asarray(np.linspace(-1.0, 1.0, 4 * width).reshape(4, width), dtype)
    if unit.target == "labels":
        return z, jnp.asarray([0, 1, 1, 0])
    if unit.target == "binary":
        return z, jnp.asarray([[1, 0], [0, 1], [1, 1], [0, 0]], dtype)
    return z, jnp.asarray(np.linspace(-0.5, 0.5, 8).reshape(4, 2), dtype)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
@pytest.mark.parametrize("name", sorted(losses.OUTPUT))
def test_losses_keep_the_logits_dtype(name, dtype):
    # float64 is on in the tests: a term built in the default dtype would promote.
    z, y = _losses_inputs(name, dtype)
    unit = losses.OUTPUT[name]
    # eval_shape: the dtypes as traced, nothing compiled or computed.
    assert jax.eval_shape(unit.nll, z, y).dtype == dtype
    assert jax.eval_shape(unit.delta, z, y).dtype == dtype


def test_losses_mixture_std_below_one():
    # Two equal components at ±0.1 of precision 100: variance 1/τ + 0.1² = 0.02.
    r = math.log(math.expm1(100.0))
    z = jnp.array([[0.0, 0.0, -0.1, 0.1, r, r]])
    std = jax.jit(losses.mixture_std, static_argnums=1)(z, 1)
    np.testing.assert_allclose(std, [[math.sqrt(0.02)]], rtol=1e-12)


def test_losses_gaussian_spread_and_gradient_at_the_tiny_precision_cut():
    # r = −30 exactly (losses._TINY_R): the closed forms still apply there.
    r, mu, y = -30.0, 0.5, 0.0
    tau, sig = np.logaddexp(r, 0.0), 1 / (1 + np.exp(-r))
    z = jnp.array([[mu, r]])
    both = jax.jit(lambda z, y: (losses.gaussian_std(z, 1), losses.gaussian_delta(z, y)))
    std, delta = both(z, jnp.array([[y]]))
    np.testing.assert_allclose(std, [[1 / np.sqrt(tau)]], rtol=1e-12)
    ref = [[tau * (mu - y), sig * (0.5 * (y - mu) ** 2 - 0.5 / tau)]]
    np.testing.assert_allclose(delta, ref, rtol=1e-12)
