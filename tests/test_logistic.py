"""nnbasics.logistic: the NLL, its gradient and Hessian, Newton's method against scikit-learn."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from nnbasics import logistic
from tests._helpers.messages import whole


def make_problem(seed, n=40, d=5, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale
    y = rng.integers(0, 2, size=n)
    params = {"w": jnp.asarray(rng.normal(size=d)), "b": jnp.asarray(rng.normal())}
    return params, jnp.asarray(X), jnp.asarray(y)


def theta_fn(params, X, y, l2):
    """nll as a function of θ = [w; b], the layout of logistic.hessian."""
    d = params["w"].shape[0]
    return lambda theta: logistic.nll({"w": theta[:d], "b": theta[d]}, X, y, l2)


def theta_of(params):
    return jnp.concatenate([params["w"], params["b"][None]])


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_grad_equals_jax_grad(l2):
    params, X, y = make_problem(0)
    manual = logistic.grad(params, X, y, l2)
    auto = jax.grad(logistic.nll)(params, X, y, l2)
    for key in ("w", "b"):
        assert manual[key].shape == params[key].shape
        np.testing.assert_allclose(manual[key], auto[key], rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_hessian_equals_jax_hessian_with_bias_last(l2):
    params, X, y = make_problem(1)
    H = logistic.hessian(params, X, y, l2)
    d = X.shape[1]
    assert H.shape == (d + 1, d + 1)
    expected = jax.hessian(theta_fn(params, X, y, l2))(theta_of(params))
    np.testing.assert_allclose(H, expected, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(H, H.T, rtol=0, atol=0)


@jax.jit
def manual_and_auto(params, X, y, l2):
    theta = theta_of(params)
    return (
        logistic.grad(params, X, y, l2),
        jax.grad(logistic.nll)(params, X, y, l2),
        logistic.hessian(params, X, y, l2),
        jax.hessian(theta_fn(params, X, y, l2))(theta),
    )


def reference_hessian(params, X, l2):
    """(1/m) X̃ᵀ S X̃ + l2·diag([1..1, 0]) in numpy, σ′(z) = e^{−|z|} / (1 + e^{−|z|})²."""
    X = np.asarray(X)
    z = X @ np.asarray(params["w"]) + float(params["b"])
    e = np.exp(-np.abs(z))
    Xa = np.column_stack([X, np.ones(len(z))])
    ridge = np.diag(np.r_[np.full(X.shape[1], l2), 0.0])
    return Xa.T @ ((e / (1 + e) ** 2)[:, None] * Xa) / len(z) + ridge, np.abs(z).max()


# A few shapes only, so the jitted comparison compiles a handful of times.


def test_hessian_accurate_at_large_logits():
    X = jnp.asarray([[1.0], [-2.0]])
    params = {"w": jnp.asarray([30.0]), "b": jnp.asarray(0.0)}
    H = logistic.hessian(params, X, jnp.asarray([1, 0]))
    expected, _ = reference_hessian(params, X, 0.0)
    np.testing.assert_allclose(H, expected, rtol=1e-13)
    assert float(H[1, 1]) > 0.0


def test_nll_equals_cross_entropy_plus_penalty():
    params, X, y = make_problem(2)
    p = 1 / (1 + np.exp(-(np.asarray(X) @ np.asarray(params["w"]) + float(params["b"]))))
    y_ = np.asarray(y)
    cross_entropy = -np.mean(y_ * np.log(p) + (1 - y_) * np.log(1 - p))
    penalty = 0.5 * 0.7 * np.sum(np.asarray(params["w"]) ** 2)
    np.testing.assert_allclose(logistic.nll(params, X, y, 0.7), cross_entropy + penalty, rtol=1e-12)


def test_nll_and_grad_finite_at_logits_1e4_in_float32():
    X = jnp.asarray([[1.0], [1.0], [-1.0], [-1.0]], jnp.float32)
    y = jnp.asarray([1, 0, 1, 0])
    params = {"w": jnp.asarray([1e4], jnp.float32), "b": jnp.asarray(0.0, jnp.float32)}
    # z = ±1e4: per-example losses are 0, 1e4, 1e4, 0.
    value = logistic.nll(params, X, y)
    assert value.dtype == jnp.float32
    assert value == pytest.approx(5e3, rel=1e-6)
    g = logistic.grad(params, X, y)
    assert g["w"].dtype == jnp.float32
    np.testing.assert_allclose(g["w"], [0.5], rtol=1e-6)
    np.testing.assert_allclose(g["b"], 0.0, atol=1e-6)
    H = logistic.hessian(params, X, y)
    assert np.all(np.isfinite(np.asarray(H)))
    assert np.all(np.isfinite(np.asarray(logistic.predict_proba(params, X))))


@pytest.mark.parametrize("l2", [1e-3, 1e-1])
def test_newton_reaches_sklearn_optimum(breast_cancer, l2):
    X, y = breast_cancer
    m = X.shape[0]
    clf = LogisticRegression(C=1.0 / (m * l2), tol=1e-12, max_iter=10_000, solver="newton-cg").fit(
        X, y
    )
    start = {"w": jnp.zeros(X.shape[1]), "b": jnp.asarray(0.0)}
    fitted = logistic.newton(start, X, y, l2)
    np.testing.assert_allclose(fitted["w"], clf.coef_[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(fitted["b"], clf.intercept_[0], rtol=0, atol=1e-6)
    g = logistic.grad(fitted, X, y, l2)
    assert float(jnp.linalg.norm(theta_of(g))) < 1e-10
    np.testing.assert_array_equal(logistic.predict(fitted, X), clf.predict(X))
    np.testing.assert_allclose(
        logistic.predict_proba(fitted, X), clf.predict_proba(X)[:, 1], atol=1e-6
    )


def test_newton_path_converges_quadratically(breast_cancer):
    X, y = breast_cancer
    start = {"w": jnp.zeros(X.shape[1]), "b": jnp.asarray(0.0)}
    path = logistic.newton_path(start, X, y, 1e-2, steps=9)
    assert path["w"].shape == (10, X.shape[1]) and path["b"].shape == (10,)
    np.testing.assert_array_equal(path["w"][0], start["w"])
    optimum = theta_of(logistic.newton(start, X, y, 1e-2))
    errors = np.linalg.norm(np.column_stack([path["w"], path["b"]]) - optimum, axis=1)
    assert errors[-1] < 1e-12
    # quadratic convergence near the optimum: e_{t+1} ≤ C e_t²
    tail = [t for t in range(9) if 1e-8 < errors[t] < 1e-1]
    assert tail and all(errors[t + 1] <= 10 * errors[t] ** 2 for t in tail)


def test_newton_is_jittable_and_stops_early(breast_cancer):
    X, y = breast_cancer
    start = {"w": jnp.zeros(X.shape[1]), "b": jnp.asarray(0.0)}
    eager = logistic.newton(start, X, y, 1e-2, steps=50, tol=1e-10)
    jitted = jax.jit(logistic.newton, static_argnames="steps")(
        start, X, y, 1e-2, steps=50, tol=1e-10
    )
    np.testing.assert_allclose(jitted["w"], eager["w"], rtol=1e-12)
    one_step = logistic.newton(start, X, y, 1e-2, steps=1)
    np.testing.assert_allclose(
        one_step["w"], logistic.newton_path(start, X, y, 1e-2, 1)["w"][1], rtol=1e-12
    )
    loose = logistic.newton(start, X, y, 1e-2, tol=1e3)
    np.testing.assert_allclose(loose["w"], one_step["w"], rtol=1e-12)


def test_predict_is_probability_above_half():
    params, X, _ = make_problem(3)
    p = logistic.predict_proba(params, X)
    labels = logistic.predict(params, X)
    assert p.shape == labels.shape == (X.shape[0],)
    assert jnp.issubdtype(labels.dtype, jnp.integer)
    np.testing.assert_array_equal(labels, (np.asarray(p) > 0.5).astype(int))


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda p, X, y: logistic.nll(p, X[0], y), "X"),
        (lambda p, X, y: logistic.grad(p, X, y[:-1]), "y"),
        (lambda p, X, y: logistic.nll(p, X, y + 1), "y"),
        (lambda p, X, y: logistic.hessian({"w": p["w"][:-1], "b": p["b"]}, X, y), r"params\['w'\]"),
        (lambda p, X, y: logistic.nll({"w": p["w"], "b": p["w"]}, X, y), r"params\['b'\]"),
        (lambda p, X, y: logistic.nll({"w": p["w"]}, X, y), "params"),
        (lambda p, X, y: logistic.nll(p, X, y, l2=-1.0), "l2"),
        (lambda p, X, y: logistic.newton(p, X, y, steps=0), "steps"),
        (lambda p, X, y: logistic.newton(p, X, y, tol=-1.0), "tol"),
        (lambda p, X, y: logistic.predict(p, X[:, :-1]), r"params\['w'\]"),
    ],
)
def test_bad_input_names_argument(call, name):
    params, X, y = make_problem(4)
    with pytest.raises(ValueError, match=rf"^{name}: expected .*, received "):
        call(params, X, y)


# --- logistic

_LOG_X = np.array([[-2.0], [-1.0], [0.0], [1.0], [2.0]])


_LOG_Y = jnp.array([0, 1, 0, 1, 1])  # overlapping classes: a finite optimum


def test_logistic_keeps_float32_inputs_float32():
    # float32 in, float32 out (the module docstring's float32 claim): no silent float64.
    X = jnp.asarray(_LOG_X, jnp.float32)
    params = {"w": jnp.zeros(1, jnp.float32), "b": jnp.array(0.0, jnp.float32)}
    assert logistic.hessian(params, X, _LOG_Y).dtype == jnp.float32
    assert logistic.newton(params, X, _LOG_Y)["w"].dtype == jnp.float32
    assert logistic.newton_path(params, X, _LOG_Y, steps=2)["b"].dtype == jnp.float32


@pytest.mark.parametrize(
    ("y", "message"),
    [
        (_LOG_Y[:4], "y: expected shape (5,) to match X's 5 rows, received shape (4,)"),
        (_LOG_Y + 1, "y: expected labels in {0, 1}, received values [1, 2]"),
    ],
)
def test_logistic_label_refusals_give_the_whole_message(y, message):
    params = {"w": jnp.zeros(1), "b": jnp.array(0.0)}
    with pytest.raises(ValueError, match=whole(message)):
        logistic.nll(params, jnp.asarray(_LOG_X), y)


def test_logistic_newton_stops_only_once_the_step_is_below_tol():
    # Docstring: iterate until the step norm ‖H⁻¹∇J‖₂ falls *below* tol. From θ₀ = 0 the
    # first step is θ₁ itself (θ₁ = 0 − Δθ), so tol = ‖θ₁‖ is that step's norm exactly:
    # a step of norm equal to tol does not stop; one just above tol's next float does.
    X, start = jnp.asarray(_LOG_X), {"w": jnp.zeros(1), "b": jnp.array(0.0)}
    first = logistic.newton(start, X, _LOG_Y, steps=1, tol=0.0)
    tol = float(jnp.linalg.norm(jnp.concatenate([first["w"], first["b"][None]])))
    path = logistic.newton_path(start, X, _LOG_Y, steps=2)
    at_tol = logistic.newton(start, X, _LOG_Y, steps=2, tol=tol)
    np.testing.assert_allclose(at_tol["w"], path["w"][2], rtol=1e-12)
    np.testing.assert_allclose(at_tol["b"], path["b"][2], rtol=1e-12)
    above = logistic.newton(start, X, _LOG_Y, steps=2, tol=float(np.nextafter(tol, 1.0)))
    np.testing.assert_array_equal(above["w"], first["w"])
