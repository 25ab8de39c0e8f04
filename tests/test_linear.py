"""nnbasics.linear: least squares and ridge against scikit-learn, gradients and refusals."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, Ridge

from nnbasics import linear
from tests._helpers.messages import whole


def make_problem(seed, n=30, d=4, k=None):
    rng = np.random.default_rng(seed)
    out = () if k is None else (k,)
    X = jnp.asarray(rng.normal(size=(n, d)))
    y = jnp.asarray(rng.normal(size=(n,) + out))
    params = {"w": jnp.asarray(rng.normal(size=(d,) + out)), "b": jnp.asarray(rng.normal(size=out))}
    return params, X, y


@pytest.fixture(scope="module")
def diabetes():
    return load_diabetes(return_X_y=True)


@pytest.mark.parametrize("k", [None, 3])
@pytest.mark.parametrize("l2", [0.0, 0.5])
def test_grad_equals_jax_grad(k, l2):
    params, X, y = make_problem(0, k=k)
    manual = linear.grad(params, X, y, l2)
    auto = jax.grad(linear.mse)(params, X, y, l2)
    for key in ("w", "b"):
        assert manual[key].shape == params[key].shape
        np.testing.assert_allclose(manual[key], auto[key], rtol=1e-10, atol=1e-15)


@jax.jit
def manual_and_auto(params, X, y, l2):
    return linear.grad(params, X, y, l2), jax.grad(linear.mse)(params, X, y, l2)


@settings(max_examples=20, deadline=None)
@given(
    n=st.sampled_from([1, 5, 20]),
    d=st.sampled_from([1, 3]),
    k=st.sampled_from([None, 2]),
    seed=st.integers(0, 2**32 - 1),
    l2=st.floats(0.0, 3.0),
)
def test_grad_property(n, d, k, seed, l2):
    params, X, y = make_problem(seed, n, d, k)
    manual, auto = manual_and_auto(params, X, y, jnp.asarray(l2))
    for key in ("w", "b"):
        np.testing.assert_allclose(manual[key], auto[key], rtol=1e-10, atol=1e-14)


def test_mse_is_half_mean_squared_error_and_ridge_objective_over_2m():
    params, X, y = make_problem(1, k=2)
    r = np.asarray(X @ params["w"] + params["b"] - y)
    w = np.asarray(params["w"])
    expected = 0.5 * np.mean(np.sum(r**2, axis=1)) + 0.5 * 0.4 * np.sum(w**2)
    value = linear.mse(params, X, y, 0.4)
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    m = X.shape[0]
    ridge_objective = np.sum(r**2) + (m * 0.4) * np.sum(w**2)
    np.testing.assert_allclose(2 * m * value, ridge_objective, rtol=1e-12)


@pytest.mark.parametrize("l2", [1e-4, 1e-2, 1.0])
def test_solve_matches_sklearn_ridge(diabetes, l2):
    X, y = diabetes
    m = X.shape[0]
    ridge = Ridge(alpha=m * l2, solver="cholesky").fit(X, y)
    fitted = linear.solve(X, y, l2)
    assert fitted["w"].shape == (X.shape[1],) and fitted["b"].shape == ()
    np.testing.assert_allclose(fitted["w"], ridge.coef_, rtol=1e-8)
    np.testing.assert_allclose(fitted["b"], ridge.intercept_, rtol=1e-8)


def test_solve_without_penalty_matches_least_squares(diabetes):
    X, y = diabetes
    ols = LinearRegression().fit(X, y)
    fitted = linear.solve(X, y)
    np.testing.assert_allclose(fitted["w"], ols.coef_, rtol=1e-8)
    np.testing.assert_allclose(fitted["b"], ols.intercept_, rtol=1e-8)


def test_solve_multi_target_matches_ridge_and_zeroes_the_gradient(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, np.log(y), -2.0 * y + 5.0])
    m, l2 = X.shape[0], 0.05
    ridge = Ridge(alpha=m * l2, solver="cholesky").fit(X, Y)
    fitted = linear.solve(X, Y, l2)
    assert fitted["w"].shape == (X.shape[1], 3) and fitted["b"].shape == (3,)
    np.testing.assert_allclose(fitted["w"], ridge.coef_.T, rtol=1e-8)
    np.testing.assert_allclose(fitted["b"], ridge.intercept_, rtol=1e-8)
    g = linear.grad(fitted, X, Y, l2)
    scale = np.abs(linear.grad({"w": 0 * fitted["w"], "b": 0 * fitted["b"]}, X, Y, l2)["b"]).max()
    assert max(float(jnp.abs(g["w"]).max()), float(jnp.abs(g["b"]).max())) < 1e-10 * scale


def test_solve_jits_with_traced_l2(diabetes):
    X, y = diabetes
    for l2 in (0.0, 0.1):
        jitted = jax.jit(linear.solve)(X, y, jnp.asarray(l2))
        np.testing.assert_allclose(jitted["w"], linear.solve(X, y, l2)["w"], rtol=1e-10)


def test_solve_rank_deficient_gives_minimum_norm():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(20, 2))
    X = np.column_stack([base, base[:, 0]])
    y = base @ np.array([2.0, -1.0]) + 0.5
    fitted = linear.solve(X, y)
    np.testing.assert_allclose(fitted["w"], [1.0, -1.0, 1.0], rtol=1e-8)
    np.testing.assert_allclose(fitted["b"], 0.5, rtol=1e-8)


def test_predict_shapes():
    for k in (None, 2):
        params, X, y = make_problem(3, k=k)
        yhat = linear.predict(params, X)
        assert yhat.shape == y.shape
        np.testing.assert_allclose(yhat, X @ params["w"] + params["b"], rtol=1e-14)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda p, X, y: linear.mse(p, X[0], y), "X"),
        (lambda p, X, y: linear.mse(p, X, y[:-1]), "y"),
        (lambda p, X, y: linear.grad(p, X, y[:, None, None]), "y"),
        (lambda p, X, y: linear.mse(p, X, jnp.stack([y, y], 1)), "y"),
        (lambda p, X, y: linear.mse({"w": p["w"][:-1], "b": p["b"]}, X, y), r"params\['w'\]"),
        (lambda p, X, y: linear.mse({"w": p["w"], "b": p["w"]}, X, y), r"params\['b'\]"),
        (lambda p, X, y: linear.mse({"W": p["w"], "b": p["b"]}, X, y), "params"),
        (lambda p, X, y: linear.grad(p, X, y, l2=-0.1), "l2"),
        (lambda p, X, y: linear.solve(X, y, l2=float("nan")), "l2"),
        (lambda p, X, y: linear.solve(X, y[:3]), "y"),
        (lambda p, X, y: linear.predict(p, X[:, :2]), r"params\['w'\]"),
    ],
)
def test_bad_input_names_argument(call, name):
    params, X, y = make_problem(4)
    with pytest.raises(ValueError, match=rf"^{name}: expected .*, received "):
        call(params, X, y)


# --- linear: each refusal's whole message (argument, expected, received)

_X, _Y = jnp.ones((5, 3)), jnp.ones(5)


_ONE = {"w": jnp.ones(3), "b": jnp.array(0.0)}


_TWO = {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}


LINEAR_REFUSALS = [
    (
        lambda: linear.mse(_ONE, _X[0], _Y),
        "X: expected a 2-D array of shape (n, d), received shape (3,)",
    ),
    (
        lambda: linear.mse({"W": _ONE["w"], "b": _ONE["b"]}, _X, _Y),
        """params: expected a dict with keys "w" and "b", received ['W', 'b']""",
    ),
    (
        lambda: linear.mse({"w": jnp.ones(2), "b": _ONE["b"]}, _X, _Y),
        "params['w']: expected shape (3,) or (3, k) to match X's 3 features, received shape (2,)",
    ),
    (
        lambda: linear.mse({"w": _TWO["w"], "b": jnp.array(0.0)}, _X, _Y),
        "params['b']: expected shape (2,) to match params['w'] (3, 2), received shape ()",
    ),
    (
        lambda: linear.mse(_ONE, _X, _Y[:4]),
        "y: expected shape (5,) or (5, k) to match X's 5 rows, received shape (4,)",
    ),
    (
        lambda: linear.grad(_TWO, _X, _Y),
        "y: expected shape (5, 2) to match params['w'] (3, 2), received shape (5,)",
    ),
]


@pytest.mark.parametrize("call", range(len(LINEAR_REFUSALS)))
def test_linear_refusals_give_the_whole_message(call):
    make, message = LINEAR_REFUSALS[call]
    with pytest.raises(ValueError, match=whole(message)):
        make()


def test_linear_defaults_to_no_penalty():
    # Docstrings: l2=0.0 by default; J = (1/(2m)) Σ ‖xᵢw + b − yᵢ‖² (the doctest's 0.25).
    X, y = jnp.array([[1.0], [2.0]]), jnp.array([1.0, 3.0])
    params = {"w": jnp.array([1.0]), "b": jnp.array(0.0)}
    assert float(linear.mse(params, X, y)) == 0.25
    g = linear.grad(params, X, y)  # r = (0, −1): Xᵀr/m = −1, mean(r) = −0.5
    assert g["w"].tolist() == [-1.0] and float(g["b"]) == -0.5
    np.testing.assert_allclose(linear.solve(X, y)["w"], [2.0], rtol=1e-12)  # exact fit


@pytest.mark.parametrize("weights", [None, [1.0, 2.0, 0.5, 1.0]])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_linear_solve_keeps_float32_data_float32(fit_intercept, weights):
    # float32 is a supported working precision (DESIGN.md's numerics are stated for it;
    # logistic and the optimizers keep float32 float32): solve does not widen it silently.
    X = jnp.asarray([[0.0, 1.0], [2.0, 0.0], [3.0, 5.0], [1.0, 1.0]], jnp.float32)
    y = jnp.asarray([1.0, 0.0, 7.0, 2.0], jnp.float32)
    fitted = linear.solve(X, y, 0.1, weights=weights, fit_intercept=fit_intercept)
    assert fitted["w"].dtype == fitted["b"].dtype == jnp.float32
