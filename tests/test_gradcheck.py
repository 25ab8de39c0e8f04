"""nnbasics.gradcheck: numerical gradients against jax.grad, rel_error and report."""

import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnbasics import gradcheck, logistic


def smooth(params):
    """A smooth function whose partial derivatives stay away from 0."""
    return (
        jnp.sum(jnp.exp(0.3 * params["W"]))
        + jnp.sum(params["b"] ** 3 + 2.0 * params["b"])
        + jnp.log1p(params["s"] ** 2)
        + 2.0 * params["s"]
    )


def make_params(seed, shape=(3, 4)):
    rng = np.random.default_rng(seed)
    return {
        "W": jnp.asarray(rng.normal(size=shape)),
        "b": jnp.asarray(rng.normal(size=shape[-1])),
        "s": jnp.asarray(rng.normal()),
    }


def test_numerical_grad_matches_jax_grad_and_keeps_the_pytree():
    params = make_params(0)
    numeric = gradcheck.numerical_grad(smooth, params)
    assert jax.tree_util.tree_structure(numeric) == jax.tree_util.tree_structure(params)
    for got, want in zip(jax.tree_util.tree_leaves(numeric), jax.tree_util.tree_leaves(params)):
        assert got.shape == want.shape and got.dtype == want.dtype
    assert gradcheck.rel_error(numeric, jax.grad(smooth)(params)) < 1e-7


@settings(max_examples=20, deadline=None)
@given(
    rows=st.sampled_from([1, 2, 5]), cols=st.sampled_from([1, 3]), seed=st.integers(0, 2**32 - 1)
)
def test_numerical_grad_property(rows, cols, seed):
    params = make_params(seed, (rows, cols))
    numeric = gradcheck.numerical_grad(smooth, params)
    assert gradcheck.rel_error(numeric, jax.grad(smooth)(params)) < 1e-7


def test_numerical_grad_of_a_list_of_layers_and_batch_size_invariance():
    rng = np.random.default_rng(1)
    params = [
        {"W": jnp.asarray(rng.normal(size=(2, 3))), "b": jnp.asarray(rng.normal(size=3))},
        {"W": jnp.asarray(rng.normal(size=(3, 1))), "b": jnp.asarray(rng.normal(size=1))},
    ]

    def f(p):
        h = jnp.tanh(jnp.ones((1, 2)) @ p[0]["W"] + p[0]["b"])
        return jnp.sum(jnp.exp(h @ p[1]["W"] + p[1]["b"])) + sum(jnp.sum(q["W"]) for q in p)

    one = gradcheck.numerical_grad(f, params, batch_size=1)
    many = gradcheck.numerical_grad(f, params, batch_size=1000)
    assert gradcheck.rel_error(one, many) == 0.0
    # 13 parameters in chunks of 5: the last chunk is padded with repeated directions.
    padded = gradcheck.numerical_grad(f, params, batch_size=5)
    assert gradcheck.rel_error(one, padded) == 0.0
    assert gradcheck.rel_error(one, jax.grad(f)(params)) < 1e-7


def test_numerical_grad_of_the_logistic_nll():
    rng = np.random.default_rng(2)
    X, y = jnp.asarray(rng.normal(size=(20, 3))), jnp.asarray(rng.integers(0, 2, 20))
    params = {"w": jnp.asarray([0.5, -1.0, 2.0]), "b": jnp.asarray(0.3)}
    numeric = gradcheck.numerical_grad(lambda p: logistic.nll(p, X, y, 0.1), params)
    manual = logistic.grad(params, X, y, 0.1)
    assert min(float(jnp.min(jnp.abs(leaf))) for leaf in jax.tree_util.tree_leaves(manual)) > 1e-3
    assert gradcheck.rel_error(numeric, manual) < 1e-7


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: gradcheck.numerical_grad(lambda p: p["W"], make_params(0)), "f"),
        (lambda: gradcheck.numerical_grad(smooth, make_params(0), eps=0.0), "eps"),
        (lambda: gradcheck.numerical_grad(smooth, make_params(0), batch_size=0), "batch_size"),
        (lambda: gradcheck.rel_error({"a": 1.0}, {"b": 1.0}), "b"),
        (lambda: gradcheck.rel_error(jnp.ones(2), jnp.ones(3)), "b"),
        (lambda: gradcheck.rel_error(1.0, 1.0, tiny=0.0), "tiny"),
    ],
)
def test_bad_input_names_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}: expected .*, received "):
        call()


