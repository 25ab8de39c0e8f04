"""The MLP's hand-written backprop against jax.grad, finite differences and custom_vjp."""

import functools
import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnbasics as nb
from nnbasics.activations import HIDDEN
from nnbasics.gradcheck import numerical_grad
from nnbasics.losses import OUTPUT
from nnbasics.mlp import MLP
from tests._helpers.messages import whole

HIDDEN_UNITS = tuple(HIDDEN)


OUTPUT_UNITS = tuple(OUTPUT)


SMOOTH = ("sigmoid", "tanh", "linear", "softplus")


def make_problem(sizes, hidden, output, seed=0, n=9, scale=0.3):
    """A float64 net with perturbed (non-zero) biases, inputs and targets of the right kind.

    Drawn with NumPy: jax.random would compile a program for every new shape.
    """
    net = nb.MLP(sizes, hidden=hidden, output=output)
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(lambda: net.init(jax.random.key(0), jnp.float64))

    def draw(leaf):
        spread = np.sqrt(6.0 / sum(leaf.shape[-2:])) if leaf.ndim > 1 else 0.0  # Glorot's
        value = rng.uniform(-spread, spread, leaf.shape) + scale * rng.standard_normal(leaf.shape)
        return jnp.asarray(value, jnp.float64)

    params = jax.tree.map(draw, shapes)
    X = jnp.asarray(rng.standard_normal((n, sizes[0])))
    d = sizes[-1]
    if output == "softmax":
        y = jnp.asarray(rng.integers(0, d, n))
    elif output == "sigmoid":
        y = jnp.asarray(rng.integers(0, 2, (n, d)), jnp.float64)
    else:
        y = jnp.asarray(rng.standard_normal((n, d)))
    return net, params, X, y


@pytest.mark.parametrize(("hidden", "output"), list(itertools.product(HIDDEN_UNITS, OUTPUT_UNITS)))
@pytest.mark.parametrize(("l2", "l1"), [(0.0, 0.0), (0.3, 0.0), (0.0, 0.05), (0.2, 0.07)])
def test_backprop_equals_jax_grad(hidden, output, l2, l1):
    net, params, X, y = make_problem((4, 6, 5, 3), hidden, output)
    J, grads = net.backprop(params, X, y, l2, l1)
    J_auto, grads_auto = jax.value_and_grad(net.loss)(params, X, y, l2, l1)
    np.testing.assert_allclose(J, J_auto, rtol=1e-12)
    chex.assert_trees_all_close(grads, grads_auto, rtol=1e-10, atol=0)


