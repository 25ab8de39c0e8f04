"""nnbasics.schedules against their formulas, under jit, and as optax rates."""

import math
import re
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from nnbasics import optim, schedules

T = np.arange(0, 400)


@pytest.mark.parametrize("hold", [0, 1, 25])
@pytest.mark.parametrize("decay", [0.0, 0.01, 0.5])
def test_inverse_time_formula(decay, hold):
    expected = 0.3 / (1 + decay * np.maximum(T - hold, 0))
    np.testing.assert_allclose(schedules.inverse_time(0.3, decay, hold)(T), expected, rtol=1e-15)


@pytest.mark.parametrize("hold", [0, 10])
@pytest.mark.parametrize("exponent", [0.51, 0.75, 1.0])
def test_power_formula(exponent, hold):
    expected = 0.3 / (1 + np.maximum(T - hold, 0)) ** exponent
    np.testing.assert_allclose(schedules.power(0.3, exponent, hold)(T), expected, rtol=1e-14)


def test_constant():
    np.testing.assert_array_equal(schedules.constant(0.25)(T), np.full(T.shape, 0.25))
    assert float(schedules.constant(0.25)(7)) == 0.25


def test_first_update_uses_initial_rate_and_hold_keeps_it():
    s = schedules.inverse_time(0.1, 1.0, hold=3)
    assert [float(s(t)) for t in range(6)] == [0.1, 0.1, 0.1, 0.1, 0.05, 0.1 / 3]


@pytest.mark.parametrize(
    "schedule",
    [schedules.constant(0.2), schedules.inverse_time(0.2, 0.1, 5), schedules.power(0.2, 0.6, 5)],
)
def test_traced_int_counts(schedule):
    """Works on the int32 count optax passes, inside jit and lax.scan."""
    counts = jnp.arange(50, dtype=jnp.int32)
    scanned = jax.jit(lambda c: jax.lax.scan(lambda _, t: (None, schedule(t)), None, c)[1])
    np.testing.assert_allclose(
        scanned(counts), [float(schedule(int(t))) for t in counts], rtol=1e-15
    )
    assert jax.jit(schedule)(jnp.int32(3)).shape == ()


def test_learning_rate_of_optax_and_nnbasics():
    """A schedule passed to optax.sgd and to optim.sgd gives u_t = −α_t g_t."""
    s = schedules.inverse_time(0.5, 0.2, hold=2)
    params = jnp.zeros(3)
    g = jnp.ones(3)
    for opt in (optax.sgd(s), optim.sgd(s)):
        state = opt.init(params)
        for t in range(6):
            updates, state = opt.update(g, state)
            np.testing.assert_allclose(updates, -float(s(t)) * g, rtol=1e-15)


@pytest.mark.parametrize("exponent", [0.5, 0.25, 1.5, 0.0])
def test_power_warns_outside_convergence_conditions(exponent):
    with pytest.warns(UserWarning, match=r"outside \(0.5, 1\].*not guaranteed to converge"):
        schedules.power(0.1, exponent)


@pytest.mark.parametrize("exponent", [0.51, 0.75, 1.0])
def test_power_silent_inside_convergence_conditions(exponent):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        schedules.power(0.1, exponent)


BAD = [
    (schedules.constant, (0.0,), "value"),
    (schedules.constant, (-1.0,), "value"),
    (schedules.inverse_time, (-0.1, 0.1), "value"),
    (schedules.inverse_time, (0.1, -0.1), "decay"),
    (schedules.inverse_time, (0.1, 0.1, -1), "hold"),
    (schedules.inverse_time, (0.1, 0.1, 2.5), "hold"),
    (schedules.power, (0.0, 0.75), "value"),
    (schedules.power, (0.1, -0.5), "exponent"),
    (schedules.power, (0.1, float("nan")), "exponent"),
]


@pytest.mark.parametrize(("make", "args", "name"), BAD)
def test_bad_input(make, args, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        make(*args)


# --- schedules: the formulas at the hold boundary and the value of repr


def test_schedules_at_the_end_of_the_hold():
    s = schedules.power(0.4, 1.0, hold=2)
    assert [float(s(t)) for t in range(5)] == [0.4, 0.4, 0.4, 0.2, 0.4 / 3]
    assert float(schedules.inverse_time(0.4, 0.5, hold=0)(2)) == 0.2
    assert repr(schedules.inverse_time(0.4, 0.5, 2)) == "inverse_time(0.4, 0.5, 2)"
    assert schedules.power(0.4, 0.75) == schedules.power(0.4, 0.75)


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