def test_rel_error_properties():
    a = make_params(3)
    b = jax.tree_util.tree_map(lambda x: x * (1 + 1e-6), a)
    assert gradcheck.rel_error(a, a) == 0.0
    assert gradcheck.rel_error(a, b) == gradcheck.rel_error(b, a)
    assert gradcheck.rel_error(a, b) == pytest.approx(1e-6 / (2 + 1e-6), rel=1e-6)
    zeros = jnp.zeros(3)
    assert gradcheck.rel_error(zeros, zeros) == 0.0
    assert gradcheck.rel_error(zeros, jnp.ones(3)) == 1.0
    assert gradcheck.rel_error(jnp.ones(2), -jnp.ones(2)) == 1.0
    # below tiny the ratio is an absolute error scaled by 1/tiny
    assert gradcheck.rel_error(jnp.asarray(1e-14), jnp.asarray(0.0)) == pytest.approx(1e-2)
    assert gradcheck.rel_error(jnp.asarray(1e-14), jnp.asarray(0.0), tiny=1e-10) == pytest.approx(
        1e-4
    )
    # the maximum is taken over leaves
    c = dict(a, s=a["s"] * 1.1)
    assert gradcheck.rel_error(a, c) == pytest.approx(0.1 / 2.1)
    assert gradcheck.rel_error([], []) == 0.0


def mlp_loss(params, X, y, l2=0.0, l1=0.0):
    h = jnp.tanh(X @ params[0]["W"] + params[0]["b"])
    z = h @ params[1]["W"] + params[1]["b"]
    nll = jnp.mean(jax.nn.softplus(z[:, 0]) - y * z[:, 0])
    weights = [layer["W"] for layer in params]
    return (
        nll
        + 0.5 * l2 * sum(jnp.sum(W * W) for W in weights)
        + l1 * sum(jnp.sum(jnp.abs(W)) for W in weights)
    )


@pytest.fixture(scope="module")
def mlp_problem():
    rng = np.random.default_rng(4)
    X, y = jnp.asarray(rng.normal(size=(16, 3))), jnp.asarray(rng.integers(0, 2, 16))
    params = [
        {"W": jnp.asarray(rng.normal(size=(3, 4))), "b": jnp.asarray(rng.normal(size=4))},
        {"W": jnp.asarray(rng.normal(size=(4, 1))), "b": jnp.asarray(rng.normal(size=1))},
    ]
    return params, X, y


def test_report_rows_for_an_mlp_shaped_backprop(mlp_problem):
    params, X, y = mlp_problem
    backprop = jax.value_and_grad(mlp_loss)  # stands in for net.backprop
    rows = gradcheck.report(mlp_loss, backprop, params, X, y, 0.1, 0.01)
    assert [r.path for r in rows] == ["[0].W", "[0].b", "[1].W", "[1].b"]
    assert [r.shape for r in rows] == [(3, 4), (4,), (4, 1), (1,)]
    assert all(isinstance(r, gradcheck.GradRow) for r in rows)
    assert all(r.manual_vs_auto == 0.0 for r in rows)
    assert all(r.manual_vs_numerical < 1e-7 for r in rows)
    expected_max = [
        float(jnp.max(jnp.abs(g)))
        for g in jax.tree_util.tree_leaves(jax.grad(mlp_loss)(params, X, y, 0.1, 0.01))
    ]
    assert [r.max_abs_grad for r in rows] == pytest.approx(expected_max)


def test_report_flags_a_wrong_gradient_and_takes_keywords(mlp_problem):
    params, X, y = mlp_problem

    def wrong(p, X, y, l2=0.0, l1=0.0):
        value, grads = jax.value_and_grad(mlp_loss)(p, X, y, l2=l2, l1=l1)
        grads[1]["b"] = 2.0 * grads[1]["b"]
        return value, grads

    rows = gradcheck.report(mlp_loss, wrong, params, X, y, l2=0.1)
    bad = {r.path: r for r in rows}["[1].b"]
    assert bad.manual_vs_auto == pytest.approx(1 / 3)
    assert bad.manual_vs_numerical == pytest.approx(1 / 3, rel=1e-6)


