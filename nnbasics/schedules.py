"""Learning-rate schedules: callables ``t -> rate``.

``t`` counts the updates already made, from 0, as optax does, so the first
update uses ``rate(0)``. Each schedule is built from jnp operations and works on
a traced integer count inside ``jit``/``lax.scan``; any of them can be passed as
the ``learning_rate`` of ``nnbasics.optim`` or of optax.

The course's decreasing strategies, with an optional constant phase while
t <= ``hold`` ("better to use a fixed learning rate for the first few
updates"), are

    inverse_time:  α_t = α / (1 + δ·max(t − hold, 0))
    power:         α_t = α / (1 + max(t − hold, 0))^δ

``power`` is the course's α/t^δ with t counted from 1 (here ``1 + t``, t from 0),
so that the first rate is α rather than a division by zero. SGD converges when
Σ α_t = ∞ and Σ α_t² < ∞, which for ``power`` means 0.5 < δ ≤ 1.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable

import jax.numpy as jnp

from nnbasics import _checks

__all__ = [
    "Schedule",
    "constant",
    "inverse_time",
    "power",
]

Schedule = Callable[[jnp.ndarray], jnp.ndarray]
"""A learning-rate schedule: the step count t (an integer array) to αₜ."""


def _check_value(value):
    return _checks.real_in("value", value, 0.0, math.inf, lo_open=True, hi_open=True)


def _check_decreasing(value, name, rate, hold):
    """Checks value > 0, the decrease constant or exponent >= 0 and hold >= 0."""
    return (
        _check_value(value),
        _checks.non_negative(name, rate),
        _checks.non_negative_int("hold", hold),
    )


@dataclasses.dataclass(frozen=True, repr=False)
class _Rate:
    """A schedule ``t -> rule(t, *args)`` that compares by value.

    Equal schedules (same rule, same numbers) are equal and hash alike, so the
    optimizers built on them are equal too and share one compiled program.
    """

    rule: Callable
    args: tuple

    def __call__(self, t):
        return self.rule(t, *self.args)

    def __repr__(self):  # stable across processes: checkpoints record it
        return f"{self.rule.__name__.lstrip('_')}{self.args!r}"


def _constant(t, value):
    return jnp.full(jnp.shape(t), value, dtype=float)


def _inverse_time(t, value, decay, hold):
    return value / (1 + decay * _elapsed(t, hold))


def _power(t, value, exponent, hold):
    return value / (1 + _elapsed(t, hold)) ** exponent


def _elapsed(t, hold):
    """Updates made after the constant phase: max(t − hold, 0)."""
    return jnp.maximum(jnp.asarray(t) - hold, 0)


def constant(value: float) -> Schedule:
    """α_t = value for every update t.

    Args:
      value: the rate, > 0.

    Returns:
      A schedule ``t -> value`` (a 0-d array).

    Examples:
      >>> float(constant(0.1)(100))
      0.1
    """
    value = _check_value(value)
    return _Rate(_constant, (value,))


def inverse_time(value: float, decay: float, hold: int = 0) -> Schedule:
    """α_t = value / (1 + decay·max(t − hold, 0)).

    Σ α_t = ∞ and Σ α_t² < ∞ for every decay > 0, so SGD converges under it.

    Args:
      value: the initial rate α, > 0.
      decay: the decrease constant δ, >= 0 (0 is a constant rate).
      hold: the rate stays at ``value`` while t <= hold (a non-negative int).

    Returns:
      A schedule ``t -> α_t``.

    Examples:
      >>> rate = inverse_time(1.0, decay=0.5, hold=2)
      >>> [round(float(rate(t)), 3) for t in range(5)]  # constant while t ≤ hold
      [1.0, 1.0, 1.0, 0.667, 0.5]
    """
    value, decay, hold = _check_decreasing(value, "decay", decay, hold)
    return _Rate(_inverse_time, (value, decay, hold))


def power(value: float, exponent: float, hold: int = 0) -> Schedule:
    """α_t = value / (1 + max(t − hold, 0))^exponent.

    Warns (``UserWarning``) when the exponent δ is outside (0.5, 1]: there
    Σ α_t = ∞ (δ > 1 fails it) or Σ α_t² < ∞ (δ ≤ 0.5 fails it) no longer
    holds, and the course's convergence guarantee for SGD is lost. Such
    exponents are still legal schedules.

    Args:
      value, hold: as in ``inverse_time``.
      exponent: δ, >= 0.

    Returns:
      A schedule ``t -> α_t``.

    Examples:
      >>> rate = power(1.0, exponent=1.0)
      >>> [round(float(rate(t)), 3) for t in range(4)]  # 1/(1 + t)
      [1.0, 0.5, 0.333, 0.25]
    """
    value, exponent, hold = _check_decreasing(value, "exponent", exponent, hold)
    if _checks.is_concrete(exponent) and not 0.5 < float(exponent) <= 1.0:
        failed = "sum of rates = inf" if exponent > 1.0 else "sum of squared rates < inf"
        warnings.warn(
            f"power schedule: exponent={exponent!r} is outside (0.5, 1], so the "
            f"convergence condition '{failed}' does not hold; SGD is not guaranteed "
            "to converge with this schedule",
            UserWarning,
            stacklevel=2,
        )
    return _Rate(_power, (value, exponent, hold))