@pytest.mark.parametrize(("hidden", "output"), list(itertools.product(SMOOTH, OUTPUT_UNITS)))
def test_smooth_units_match_finite_differences(hidden, output):
    net, params, X, y = make_problem((3, 5, 2), hidden, output, seed=1)
    _, grads = net.backprop(params, X, y, l2=0.1)
    numeric = numerical_grad(lambda p: net.loss(p, X, y, l2=0.1), params, eps=1e-6)
    chex.assert_trees_all_close(grads, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(("hidden", "output"), list(itertools.product(HIDDEN_UNITS, OUTPUT_UNITS)))
def test_custom_vjp_runs_the_hand_written_pass(hidden, output):
    net, params, X, y = make_problem((4, 5, 2), hidden, output, seed=2)
    J, grads = net.backprop(params, X, y, 0.1, 0.02)
    J_vjp, grads_vjp = jax.value_and_grad(net.manual_loss)(params, X, y, 0.1, 0.02)
    np.testing.assert_allclose(J_vjp, J, rtol=1e-14)
    chex.assert_trees_all_close(grads_vjp, grads, rtol=1e-12, atol=0)
    # Cotangents for X, l2 and l1 are hand-written too; compare with autodiff.
    manual = jax.grad(net.manual_loss, argnums=(1, 3, 4))(params, X, y, 0.1, 0.02)
    auto = jax.grad(net.loss, argnums=(1, 3, 4))(params, X, y, 0.1, 0.02)
    chex.assert_trees_all_close(manual, auto, rtol=1e-10, atol=0)


@pytest.mark.parametrize("output", OUTPUT_UNITS)
def test_per_example_gradients_through_vmap(output):
    net, params, X, y = make_problem((4, 6, 2), "tanh", output, seed=3)

    # jitted: eagerly each batched operation would compile alone
    @functools.partial(jax.jit, static_argnums=0)
    def one(loss):
        return jax.vmap(jax.grad(lambda p, x, t: loss(p, x[None], t[None])), in_axes=(None, 0, 0))(
            params, X, y
        )

    per_manual, per_auto = one(net.manual_loss), one(net.loss)
    chex.assert_trees_all_close(per_manual, per_auto, rtol=1e-10, atol=0)
    # The mean of per-example gradients is the batch gradient.
    mean = jax.tree.map(lambda g: g.mean(axis=0), per_manual)
    chex.assert_trees_all_close(mean, net.backprop(params, X, y)[1], rtol=1e-10, atol=0)


@settings(max_examples=12, deadline=None)
@given(
    widths=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    hidden=st.sampled_from(HIDDEN_UNITS),
    output=st.sampled_from(OUTPUT_UNITS),
    n=st.integers(1, 7),
    seed=st.integers(0, 2**16),
    l2=st.sampled_from([0.0, 0.5]),
    l1=st.sampled_from([0.0, 0.1]),
)
def test_random_architectures(widths, hidden, output, n, seed, l2, l1):
    net, params, X, y = make_problem(tuple(widths), hidden, output, seed=seed, n=n)
    # jitted: every example has new shapes, and eagerly each operation would compile alone
    J, grads = jax.jit(net.backprop)(params, X, y, l2, l1)
    J_auto, grads_auto = jax.jit(jax.value_and_grad(net.loss))(params, X, y, l2, l1)
    np.testing.assert_allclose(J, J_auto, rtol=1e-12)
    chex.assert_trees_all_close(grads, grads_auto, rtol=1e-10, atol=0)


def test_maxout_shapes_and_ties():
    net = nb.MLP((3, 4, 2), hidden="maxout", output="softmax", pieces=3)
    params = net.init(jax.random.PRNGKey(0), jnp.float64)
    assert params[0]["W"].shape == (3, 4, 3) and params[0]["b"].shape == (4, 3)
    assert params[1]["W"].shape == (4, 2)
    # All-zero weights make every piece tie: the gradient is shared, as in jax.grad.
    params = jax.tree.map(jnp.zeros_like, params)
    params[1]["W"] = jnp.ones((4, 2))
    X = jnp.ones((2, 3))
    y = jnp.array([0, 1])
    chex.assert_trees_all_close(
        net.backprop(params, X, y)[1], jax.grad(net.loss)(params, X, y), rtol=1e-12, atol=0
    )


@pytest.mark.parametrize("output", OUTPUT_UNITS)
@pytest.mark.parametrize("logit", [1e4, -1e4])
def test_losses_finite_at_extreme_logits_float32(output, logit):
    d = 2
    unit = OUTPUT[output]
    width = unit.width(d, 3)
    z = jnp.full((3, width), logit, jnp.float32).at[1].set(-logit).at[2, 0].set(0.0)
    if unit.target == "labels":
        y = jnp.array([0, 1, 1])
    elif unit.target == "binary":
        y = jnp.array([[1, 0], [0, 1], [1, 1]], jnp.float32)
    else:
        y = jnp.array([[0.5, -1.0], [2.0, 0.0], [0.0, 0.0]], jnp.float32)
    nll, delta = unit.nll(z, y), unit.delta(z, y)
    assert nll.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(nll)))
    assert bool(jnp.all(jnp.isfinite(delta)))
    # The hand-written gradient still equals autodiff there.
    auto = jax.grad(lambda z: unit.nll(z, y).sum())(z)
    np.testing.assert_allclose(delta, auto, rtol=1e-6, atol=1e-6)


def test_extreme_logit_values():
    big = jnp.float32(1e4)
    # softplus(z) − yz: the right label costs 0, the wrong one costs |z|.
    nll = OUTPUT["sigmoid"].nll(jnp.array([[big], [big], [-big]]), jnp.array([[1.0], [0.0], [0.0]]))
    np.testing.assert_allclose(nll, [0.0, 1e4, 0.0])
    nll = OUTPUT["softmax"].nll(jnp.array([[big, -big], [big, -big]]), jnp.array([0, 1]))
    np.testing.assert_allclose(nll, [0.0, 2e4])


def test_glorot_init_bounds_and_spread():
    net = nb.MLP((300, 500, 10), hidden="tanh", output="softmax")
    params = net.init(jax.random.PRNGKey(0))
    for layer in params:
        fan_in, fan_out = layer["W"].shape
        bound = np.sqrt(6.0 / (fan_in + fan_out))
        W = np.asarray(layer["W"])
        assert np.all(np.abs(W) <= bound)
        assert np.abs(W).max() > 0.99 * bound
        np.testing.assert_allclose(W.std(), bound / np.sqrt(3), rtol=0.02)
        assert np.all(np.asarray(layer["b"]) == 0)


