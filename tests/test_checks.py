"""Every real hyper-parameter refuses inf and NaN with the shared one-line message (nnbasics._checks)."""

import math
import re

import jax
import numpy as np
import pytest

import nnbasics as nb
from nnbasics import _checks
from tests._helpers.train import NET, iris_sample

# --- infinite hyper-parameters are bad input (CONTRIBUTING: NaN/inf get a ValueError)

_X3 = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


_Y3 = np.array([0, 1, 1])


def _fit_with(**kw):
    params = NET.init(jax.random.key(0), np.float64)
    X, y = iris_sample(12)
    key = jax.random.key(1)
    return nb.fit(NET, params, nb.optim.sgd(0.1), (X, y), epochs=1, batch_size=4, key=key, **kw)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("l2", lambda v: _fit_with(l2=v)),
        ("l1", lambda v: _fit_with(l1=v)),
        ("min_delta", lambda v: _fit_with(min_delta=v)),
        ("l2", lambda v: nb.linear.solve(_X3, _Y3.astype(float), l2=v)),
        ("l2", lambda v: nb.logistic.nll({"w": np.zeros(2), "b": 0.0}, _X3, _Y3, l2=v)),
        ("tol", lambda v: nb.logistic.newton({"w": np.zeros(2), "b": 0.0}, _X3, _Y3, tol=v)),
        ("noise", lambda v: nb.data.load("moons", noise=v)),
    ],
)
def test_infinite_hyper_parameters_are_refused_naming_the_argument(name, call):
    for value in (math.inf, math.nan):
        message = f"{name}: expected a real number in [0.0, inf), received {value}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            call(value)


def test_finite_rows_shows_ten_bad_rows_then_an_ellipsis():
    X = np.full((11, 2), np.nan)
    with pytest.raises(ValueError, match="^X: ") as e:
        _checks.finite_rows("X", X)
    assert str(e.value) == (
        "X: expected finite values in every row, received NaN/inf in 11 row(s): "
        "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ..."
    )


def test_batch_size_refusal_names_batch_size():
    with pytest.raises(ValueError, match="^batch_size: ") as e:
        _checks.batch_size(0, 4)
    assert str(e.value) == (
        "batch_size: expected an integer from 1 to the number of training examples (4), received 0"
    )


def test_real_in_is_closed_at_both_ends_unless_told():
    assert _checks.real_in("p", 1.0, 0.0, 1.0) == 1.0
    assert _checks.real_in("p", 0.0, 0.0, 1.0) == 0.0
    for value, kw in [(1.0, {"hi_open": True}), (0.0, {"lo_open": True})]:
        with pytest.raises(ValueError, match="^p: ") as e:
            _checks.real_in("p", value, 0.0, 1.0, **kw)
        interval = "(0.0, 1.0]" if kw.get("lo_open") else "[0.0, 1.0)"
        assert str(e.value) == f"p: expected a real number in {interval}, received {value}"


def test_the_small_checks_name_the_argument_what_they_expect_and_what_came():
    with pytest.raises(ValueError, match="^mode: ") as e:
        _checks.one_of("mode", "sideways", ("up", "down"))
    assert str(e.value) == "mode: expected one of 'up', 'down', received 'sideways'"
    with pytest.raises(ValueError, match="^top: ") as e:
        _checks.positive_int("top", 0)
    assert str(e.value) == "top: expected a positive integer, received 0"


def test_prng_key_takes_new_and_raw_keys_and_names_any_other_array():
    for key in (jax.random.key(0), jax.random.PRNGKey(0), np.zeros(2, np.uint32)):
        _checks.prng_key("key", key)  # accepted
    expected = "key: expected a JAX PRNG key such as jax.random.key(0) or jax.random.PRNGKey(0)"
    for bad, shown in (
        (np.zeros(2, np.int32), "an array of shape (2,) and dtype int32"),
        (np.zeros(2, np.float32), "an array of shape (2,) and dtype float32"),
        (np.zeros(3, np.uint32), "an array of shape (3,) and dtype uint32"),
        (0, "0"),
    ):
        with pytest.raises(ValueError, match="^key: ") as e:
            _checks.prng_key("key", bad)
        assert str(e.value) == f"{expected}, received {shown}"


def test_a_real_hyper_parameter_is_one_number_not_an_array():
    with pytest.raises(ValueError, match="^l2: ") as e:
        _checks.non_negative("l2", np.ones(3))
    assert str(e.value) == "l2: expected a real number in [0.0, inf), received array([1., 1., 1.])"
    assert _checks.non_negative("l2", np.float64(0.5)) == 0.5  # a 0-d array is one number


def test_batch_size_takes_every_size_from_one_to_n():
    assert [_checks.batch_size(b, 5) for b in (1, 5)] == [1, 5]
    for bad in (0, 6):
        with pytest.raises(ValueError, match="^batch_size: ") as e:
            _checks.batch_size(bad, 5)
        assert str(e.value) == (
            "batch_size: expected an integer from 1 to the number of training examples (5), "
            f"received {bad}"
        )


def test_column_index_takes_every_index_from_minus_width_to_width_minus_one():
    assert [_checks.column_index(i, 3) for i in range(-4, 4)] == [None, 0, 1, 2, 0, 1, 2, None]
    assert [_checks.column_index(t, 3) for t in ("-3", "2", "x", True)] == [0, 2, None, None]


def test_shown_quotes_text_and_leaves_other_values_as_they_are():
    assert _checks.shown("a") == "'a'"
    value = np.float64(0.5)
    assert _checks.shown(value) is value  # so a message shows 0.5, not np.float64(0.5)
    assert f"{_checks.shown(value)}" == "0.5"