def test_report_for_logistic_regression_and_format():
    rng = np.random.default_rng(5)
    X, y = jnp.asarray(rng.normal(size=(10, 2))), jnp.asarray(rng.integers(0, 2, 10))
    params = {"w": jnp.asarray([0.3, -0.7]), "b": jnp.asarray(0.1)}
    rows = gradcheck.report(
        logistic.nll, lambda p, *a: (logistic.nll(p, *a), logistic.grad(p, *a)), params, X, y, 0.2
    )
    assert [(r.path, r.shape) for r in rows] == [("b", ()), ("w", (2,))]
    assert all(r.manual_vs_auto < 1e-10 and r.manual_vs_numerical < 1e-7 for r in rows)
    table = gradcheck.format_report(rows)
    lines = table.splitlines()
    assert len(lines) == 2 + len(rows)
    assert len({len(line) for line in lines}) == 1
    for header in (
        "parameter",
        "shape",
        "manual vs jax.grad",
        "manual vs finite diff",
        "max |grad|",
    ):
        assert header in lines[0]
    assert lines[2].startswith("b ") and "()" in lines[2]
    assert lines[3].startswith("w ") and "(2,)" in lines[3]
    assert f"{rows[1].max_abs_grad:.2e}" in lines[3]


def test_report_rejects_manual_without_value(mlp_problem):
    params, X, y = mlp_problem
    with pytest.raises(ValueError, match="^manual: expected"):
        gradcheck.report(mlp_loss, jax.grad(mlp_loss), params, X, y)


def test_numerical_grad_warns_below_float64():
    params = {"w": jnp.ones(2, jnp.float32)}
    with pytest.warns(UserWarning, match="float32"):
        gradcheck.numerical_grad(lambda p: jnp.sum(p["w"] ** 2), params, eps=1e-2)


# --- gradcheck


def _sines(params):
    return jnp.sum(jnp.sin(params["a"])) + jnp.sum(params["e"])


def test_report_applies_tiny_to_both_columns_and_reads_empty_leaves_as_zero():
    # report's docstring: tiny is the denominator floor of rel_error (both comparisons);
    # rel_error is 0.0 for leaves without entries, and max |grad| comes from jax.grad.
    params = {"a": jnp.array([0.3, -1.2]), "e": jnp.zeros(0)}
    off = lambda p: (_sines(p), jax.tree.map(lambda g: g + 0.01, jax.grad(_sines)(p)))
    a, e = gradcheck.report(_sines, off, params, tiny=10.0)
    # |a − b| / max(|a| + |b|, 10) = 0.01 / 10 with |cos| ≤ 1 on both sides.
    assert a.manual_vs_auto == pytest.approx(1e-3, rel=1e-12)
    assert a.manual_vs_numerical == pytest.approx(1e-3, rel=1e-6)
    assert a.max_abs_grad == pytest.approx(np.cos(0.3), rel=1e-15)
    assert (e.path, e.shape, e.manual_vs_auto, e.manual_vs_numerical, e.max_abs_grad) == (
        "e",
        (0,),
        0.0,
        0.0,
        0.0,
    )


def test_numerical_grad_warning_says_what_to_do():
    message = (
        "numerical_grad on float32 parameters: central differences keep few correct "
        "digits; enable jax_enable_x64 and use float64"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gradcheck.numerical_grad(
            _sines, {"a": jnp.ones(2, jnp.float32), "e": jnp.zeros(0, jnp.float32)}
        )
    assert [str(w.message) for w in caught] == [message]


def _cubes(params):
    return jnp.sum(params["a"] ** 3) + jnp.sum(params["c"] ** 2)


def test_report_refuses_grads_of_another_structure_saying_what_it_received():
    # report's docstring: manual returns grads "the same pytree as params"; a mismatch is
    # a ValueError naming manual, what was expected and the structure received.
    params = {"a": jnp.array([0.5, -1.0]), "c": jnp.array(2.0)}
    wrong = [jnp.zeros(2), jnp.zeros(())]  # a list where params is a dict
    received = str(jax.tree_util.tree_structure(wrong))
    with pytest.raises(
        ValueError, match=r"^manual: expected .*, received " + re.escape(received) + "$"
    ):
        gradcheck.report(_cubes, lambda p: (_cubes(p), wrong), params)


def _scaled(params, *, scale=1.0):
    return scale * _cubes(params)


def test_report_passes_keywords_to_manual_too():
    # report's docstring: *args, **kwargs are passed to loss AND manual; a right manual
    # gradient (jax's own) then agrees with jax.grad exactly on every leaf.
    params = {"a": jnp.array([0.5, -1.0]), "c": jnp.array(2.0)}
    rows = gradcheck.report(_scaled, jax.value_and_grad(_scaled), params, scale=3.0)
    assert [(r.path, r.manual_vs_auto) for r in rows] == [("a", 0.0), ("c", 0.0)]
    assert max(r.manual_vs_numerical for r in rows) < 1e-8