def test_xor_network_of_the_course():
    # h = relu(XW + c), f = h w: the slides' exact solution.
    net = nb.MLP((2, 2, 1), hidden="relu", output="linear")
    params = [
        {"W": jnp.array([[1.0, 1.0], [1.0, 1.0]]), "b": jnp.array([0.0, -1.0])},
        {"W": jnp.array([[1.0], [-2.0]]), "b": jnp.array([0.0])},
    ]
    X, y = nb.data.load("xor")
    np.testing.assert_array_equal(net.predict(params, X)[:, 0], y)
    assert float(net.loss(params, X, y[:, None].astype(jnp.float32))) == 0.0


def test_small_relu_net_learns_xor_by_gradient_descent():
    X, y = nb.data.load("xor")
    net = nb.MLP((2, 8, 2), hidden="relu", output="softmax")
    params = net.init(jax.random.PRNGKey(1))

    @jax.jit
    def step(params, _):
        J, g = net.backprop(params, X, y)
        return jax.tree.map(lambda p, g: p - 0.5 * g, params, g), J

    params, losses = jax.lax.scan(step, params, None, length=500)
    np.testing.assert_array_equal(net.predict(params, X), y)
    assert losses[-1] < 0.05 * losses[0]


# --- bad input


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(sizes=(5,)), "sizes"),
        (dict(sizes=(5, 0, 3)), r"sizes\[1\]"),
        (dict(sizes=(5, -2)), r"sizes\[1\]"),
        (dict(sizes=(5, 2.5)), r"sizes\[1\]"),
        (dict(sizes=(5, 3), hidden="swish"), "hidden"),
        (dict(sizes=(5, 3), output="poisson"), "output"),
        (dict(sizes=(5, 3), pieces=0), "pieces"),
    ],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        nb.MLP(**kwargs)


@pytest.mark.parametrize(
    ("output", "y", "match"),
    [
        ("softmax", jnp.zeros((4, 3), jnp.int32), "y: expected integer class labels of shape"),
        ("softmax", jnp.zeros((4,)), "y: expected integer"),
        ("softmax", jnp.array([0, 1, 3, 0]), r"y: expected labels in 0\.\.2"),
        ("softmax", jnp.array([0, -1, 2, 0]), r"y: expected labels in 0\.\.2"),
        ("sigmoid", jnp.zeros((4,)), r"y: expected targets of shape \(4, 3\)"),
        ("sigmoid", jnp.full((4, 3), 2.0), "y: expected 0/1 targets"),
        ("linear", jnp.zeros((5, 3)), r"shape \(4, 3\)"),
        ("gaussian", jnp.zeros((4, 6)), r"shape \(4, 3\)"),
        ("mixture", jnp.full((4, 3), jnp.nan), "y: expected finite"),
    ],
)
def test_bad_targets(output, y, match):
    net = nb.MLP((2, 3), output=output)
    params = net.init(jax.random.PRNGKey(0))
    X = jnp.zeros((4, 2))
    for fn in (net.loss, net.backprop):
        with pytest.raises(ValueError, match=match):
            fn(params, X, y)


def test_bad_inputs_raise_under_jit_too():
    net = nb.MLP((2, 3), output="softmax")
    params = net.init(jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=r"X: expected shape \(n, 2\), received shape \(4, 5\)"):
        jax.jit(net.apply)(params, jnp.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"X: expected shape \(n, 2\)"):
        net.apply(params, jnp.zeros((2,)))
    with pytest.raises(ValueError, match="y: expected integer class labels"):
        jax.jit(net.backprop)(params, jnp.zeros((4, 2)), jnp.zeros((4,)))
    with pytest.raises(ValueError, match=r"params\[0\]\['W'\]: expected shape \(2, 3\)"):
        net.apply([{"W": jnp.zeros((3, 3)), "b": jnp.zeros(3)}], jnp.zeros((4, 2)))


def test_config_is_hashable_and_static():
    a = nb.MLP([4, 8, 2], hidden="tanh", output="softmax")
    b = nb.MLP((4, 8, 2), hidden="tanh", output="softmax")
    assert a == b and hash(a) == hash(b) and a.sizes == (4, 8, 2)
    f = jax.jit(lambda net, p, X: net.apply(p, X), static_argnums=0)
    params = a.init(jax.random.PRNGKey(0))
    assert f(a, params, jnp.ones((3, 4))).shape == (3, 2)


@pytest.mark.parametrize(
    ("output", "width"),
    [("sigmoid", 3), ("softmax", 3), ("linear", 3), ("gaussian", 6), ("mixture", 4 * 7)],
)
def test_output_widths_and_predictions(output, width):
    net = nb.MLP((2, 5, 3), hidden="tanh", output=output, components=4)
    params = net.init(jax.random.PRNGKey(0))
    X = jnp.ones((6, 2))
    assert net.apply(params, X).shape == (6, width)
    pred = net.predict(params, X)
    assert pred.shape == ((6,) if output == "softmax" else (6, 3))


@pytest.mark.parametrize("output", OUTPUT_UNITS)
def test_weighted_loss_ignores_zero_weight_rows(output):
    """Rows of weight 0 (fit's padded last minibatch) change neither the loss nor the gradient."""
    net, params, X, y = make_problem((3, 5, 2), "tanh", output, seed=4, n=7)
    weights = jnp.array([1, 1, 1, 1, 0, 0, 0], jnp.float64)
    # jitted: eagerly each operation would compile alone
    backprop = jax.jit(net.backprop)
    J, grads = backprop(params, X, y, 0.1, 0.01, weights)
    J_sub, grads_sub = backprop(params, X[:4], y[:4], 0.1, 0.01)
    np.testing.assert_allclose(J, J_sub, rtol=1e-13)
    chex.assert_trees_all_close(grads, grads_sub, rtol=1e-12, atol=0)
    J_auto, grads_auto = jax.jit(jax.value_and_grad(net.loss))(params, X, y, 0.1, 0.01, weights)
    np.testing.assert_allclose(J, J_auto, rtol=1e-12)
    chex.assert_trees_all_close(grads, grads_auto, rtol=1e-10, atol=0)
    with pytest.raises(ValueError, match=r"weights: expected per-example weights of shape \(7,\)"):
        net.loss(params, X, y, weights=weights[:3])


GRAD_RTOL = 1e-10


def test_backprop_equals_jax_grad_where_relu_preactivations_are_exactly_zero():
    # Zero weights and biases: every hidden pre-activation is exactly 0.
    net = MLP((2, 3, 2), hidden="relu", output="softmax")
    params = net.init(jax.random.key(0), jnp.float64)
    params[0] = {"W": jnp.zeros((2, 3)), "b": jnp.zeros(3)}
    params[1] = {"W": jnp.ones((3, 2)), "b": jnp.array([0.3, -0.1])}
    X = jnp.array([[1.0, -2.0], [0.5, 0.25]])
    y = jnp.array([0, 1])
    _, grads = net.backprop(params, X, y)
    auto = jax.grad(net.loss)(params, X, y)
    for g, a in zip(grads, auto):
        np.testing.assert_allclose(g["W"], a["W"], rtol=GRAD_RTOL, atol=0)
        np.testing.assert_allclose(g["b"], a["b"], rtol=GRAD_RTOL, atol=0)


def test_maxout_network_backprop_equals_jax_grad_on_real_ties():
    # Two equal pieces per unit (duplicated weight columns), so every unit ties, and a
    # second layer that does not make the first layer's gradient vanish.
    net = MLP((2, 2, 2), hidden="maxout", output="softmax", pieces=2)
    params = net.init(jax.random.key(1), jnp.float64)
    W0 = jnp.array([[0.7, -0.4], [0.2, 0.9]])
    W0 = jnp.repeat(W0, 2, axis=1)  # columns (unit j, piece p) equal across p
    b0 = jnp.repeat(jnp.array([0.1, -0.3]), 2)
    params[0] = {"W": W0.reshape(params[0]["W"].shape), "b": b0.reshape(params[0]["b"].shape)}
    X = jnp.array([[1.0, 2.0], [-0.5, 0.3], [0.2, -1.0]])
    y = jnp.array([1, 0, 1])
    z, tapes = net.forward(params, X)
    a = tapes[0].a
    assert bool(jnp.all(a[..., 0] == a[..., 1]))  # the ties are real
    _, grads = net.backprop(params, X, y)
    auto = jax.grad(net.loss)(params, X, y)
    assert float(jnp.max(jnp.abs(auto[0]["W"]))) > 1e-3  # the test can fail
    for g, ref in zip(grads, auto):
        np.testing.assert_allclose(g["W"], ref["W"], rtol=GRAD_RTOL, atol=1e-15)
        np.testing.assert_allclose(g["b"], ref["b"], rtol=GRAD_RTOL, atol=1e-15)


# --- manual_loss's custom_vjp under non-unit cotangents


def _small_problem():
    net = MLP((3, 4, 3), hidden="tanh", output="softmax")
    params = net.init(jax.random.key(2), jnp.float64)
    X = jax.random.normal(jax.random.key(3), (5, 3), jnp.float64)
    y = jnp.array([0, 2, 1, 1, 0])
    return net, params, X, y


@pytest.mark.parametrize("cotangent", [-2.5, 0.37, 7.0])
def test_manual_loss_vjp_scales_by_the_cotangent(cotangent):
    net, params, X, y = _small_problem()
    l2, l1 = 0.01, 0.002
    _, vjp_m = jax.vjp(net.manual_loss, params, X, y, l2, l1)
    _, vjp_a = jax.vjp(net.loss, params, X, y, l2, l1)
    got = vjp_m(jnp.float64(cotangent))
    ref = vjp_a(jnp.float64(cotangent))
    for i in (0, 1, 3, 4):  # params, X, l2, l1
        for g, r in zip(jax.tree.leaves(got[i]), jax.tree.leaves(ref[i])):
            np.testing.assert_allclose(g, r, rtol=GRAD_RTOL, atol=1e-15)


def test_grad_of_a_composed_manual_loss_equals_jax_grad():
    net, params, X, y = _small_problem()

    def outer(loss):
        return lambda p: jnp.sin(3.0 * loss(p, X, y)) + loss(p, X, y) ** 2

    got = jax.grad(outer(net.manual_loss))(params)
    ref = jax.grad(outer(net.loss))(params)
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        np.testing.assert_allclose(g, r, rtol=GRAD_RTOL, atol=1e-15)


def test_per_example_grads_under_random_weighting_equal_jax_grad():
    net, params, X, y = _small_problem()
    c = jax.random.normal(jax.random.key(4), (5,), jnp.float64)

    def total(loss, p):
        per = jax.vmap(lambda x, t: loss(p, x[None], t[None]))(X, y)
        return jnp.sum(c * per)

    got = jax.grad(lambda p: total(net.manual_loss, p))(params)
    ref = jax.grad(lambda p: total(net.loss, p))(params)
    for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(ref)):
        np.testing.assert_allclose(g, r, rtol=GRAD_RTOL, atol=1e-15)


# --- mlp: each refusal names the argument, the expected and the received value


def _mlp_case():
    net = nb.MLP((2, 3, 2))
    return net, net.init(jax.random.key(0), jnp.float64), np.zeros((4, 2)), np.array([0, 1, 1, 0])


def test_mlp_refusals_name_argument_expected_and_received():
    net, p, X, y = _mlp_case()
    sigmoid = nb.MLP((2, 2), output="sigmoid")
    p_sigmoid = sigmoid.init(jax.random.key(0), jnp.float64)
    cases = [
        (
            lambda: nb.MLP((2, 3, 2), hidden="relu6"),
            "hidden: expected one of 'relu', 'sigmoid', "
            "'tanh', 'linear', 'softplus', 'maxout', received 'relu6'",
        ),
        (
            lambda: net.init(0),
            "key: expected a JAX PRNG key such as jax.random.key(0) or "
            "jax.random.PRNGKey(0), received 0",
        ),
        # a (1,) weight vector would broadcast silently: backprop refuses it as loss does
        (
            lambda: net.backprop(p, X, y, weights=np.ones(1)),
            "weights: expected per-example weights of shape (4,), received shape (1,)",
        ),
        (
            lambda: net.loss(p, X, y, weights=np.ones(5)),
            "weights: expected per-example weights of shape (4,), received shape (5,)",
        ),
        (
            lambda: net.loss({"W": 1}, X, y),
            "params: expected a list of 2 layers {'W', 'b'}, received dict",
        ),
        (
            lambda: net.loss(p[:1], X, y),
            "params: expected a list of 2 layers {'W', 'b'}, received 1 layers",
        ),
        (
            lambda: net.loss(np.zeros((3, 2)), X, y),
            "params: expected a list of 2 layers {'W', 'b'}, received an array of shape (3, 2)",
        ),
        (
            lambda: net.loss([p[0], {"W": p[1]["W"], "b": np.zeros(3)}], X, y),
            "params[1]['b']: expected shape (2,), received shape (3,)",
        ),
        (
            lambda: sigmoid.loss(p_sigmoid, X, np.array([[0.5, 1.0]] * 4)),
            "y: expected 0/1 targets for output 'sigmoid', received values [0.5, 1.0]",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=whole(message)):
            call()
